"""Two worker processes share one study on a real PostgreSQL server started here on 127.0.0.1.

The server is the distribution's PostgreSQL (installed with apt-get when
missing and this runs as root), started as a throwaway cluster in a temporary
folder on a free port and removed afterwards. Skipped, with the reason, only
where PostgreSQL or psycopg2 cannot be had.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from deepdojo.cli.main import main as cli_main
from deepdojo.search.driver import storage_url

TARGET = 6
PRELOAD = ["torch", "torch._dynamo", "optuna", "optuna.storages._rdb.storage", "alembic.command", "matplotlib.pyplot",
           "rich.table", "psycopg2", "deepdojo.cli.main", "deepdojo.search", "deepdojo.search.results", "deepdojo.vision"]


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _install_postgres(system_package) -> str | None:
    """apt-get install postgresql when it is missing; returns why not, or None."""
    if _pg_bin() is not None:
        return None
    why = system_package("postgresql")
    if why is None and _pg_bin() is None:
        return "apt-get installed postgresql but initdb was not found"
    return why


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url(system_package):
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install 'deepdojo[search]')")
    why = _install_postgres(system_package)
    if why:
        pytest.skip(why)
    bin_dir, port = _pg_bin(), _free_port()
    root = Path(tempfile.mkdtemp(prefix="deepdojo-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the postgres user
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"

    def pg(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=timeout)

    init = pg(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    start = pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "60", "start")
    if start.returncode != 0:
        text = log.read_text() if log.exists() else start.stderr
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"the PostgreSQL server did not start: {text.strip()[-300:]}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"  # the driver is chosen by deepdojo
    finally:
        pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_one_study_on_postgres(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # two workers on shared cores
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    optuna.storages.RDBStorage(storage_url(postgres_url))  # the schema, once: workers then race for trials, not for tables
    workers = []
    for i in range(2):  # as on two machines: one storage URL, each with its own search folder
        argv = ["search", "builtin:xor", "--trials", str(TARGET), "--param", "lr=log(1e-3,1e-1)",
                "--param", "model_kwargs.width=logint(4,64)", "--epochs", "1", "--arch", "mlp", "--storage", postgres_url,
                "--study", "shared", "--out", str(tmp_path / f"machine{i}"), "--heartbeat", "2", "--json"]
        workers.append(ctx.Process(target=cli_main, args=(argv,)))
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    assert [w.exitcode for w in workers] == [0, 0]
    trials = optuna.load_study(study_name="shared", storage=storage_url(postgres_url)).trials
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) == len({t._trial_id for t in trials})  # none duplicated
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == TARGET  # none lost, none extra
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}  # PRUNED: skipped as surplus
    run_dirs = {t.user_attrs["run_dir"] for t in complete}
    assert len(run_dirs) == TARGET and all((Path(d) / "summary.json").exists() for d in run_dirs)
    on_disk = {str(p.parent) for p in tmp_path.glob("machine*/shared/trials/*/summary.json")}
    assert on_disk == run_dirs  # every finished run folder belongs to exactly one complete trial
