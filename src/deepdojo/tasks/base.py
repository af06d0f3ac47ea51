"""The :class:`Task`: everything that differs between kinds of problem, in one object.

The Learner, the evaluation and the report never ask which task they have;
they ask the Task. A Task owns:

- the model's outputs (:meth:`output_size`) and the loss (masked where labels
  may be missing);
- decoding raw outputs into what a person reads (:meth:`decode`: softmax,
  sigmoid, values) and what ``predict`` prints (:meth:`format_prediction`);
- default metrics, the monitored one (:attr:`monitor`, :attr:`minimize`) and
  the error measure the bias/variance diagnosis reads (:attr:`error_metric`);
- the training step when ``loss(model(x), y)`` does not fit
  (:attr:`train_step`; ``None`` keeps the Learner's own step, at no cost);
- baselines on arrays (:meth:`baselines`, :meth:`compare`), the summary of
  targets (:meth:`target_summary`), which interpretation applies
  (:attr:`interpretation`) and which report sections it shows
  (:attr:`report_sections`);
- settings learned after training (a threshold chosen on validation:
  :meth:`finalize`), saved in the checkpoint by :meth:`state`.

A user-written task subclasses :class:`Task`, overrides what differs and
registers itself with :func:`register_task` (or is passed as an object)::

    >>> import torch
    >>> from deepdojo.tasks import Task, register_task
    >>> class Huber(Task):
    ...     name = "huber_regression"
    ...     def output_size(self, data):
    ...         return 1
    ...     def loss(self, pred, target):
    ...         return torch.nn.functional.huber_loss(pred.reshape(target.shape), target.float())
    ...     def metrics(self):
    ...         return ["mae", "rmse"]
    >>> t = Huber()
    >>> float(t.loss(torch.zeros(4, 1), torch.ones(4)))
    0.5
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np
import torch

from deepdojo.errors import ConfigError


class Task:
    """Base class. Subclasses set ``name`` and override what differs (see the module docstring)."""

    name: ClassVar[str] = "task"
    description: ClassVar[str] = ""
    # what early stopping and best-checkpoint selection watch, and in which direction
    monitor: ClassVar[str] = "valid_loss"
    minimize: ClassVar[bool] = True
    # the error measure (a fraction in [0, 1]) the bias/variance recipe reads; None: no recipe for this task
    error_metric: ClassVar[str | None] = None
    # targets are class indices (stratified splits, class counts, label-noise suspects)
    class_targets: ClassVar[bool] = False
    # which interpretation the evaluation computes: "classes" (confusion, top losses), "labels", "factors" or None
    interpretation: ClassVar[str | None] = None
    # how an ambiguous source is read for this task ("ratings": a CSV as user,item,rating); None: by its columns
    reads: ClassVar[str | None] = None
    # the report's sections beyond curves, metrics, config and manifest
    report_sections: ClassVar[tuple[str, ...]] = ("baselines",)
    # (learn, xb, yb) -> loss: replaces forward/backward/step for this task (GANs, teacher forcing ...)
    train_step: ClassVar[Callable | None] = None
    # a fixed learning rate ``lr="auto"`` means for this task (None: the LR range test); a GAN has no single
    # loss for the finder to descend, so it uses the DCGAN 2e-4
    default_lr: ClassVar[float | None] = None

    # ----------------------------------------------------------- outputs and loss
    def output_size(self, data) -> int:
        """How many outputs the model's head needs for ``data``."""
        raise NotImplementedError(f"{type(self).__name__}.output_size")

    def default_arch(self, data) -> str | None:
        """The registered model used when ``arch="auto"``; None: chosen from the input shape."""
        return None

    def model_kwargs(self, data) -> dict[str, Any]:
        """Keyword arguments the model builder needs from the data (anchors, vocabulary size ...)."""
        return {}

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss of a batch (a scalar tensor)."""
        raise NotImplementedError(f"{type(self).__name__}.loss")

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``(B,)`` losses, for top losses and label suspects. Default: the batch loss per row."""
        return torch.stack([self.loss(pred[i:i + 1], target[i:i + 1]) for i in range(len(pred))])

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        """Raw model outputs -> what ``get_preds``/``predict`` return (probabilities, values)."""
        return out

    def auto_recipe(self, data, model, cfg) -> tuple[dict[str, Any], str] | None:
        """Training settings for a CLI run whose epochs the user left unset: ``(config overrides, a line
        saying them)``; None: the generic rule (an epoch count from the data size, train/auto_defaults.py)."""
        return None

    # ----------------------------------------------------------- metrics
    def metrics(self) -> list:
        """Names (or Metric objects) shown after every epoch."""
        return []

    def eval_metrics(self) -> list:
        """What the evaluation after training reports: the epoch metrics plus extras."""
        return self.metrics()

    # ----------------------------------------------------------- evaluation helpers (arrays in, JSON out)
    def baselines(self, x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray, y_valid: np.ndarray,
                  num_classes: int | None, budget_s: float, seed: int) -> dict[str, dict] | None:
        """The simple models this task's model must beat, scored on validation; None: none apply."""
        return None

    def compare(self, model_metrics: dict[str, Any], baselines: dict[str, dict]) -> list[str]:
        """Sentences putting the model beside its baselines."""
        return []

    def target_summary(self, targets: dict[str, np.ndarray], classes: list[str] | None) -> dict[str, Any]:
        """Facts about the targets of each (train/valid) split for the data summary."""
        return {}

    def finalize(self, preds: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        """Settings chosen on validation predictions after training (stored by :meth:`state`)."""
        return {}

    def describe_data(self, data) -> list[str]:
        """Lines about the data this task says before training (e.g. how ratings were split); none by default."""
        return []

    def format_prediction(self, out: torch.Tensor, classes: list[str] | None, top: int = 3) -> dict[str, Any]:
        """One decoded output -> what ``predict`` prints (JSON-ready)."""
        return {"prediction": out.tolist()}

    def to_original(self, result: dict[str, Any], geometry) -> dict[str, Any]:
        """A :meth:`format_prediction` result in model pixels -> the original image's pixels.

        ``geometry`` is a :class:`deepdojo.data.geometry.InputGeometry`; outputs
        that are not placed in the image (class scores) are returned unchanged.
        """
        return result

    # ----------------------------------------------------------- persistence
    def state(self) -> dict[str, Any]:
        """JSON-ready settings; ``get_task(name, **state)`` rebuilds the task (checkpoint metadata)."""
        return {}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.state().items())
        return f"{type(self).__name__}({settings})"


