"""Data-parallel training on PyTorch's own engine: ``torchrun`` + DDP (or FSDP2), gloo on CPU, NCCL on GPU.

A :class:`~deepdojo.Learner` created in a process that ``torchrun`` started (``WORLD_SIZE`` > 1 in
the environment) joins the process group by itself; the Python API is unchanged. What holds then:

- **Global batch = per-process batch x world size.** Each step takes one global batch of the
  seeded shuffle (the same permutation on every rank) and gives each rank an interleaved slice of
  it. Each rank's loss is weighted by its share of the global batch, so DDP's gradient average is
  the mean over the global batch: with the same global batch, N processes reproduce one process's
  weights within float tolerance (models without BatchNorm; BatchNorm normalizes per process).
- **Uneven data never hangs.** Every rank takes the same number of steps. When a final global
  batch has fewer samples than ranks, a rank without a sample runs one sample at loss weight 0
  (its gradient contribution is exactly zero), so no rank leaves an all-reduce waiting.
- **Agreement.** The epoch's training loss, the validation loss and every metric's state are
  all-reduced (validation is split across ranks), so every rank sees the same epoch record and
  early stopping, best-checkpoint choice and the LR finder (each step's loss is all-reduced)
  decide the same on every rank. The NaN guard's flag is all-reduced too.
- **Rank 0 writes** the run folder, metrics, checkpoints and report; on ``resume`` rank 0 picks
  the newest checkpoint that verifies and every rank loads that same file.
- **A lost rank ends the run.** A collective that fails because a peer died or timed out
  (``DEEPDOJO_DIST_TIMEOUT`` seconds, default 300) becomes a one-line :class:`TrainingError`
  naming the rank; ``torchrun``'s elastic agent stops the other workers when one exits.

Augmentation draws depend on the rank (``derive_seed(seed, epoch, batch, 1, rank)``): an augmented
run is reproducible for a fixed number of processes, not across process counts.

Example:
    >>> world_from_env({"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"})
    (1, 2, 1)
    >>> world_from_env({}) is None
    True
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

import torch
import torch.distributed as dist
from torch import nn

from deepdojo.errors import ConfigError, TrainingError

log = logging.getLogger("deepdojo")
STRATEGIES = ("ddp", "fsdp")
DEFAULT_TIMEOUT_S = 300.0


def world_from_env(env: Mapping[str, str] | None = None) -> tuple[int, int, int] | None:
    """``(rank, world_size, local_rank)`` set by ``torchrun``, or None outside one (or world size 1)."""
    env = os.environ if env is None else env
    world = int(env.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return None
    rank = int(env.get("RANK", "0"))
    return rank, world, int(env.get("LOCAL_RANK", str(rank)))


def rank() -> int:
    """This process's rank (0 outside a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """True on rank 0 or outside distributed training: the process that writes files and prints."""
    return rank() == 0


