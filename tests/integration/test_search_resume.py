"""Kill the search driver at random points, rerun the same command: progress is kept, the target is met exactly."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy.exc
from optuna.trial import TrialState

from deepdojo.cli.main import main as cli_main

TARGET = 12  # each round below completes at most a couple of trials before its kill
# what a driver imports on its way (torch.optim pulls in torch._dynamo; a new SQLite study runs alembic)
PRELOAD = ["torch", "torch._dynamo", "optuna", "optuna.storages._rdb.storage", "alembic.command", "matplotlib.pyplot",
           "rich.table", "deepdojo.cli.main", "deepdojo.search", "deepdojo.search.results", "deepdojo.vision"]


def _argv(out: Path) -> list[str]:
    return ["search", "builtin:xor", "--trials", str(TARGET), "--param", "lr=log(1e-3,1e-1)",
            "--param", "model_kwargs.width=logint(4,64)", "--epochs", "1", "--arch", "mlp", "--out", str(out),
            "--study", "kill", "--heartbeat", "1", "--json"]


@pytest.fixture(scope="module")
def drivers():
    """Driver processes forked from a server that imported torch once: each starts in milliseconds, so kills
    land in study creation, trials and summaries rather than in ``import torch``."""
    old = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the fork server; tiny models on shared cores
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    yield lambda argv: ctx.Process(target=cli_main, args=(argv,), daemon=True)
    if old is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = old


def _trials(out: Path) -> list[optuna.trial.FrozenTrial]:
    db = out / "kill" / "study.db"
    if not db.exists():
        return []
    for _ in range(50):
        try:
            return optuna.load_study(study_name="kill", storage=f"sqlite:///{db}").trials
        except KeyError:  # killed before the study was created
            return []
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError):  # read mid schema creation / lock
            time.sleep(0.05)
    raise AssertionError(f"{db} stayed unreadable")


def test_killed_driver_resumes_toward_the_target_without_duplicates(tmp_path, drivers):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    rng = random.Random(6)
    complete_counts = [0]
    warm = drivers(["--version"])  # start the fork server outside the timed kills
    warm.start()
    warm.join(120)
    for _ in range(5):
        before = len(_trials(tmp_path))
        proc = drivers(_argv(tmp_path))
        proc.start()
        # kill points tied to progress, not wall time (machines differ 10x in speed): once this driver has
        # started a new trial, let it run a random moment more -- mid-trial, between trials or in a summary
        deadline = time.monotonic() + 120
        while proc.is_alive() and len(_trials(tmp_path)) <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.15))
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # it finished first: the rerun below must then add nothing
            pass
        proc.join()
        done = sum(t.state == TrialState.COMPLETE for t in _trials(tmp_path))
        assert done >= complete_counts[-1], complete_counts  # completed trials are never lost
        complete_counts.append(done)
    assert complete_counts[-1] < TARGET, "every kill came too late to interrupt anything"
    final = drivers(_argv(tmp_path))
    final.start()
    final.join(240)
    assert final.exitcode == 0
    summary = json.loads((tmp_path / "kill" / "search.json").read_text())
    trials = _trials(tmp_path)
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == TARGET == summary["counts"]["COMPLETE"]
    assert not [t for t in trials if t.state == TrialState.RUNNING]  # killed trials were failed, not left running
    run_dirs = [t.user_attrs["run_dir"] for t in complete]
    assert len(set(run_dirs)) == TARGET and all((Path(d) / "summary.json").exists() for d in run_dirs)
    assert complete_counts == sorted(complete_counts)
    for t in trials:  # a trial killed after sampling is retried with its parameters
        if "failed_trial" in t.system_attrs:
            first = next(o for o in trials if o.number == t.system_attrs["failed_trial"])
            assert first.state == TrialState.FAIL and all(t.params[k] == v for k, v in first.params.items())
    again = drivers(_argv(tmp_path))
    again.start()
    again.join(240)
    assert again.exitcode == 0 and len(_trials(tmp_path)) == len(trials)  # target met: rerunning adds nothing
