"""Distributed data-parallel training with real processes (gloo on 127.0.0.1), as torchrun runs them.

Oracle: the same training in one process with the global batch (2 x the per-rank batch). Each
test starts 2 worker processes (dist_worker.py), so the file is the slow part of the suite's
distributed story; the whole-CLI run through torchrun is behind DEEPDOJO_LONG_TESTS=1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent
SRC = str(HERE.parent.parent / "src")
LONG = os.environ.get("DEEPDOJO_LONG_TESTS") == "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(rank: int | None, world: int, port: int) -> dict:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1",
           "DEEPDOJO_DIST_TIMEOUT": "60"}
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    if rank is not None:
        env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port))
    return env


def run_ranks(scenario: str, out: Path, world: int = 2, timeout: float = 120,
              single: Path | None = None) -> tuple[list, list]:
    """Start ``world`` worker processes (and, with ``single``, the one-process oracle beside them, writing
    there); returns (per-rank results or None, per-process (code, stderr)), the oracle last."""
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    jobs = [(out, env_for(r, world, port)) for r in range(world)]
    if single is not None:
        single.mkdir(parents=True, exist_ok=True)
        jobs.append((single, env_for(None, 1, 0)))
    procs = [subprocess.Popen([sys.executable, str(HERE / "dist_worker.py"), scenario, str(folder)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for folder, env in jobs]
    outcomes = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"{scenario}: a rank hung for {timeout}s")
        outcomes.append((p.returncode, err))
    files = [out / f"rank{r}.pt" for r in range(world)] + ([single / "rank0.pt"] if single is not None else [])
    results = [torch.load(f, weights_only=False) if f.exists() else None for f in files]
    return results, outcomes


def test_two_processes_reproduce_one_with_the_same_global_batch(tmp_path):
    """Weights, losses and metrics of 2 gloo processes (per-rank batch 4, an uneven 17-row epoch whose
    last global batch has a single row) equal one process with batch 8 -- through an LR finder, a
    stop after step 3 and a resume from rank 0's checkpoint. Rank 1 writes nothing in the run folder."""
    # the oracle: the same function in one process (no WORLD_SIZE), run beside the two ranks
    results, outcomes = run_ranks("parity", tmp_path / "ddp", single=tmp_path / "single")
    for code, err in outcomes:
        assert code == 0, err[-3000:]
    r0, r1, one = results
    assert r0["stopped_at"] == r1["stopped_at"] == one["stopped_at"] == 3
    for name, w in one["weights"].items():
        torch.testing.assert_close(r0["weights"][name], w, rtol=1e-5, atol=1e-6)
        assert torch.equal(r0["weights"][name], r1["weights"][name])  # DDP keeps the ranks identical
    def strip(h):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in h]

    assert strip(r0["history"]) == strip(r1["history"])  # all-reduced: one record (and early stopping) everywhere
    assert len(r0["history"]) == len(one["history"]) == 2
    for got, want in zip(r0["history"], one["history"]):
        for key in ("train_loss", "valid_loss", "accuracy", "f1_macro"):
            assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-6), key
    for name, w in one["fsdp_weights"].items():  # FSDP2 shards reproduce one process too
        torch.testing.assert_close(r0["fsdp_weights"][name], w, rtol=1e-5, atol=1e-6)
    assert r0["suggestion"] == r1["suggestion"] == pytest.approx(one["suggestion"], rel=1e-4)
    assert r1["writes"] == []  # only rank 0 writes the run folder
    assert (tmp_path / "ddp" / "run" / "summary.json").is_file()
    assert "different number of batches on each rank" in r0["uneven"] and "different number" in r1["uneven"]


def test_a_killed_rank_ends_the_others_with_a_clear_error(tmp_path):
    t0 = time.monotonic()
    results, outcomes = run_ranks("killed", tmp_path, timeout=90)
    assert outcomes[1][0] == -9  # rank 1 killed itself
    assert outcomes[0][0] == 0 and results[0] is not None, outcomes[0][1][-2000:]
    error = results[0]["error"]
    assert error and "another training process died or stopped responding" in error and "--resume" in error
    assert time.monotonic() - t0 < 60


@pytest.mark.skipif(not LONG, reason="torchrun + 2 workers + a report: ~30 s; DEEPDOJO_LONG_TESTS=1")
def test_cli_nproc_runs_torchrun_and_rank_0_reports(tmp_path):
    import json

    cmd = [sys.executable, "-m", "deepdojo", "train", "builtin:xor", "--nproc", "2", "--epochs", "2", "--lr", "0.05",
           "--out", str(tmp_path), "--name", "r", "--json"]
    done = subprocess.run(cmd, env=env_for(None, 1, 0), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summaries = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(summaries) == 1  # rank 0 alone prints
    assert json.loads(summaries[0])["epochs"] == 2
    run = tmp_path / "r"
    assert json.loads((run / "config.json").read_text())["nproc"] == 2
    assert (run / "report.html").is_file() and len((run / "metrics.jsonl").read_text().splitlines()) == 2
    # resuming with another process count would change the global batch: refused, exit code 2
    again = subprocess.run([*cmd[:5], "--epochs", "2", "--lr", "0.05", "--out", str(tmp_path), "--name", "r",
                            "--resume"], env=env_for(None, 1, 0), capture_output=True, text=True, timeout=300)
    assert again.returncode == 2, again.stderr[-2000:]
    assert "other settings" in again.stderr and "config.nproc 2 -> 1" in again.stderr


@pytest.mark.skipif(not LONG, reason="another 2-process run: DEEPDOJO_LONG_TESTS=1")
def test_sigterm_on_one_rank_stops_every_rank_at_the_same_step_with_a_checkpoint(tmp_path):
    import signal

    from deepdojo.train.state_files import list_states, read_state

    tmp_path.mkdir(exist_ok=True)
    port = free_port()
    procs = [subprocess.Popen([sys.executable, str(HERE / "dist_worker.py"), "sigterm", str(tmp_path)],
                              env=env_for(r, 2, port), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(2)]
    deadline = time.monotonic() + 120
    while not (tmp_path / "ready1").exists():
        assert time.monotonic() < deadline and procs[1].poll() is None, procs[1].communicate()[1][-2000:]
        time.sleep(0.05)
    procs[1].send_signal(signal.SIGTERM)  # one rank only, as a scheduler preempting a node might
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2))
    assert r0["step"] is not None and r0["step"] == r1["step"]
    assert "SIGTERM" in r0["message"] and "--resume" in r0["message"]
    newest = list_states(tmp_path / "run" / "checkpoints")[-1]
    assert read_state(newest)[1]["step"] == r0["step"]
