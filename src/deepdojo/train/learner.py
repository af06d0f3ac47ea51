"""The Learner: a model, its data, an optimizer, and the training loop in one function.

Example:
    >>> import torch
    >>> from deepdojo import Learner
    >>> from deepdojo.data import load_builtin
    >>> from deepdojo.models import create_model
    >>> data = load_builtin("xor", seed=0)
    >>> learn = Learner(create_model("mlp", 2, in_features=2), data, seed=0, progress=False)
    >>> learn.fit_one_cycle(5, lr_max=1e-2)
    >>> learn.history[-1]["accuracy"] > 0.9
    True
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from deepdojo.data.core import Data
from deepdojo.data.loaders import TensorLoader
from deepdojo.data.text import arrange_for
from deepdojo.metrics import Metric, make_metric
from deepdojo.tasks import Task, get_task
from deepdojo.train import schedules
from deepdojo.train.activations import ActivationsMixin
from deepdojo.train.generation import GenerationMixin
from deepdojo.train.callbacks import EVENTS, Callback, CancelBatch, CancelEpoch, CancelFit, hooks_for
from deepdojo.train.optim import make_optimizer, momentum_key
from deepdojo.train.reproducibility import resolve_device, seed_everything, set_deterministic
from deepdojo.train.transfer import TransferMixin, optimizer_groups, set_lr_scales


class Learner(TransferMixin, ActivationsMixin, GenerationMixin):
    """Trains ``model`` on ``data``. Plain PyTorch in, plain PyTorch out.

    Args:
        model: any ``nn.Module``.
        data: a :class:`Data`, or a ``(train_loader, valid_loader)`` pair of any
            iterables yielding ``(x, y)`` batches.
        loss_fn: ``f(pred, target) -> scalar``; default: the task's loss.
        opt: ``"adamw"``, ``"adam"``, ``"sgd"``, ``"rmsprop"``, a ``torch.optim``
            class, or a factory ``f(param_groups, lr=...)``.
        metrics: names or :class:`Metric` objects, computed on validation; default: the task's.
        task: a :class:`~deepdojo.tasks.Task` or its name (``"multilabel"``); default: the one the
            data suggests (``data.task``). It supplies the loss, metrics, decoding and, for tasks
            whose step is not ``loss(model(x), y)``, the training step.
        callbacks: extra :class:`Callback` objects.
        lr: default learning rate for ``fit``.
        weight_decay, momentum, nesterov: optimizer settings (see ``make_optimizer``).
        seed: seeds Python, NumPy and torch now (model weights created before
            this call are not affected: seed first, or pass ``seed`` to
            ``vision.classifier``).
        deterministic: deterministic algorithms only (slower on GPU).
        device: ``"auto"`` (CUDA if present), ``"cpu"``, ``"cuda"``.
        bf16: autocast the forward pass to bfloat16.
        run_dir: a run folder to write config, metrics, checkpoints and summary to.
        progress: progress display: ``None`` = on in a terminal or notebook.
        grad_clip: clip the gradient norm to this value each step.
        default_callbacks: add the standard set (progress, NaN guard, run logger,
            checkpoints when ``run_dir`` is set).
        config: the resolved config recorded in ``config.json`` (default: a description of this Learner).
        model_spec: how to rebuild the model (``arch``, ``model_kwargs``, ``num_classes``) for checkpoints.
        checkpoint_every, checkpoint_seconds: full-state checkpoint cadence (steps, seconds) besides epoch ends.
        finisher: ``f(learn) -> summary`` run by :meth:`finish` (the pipeline passes ``deepdojo.run.finish``).
    """

    def __init__(
        self,
        model: nn.Module,
        data: Data | Sequence,
        loss_fn: Callable | None = None,
        opt: str | type | Callable = "adamw",
        metrics: Iterable[str | Metric] | None = None,
        callbacks: Iterable[Callback] = (),
        *,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        momentum: float | None = None,
        nesterov: bool = False,
        seed: int | None = None,
        deterministic: bool = False,
        device: str = "auto",
        bf16: bool = False,
        run_dir: str | Path | None = None,
        progress: bool | None = None,
        grad_clip: float | None = None,
        default_callbacks: bool = True,
        task: Task | str | None = None,
        config: dict[str, Any] | None = None,
        model_spec: dict[str, Any] | None = None,
        checkpoint_every: int | None = None,
        checkpoint_seconds: float | None = 600.0,
        finisher: Callable | None = None,
    ):
        from deepdojo.train.default_callbacks import standard_callbacks

        if seed is not None:
            seed_everything(seed)
        if deterministic:
            set_deterministic(True)
        self.seed, self.deterministic = seed, deterministic
        self.device = resolve_device(device)
        self.data = data if isinstance(data, Data) else Data.from_loaders(*data)
        self.data.to(self.device)
        self.model = model.to(self.device)
        if callable(getattr(self.model, "check_data", None)):  # e.g. tabular category codes vs cardinalities, once
            self.model.check_data(self.data)
        arrange_for(self.data, self.model)  # token blocks as parallel streams for a model that carries its state
        self.task = get_task(task if task is not None else self.data.task)
        self.loss_fn = loss_fn or self.task.loss
        self.metrics = [make_metric(m) for m in (metrics if metrics is not None else self.task.metrics())]
        self.config, self.model_spec = config, dict(model_spec or {})
        self.checkpoint_every, self.checkpoint_seconds = checkpoint_every, checkpoint_seconds
        self.finisher = finisher
        self.lr, self.bf16 = lr, bf16
        self.opt_spec = (opt, dict(weight_decay=weight_decay, momentum=momentum, nesterov=nesterov))
        self.opt = make_optimizer(opt, self.param_groups(), lr, **self.opt_spec[1])
        self.run = None
        if run_dir is not None:
            from deepdojo.train.run_folder import RunFolder

            self.run = RunFolder(run_dir)
        self.callbacks: list[Callback] = []
        extra = standard_callbacks(self, progress, grad_clip) if default_callbacks else []
        self.add_callbacks([*extra, *callbacks])
        self.history: list[dict[str, Any]] = []
        self.epoch, self.step, self.batch_idx, self.start_batch = 0, 0, 0, 0
        self.lr_factor = 1.0  # multiplies the schedule; lowered by a NaN rollback, saved in checkpoints
        self.rollback_lr_factor: float | None = None  # a pending NaN rollback's factor, taken by ResumeFromCheckpoint
        self.epoch_losses, self.epoch_sizes = [], []  # the running epoch's per-step losses (device) and sizes
        self.lr_find_result = None

    # ----------------------------------------------------------------- setup
    def param_groups(self) -> list | Iterable:
        """What the optimizer is built over: one group per layer group (see ``transfer.py``)."""
        return optimizer_groups(self.model, self.opt_spec[1]["weight_decay"])

    def add_callbacks(self, callbacks: Iterable[Callback]) -> "Learner":
        for cb in callbacks:
            cb.learn = self
            self.callbacks.append(cb)
        self._hooks = {event: hooks_for(self.callbacks, event) for event in EVENTS}
        return self

    def remove_callback(self, cls: type) -> "Learner":
        """Drop every callback of type ``cls``."""
        self.callbacks = [cb for cb in self.callbacks if not isinstance(cb, cls)]
        return self.add_callbacks([])

    def callback(self, cls: type) -> Callback | None:
        """The first callback of type ``cls``, if any."""
        return next((cb for cb in self.callbacks if isinstance(cb, cls)), None)

    def _event(self, name: str) -> None:
        for hook in self._hooks[name]:
            hook()

    def _autocast(self):
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    # ------------------------------------------------------------ public fit
    def fit(self, epochs: int, lr: float | slice | str | None = None, schedule: str | schedules.Schedule = "constant",
            warmup_pct: float = 0.0, resume: bool = False) -> None:
        """Train for ``epochs`` epochs.

        ``lr="auto"`` runs :meth:`lr_find` first and uses its suggestion;
        ``lr=slice(lo, hi)`` gives the head ``hi`` and earlier layer groups
        geometrically less, down to ``lo`` (discriminative learning rates).
        ``schedule`` is a name (``constant``, ``one_cycle``, ``cosine``,
        ``step``, ``exponential``) or a callable ``step -> lr`` (its ``.momentum``, if any, ``step -> momentum``).
        ``resume=True`` continues from the run folder's newest good checkpoint.
        """
        if resume and self.run is None:
            from deepdojo.errors import ConfigError

            raise ConfigError("resume needs a run folder to read checkpoints from", where="resume",
                              fix="pass run_dir= to the Learner (vision.classifier: out= and name=)")
        lr = self._resolve_lr(lr)
        total = epochs * len(self.data.train)
        if callable(schedule):
            lr_at, mom_at = schedule, getattr(schedule, "momentum", None)  # a callable may carry its momentum
        else:
            lr_at = schedules.make_schedule(schedule, lr, total, warmup_pct)
            mom_at = getattr(lr_at, "momentum", None)  # one-cycle cycles momentum opposite to its LR
        self.lr = lr
        from deepdojo.train.guards import RollbackRequest

        while True:
            try:
                return self._run_fit(epochs, lr_at, mom_at, resume)
            except RollbackRequest as request:  # a NaN guard: continue from the last good checkpoint, lower LR
                resume, self.rollback_lr_factor = True, self.lr_factor * request.lr_factor

    def fit_one_cycle(self, epochs: int, lr_max: float | slice | str | None = None, resume: bool = False) -> None:
        """Train with the one-cycle policy (LR up then down, momentum opposite)."""
        self.fit(epochs, lr_max, schedule="one_cycle", resume=resume)

    def _resolve_lr(self, lr: float | slice | str | None) -> float:
        lr = set_lr_scales(self.opt, lr)  # a slice: per-group lr_scale, then its top LR
        if lr == "auto":
            return self.lr_find().suggestion
        return float(lr) if lr is not None else self.lr

    # ----------------------------------------------------------- the loop
    def _run_fit(self, epochs: int, lr_at: Callable[[int], float], mom_at: Callable | None, resume: bool) -> None:
        """The training loop, top to bottom. Hooks fire at each event (see callbacks.py)."""
        model, opt, loss_fn, train = self.model, self.opt, self.loss_fn, self.data.train
        task_step = self.task.train_step  # None: the standard step below (one check per step, no extra frame)
        move = not isinstance(train, TensorLoader)  # tensor loaders already yield device batches
        scales = [g.get("lr_scale", 1.0) for g in opt.param_groups]
        mkey = momentum_key(opt) if mom_at else None
        self.n_epochs, self.steps_per_epoch = epochs, len(train)
        self.epoch, self.step, self.start_batch, self.lr_factor = 0, 0, 0, 1.0
        self.resume = resume
        try:
            self._event("before_fit")  # a resuming checkpoint callback sets epoch/step/start_batch here
            for self.epoch in range(self.epoch, epochs):
                t0 = time.perf_counter()
                model.train()
                if hasattr(train, "set_epoch"):
                    train.set_epoch(self.epoch)
                self._event("before_epoch")
                if not self.start_batch:  # a resumed epoch keeps the restored running loss
                    self.epoch_losses, self.epoch_sizes = [], []
                losses, sizes = self.epoch_losses, self.epoch_sizes
                batches = train.iter_from(self.start_batch) if self.start_batch else iter(train)
                try:
                    for self.batch_idx, (xb, yb) in enumerate(batches, start=self.start_batch):
                        if move:
                            xb, yb = xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
                        self.xb, self.yb = xb, yb
                        self._set_hparams(lr_at(self.step) * self.lr_factor, scales, mkey, mom_at)
                        try:
                            self._event("before_batch")
                            if task_step is None:
                                with self._autocast():
                                    self.pred = model(xb)
                                    self.loss = loss_fn(self.pred, yb)
                                self._event("before_backward")
                                self.loss.backward()
                                self._event("after_backward")
                                opt.step()
                            else:  # the task's own step: forward, backward(s), optimizer step(s), events
                                self.loss = task_step(self, xb, yb)
                            losses.append(self.loss.detach())
                            sizes.append(len(yb))
                        except CancelBatch:
                            pass
                        opt.zero_grad(set_to_none=True)
                        self.step += 1
                        self._event("after_batch")
                except CancelEpoch:
                    pass
                self.start_batch = 0
                self._end_epoch(losses, sizes, t0)
        except CancelFit:
            pass
        finally:
            self._event("after_fit")

    def _set_hparams(self, lr: float, scales: list[float], mkey: str | None, mom_at: Callable | None) -> None:
        """This step's LR for every group (times its ``lr_scale``) and, for one-cycle, its momentum."""
        groups = self.opt.param_groups
        for g, s in zip(groups, scales):
            g["lr"] = lr * s
        if mkey:
            m = mom_at(self.step)
            for g in groups:
                g[mkey] = (m, g[mkey][1]) if mkey == "betas" else m  # Adam: beta1 is the momentum

    def _end_epoch(self, losses: list, sizes: list, t0: float) -> None:
        """One host read for the epoch's training loss, then validation and the epoch record."""
        train_loss = float("nan")
        if losses:
            w = torch.tensor(sizes, dtype=torch.float32, device=losses[0].device)
            train_loss = float((torch.stack(losses).float() * w).sum() / w.sum())
        self.record = {"epoch": self.epoch, "train_loss": train_loss}
        self._event("before_validate")
        if self.data.valid is not None:
            self.record.update(self.validate())
        self._event("after_validate")
        self.record["lr"] = self.opt.param_groups[-1]["lr"]
        self.record["seconds"] = round(time.perf_counter() - t0, 4)
        self.history.append(self.record)
        stop = None
        for hook in self._hooks["after_epoch"]:  # all of them: the progress line and the epoch-end checkpoint
            try:                                  # must not be skipped because early stopping spoke first
                hook()
            except CancelFit as exc:
                stop = stop or exc
        if stop is not None:
            raise stop

    # ------------------------------------------------------- evaluation
    @torch.no_grad()
    def validate(self, loader: Iterable | None = None, prefix: str = "valid_") -> dict[str, float]:
        """Loss and metrics over ``loader`` (default: the validation split).

        Returns ``{"valid_loss": ..., "<metric>": ...}``; metric names carry no
        prefix for the validation split, ``prefix`` for others (e.g. ``train_``).
        """
        loader = self.data.valid if loader is None else loader
        was_training = self.model.training
        self.model.eval()
        for m in self.metrics:
            m.reset()
        total, count = torch.zeros((), device=self.device), 0
        for xb, yb in loader:
            xb, yb = xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
            with self._autocast():
                pred = self.model(xb)
            pred = pred.float()
            total += self.loss_fn(pred, yb).float() * len(yb)
            count += len(yb)
            for m in self.metrics:
                m.update(pred, yb)
        self.model.train(was_training)
        out = {f"{prefix}loss": float(total) / max(count, 1)}
        name_prefix = "" if prefix == "valid_" else prefix
        out.update({name_prefix + m.name: m.compute() for m in self.metrics})
        return out

    @torch.no_grad()
    def get_preds(self, loader: Iterable | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(predictions, targets)`` over ``loader`` (default: validation), on the CPU.

        Predictions are decoded by the task: probabilities for classification, raw outputs for regression.
        """
        loader = self.data.valid if loader is None else loader
        was_training = self.model.training
        self.model.eval()
        preds, targets = [], []
        for xb, yb in loader:
            with self._autocast():
                pred = self.model(xb.to(self.device)).float()
            preds.append(self.task.decode(pred))
            targets.append(yb)
        self.model.train(was_training)
        return torch.cat(preds).cpu(), torch.cat(targets).cpu()

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predict a batch ``(B, ...)`` or one sample of ``data.input_shape``.

        Raw inputs (uint8 images, unscaled features) are preprocessed exactly as
        the validation data was; the task decodes the outputs (classification:
        probabilities ``(B, K)``).
        """
        from deepdojo.train.inference import predict_batch

        x = torch.as_tensor(x)
        single = self.data.input_shape is not None and x.dim() == len(self.data.input_shape)
        out = predict_batch(self.model, x.unsqueeze(0) if single else x, self.data.info.get("transform"), self.task,
                            self.device, self._autocast())
        return out[0] if single else out

    # ------------------------------------------------------- LR finder, save/load
    def lr_find(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100, show: bool = True):
        """Run the LR range test; the Learner is left exactly as it was. See ``lr_find.py``."""
        from deepdojo.train.lr_find import lr_find

        self.lr_find_result = lr_find(self, start_lr=start_lr, end_lr=end_lr, num_it=num_it)
        if self.run is not None:
            self.lr_find_result.plot(self.run.path / "lr_find.png")
            self.run.write_json("lr_find.json", self.lr_find_result.to_json())
        if show:
            self.lr_find_result.show()
        return self.lr_find_result

    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        """Write the model weights (``.safetensors``) and a JSON sidecar; returns the weights path.

        A bare name (``"stage1"``) goes to the run folder's ``checkpoints/``.
        """
        from deepdojo.train.checkpoint import save_weights

        return save_weights(self.model, self._ckpt_path(path), meta=self.model_meta(extra))

    def load(self, path: str | Path) -> "Learner":
        """Load weights saved by :meth:`save` (verified by hash; safetensors only)."""
        from deepdojo.train.checkpoint import load_weights

        load_weights(self.model, self._ckpt_path(path))
        return self

    def _ckpt_path(self, path: str | Path) -> Path:
        path = Path(path)
        if self.run is not None and len(path.parts) == 1:
            path = self.run.path / "checkpoints" / path
        return path

    def model_meta(self, extra: dict | None = None) -> dict[str, Any]:
        """What ``predict`` needs besides weights: classes, input shape, preprocessing."""
        meta = {
            "task": self.task.name,
            "task_state": self.task.state(),
            "classes": self.data.classes,
            "input_shape": list(self.data.input_shape) if self.data.input_shape else None,
            "transform": None,
            **self.data.info.for_checkpoint(),  # every preprocessing step predict needs
            "epoch": self.epoch,
        }
        meta.update(self.model_spec)
        meta.update(extra or {})
        return meta
