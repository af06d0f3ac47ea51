"""Tasks: what kind of problem a run solves (see :mod:`deepdojo.tasks.base`).

>>> from deepdojo.tasks import get_task, task_names
>>> get_task("multilabel", threshold=0.3)
MultiLabel(threshold=0.3)
>>> "classification" in task_names()
True
"""

from deepdojo.tasks.autoencoder import Autoencoder
from deepdojo.tasks.base import Task, get_task, register_task, task_names
from deepdojo.tasks.classification import Classification
from deepdojo.tasks.collab import Collab
from deepdojo.tasks.detection import Detection
from deepdojo.tasks.gan import ConditionalGAN, GANTask
from deepdojo.tasks.language_model import LanguageModel
from deepdojo.tasks.localization import Localization
from deepdojo.tasks.multilabel import MultiLabel
from deepdojo.tasks.regression import Regression
from deepdojo.tasks.segmentation import Segmentation
from deepdojo.tasks.seq2seq import Seq2SeqTask
from deepdojo.tasks.verification import Verification

__all__ = ["Autoencoder", "Classification", "Collab", "ConditionalGAN", "Detection", "GANTask", "LanguageModel", "Localization", "MultiLabel", "Regression", "Segmentation",
           "Seq2SeqTask", "Task", "Verification", "get_task", "register_task",
           "task_names"]
