"""The Learner: a model, its data, an optimizer, and the training loop in one function.

Example:
    >>> import torch
    >>> from deepdojo import Learner
    >>> from deepdojo.data import load_builtin
    >>> from deepdojo.models import create_model
    >>> data = load_builtin("xor", seed=0)
    >>> learn = Learner(create_model("mlp", 2, in_features=2), data, seed=0, progress=False)
    >>> history = learn.fit_one_cycle(5, lr_max=1e-2)  # the epoch records (also learn.history)
    >>> history[-1]["accuracy"] > 0.9
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
from deepdojo.train.history import History
from deepdojo.train.notebook import NotebookMixin
from deepdojo.train.generation import GenerationMixin
from deepdojo.train.callbacks import EVENTS, Callback, CancelBatch, CancelEpoch, CancelFit, hooks_for
from deepdojo.train.optim import make_optimizer, momentum_key
from deepdojo.train.reproducibility import resolve_device, seed_everything, set_deterministic
from deepdojo.train.transfer import TransferMixin, optimizer_groups, set_lr_scales


class Learner(TransferMixin, ActivationsMixin, NotebookMixin, GenerationMixin):
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
        strategy: under ``torchrun``: ``"ddp"`` (default) or ``"fsdp"`` (FSDP2 ``fully_shard``, for models
            that do not fit one device); see ``train/distributed.py``.
        channels_last: NHWC memory format for the model and image batches.
        compile: ``torch.compile`` the training step's module (``True``, a mode name, or keyword arguments).
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
        strategy: str = "ddp",
        channels_last: bool = False,
        compile: bool | str | dict = False,
    ):
        from deepdojo.train.default_callbacks import standard_callbacks

        if seed is not None:
            seed_everything(seed)
        if deterministic:
            set_deterministic(True)
        self.seed, self.deterministic = seed, deterministic
        self.device = resolve_device(device)
        from deepdojo.train import distributed  # [distributed] joins torchrun's process group (None outside one)

        self.dist = distributed.setup(self.device, strategy)
        if self.dist is not None:
            self.device = self.dist.device
        self.data = data if isinstance(data, Data) else Data.from_loaders(*data)
        self.data.to(self.device)
        self.model = model.to(self.device)
        self.channels_last, self.compile = channels_last, compile  # [accel] see accel.py
        if channels_last:
            from deepdojo.train.accel import to_channels_last

            to_channels_last(self.model)
        if self.dist is not None and self.dist.fsdp:  # [distributed] before the optimizer sees the parameters
            distributed.shard_fsdp(self.model)
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
        if getattr(model, "adam_betas", None) is not None:  # e.g. a GAN: Adam with beta1 = 0.5 (Radford et al. 2016)
            self.opt_spec[1]["betas"] = tuple(model.adam_betas)
        self.opt = make_optimizer(opt, self.param_groups(), lr, **self.opt_spec[1])
        self.run = None
        if run_dir is not None:
            from deepdojo.train.run_folder import RunFolder

            self.run = RunFolder(run_dir)
            if self.dist is None or self.dist.main:  # one trainer per run folder (see run_folder.py); rank 0 holds it
                self.run.lock()
        self.callbacks: list[Callback] = []
        extra = standard_callbacks(self, progress, grad_clip) if default_callbacks else []
        self.add_callbacks([*extra, *callbacks])
        self.history: History = History()  # one record per epoch, numbered from 0
        self.epoch, self.step, self.batch_idx, self.start_batch = 0, 0, 0, 0
        self.lr_factor = 1.0  # multiplies the schedule; lowered by a NaN rollback, saved in checkpoints
        self.rollback_lr_factor: float | None = None  # a pending NaN rollback's factor, taken by ResumeFromCheckpoint
        self.epoch_losses, self.epoch_sizes = [], []  # the running epoch's per-step losses (device) and sizes
        self.lr_find_result = None
        self._lr_find_key: tuple | None = None
        self.fits_started = 0  # counts fits, so an LR finder result is known to be stale after training
        self.finding_lr = False  # True while lr_find drives the loop

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
            warmup_pct: float = 0.0, resume: bool = False, **schedule_kw: Any) -> History:
        """Train for ``epochs`` epochs.

        ``lr="auto"`` runs :meth:`lr_find` first and uses its suggestion;
        ``lr=slice(lo, hi)`` gives the head ``hi`` and earlier layer groups
        geometrically less, down to ``lo`` (discriminative learning rates).
        ``schedule`` is a name (``constant``, ``one_cycle``, ``cosine``,
        ``step``, ``exponential``) or a callable ``step -> lr`` (its ``.momentum``, if any, ``step -> momentum``).
        ``resume=True`` continues from the run folder's newest good checkpoint.
        ``schedule_kw`` shape one-cycle (``pct_start``, ``div``, ``final_div``, ``moms``).
        Returns :attr:`history` (one record per epoch; epochs are numbered from 0).
        """
        if resume and self.run is None:
            from deepdojo.errors import ConfigError

            raise ConfigError("resume needs a run folder to read checkpoints from", where="resume",
                              fix="pass run_dir= to the Learner (vision.classifier: out= and name=)")
        lr = self._resolve_lr(lr, resume)
        total = epochs * len(self._train_loader())
        if callable(schedule):
            lr_at, mom_at = schedule, getattr(schedule, "momentum", None)  # a callable may carry its momentum
        else:
            lr_at = schedules.make_schedule(schedule, lr, total, warmup_pct, **schedule_kw)
            mom_at = getattr(lr_at, "momentum", None)  # one-cycle cycles momentum opposite to its LR
        self.lr = lr
        from deepdojo.train.guards import RollbackRequest

        while True:
            try:
                with self.dist.peer_errors("a training step") if self.dist else contextlib.nullcontext():
                    self._run_fit(epochs, lr_at, mom_at, resume)
                return self.history if isinstance(self.history, History) else History(self.history)
            except RollbackRequest as request:  # a NaN guard: continue from the last good checkpoint, lower LR
                resume, self.rollback_lr_factor = True, self.lr_factor * request.lr_factor

    def fit_one_cycle(self, epochs: int, lr_max: float | slice | str | None = None, resume: bool = False,
                      **schedule_kw: Any) -> History:
        """Train with the one-cycle policy (LR up then down, momentum opposite); returns the history.

        ``schedule_kw``: ``pct_start``, ``div``, ``final_div``, ``moms=(high, low)``.
        """
        return self.fit(epochs, lr_max, schedule="one_cycle", resume=resume, **schedule_kw)

    def _resolve_lr(self, lr: float | slice | str | None, resume: bool = False) -> float:
        lr = set_lr_scales(self.opt, lr)  # a slice: per-group lr_scale, then its top LR
        return self.resolve_lr(lr, resume=resume)

    def resolve_lr(self, lr: float | str | None, resume: bool = False, show: bool = True) -> float:
        """The learning rate to train with; ``"auto"`` is resolved here and only here.

        ``"auto"``: on resume, the run's own recorded finder choice (``lr_find.json``: no second
        search, so a resumed run trains exactly as the uninterrupted one); else the last
        :meth:`lr_find` result while it still describes this model and data (no training since);
        else a new LR range test.
        """
        if lr != "auto":
            return float(lr) if lr is not None else self.lr
        if resume and self.run is not None and (self.run.path / "lr_find.json").is_file():
            return float(self.run.read_json("lr_find.json")["suggestion"])
        found = self.lr_find_result
        if found is not None and self._lr_find_key == self._model_data_key():
            return found.suggestion
        return self.lr_find(show=show).suggestion

    def _model_data_key(self) -> tuple:
        """What an LR finder result depends on: this model, this data, no training since."""
        return id(self.model), id(self.data), self.fits_started

    def finish(self, baseline_budget_s: float = 10.0) -> dict[str, Any]:
        """Evaluate, interpret and write the report into the run folder: the CLI's ending, from Python.

        Writes baselines, diagnosis, evaluation, data summary, interpretation, label suspects and
        ``report.html``; returns the summary. Needs a Learner made by ``vision.classifier``,
        ``deepdojo.learner`` or ``deepdojo.run.build`` (or any Learner with a ``finisher``).
        """
        if self.finisher is None:
            from deepdojo.errors import ConfigError

            raise ConfigError("this Learner has no finisher", where="finish",
                              fix="build it with deepdojo.learner(...) / vision.classifier(...), or call "
                                  "deepdojo.run.finish(learn)")
        return self.finisher(self, baseline_budget_s=baseline_budget_s)

    def _train_loader(self):
        """[distributed] This rank's part of the training data (the loader itself in one process)."""
        return self.data.train if self.dist is None else self.dist.train_view(self.data.train)

    def _train_module(self) -> nn.Module:
        """[distributed/accel] What the step calls: the model, DDP-wrapped and/or compiled (see accel.py)."""
        if self.dist is None and not self.compile:
            return self.model
        from deepdojo.train.accel import train_module

        return train_module(self)

    # ----------------------------------------------------------- the loop
    def _run_fit(self, epochs: int, lr_at: Callable[[int], float], mom_at: Callable | None, resume: bool) -> None:
        """The training loop, top to bottom. Hooks fire at each event (see callbacks.py)."""
        model, opt, loss_fn, train = self._train_module(), self.opt, self.loss_fn, self._train_loader()
        task_step = self.task.train_step  # None: the standard step below (one check per step, no extra frame)
        move = not isinstance(train, TensorLoader)  # tensor loaders already yield device batches
        dist, nhwc = self.dist, self.channels_last  # [distributed] [accel]
        if dist is not None:
            dist.check_lengths(train)
        scales = [g.get("lr_scale", 1.0) for g in opt.param_groups]
        mkey = momentum_key(opt) if mom_at else None
        self.n_epochs, self.steps_per_epoch = epochs, len(train)
        self.fits_started += 1
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
                        if nhwc:
                            xb = xb.contiguous(memory_format=torch.channels_last) if xb.dim() == 4 else xb
                        self.xb, self.yb = xb, yb
                        self._set_hparams(lr_at(self.step) * self.lr_factor, scales, mkey, mom_at)
                        try:
                            self._event("before_batch")
                            if task_step is None:
                                with self._autocast():
                                    self.pred = model(xb)
                                    self.loss = loss_fn(self.pred, yb)
                                self._event("before_backward")
                                if dist is None:
                                    self.loss.backward()
                                else:  # [distributed] weighted by this rank's share: DDP's average = global mean
                                    (self.loss * dist.loss_weight(train, self.batch_idx)).backward()
                                self._event("after_backward")
                                opt.step()
                            else:  # the task's own step: forward, backward(s), optimizer step(s), events
                                self.loss = task_step(self, xb, yb)
                            losses.append(self.loss.detach())
                            sizes.append(len(yb) if dist is None else dist.local_size(train, self.batch_idx, len(yb)))
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
        if self.finding_lr:  # the LR range test runs through this loop: no validation, no record
            return
        train_loss = float("nan")
        if self.dist is not None:  # [distributed] one all-reduce: the loss over every rank's samples
            from deepdojo.train.distributed import epoch_loss

            train_loss = epoch_loss(self.dist, losses, sizes)
        elif losses:
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
        part = self.dist.valid_view(loader) if self.dist is not None else None  # [distributed] this rank's rows
        loader = loader if part is None else part
        was_training = self.model.training
        self.model.eval()
        for m in self.metrics:
            m.reset()
        total, count = torch.zeros((), device=self.device), 0
        for xb, yb in loader:
            xb, yb = xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
            if self.channels_last and xb.dim() == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with self._autocast():
                pred = self.model(xb)
            pred = pred.float()
            total += self.loss_fn(pred, yb).float() * len(yb)
            count += len(yb)
            for m in self.metrics:
                m.update(pred, yb)
        self.model.train(was_training)
        if part is not None:  # [distributed] sum loss, count and metric states over ranks: one answer everywhere
            total, count = self.dist.reduce_sums(total, count)
            for m in self.metrics:
                self.dist.reduce_metric(m)
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

    @torch.no_grad()
    def predict(self, x: Any, strict: bool = False) -> Any:
        """Predict one raw input, or a tensor batch.

        - A raw input — an image path, a PIL image, a NumPy array, a CSV row
          (dict, list or ``"a,b,c"``, categories as text) or a string — is
          preprocessed exactly as training did (``data.info["preprocess"]``) and
          returns ``(label, index, probabilities)`` for classification (the task's
          decoded output otherwise). ``strict=True`` refuses an input that
          differs from the training data (image size, channels) instead of warning.
        - A ``torch.Tensor`` keeps the tensor behaviour: a batch ``(B, ...)`` or
          one sample of ``data.input_shape`` (uint8 images, unscaled features),
          through the validation transform; classification returns
          probabilities ``(B, K)`` (or ``(K,)``).
        """
        from deepdojo.train.inference import predict_batch

        if not isinstance(x, torch.Tensor):
            from deepdojo.data.preprocess import preprocessor_from_json
            from deepdojo.train.inference import predict_raw

            pre = preprocessor_from_json(self.data.info.get("preprocess"))
            return predict_raw(self.model, pre, self.task, self.data.classes, x, self.device, strict)
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
        self._lr_find_key = self._model_data_key()
        main = self.dist is None or self.dist.main  # [distributed] every rank has the same result; rank 0 writes
        if self.run is not None and main:
            self.lr_find_result.plot(self.run.path / "lr_find.png")
            self.run.write_json("lr_find.json", self.lr_find_result.to_json())
        if show and main:
            self.lr_find_result.show()
        return self.lr_find_result

    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        """Write the model weights and their metadata to one ``.safetensors`` file; returns its path.

        A bare name (``"stage1"``) goes to the run folder's ``checkpoints/``.
        """
        from deepdojo.train.checkpoint import save_weights

        if self.dist is not None:  # [distributed] FSDP gathers on every rank; rank 0 writes
            state = self.dist.full_state_dict(self.model)
            if not self.dist.main:
                return self._ckpt_path(path)
            return save_weights(self.model, self._ckpt_path(path), meta=self.model_meta(extra), state_dict=state)
        return save_weights(self.model, self._ckpt_path(path), meta=self.model_meta(extra))

    def export(self, path: str | Path) -> Path:
        """Write weights + everything predict needs (architecture, classes, preprocessing) to ``path``.

        ``deepdojo.load_learner(path)`` gives back a ready-to-predict
        :class:`~deepdojo.predict.Predictor`, the same as ``Predictor.from_run``.
        A model not built from the registry (no ``model_spec``) cannot be rebuilt from the file.
        """
        if not getattr(self, "model_spec", None):
            from deepdojo.errors import ConfigError

            raise ConfigError("this model was not built from the model registry, so a file cannot rebuild it",
                              where="export", fix="build it with vision.classifier(...) / create_model, or use learn.save")
        from deepdojo.train.checkpoint import save_weights

        return save_weights(self.model, Path(path), meta=self.model_meta())

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
