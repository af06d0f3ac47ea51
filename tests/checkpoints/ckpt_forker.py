"""A small fork server for the kill tests: import torch and deepdojo once, then fork one child per job.

Starting Python and importing torch costs seconds on a loaded 2-core machine; a child forked from
a server that has imported (but never run) torch starts in milliseconds, and is a real separate
process that a test can SIGKILL at any instant. The server never runs a torch op, so no thread
pool exists at fork time.

Protocol (JSON lines on stdin/stdout): ``{"op": "run", "job": ..., "log": path}`` -> ``{"pid": n}``;
``{"op": "wait", "pid": n}`` -> ``{"code": exit code, or -signal}``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def run_job(job: dict) -> int:
    """In the child: ``cli`` runs ``deepdojo ARGV``; ``writer`` writes state checkpoints forever;
    ``lock`` holds a run folder's lock until killed."""
    if job["kind"] == "cli":
        from deepdojo.cli.main import main

        return main(job["argv"])
    if job["kind"] == "writer":
        import torch

        from deepdojo.train.state_files import next_seq, write_state

        folder = Path(job["folder"])
        n = job["numel"]
        while True:
            step = next_seq(folder)
            tensors = {f"t{i}": torch.full((n,), float(step + i)) for i in range(3)}  # content tied to the step
            write_state(folder, tensors, {"step": step}, keep=2)
    if job["kind"] == "lock":  # hold a run folder's lock until killed
        from deepdojo.train.run_folder import RunFolder

        run = RunFolder(job["folder"]).lock()
        print("locked", flush=True)
        while run:
            time.sleep(1)
    raise ValueError(job["kind"])


def serve() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (imported once here, not in every child)
    import torch  # noqa: F401

    import deepdojo.cli.main  # noqa: F401
    import deepdojo.report.html_report  # noqa: F401
    import deepdojo.train.state_files  # noqa: F401
    import deepdojo.vision  # noqa: F401
    import sklearn.datasets  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "run":
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    fd = os.open(cmd["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(fd, 1)
                    os.dup2(fd, 2)
                    code = run_job(cmd["job"])
                except BaseException:  # report and exit: never return into the server loop
                    import traceback

                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            print(json.dumps({"pid": pid}), flush=True)
        elif cmd["op"] == "wait":
            _, status = os.waitpid(cmd["pid"], 0)
            print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)


class Forker:
    """Client side: ``start(job, log) -> pid``, ``wait(pid) -> code``, ``run(job, log) -> (code, seconds)``."""

    def __init__(self, src: Path):
        env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)
        assert json.loads(self.proc.stdout.readline())["ready"]

    def _ask(self, cmd: dict) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def start(self, job: dict, log: Path) -> int:
        return self._ask({"op": "run", "job": job, "log": str(log)})["pid"]

    def wait(self, pid: int) -> int:
        return self._ask({"op": "wait", "pid": pid})["code"]

    def run(self, job: dict, log: Path) -> tuple[int, float]:
        t0 = time.perf_counter()
        pid = self.start(job, log)
        return self.wait(pid), time.perf_counter() - t0

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


if __name__ == "__main__":
    serve()
