"""What is wrong with a data source: every problem, by item and reason, in one report.

Checks run while a source is read (a full decode for images, a parse for
CSV), so nothing is read twice. A source collects every :class:`Problem`
into a :class:`CheckReport`; training stops before the first epoch with
:class:`DataCheckError` (which carries the whole report) unless the caller
asked to skip bad items, in which case the skipped ones are recorded.

Example:
    >>> report = CheckReport(checked=3, problems=[Problem("a/x.png", "empty file (0 bytes)", "empty_file")])
    >>> report.ok, len(report.errors)
    (False, 1)
    >>> print(report.format())
    1 problem in 3 items:
      a/x.png: empty file (0 bytes) [empty_file]
    >>> str(report.error("data/pets"))
    'data/pets: 1 bad item of 3: a/x.png: empty file (0 bytes) (fix: remove or fix the listed items (deepdojo data check DATA lists all), or pass --skip-bad / skip_bad=True to train on the rest)'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from deepdojo.errors import DataError

SKIP_FIX = (
    "remove or fix the listed items (deepdojo data check DATA lists all), "
    "or pass --skip-bad / skip_bad=True to train on the rest"
)


@dataclass(frozen=True)
class Problem:
    """One bad item: ``where`` (relative path, row or folder), ``reason``, a short ``kind`` code.

    ``severity`` "error" items stop training (or are skipped with ``skip_bad``);
    "warning" items are reported but used.
    """

    where: str
    reason: str
    kind: str
    severity: str = "error"
    fix: str | None = None

    def line(self) -> str:
        text = f"{self.where}: {self.reason} [{self.kind}]"
        return text + (f" (fix: {self.fix})" if self.fix else "")

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> "Problem":
        return cls(**{k: record.get(k) for k in ("where", "reason", "kind", "severity", "fix")})


@dataclass
class CheckReport:
    """Every problem found in ``checked`` items (plus the item-less ones, e.g. an empty class folder)."""

    checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def extend(self, other: "CheckReport") -> "CheckReport":
        self.checked += other.checked
        self.problems.extend(other.problems)
        return self

    def format(self, limit: int | None = None) -> str:
        """Human-readable: a count line, then one line per problem (errors first)."""
        shown = self.errors + self.warnings
        n = len(shown)
        head = f"{n} problem{'s' if n != 1 else ''} in {self.checked} items" + (":" if n else "")
        lines = [head] + ["  " + p.line() for p in shown[:limit]]
        if limit is not None and n > limit:
            lines.append(f"  ... and {n - limit} more")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "checked": self.checked, "errors": len(self.errors), "warnings": len(self.warnings),
            "problems": [asdict(p) for p in self.errors + self.warnings],
        }

    def error(self, where: str) -> "DataCheckError":
        """One :class:`DataCheckError` summarising the errors (the full list rides along)."""
        errs = self.errors
        first = "; ".join(f"{p.where}: {p.reason}" for p in errs[:3])
        more = f"; and {len(errs) - 3} more" if len(errs) > 3 else ""
        what = f"{len(errs)} bad item{'s' if len(errs) != 1 else ''} of {self.checked}: {first}{more}"
        fix = SKIP_FIX
        if len(errs) == 1 and errs[0].fix:
            fix = f"{errs[0].fix}, or pass --skip-bad / skip_bad=True to train on the rest"
        return DataCheckError(what, where=where, fix=fix, report=self)


class DataCheckError(DataError):
    """Bad items in a data source; ``report`` lists every one of them."""

    def __init__(self, what: str, where: str | None = None, fix: str | None = None,
                 report: CheckReport | None = None):
        super().__init__(what, where=where, fix=fix)
        self.report = report or CheckReport()
