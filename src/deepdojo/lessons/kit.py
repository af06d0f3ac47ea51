"""What a lesson script uses: smoke mode, readable claims, figures saved and shown inline.

A lesson starts with ``lesson = begin(4)`` and ends with ``lesson.end()``. In
between, every claim it teaches is a :meth:`LessonRun.check` that prints the
claim beside the measured number and fails the lesson when it stops holding::

    [ok] linear model on XOR, accuracy: 0.50 <= 0.75

Example:
    >>> run = begin(99, out="kit-doctest", smoke=True)
    Lesson 99, smoke (quick, for CI) run; figures go to kit-doctest/
    >>> run.check("two is more than one", 2.0, ">", 1.0)
    [ok] two is more than one: 2.00 > 1.00
    >>> run.check("pi is about 3.14", 3.14159, "~=", 3.14, tol=0.01, fmt=".3f")
    [ok] pi is about 3.14: 3.142 ~= 3.140 (+-0.01)
"""

from __future__ import annotations

import json
import operator
import os
import sys
import time
from pathlib import Path
from typing import Any

SMOKE_ENV = "DEEPDOJO_SMOKE"  # "1": run the quick version (CI, notebooks executed by tests)
OUT_ENV = "DEEPDOJO_LESSON_OUT"  # folder for figures and claims.json (default ./lesson_output/NN)

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


class ClaimFailed(AssertionError):
    """A lesson's claim did not hold: the message shows the claim and the measured number."""


def smoke_requested(argv: list[str] | None = None) -> bool:
    """``--smoke`` on the command line, or ``DEEPDOJO_SMOKE=1`` in the environment (notebooks)."""
    argv = sys.argv[1:] if argv is None else argv
    return "--smoke" in argv or os.environ.get(SMOKE_ENV, "").lower() in ("1", "true", "yes")


def figure(nrows: int = 1, ncols: int = 1, figsize=(6, 4), squeeze: bool = True):
    """``(figure, axes)`` like ``pyplot.subplots``, without pyplot's global state; pass the figure to ``show``."""
    from deepdojo.report.plots import subplots

    return subplots(nrows, ncols, figsize=figsize, squeeze=squeeze)


class LessonRun:
    """One run of a lesson: its mode, its output folder, the claims checked so far."""

    def __init__(self, number: int, out: str | Path | None = None, smoke: bool | None = None):
        self.number = number
        self.smoke = smoke_requested() if smoke is None else smoke
        self.out = Path(out or os.environ.get(OUT_ENV) or Path("lesson_output") / f"{number:02d}")
        self.claims: list[dict[str, Any]] = []
        self.figures: list[str] = []
        self.t0 = time.perf_counter()
        mode = "smoke (quick, for CI)" if self.smoke else "full"
        print(f"Lesson {number}, {mode} run; figures go to {self.out}/")

    def pick(self, full: Any, smoke: Any) -> Any:
        """``full`` in a normal run, ``smoke`` in a smoke run (fewer epochs, smaller data)."""
        return smoke if self.smoke else full

    def check(self, claim: str, value: float, op: str, bound: float, *, tol: float | None = None,
              fmt: str = ".2f") -> None:
        """Print ``claim: value op bound`` and raise :class:`ClaimFailed` unless it holds.

        ``op`` is one of ``<  <=  >  >=  ==  ~=`` (``~=`` means within ``tol``).
        ``bound`` may itself be a measured number ("MLP beats linear: 1.00 > 0.50").
        Words compare with ``==`` ("diagnosis: 'variance' == 'variance'").
        """
        if isinstance(value, str) or isinstance(bound, str):
            if op != "==":
                raise ValueError("words compare only with '=='")
            ok, text = value == bound, f"{claim}: {value!r} == {bound!r}"
            return self._record(claim, value, op, bound, tol, ok, text)
        value, bound = float(value), float(bound)
        if op == "~=":
            if tol is None:
                raise ValueError("op '~=' needs tol=")
            ok = abs(value - bound) <= tol
            text = f"{claim}: {value:{fmt}} ~= {bound:{fmt}} (+-{tol:g})"
        elif op in _OPS:
            ok = bool(_OPS[op](value, bound))
            text = f"{claim}: {value:{fmt}} {op} {bound:{fmt}}"
        else:
            raise ValueError(f"unknown comparison {op!r}; use one of {', '.join([*_OPS, '~='])}")
        self._record(claim, value, op, bound, tol, ok, text)

    def _record(self, claim: str, value: Any, op: str, bound: Any, tol: float | None, ok: bool, text: str) -> None:
        self.claims.append({"claim": claim, "value": value, "op": op, "bound": bound, "tol": tol, "ok": ok,
                            "text": text})
        print(("[ok] " if ok else "[FAILED] ") + text)
        if not ok:
            self._write_claims()
            raise ClaimFailed(f"lesson {self.number}: the claim no longer holds: {text}")

    def show(self, fig, name: str) -> None:
        """Save ``fig`` as ``<out>/<name>.png`` and, in a notebook, show it inline."""
        from deepdojo.report.plots import fig_to_png
        from deepdojo.train.progress import in_notebook
        from deepdojo.train.run_folder import atomic_write_bytes

        fig.tight_layout()
        png = fig_to_png(fig)
        path = self.out / f"{name}.png"
        atomic_write_bytes(path, png)
        self.figures.append(str(path))
        if in_notebook():
            from IPython.display import Image, display

            display(Image(data=png))
        else:
            print(f"   (figure saved: {path})")

    def end(self) -> None:
        """Print the tally and write ``<out>/claims.json`` (every claim with its measured number)."""
        record = self._write_claims()
        print(f"\nLesson {self.number} complete in {record['seconds']:.1f} s: "
              f"{len(self.claims)} claims checked, all hold.")

    def _write_claims(self) -> dict[str, Any]:
        from deepdojo.train.run_folder import atomic_write_bytes

        record = {"lesson": self.number, "smoke": self.smoke, "seconds": round(time.perf_counter() - self.t0, 2),
                  "claims": self.claims, "figures": self.figures}
        atomic_write_bytes(self.out / "claims.json", json.dumps(record, indent=1).encode())
        return record


def begin(number: int, out: str | Path | None = None, smoke: bool | None = None) -> LessonRun:
    """Start lesson ``number``: smoke mode from ``--smoke``/``DEEPDOJO_SMOKE``, output folder, claim log."""
    return LessonRun(number, out=out, smoke=smoke)