@dataclass
class DistContext:
    """One process's place in the group, and the collectives the Learner needs."""

    rank: int
    world: int
    local_rank: int
    device: torch.device
    backend: str
    strategy: str = "ddp"
    _wrapped: dict = field(default_factory=dict, repr=False)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def fsdp(self) -> bool:
        return self.strategy == "fsdp"

    # ---------------------------------------------------------------- collectives
    def all_reduce(self, t: torch.Tensor, op: str = "sum") -> torch.Tensor:
        """In-place all-reduce of ``t`` (on this rank's device) across ranks; returns ``t``."""
        reduce_op = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX}[op]
        with self.peer_errors("all_reduce"):
            dist.all_reduce(t, op=reduce_op)
        return t

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (pickled small objects only: paths, flags)."""
        box = [obj]
        with self.peer_errors("broadcast"):
            dist.broadcast_object_list(box, src=0)
        return box[0]

    def all_gather_int(self, value: int) -> list[int]:
        t = torch.tensor([value], dtype=torch.int64, device=self.device)
        out = [torch.zeros_like(t) for _ in range(self.world)]
        with self.peer_errors("all_gather"):
            dist.all_gather(out, t)
        return [int(o) for o in out]

    def gather_rows(self, t: torch.Tensor) -> torch.Tensor:
        """Every rank's ``t`` (same trailing shape, any number of rows) concatenated in rank order."""
        counts = self.all_gather_int(len(t))
        padded = t.new_zeros((max(counts), *t.shape[1:]))
        padded[: len(t)] = t
        out = [torch.zeros_like(padded) for _ in range(self.world)]
        with self.peer_errors("all_gather"):
            dist.all_gather(out, padded.contiguous())
        return torch.cat([o[:n] for o, n in zip(out, counts)])

    def barrier(self) -> None:
        with self.peer_errors("barrier"):
            dist.barrier()

    @contextlib.contextmanager
    def peer_errors(self, what: str) -> Iterator[None]:
        """A failed collective (a peer died, or the timeout passed) as one clear :class:`TrainingError`."""
        try:
            yield
        except RuntimeError as exc:  # gloo: "Connection closed by peer"; NCCL: a watchdog timeout
            if isinstance(exc, TrainingError) or not is_peer_failure(exc):
                raise
            detail = " ".join(str(exc).split())[:200]
            raise TrainingError(
                f"rank {self.rank} of {self.world}: {what} failed: another training process died or stopped "
                f"responding ({detail})", where="distributed training",
                fix="see the failed rank's own error above; rerun with --resume to continue from the newest checkpoint",
            ) from exc

    # ---------------------------------------------------------------- data
    def train_view(self, loader):
        """This rank's view of the training loader: global batches split across ranks (TensorLoader),
        or the loader itself (a DataLoader with a DistributedSampler: it shards by itself)."""
        from deepdojo.data.loaders import TensorLoader

        if not isinstance(loader, TensorLoader):
            return loader
        key = ("train", id(loader))
        view = self._wrapped.get(key)
        if view is None or view[0] is not loader:
            view = (loader, loader.sharded(self.rank, self.world))
            self._wrapped[key] = view
        return view[1]

    def valid_view(self, loader):
        """This rank's contiguous part of an evaluation loader. None -- every rank evaluates everything and
        nothing is reduced -- when it has fewer rows than ranks, and under FSDP, whose forward pass is
        itself a collective (every rank must run the same number of batches)."""
        from deepdojo.data.loaders import TensorLoader

        if self.fsdp or not isinstance(loader, TensorLoader) or loader.num_rows() < self.world:
            return None
        return loader.rows_part(self.rank, self.world)

    def check_lengths(self, loader) -> None:
        """Every rank must take the same number of steps, or DDP's all-reduce waits forever."""
        lengths = self.all_gather_int(len(loader))
        if len(set(lengths)) > 1:
            raise ConfigError(
                f"the training loader has a different number of batches on each rank ({lengths}); DDP would hang",
                where="training data",
                fix="use deepdojo's data (sharded automatically) or a DataLoader with "
                    "DistributedSampler(drop_last=True) so every rank has the same number of batches")

    # ---------------------------------------------------------------- losses and metrics
    @staticmethod
    def loss_weight(loader, batch: int) -> float:
        """This rank's share of global batch ``batch`` times the world size (1 for a plain loader)."""
        fn = getattr(loader, "shard_weight", None)
        return fn(batch) if fn is not None else 1.0

    @staticmethod
    def local_size(loader, batch: int, default: int) -> int:
        """Real samples (not weight-0 padding) this rank holds in ``batch``."""
        fn = getattr(loader, "shard_rows", None)
        return fn(batch) if fn is not None else default

    def mean_loss(self, loss: torch.Tensor, n: int) -> float:
        """The global batch's mean loss from each rank's mean over its ``n`` samples (one host read)."""
        t = torch.stack([loss.detach().float() * n, loss.new_tensor(float(n), dtype=torch.float32)])
        self.all_reduce(t)
        return float(t[0] / t[1]) if float(t[1]) else float("nan")

    def reduce_sums(self, *values: torch.Tensor | float) -> list[float]:
        """All-reduce a few scalars in one call (float64)."""
        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=self.device)
        return self.all_reduce(t).tolist()

    def reduce_metric(self, metric) -> None:
        """Sum a streaming metric's state over ranks (see :func:`reduce_metric_state`)."""
        reduce_metric_state(metric, self)

    # ---------------------------------------------------------------- model
    def wrap(self, model: nn.Module) -> nn.Module:
        """The module the training step runs: DDP around ``model`` (rebuilt when the set of trainable
        parameters changes, e.g. freeze/unfreeze), or ``model`` itself under FSDP (sharded in place)."""
        if self.fsdp:
            return model
        trainable = tuple(p.requires_grad for p in model.parameters())
        cached = self._wrapped.get("ddp")
        if cached is not None and cached[0] is model and cached[1] == trainable:
            return cached[2]
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [self.device.index] if self.device.type == "cuda" else None
        with self.peer_errors("DDP set-up"):
            wrapped = DDP(model, device_ids=ids)  # broadcasts rank 0's weights and buffers
        self._wrapped["ddp"] = (model, trainable, wrapped)
        return wrapped

    def full_state_dict(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The whole model's weights on every rank's CPU (a collective under FSDP: call on every rank)."""
        if not self.fsdp:
            return model.state_dict()
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        with self.peer_errors("gathering FSDP weights"):
            return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True,
                                                                        broadcast_from_rank0=False))


_PEER_SIGNS = ("connection closed", "connection reset", "connection refused", "broken pipe", "timed out", "timeout",
               "gloo", "nccl", "socket", "peer")


def is_peer_failure(exc: BaseException) -> bool:
    """Does this error come from the process group (a dead or silent peer), not from the model?"""
    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc).lower()
    return any(sign in text for sign in _PEER_SIGNS)


def _weighted_sums(ctx: DistContext, losses: list[torch.Tensor], sizes: list[int]) -> tuple[float, float]:
    """``(sum(loss x size), sum(size))`` over every rank, in one all-reduce."""
    if losses:
        w = torch.tensor(sizes, dtype=torch.float32, device=losses[0].device)
        t = torch.stack([(torch.stack(losses).float() * w).sum(), w.sum()]).double().to(ctx.device)
    else:
        t = torch.zeros(2, dtype=torch.float64, device=ctx.device)
    num, den = ctx.all_reduce(t).tolist()
    return num, den


def epoch_loss(ctx: DistContext, losses: list[torch.Tensor], sizes: list[int]) -> float:
    """The epoch's training loss over every rank's samples: sum(loss x size) / sum(size), one all-reduce."""
    num, den = _weighted_sums(ctx, losses, sizes)
    return num / den if den else float("nan")


def reduced_accumulators(ctx: DistContext, losses: list[torch.Tensor], sizes: list[int]) -> tuple[list, list]:
    """For a mid-epoch checkpoint: the epoch's running loss over every rank as one ``(mean, count)`` entry.

    Rank 0 saves it; on resume only rank 0 keeps it (:func:`keep_accumulators`), so the restored
    epoch loss counts every sample once.
    """
    num, den = _weighted_sums(ctx, losses, sizes)
    if not den:
        return [], []
    return [torch.tensor(num / den, dtype=torch.float32)], [round(den)]


def keep_accumulators(learn) -> None:
    """After a restore: only rank 0 carries the saved running loss (it is already the sum over ranks)."""
    if learn.dist is not None and not learn.dist.main:
        learn.epoch_losses, learn.epoch_sizes = [], []


def reduce_metric_state(metric, ctx: DistContext) -> None:
    """All-reduce the state a metric's ``reset`` creates: tensors and numbers are summed, flags OR-ed.

    Every metric in ``deepdojo.metrics`` keeps additive sums (counts, confusion matrices, sums of
    errors), so the sum over ranks is the state one process would have after seeing every batch.
    A metric with other state defines ``all_reduce_state(reduce)`` where ``reduce(tensor)`` sums in place.
    """
    own = getattr(metric, "all_reduce_state", None)
    if own is not None:
        own(lambda t: ctx.all_reduce(t))
        return
    gathered = getattr(metric, "all_gather_state", None)  # ranking metrics (AP) need every score, not sums
    if gathered is not None:
        gathered(ctx.gather_rows)
        return
    probe = object.__new__(type(metric))
    type(metric).reset(probe)  # the names reset() sets are the state
    for name in vars(probe):
        value = getattr(metric, name)
        if isinstance(value, bool):
            t = torch.tensor([float(value)], device=ctx.device)
            setattr(metric, name, bool(ctx.all_reduce(t, "max").item()))
        elif isinstance(value, (int, float)):
            t = torch.tensor([float(value)], dtype=torch.float64, device=ctx.device)
            total = ctx.all_reduce(t).item()
            setattr(metric, name, int(total) if isinstance(value, int) else total)
        elif isinstance(value, torch.Tensor):
            ctx.all_reduce(value)
        elif value is not None:
            raise TypeError(f"metric {metric.name!r}: cannot all-reduce state {name!r} of type {type(value).__name__}; "
                            "define all_reduce_state(reduce)")


def setup(device: torch.device, strategy: str = "ddp", timeout_s: float | None = None) -> DistContext | None:
    """Join the process group ``torchrun`` describes (once per process); None outside torchrun.

    ``device`` is what the Learner resolved: CUDA becomes ``cuda:LOCAL_RANK`` with NCCL, the CPU
    uses gloo. Called by the Learner; call it yourself only to use the helpers above.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown distributed strategy {strategy!r}", where="strategy", fix="use 'ddp' or 'fsdp'")
    place = world_from_env()
    if place is None:
        return None
    _, world, local = place
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise ConfigError(f"process {local} on this machine has no GPU of its own ({torch.cuda.device_count()} "
                              "visible)", where="--nproc", fix="use at most one process per GPU, or --device cpu")
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        if timeout_s is None:
            timeout_s = float(os.environ.get("DEEPDOJO_DIST_TIMEOUT", DEFAULT_TIMEOUT_S))
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s),
                                device_id=device if device.type == "cuda" else None)
    elif dist.get_world_size() != world:
        raise ConfigError(f"the process group has {dist.get_world_size()} ranks but WORLD_SIZE is {world}",
                          where="WORLD_SIZE", fix="let torchrun set the environment")
    return DistContext(rank=dist.get_rank(), world=world, local_rank=local, device=device, backend=backend,
                       strategy=strategy)


