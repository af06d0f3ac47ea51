"""The CLI end to end: run folder layout, JSON output, exit codes and one-line errors."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest

from deepdojo.cli.main import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    """One real quickstart (2 epochs), shared by the tests that inspect its outputs."""
    out = tmp_path_factory.mktemp("qs")
    proc = subprocess.run([sys.executable, "-m", "deepdojo", "quickstart", "--out", str(out), "--epochs", "2", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout.strip().splitlines()[-1])


def test_quickstart_writes_the_stable_run_folder(quickstart_run):
    out, summary = quickstart_run
    run = out / "runs" / summary["run_dir"].split("/")[-1]
    for name in ["config.json", "manifest.json", "metrics.jsonl", "summary.json", "lr_find.png", "report.html", "splits.json",
                 "checkpoints/last.safetensors", "checkpoints/best.safetensors"]:
        assert (run / name).is_file(), name
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [0, 1]
    assert {"epoch", "train_loss", "valid_loss", "accuracy", "lr", "seconds"} <= set(lines[0])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["seed"] == 0 and len(manifest["data"]["fingerprint"]) == 64 and manifest["torch"]
    assert summary["final"]["accuracy"] > 0.6 and summary["lr_find"]["suggestion"] > 0
    config = json.loads((run / "config.json").read_text())
    assert config["arch"] == "cnn" and config["data"].endswith("digits")


def test_predict_on_exported_images(quickstart_run, capsys):
    out, summary = quickstart_run
    images = sorted((out / "data" / "digits" / "3").glob("*.png"))[:2]
    code, stdout, _ = run_cli(capsys, "predict", summary["run_dir"], *map(str, images), "--json")
    assert code == 0
    preds = last_json(stdout)["predictions"]
    assert len(preds) == 2 and all(0 <= p["probability"] <= 1 and len(p["top"]) == 3 for p in preds)


def test_predict_refuses_a_pickle_checkpoint(quickstart_run, capsys, tmp_path):
    _, summary = quickstart_run
    import shutil

    run = tmp_path / "run"
    shutil.copytree(summary["run_dir"], run)
    (run / "checkpoints" / "best.safetensors").write_bytes(pickle.dumps({"x": 1}, protocol=4))
    code, _, err = run_cli(capsys, "predict", str(run), "whatever.png")
    assert code == 2 and "refusing a pickle" in err and len(err.strip().splitlines()) == 1


def test_train_builtin_json(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "train", "builtin:xor", "--arch", "mlp", "--epochs", "3", "--lr", "0.01",
                           "--out", str(tmp_path), "--name", "x", "--json")
    assert code == 0
    summary = last_json(out)
    assert summary["epochs"] == 3 and summary["run_dir"].endswith("x")
    code, out, _ = run_cli(capsys, "predict", summary["run_dir"], "1.0,1.0", "--json")
    assert code == 0 and last_json(out)["predictions"][0]["prediction"] in ("0", "1")


def test_lr_find_command(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "lr-find", "builtin:moons", "--out", str(tmp_path), "--num-it", "40", "--json")
    result = last_json(out)
    assert code == 0 and result["suggestion"] > 0 and result["plot"].endswith("lr_find.png")


@pytest.mark.parametrize("argv,needle", [
    (["train", "/no/such/folder"], "folder does not exist"),
    (["train", "builtin:xor", "--epochs", "0"], "epochs: must be at least 1"),
    (["train", "builtin:nope"], "unknown built-in dataset"),
    (["train", "builtin:xor", "--arch", "resnet_smol"], "did you mean 'resnet_small'"),
    (["train", "builtin:xor", "--lr", "fast"], "expected a number or 'auto'"),
    (["train", "builtin:xor", "--bogus"], "unrecognized arguments: --bogus"),
    (["train"], "no data given"),
    (["predict", "/no/such/run", "x.png"], "run folder does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys, tmp_path):
    code, _, err = run_cli(capsys, *argv, "--out", str(tmp_path)) if argv[0] == "train" else run_cli(capsys, *argv)
    assert code == 2 and needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_empty_folder_and_bad_config_files(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "train", str(tmp_path / "empty"), "--out", str(tmp_path))
    assert code == 2 and "no images" in err and len(err.strip().splitlines()) == 1
    for text, needle in [('epochz = 3', "did you mean 'epochs'"), ('epochs = "three"', "expected int"),
                         ("epochs = = 3", "cannot parse config")]:
        cfg = tmp_path / "c.toml"
        cfg.write_text('data = "builtin:xor"\n' + text + "\n")
        code, _, err = run_cli(capsys, "train", "--config", str(cfg), "--out", str(tmp_path))
        assert code == 2 and needle in err and "c.toml" in err, err


def test_console_entry_point_help():
    proc = subprocess.run([sys.executable, "-m", "deepdojo", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for cmd in ("quickstart", "train", "lr-find", "predict"):
        assert cmd in proc.stdout


def test_regression_trains_end_to_end(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "train", "builtin:diabetes", "--arch", "mlp", "--epochs", "3", "--lr", "0.01",
                           "--out", str(tmp_path), "--name", "r", "--json")
    summary = last_json(out)
    assert code == 0 and {"mae", "rmse", "r2"} <= set(summary["final"])
    assert (tmp_path / "r" / "baselines.json").exists() and not (tmp_path / "r" / "diagnosis.json").exists()
    code, out, _ = run_cli(capsys, "predict", summary["run_dir"], ",".join(["0.01"] * 10), "--json")
    assert code == 0 and isinstance(last_json(out)["predictions"][0]["prediction"], list)
    code, _, err = run_cli(capsys, "diagnose", summary["run_dir"])
    assert code == 2 and "reads error rates" in err
