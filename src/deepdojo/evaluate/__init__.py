"""Honest evaluation: the test vault, baselines, diagnosis, interpretation, model choice.

Names resolve lazily: ``data/core.py`` imports ``evaluate.vault`` (the sealed
test split), so importing this package must not pull in the rest of it.

Example:
    >>> from deepdojo.evaluate import diagnose
    >>> diagnose(train_error=0.01, valid_error=0.10, train_dev_error=0.09).primary
    'variance'
"""

import importlib

_WHERE = {
    "compute_baselines": "baselines", "Diagnosis": "diagnosis", "diagnose": "diagnosis", "diagnose_run": "finish",
    "finish_run": "finish", "Interpretation": "interpret", "import_errors": "interpret", "evaluate_run": "run_eval",
    "Objective": "selection", "SealedSplit": "vault", "TestSetSealedError": "vault", "TestVault": "vault",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"deepdojo.evaluate.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'deepdojo.evaluate' has no attribute {name!r}")
