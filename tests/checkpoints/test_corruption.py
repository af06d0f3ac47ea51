"""Corrupt checkpoints are rejected by name and the previous good one is used; pickles are refused;
nothing in src/ can unpickle.

Fast variant: 20 byte flips + 20 truncations; DEEPDOJO_LONG_TESTS=1: 100 + 100.
"""

from __future__ import annotations

import random
import re
import shutil
import struct
from pathlib import Path

import pytest
import torch
from conftest import REPO, count, final_weights, same_weights

from deepdojo import vision
from deepdojo.errors import CheckpointError
from deepdojo.predict import Predictor
from deepdojo.train.callbacks import Callback
from deepdojo.train.state_files import list_states, newest_good_state, read_state


def learner(out, name):
    return vision.classifier("builtin:moons", arch="mlp", out=out, name=name, progress=False, seed=0,
                             checkpoint_every=2, model_kwargs={"width": 16, "dropout": 0.1})


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished run with two state checkpoints, and an uninterrupted reference run."""
    out = tmp_path_factory.mktemp("corrupt")
    learner(out, "ref").fit(3, 0.05)
    learn = learner(out, "r")
    learn.fit(3, 0.05)
    return out, learn.run.path / "checkpoints"


def corrupt(folder: Path, rng: random.Random, kind: str) -> Path:
    """Flip one byte of, or truncate, the newest checkpoint's tensors file or sidecar; returns the file."""
    newest = list_states(folder)[-1]
    target = rng.choice([newest, newest.with_suffix(".json")])
    raw = bytearray(target.read_bytes())
    if kind == "flip":
        i = rng.randrange(len(raw))
        raw[i] ^= rng.randrange(1, 256)
    else:
        del raw[rng.randrange(len(raw)):]
    target.write_bytes(bytes(raw))
    return target


@pytest.mark.parametrize("kind", ["flip", "truncate"])
def test_corrupt_newest_is_rejected_by_name_and_previous_used(run, tmp_path, kind):
    out, pristine = run
    good = list_states(pristine)
    assert len(good) == 2
    rng = random.Random(kind)
    n = count(20, 100)
    for trial in range(n):
        folder = tmp_path / f"t{trial}"
        shutil.copytree(pristine, folder)
        bad = corrupt(folder, rng, kind)
        path, _, meta, rejected = newest_good_state(folder)
        assert path.name == good[0].name, f"trial {trial}: {bad.name} was not rejected"
        assert len(rejected) == 1 and bad.name in rejected[0], rejected
        shutil.rmtree(folder)


def test_resume_falls_back_to_previous_checkpoint_and_still_ends_bit_exact(run, tmp_path):
    """Mid-run: corrupt the newest checkpoint, resume; the run continues from the older one, same result."""
    out, _ = run
    learn = learner(tmp_path, "x")
    stop_at = 9  # moons: 7 steps per epoch; stop mid-epoch 1

    class StopAt(Callback):
        def after_batch(self):
            if self.learn.step == stop_at:
                raise KeyboardInterrupt

    learn.add_callbacks([StopAt()])
    with pytest.raises(KeyboardInterrupt):
        learn.fit(3, 0.05)
    folder = learn.run.path / "checkpoints"
    states = list_states(folder)
    corrupt(folder, random.Random(1), "flip")
    again = learner(tmp_path, "x")
    again.fit(3, 0.05, resume=True)
    resume = next(cb for cb in again.callbacks if type(cb).__name__ == "ResumeFromCheckpoint")
    assert resume.resumed_from.name == states[-2].name and states[-1].name in resume.rejected[0]
    assert same_weights(final_weights(out / "ref"), final_weights(again.run.path))
    assert again.history == [{**r, "seconds": a["seconds"]} for r, a in zip(learner_history(out / "ref"), again.history)]


def learner_history(run_dir: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def handmade_pickle(marker: Path) -> bytes:
    """Protocol-2 pickle bytes that would run ``os.system("touch MARKER")`` if anything unpickled them."""
    cmd = f"touch {marker}".encode()
    return b"\x80\x02cos\nsystem\nX" + struct.pack("<I", len(cmd)) + cmd + b"\x85R."


def test_pickle_where_a_checkpoint_should_be_is_refused_not_run(run, tmp_path):
    out, pristine = run
    marker = tmp_path / "pwned"
    run_dir = tmp_path / "run"
    shutil.copytree(out / "r", run_dir)
    (run_dir / "checkpoints" / "best.safetensors").write_bytes(handmade_pickle(marker))
    with pytest.raises(CheckpointError, match="best.safetensors: refusing a pickle"):
        Predictor.from_run(run_dir, "best")
    torch.save({"w": torch.zeros(1)}, run_dir / "checkpoints" / "last.safetensors")  # a zip-pickle too
    with pytest.raises(CheckpointError, match="last.safetensors: refusing a pickle"):
        Predictor.from_run(run_dir, "last")
    newest = list_states(run_dir / "checkpoints")[-1]
    newest.write_bytes(handmade_pickle(marker))
    with pytest.raises(CheckpointError, match=newest.name):
        read_state(newest)
    from deepdojo.cli.main import main

    assert main(["predict", str(run_dir), "0.5,0.5", "--checkpoint", "best"]) == 2
    assert not marker.exists()


def test_nothing_in_src_can_unpickle():
    pattern = re.compile(r"weights_only\s*=\s*False|^\s*(import|from)\s+(pickle|cPickle|dill|joblib)\b|"
                         r"torch\.load\(|allow_pickle\s*=\s*True", re.M)
    hits = [f"{p.relative_to(REPO)}: {m.group(0).strip()}"
            for p in sorted((REPO / "src").rglob("*.py")) for m in pattern.finditer(p.read_text())]
    assert hits == []
