"""SIGKILL (and SIGTERM/SIGINT) a real ``deepdojo train`` process at random points, then ``--resume``:
the final weights and every metrics record equal those of a run that was never interrupted.

Fast variant: 4 kills; DEEPDOJO_LONG_TESTS=1: 20 kills (and SIGINT as well as SIGTERM).
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
from conftest import count, final_weights, metrics_without_time, same_weights, stray_files, write_config

from deepdojo.train.state_files import list_states, read_state


def cli_job(cfg, out, name, resume=False):
    argv = ["train", "--config", str(cfg), "--out", str(out), "--name", name, "--checkpoint-every", "3", "--json"]
    return {"kind": "cli", "argv": argv + (["--resume"] if resume else [])}


@pytest.fixture(scope="module")
def baseline(forker, tmp_path_factory):
    """The uninterrupted run, and how long it takes end to end."""
    root = tmp_path_factory.mktemp("baseline")
    cfg = write_config(root / "cfg.json")
    code, seconds = forker.run(cli_job(cfg, root, "base"), root / "base.log")
    assert code == 0, (root / "base.log").read_text()
    return cfg, root / "base", seconds


def resume_to_end(forker, cfg, out, name, log):
    code, _ = forker.run(cli_job(cfg, out, name, resume=True), log)
    assert code == 0, log.read_text()


def test_sigkill_at_random_points_then_resume_is_bit_exact(forker, baseline, tmp_path):
    cfg, base, seconds = baseline
    want_w, want_m = final_weights(base), metrics_without_time(base)
    rng = random.Random(20240603)
    kills, identical, attempts = 0, 0, 0
    while kills < count(4, 20):
        attempts += 1
        assert attempts < 3 * count(4, 20), f"only {kills} kills landed in {attempts} attempts"
        name = f"k{attempts}"
        pid = forker.start(cli_job(cfg, tmp_path, name), tmp_path / f"{name}.log")
        time.sleep(rng.uniform(0.0, seconds))
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if forker.wait(pid) != -signal.SIGKILL:
            continue  # finished before the kill: not a kill point
        kills += 1
        resume_to_end(forker, cfg, tmp_path, name, tmp_path / f"{name}-resume.log")
        run = tmp_path / name
        assert stray_files(run) == []
        assert metrics_without_time(run) == want_m  # no gaps, no duplicates, same numbers
        identical += same_weights(final_weights(run), want_w)
    assert identical == kills, f"bit-identical after resume: {identical}/{kills}"


@pytest.mark.parametrize("sig", [signal.SIGTERM] + ([signal.SIGINT] if count(0, 1) else []))
def test_signal_checkpoints_at_step_boundary_and_exits_75(forker, baseline, tmp_path, sig):
    cfg, base, seconds = baseline
    pid = forker.start(cli_job(cfg, tmp_path, "s"), tmp_path / "s.log")
    deadline = time.monotonic() + 10 * seconds
    while not list_states(tmp_path / "s" / "checkpoints"):  # training has begun
        assert time.monotonic() < deadline, (tmp_path / "s.log").read_text()
        time.sleep(0.01)
    os.kill(pid, sig)
    code = forker.wait(pid)
    log = (tmp_path / "s.log").read_text()
    if code == 0:
        pytest.skip("the run finished before the signal arrived (machine too fast for this timing)")
    assert code == 75, log
    assert f"stopped by {signal.Signals(sig).name}" in log and "--resume" in log
    newest = list_states(tmp_path / "s" / "checkpoints")[-1]
    read_state(newest)  # verifies
    resume_to_end(forker, cfg, tmp_path, "s", tmp_path / "s-resume.log")
    assert same_weights(final_weights(tmp_path / "s"), final_weights(base))
    assert metrics_without_time(tmp_path / "s") == metrics_without_time(base)


def test_same_seed_twice_is_bit_identical(forker, baseline, tmp_path):
    cfg, base, _ = baseline
    code, _ = forker.run(cli_job(cfg, tmp_path, "again"), tmp_path / "again.log")
    assert code == 0
    assert same_weights(final_weights(tmp_path / "again"), final_weights(base))  # 2/2 with the baseline