def main_decides(decide, device: torch.device | str = "cpu", strategy: str = "ddp"):
    """``decide()`` run on rank 0 only and its (picklable) answer given to every rank; in one process just
    ``decide()``. For choices with side effects that must happen once: creating the run folder.

    >>> main_decides(lambda: "runs/cnn-1")
    'runs/cnn-1'
    """
    from deepdojo.train.reproducibility import resolve_device

    ctx = setup(resolve_device(device), strategy)
    if ctx is None:
        return decide()
    return ctx.broadcast_object(decide() if ctx.main else None)


def leave_for_evaluation(learn) -> bool:
    """After ``fit``: True on rank 0, which then evaluates and reports alone (no more collectives);
    False on the other ranks, which are done. Under FSDP the full weights are gathered first (a
    collective on every rank) and rank 0 continues with an unsharded copy rebuilt from the registry."""
    ctx = learn.dist
    if ctx is None:
        return True
    if ctx.fsdp:
        state = ctx.full_state_dict(learn.model)
        if ctx.main:
            from deepdojo.train.transfer import build_model

            spec = getattr(learn, "model_spec", None)
            if not spec:
                raise ConfigError("FSDP: cannot rebuild an unsharded model for evaluation", where="strategy",
                                  fix="evaluate the saved checkpoint with 'deepdojo evaluate RUN'")
            model = build_model(spec["arch"], tuple(learn.data.input_shape), spec["num_classes"],
                                **spec.get("model_kwargs", {}))
            model.load_state_dict(state)
            learn.model = model.to(learn.device)
    learn.dist = None  # rank 0 evaluates on its own from here
    return ctx.main


def shard_fsdp(model: nn.Module) -> nn.Module:
    """FSDP2: ``fully_shard`` each direct child that holds parameters, then the root (in place)."""
    from torch.distributed.fsdp import fully_shard

    for child in model.children():
        if any(True for _ in child.parameters()):
            fully_shard(child)
    fully_shard(model)
    return model


def teardown() -> None:
    """Leave the process group (at the end of a ``deepdojo train`` worker)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()

