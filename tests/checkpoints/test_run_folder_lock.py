"""One trainer per run folder (an exclusive flock, gone with its process), no silent reuse of a run's
name, and a full disk anywhere in the run folder is a one-line error (issue 13, items 4 and 7)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from conftest import stray_files
from test_disk_full import fill, small_disk  # noqa: F401  (the tmpfs fixture)

from deepdojo.cli.main import main
from deepdojo.errors import ConfigError, DiskFullError
from deepdojo.train.run_folder import RunFolder, atomic_write_bytes, claim_run_folder, write_json

XOR = ["train", "builtin:xor", "--arch", "mlp", "--lr", "0.05", "--epochs", "2", "--seed", "0", "--device", "cpu"]


def train(out, name, *extra, capsys=None):
    code = main([*XOR, "--out", str(out), "--name", name, "--json", *extra])
    out_err = capsys.readouterr() if capsys else ("", "")
    return code, out_err[1]


def epochs(run) -> list[int]:
    return [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def hold_lock(forker, folder, log):
    """A separate process holding ``folder``'s lock; returns its pid once it holds it."""
    pid = forker.start({"kind": "lock", "folder": str(folder)}, log)
    deadline = time.monotonic() + 60
    while "locked" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.01)
    return pid


def test_a_folder_locked_by_another_process_is_refused_naming_it(forker, tmp_path, capsys):
    pid = hold_lock(forker, tmp_path / "runs" / "same", tmp_path / "lock.log")
    try:
        code, err = train(tmp_path / "runs", "same", capsys=capsys)
        assert code == 2 and f"in use by another training process (pid {pid})" in err
        assert not (tmp_path / "runs" / "same" / "metrics.jsonl").exists()
    finally:
        os.kill(pid, signal.SIGKILL)
        assert forker.wait(pid) == -signal.SIGKILL


def test_a_lock_left_by_a_killed_process_is_no_lock(forker, tmp_path):
    folder = tmp_path / "runs" / "k"
    pid = hold_lock(forker, folder, tmp_path / "lock.log")
    with pytest.raises(ConfigError, match="in use"):
        RunFolder(folder).lock()
    os.kill(pid, signal.SIGKILL)
    assert forker.wait(pid) == -signal.SIGKILL
    assert (folder / ".lock").read_text().split()[0] == str(pid)  # the file stays; the flock died with the process
    run = claim_run_folder(tmp_path / "runs", "k")
    assert run.path == folder and (folder / ".lock").read_text().split()[0] == str(os.getpid())


def test_two_trainings_started_at_once_with_one_name_one_wins_metrics_not_interleaved(forker, tmp_path):
    argv = [*XOR, "--epochs", "3", "--out", str(tmp_path), "--name", "same", "--json"]
    pids = [forker.start({"kind": "cli", "argv": argv}, tmp_path / f"{i}.log") for i in range(2)]
    codes = [forker.wait(pid) for pid in pids]
    logs = [(tmp_path / f"{i}.log").read_text() for i in range(2)]
    assert sorted(codes) == [0, 2], logs
    loser = logs[codes.index(2)]
    assert "in use by another training process" in loser or "already holds a run" in loser
    run = tmp_path / "same"
    assert epochs(run) == [0, 1, 2]
    assert json.loads((run / "summary.json").read_text())["epochs"] == 3
    assert stray_files(run) == []


def test_reusing_a_finished_runs_name_needs_resume_or_overwrite(tmp_path, capsys):
    run = tmp_path / "a"
    assert train(tmp_path, "a", capsys=capsys)[0] == 0
    before = (run / "metrics.jsonl").read_bytes()
    code, err = train(tmp_path, "a", capsys=capsys)
    assert code == 2 and "already holds a run" in err and "--overwrite" in err
    assert (run / "metrics.jsonl").read_bytes() == before  # nothing appended
    code, err = train(tmp_path, "a", "--resume", "--overwrite", capsys=capsys)
    assert code == 2 and "contradict" in err
    code, err = train(tmp_path, "a", "--resume", capsys=capsys)
    assert code == 0 and epochs(run) == [0, 1]  # already finished: resumed, nothing redone or appended
    (run / "stale.txt").write_text("from the old run")
    code, err = train(tmp_path, "a", "--overwrite", "--epochs", "1", capsys=capsys)
    assert code == 0, err
    assert epochs(run) == [0] and not (run / "stale.txt").exists()
    assert json.loads((run / "config.json").read_text())["epochs"] == 1


