"""Errors that say what happened, where, and how to fix it.

Every error deepdojo raises on purpose is a :class:`DeepdojoError`. The CLI
prints it as one line and exits with its ``exit_code``: 2 for bad input
(the default), 1 for :class:`TrainingError`, 75 for an interrupted run that
saved a checkpoint; anything else is a bug (exit 1, with the traceback).

Example:
    >>> from deepdojo.errors import DataError
    >>> str(DataError("no images found", where="data/pets", fix="put images in class subfolders"))
    'data/pets: no images found (fix: put images in class subfolders)'
"""

from __future__ import annotations


class DeepdojoError(Exception):
    """Base class: a problem the user can fix. ``where`` names the file or field."""

    exit_code = 2

    def __init__(self, what: str, where: str | None = None, fix: str | None = None):
        self.what, self.where, self.fix = what, where, fix
        msg = f"{where}: {what}" if where else what
        if fix:
            msg += f" (fix: {fix})"
        super().__init__(msg)


class ConfigError(DeepdojoError):
    """A bad option, flag or config-file field."""


class DataError(DeepdojoError):
    """A missing, empty or unreadable data source."""


class CheckpointError(DeepdojoError):
    """A checkpoint that is missing, corrupt or untrusted."""


class DiskFullError(CheckpointError):
    """No space left (or over quota) while writing a run folder; the file keeps its old content."""


class TrainingError(DeepdojoError):
    """Training cannot go on (for example the loss became NaN)."""

    exit_code = 1


class NonFiniteError(TrainingError):
    """The loss or a gradient became NaN/Inf (raised by ``NanGuard``)."""


class TrainingInterrupted(DeepdojoError):
    """SIGTERM/SIGINT stopped training after a checkpoint was written; rerun with ``--resume``.

    Exit code 75 (``EX_TEMPFAIL``: "try again later"), so a job scheduler can requeue the run.
    """

    exit_code = 75
