"""Honest evaluation: the test vault, baselines, diagnosis, interpretation, model choice.

Example:
    >>> from deepdojo.evaluate import diagnose
    >>> diagnose(train_error=0.01, valid_error=0.10, train_dev_error=0.09).primary
    'variance'
"""

from deepdojo.data.sealed import SealedSplit, TestSetSealedError
from deepdojo.evaluate.baselines import compute_baselines
from deepdojo.evaluate.diagnosis import Diagnosis, diagnose
from deepdojo.evaluate.finish import diagnose_run, finish_run
from deepdojo.evaluate.interpret import Interpretation, import_errors
from deepdojo.evaluate.run_eval import evaluate_run
from deepdojo.evaluate.selection import Objective
from deepdojo.evaluate.vault import TestVault

__all__ = ["Diagnosis", "Interpretation", "Objective", "SealedSplit", "TestSetSealedError", "TestVault",
           "compute_baselines", "diagnose", "diagnose_run", "evaluate_run", "finish_run", "import_errors"]