def test_the_python_api_refuses_a_foreign_run_when_fit_starts_without_resume(tmp_path):
    from deepdojo import vision

    from deepdojo.train.state_files import list_states

    from deepdojo.train.callbacks import Callback

    class StopAfterTwoEpochs(Callback):  # a run interrupted after its second epoch's checkpoint
        def after_epoch(self):
            if self.learn.epoch == 1:
                raise KeyboardInterrupt

    first_run = vision.classifier("builtin:xor", out=tmp_path, name="r", progress=False, seed=0,
                                  callbacks=[StopAfterTwoEpochs()])
    with pytest.raises(KeyboardInterrupt):
        first_run.fit(3, 0.05)
    states = list_states(tmp_path / "r" / "checkpoints")
    first = (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()
    learn = vision.classifier("builtin:xor", out=tmp_path, name="r", progress=False, seed=0)
    with pytest.raises(ConfigError, match="already holds a run"):
        learn.fit(3, 0.05)
    assert list_states(tmp_path / "r" / "checkpoints") == states  # refused before anything was deleted
    assert (tmp_path / "r" / "metrics.jsonl").read_text().splitlines() == first
    learn.fit(3, 0.05, resume=True)  # the same Learner may continue it, from its last checkpoint
    resume = next(cb for cb in learn.callbacks if type(cb).__name__ == "ResumeFromCheckpoint")
    assert resume.resumed_from == states[-1]
    assert epochs(tmp_path / "r") == [0, 1, 2]
    assert (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()[0] == first[0]  # continued, not restarted
    fresh = claim_run_folder(tmp_path, "r", overwrite=True)
    assert not (fresh.path / "metrics.jsonl").exists() and fresh.held_run is False


def test_unnamed_runs_started_together_take_different_folders(tmp_path):
    a = claim_run_folder(tmp_path, None, "mlp")
    b = RunFolder.create(tmp_path, None, "mlp")  # the name another process would compute now
    assert a.path != b.path
    c = claim_run_folder(tmp_path, None, "mlp")
    assert len({a.path, b.path, c.path}) == 3


# ----------------------------------------------------------------------------- full disk (item 7)
def test_every_run_folder_write_turns_a_full_disk_into_one_error(small_disk):  # noqa: F811
    run = RunFolder(small_disk / "run")
    run.append_metrics({"epoch": 0, "train_loss": 1.0})
    before = (run.path / "metrics.jsonl").read_bytes()
    fill(small_disk, leave=0)
    with pytest.raises(DiskFullError, match=r"no space left on device: writing needs \d+ bytes, \d+ bytes are free"):
        run.append_metrics({"epoch": 1, "train_loss": 0.5, "pad": "x" * 8192})
    assert (run.path / "metrics.jsonl").read_bytes() == before  # no half line
    with pytest.raises(DiskFullError):
        write_json(run.path / "summary.json", {"pad": "x" * 8192})
    with pytest.raises(DiskFullError):
        atomic_write_bytes(run.path / "report.html", b"x" * 8192)
    assert stray_files(run.path) == [] and not (run.path / "summary.json").exists()


def test_disk_full_at_the_end_of_training_is_a_one_line_error_exit_2(small_disk, monkeypatch, capsys):  # noqa: F811
    """The last epoch's checkpoint finds the disk full; summary.json cannot be written either."""
    from deepdojo.train.run_logger import SaveCheckpoints

    original = SaveCheckpoints.after_epoch

    def full_at_last_epoch(self):
        if self.learn.epoch == self.learn.n_epochs - 1:
            fill(self.learn.run.path, leave=0)
        original(self)

    monkeypatch.setattr(SaveCheckpoints, "after_epoch", full_at_last_epoch)
    code = main([*XOR, "--out", str(small_disk), "--name", "full", "--checkpoint-seconds", "100000"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "no space left on device" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert stray_files(small_disk / "full") == []


def test_disk_full_while_writing_the_report_is_a_one_line_error(small_disk, monkeypatch, capsys):  # noqa: F811
    import deepdojo.evaluate.finish as finish

    original = finish.finish_run

    def fill_then_finish(learn, *a, **kw):
        fill(learn.run.path, leave=0)
        return original(learn, *a, **kw)

    monkeypatch.setattr(finish, "finish_run", fill_then_finish)
    code = main([*XOR, "--out", str(small_disk), "--name", "rep"])
    err = capsys.readouterr().err
    assert code == 2 and "no space left on device" in err and "Traceback" not in err, err


def test_a_forked_child_does_not_keep_the_lock(tmp_path):
    """A DataLoader worker or pool process that outlives a killed trainer must not hold its run folder."""
    from deepdojo.train import run_folder

    run = RunFolder(tmp_path / "f").lock()
    fd = run_folder._LOCKS[run._lock_key][0]
    pid = os.fork()
    if pid == 0:  # the child: its copy of the lock descriptor is closed, its registry empty
        try:
            os.fstat(fd)
            os._exit(1)
        except OSError:
            os._exit(0 if not run_folder._LOCKS else 2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    os.fstat(fd)  # the parent still holds it
    run.unlock()
