"""Training: the Learner and its loop, callbacks, optimizers, schedules, LR finder, checkpoints."""

from deepdojo.train.callbacks import Callback, CancelBatch, CancelEpoch, CancelFit
from deepdojo.train.early_stopping import EarlyStopping
from deepdojo.train.guards import GradientClip, NanGuard
from deepdojo.train.learner import Learner
from deepdojo.train.progress import ProgressBar
from deepdojo.train.run_logger import RunLogger, SaveCheckpoints

__all__ = [
    "Callback", "CancelBatch", "CancelEpoch", "CancelFit", "EarlyStopping", "GradientClip", "Learner",
    "NanGuard", "ProgressBar", "RunLogger", "SaveCheckpoints",
]
