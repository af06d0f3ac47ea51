"""Inputs that used to crash or mislead (issue 13): YAML alias bombs, infinite settings, truncated
images, symlink loops / dangling / escaping links, files that vanish, inf and overflow in CSVs."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from deepdojo.cli.main import main
from deepdojo.config import TrainConfig, read_config_file
from deepdojo.errors import ConfigError


@pytest.fixture(autouse=True)
def _cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "cache"))


def alias_bomb(levels: int, fan: int) -> str:
    """The classic 'billion laughs' inside ``model_kwargs`` (any mapping passes its type check):
    each level lists the previous one ``fan`` times."""
    lines = ["model_kwargs:", f"  l0: &l0 [{', '.join(['lol'] * fan)}]"]
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fan)}]")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- item 8: YAML alias bombs
def test_a_yaml_alias_bomb_is_refused_fast_on_the_cli(tmp_path, capsys):
    """~460 bytes, x9 per level: the old loader hung while describing the bad value."""
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(9, 9))
    t0 = time.perf_counter()
    code = main(["train", "builtin:xor", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "bomb.yaml" in err and len(err.strip().splitlines()) == 1
    assert time.perf_counter() - t0 < 5


def test_many_aliases_are_refused_and_few_still_work(tmp_path):
    many = tmp_path / "many.yaml"
    many.write_text("base: &b 0.1\n" + "".join(f"k{i}: *b\n" for i in range(150)))
    with pytest.raises(ConfigError, match="more than 100 YAML aliases"):
        read_config_file(many)
    few = tmp_path / "few.yaml"
    few.write_text("model_kwargs: &m {width: 8}\nlr: 0.1\n")
    assert TrainConfig.from_file(few).model_kwargs == {"width": 8}


def test_a_deep_binary_alias_tree_is_refused_by_its_expanded_size(tmp_path):
    """2 aliases per level, 40 levels: under the alias cap, 2**40 values expanded."""
    path = tmp_path / "deep.yaml"
    path.write_text(alias_bomb(40, 2))
    with pytest.raises(ConfigError, match="expands to more than"):
        read_config_file(path)


def test_a_huge_config_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * (2 << 20) + "\nlr: 0.1\n")
    with pytest.raises(ConfigError, match="larger than"):
        read_config_file(path)


# ----------------------------------------------------------------------------- item 10: --lr inf, truncated JPEG
@pytest.mark.parametrize("flag, value", [("--lr", "inf"), ("--lr", "1e400"), ("--lr", "nan"), ("--weight-decay", "inf")])
def test_infinite_or_nan_settings_are_refused(capsys, flag, value):
    code = main(["train", "builtin:xor", flag, value])
    err = capsys.readouterr().err
    assert code == 2 and "must be a finite number" in err, err


def test_infinite_values_in_a_config_file_are_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("lr = inf\n")
    with pytest.raises(ConfigError, match="lr: must be a finite number"):
        TrainConfig.from_file(path)


def jpeg_bytes(seed=0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("keep", [20, 300, 0.5])
def test_a_truncated_jpeg_is_labelled_corrupt_not_unreadable(tmp_path, keep):
    from deepdojo.data.check_images import decode_many

    raw = jpeg_bytes()
    n = int(len(raw) * keep) if isinstance(keep, float) else keep
    (tmp_path / "cut.jpg").write_bytes(raw[:n])
    _, problems = decode_many(tmp_path, ["cut.jpg"], size=None)
    assert [p.kind for p in problems] == ["corrupt"] and "truncated or corrupt" in problems[0].reason