_TASKS: dict[str, type[Task]] = {}
_ALIASES: dict[str, str] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make ``cls`` available as ``--task cls.name`` / ``get_task(cls.name)``."""
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError("register_task takes a Task subclass")
    _TASKS[cls.name] = cls
    for alias in getattr(cls, "aliases", ()):  # short names accepted by get_task (e.g. "lm")
        _ALIASES[alias] = cls.name
    return cls


def task_names() -> list[str]:
    """Every registered task name, sorted."""
    return sorted(_TASKS)


def get_task(spec: "str | Task | None", **state: Any) -> Task:
    """A Task from its name (with saved ``state``) or the object itself."""
    if isinstance(spec, Task):
        return spec
    if isinstance(spec, type) and issubclass(spec, Task):
        return spec(**state)
    spec = _ALIASES.get(spec, spec) if isinstance(spec, str) else spec
    if spec not in _TASKS:
        import difflib

        close = difflib.get_close_matches(str(spec), list(_TASKS), n=1)
        fix = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(task_names())}"
        raise ConfigError(f"unknown task {spec!r}", where="task", fix=fix)
    try:
        return _TASKS[spec](**state)
    except TypeError as exc:
        raise ConfigError(f"bad settings for task {spec!r}: {exc}", where="task") from None


def source_format(task: "str | Task | None") -> str | None:
    """What :func:`deepdojo.data.load.load_data` is told to read a source as (its ``reads=``): None when no
    task is asked (the columns decide), else the task's :attr:`Task.reads` ("" when it asks for no format)."""
    return None if task is None else (get_task(task).reads or "")


def versus(what: str, name: str, margin: float, unit: str) -> str:
    """``"beats the linear model (logistic regression) by 0.1200 accuracy"`` (or that it does NOT)."""
    if margin > 0:
        return f"beats {what} ({name}) by {margin:.4f} {unit}"
    return f"does NOT beat {what} ({name}): behind by {-margin:.4f} {unit}"
