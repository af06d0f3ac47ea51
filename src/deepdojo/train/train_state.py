"""Everything a Learner needs to continue a run to the bit, split into tensors and JSON.

Saved: model weights and buffers, optimizer state and param groups, every global RNG
(Python, NumPy, torch CPU and CUDA), the position (epoch, next batch, global step), the
epoch's running train-loss accumulators, the LR factor (lowered by NaN rollbacks), the
epoch records so far, and each callback's ``state_dict()`` (tensors inside it go to the
tensors file). Not saved: the data order and augmentation randomness — the loader makes
them from ``(seed, epoch, batch)`` — and the LR schedule, a function of the global step.

Example:
    >>> import torch
    >>> from deepdojo import Learner
    >>> from deepdojo.data import load_builtin
    >>> learn = Learner(torch.nn.Linear(2, 2), load_builtin("xor"), progress=False, seed=0)
    >>> tensors, meta = gather_state(learn)
    >>> sorted(k for k in tensors if k.startswith("model/")), meta["step"]
    (['model/bias', 'model/weight'], 0)
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import numpy as np
import torch

from deepdojo.errors import CheckpointError
from deepdojo.train.history import History

# how the data is checked, not what it is: the data fingerprint and split hash below catch any real change
IGNORED_CONFIG_KEYS = ("resume", "out", "name", "checkpoint_every", "checkpoint_seconds", "rehash", "leak_check")


def split_tensors(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """``obj`` as JSON-ready values; each tensor inside moves to ``tensors[prefix/path]``."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {str(k): split_tensors(v, f"{prefix}/{k}", tensors) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return {"__tuple__": [split_tensors(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [split_tensors(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]
    return obj


def join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`split_tensors`."""
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            return tensors[obj["__tensor__"]]
        if set(obj) == {"__tuple__"}:
            return tuple(join_tensors(v, tensors) for v in obj["__tuple__"])
        return {k: join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    return obj


def fingerprint(learn) -> dict[str, Any]:
    """What must not change between a run and its resume: settings, epochs, data identity."""
    from deepdojo.train.run_logger import describe

    config = getattr(learn, "config", None) or describe(learn)
    info = learn.data.info
    return {
        "config": {k: v for k, v in config.items() if k not in IGNORED_CONFIG_KEYS},
        "epochs": getattr(learn, "n_epochs", None),
        "steps_per_epoch": getattr(learn, "steps_per_epoch", None),
        "data": {k: info.get(k) for k in ("fingerprint", "split_hash")},
    }


def gather_state(learn, position: tuple[int, int] | None = None,
                 accumulators: tuple[list, list] | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, meta)`` describing the Learner right after a step (or an epoch end).

    ``position`` is ``(epoch, next batch)`` to continue from (default: the Learner's own);
    ``accumulators`` the epoch's ``(losses, batch sizes)`` so far (default: the Learner's).
    """
    epoch, start_batch = position or (learn.epoch, learn.start_batch)
    losses, sizes = accumulators or (getattr(learn, "epoch_losses", []), getattr(learn, "epoch_sizes", []))
    tensors: dict[str, torch.Tensor] = {f"model/{k}": v for k, v in learn.model.state_dict().items()}
    np_state = np.random.get_state()
    rng = {
        "python": split_tensors(random.getstate(), "rng/python", tensors),
        "numpy": [np_state[0], np_state[1].tolist(), *[x.item() if hasattr(x, "item") else x for x in np_state[2:]]],
    }
    tensors["rng/torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = s
    if losses:
        tensors["acc/losses"] = torch.stack([t.detach() for t in losses])  # (n,) one loss per step so far
    fp = fingerprint(learn)
    meta = {
        "epoch": epoch,
        "start_batch": start_batch,
        "step": learn.step,
        "lr": learn.lr,
        "lr_factor": getattr(learn, "lr_factor", 1.0),
        "fingerprint": fp,
        "config_hash": config_hash(fp),
        "history": learn.history,
        "rng": rng,
        "acc_sizes": list(sizes),
        "optimizer": split_tensors(learn.opt.state_dict(), "opt", tensors),
        "callbacks": {cb.name: split_tensors(cb.state_dict(), f"cb/{cb.name}", tensors) for cb in learn.callbacks},
    }
    return tensors, meta


def check_finite(tensors: dict[str, torch.Tensor], where: str) -> None:
    """Refuse to write a checkpoint holding NaN or Inf (names the first bad tensor).

    Exact and cheap: a tensor's sum is finite when every element is, so one fused reduction per
    tensor (~25x faster than ``isfinite().all()`` on CPU) clears the usual case; only a tensor whose
    sum is not finite (a NaN/Inf, or a sum that overflowed) is scanned element by element.
    """
    keys = [k for k, t in tensors.items()
            if k.startswith(("model/", "opt/")) and t.is_floating_point() and t.numel()]
    if not keys:
        return
    sums = torch.stack([tensors[k].detach().sum().float().cpu() for k in keys])  # (K,) one host read below
    for key, ok in zip(keys, torch.isfinite(sums).tolist()):
        if not ok and not bool(torch.isfinite(tensors[key]).all()):
            from deepdojo.errors import TrainingError

            raise TrainingError(f"refusing to checkpoint non-finite values in {key}", where=where,
                                fix="lower the learning rate; the last good checkpoint is kept")


def restore_state(learn, tensors: dict[str, torch.Tensor], meta: dict[str, Any], where: str) -> None:
    """Put the Learner back exactly where :func:`gather_state` found it."""
    _check_fingerprint(learn, meta["fingerprint"], where)
    dev = learn.device
    model_sd = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
    with torch.no_grad():
        learn.model.load_state_dict(model_sd)
    learn.model.zero_grad(set_to_none=True)  # a rollback leaves the bad step's gradients behind
    opt_sd = join_tensors(meta["optimizer"], tensors)
    opt_sd["state"] = {int(k): v for k, v in opt_sd["state"].items()}
    learn.opt.load_state_dict(opt_sd)
    by_name = {cb.name: cb for cb in learn.callbacks}
    for name, state in meta["callbacks"].items():
        if name in by_name:
            by_name[name].load_state_dict(join_tensors(state, tensors))
    learn.epoch, learn.start_batch, learn.step = meta["epoch"], meta["start_batch"], meta["step"]
    learn.lr_factor = meta["lr_factor"]
    learn.history = History(meta["history"])
    losses = tensors.get("acc/losses")
    learn.epoch_losses = [t.to(dev) for t in losses.unbind()] if losses is not None else []
    learn.epoch_sizes = list(meta["acc_sizes"])
    rng = meta["rng"]
    random.setstate(join_tensors(rng["python"], tensors))
    np_state = rng["numpy"]
    np.random.set_state((np_state[0], np.asarray(np_state[1], dtype=np.uint32), *np_state[2:]))
    torch.set_rng_state(tensors["rng/torch"])
    cuda = [tensors[f"rng/cuda/{i}"] for i in range(torch.cuda.device_count()) if f"rng/cuda/{i}" in tensors]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _check_fingerprint(learn, saved: dict[str, Any], where: str) -> None:
    now = json.loads(json.dumps(fingerprint(learn), default=str))
    if now == saved:
        return
    diffs = []
    for key in sorted(set(now) | set(saved)):
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += [f"{key}.{k} {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            diffs.append(f"{key} {a!r} -> {b!r}")
    raise CheckpointError(f"the checkpoint was made with other settings: {', '.join(diffs)}", where=where,
                          fix="resume with the same settings, or start a new run (no --resume, or another --name)")


def expected_bytes(learn) -> int:
    """About one checkpoint's size: weights, two optimizer buffers per parameter, a little JSON."""
    model = sum(t.numel() * t.element_size() for t in learn.model.state_dict().values())
    params = sum(p.numel() * p.element_size() for p in learn.model.parameters())
    return model + 2 * params + 64 * 1024


def config_hash(fp: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fp, sort_keys=True, default=str).encode()).hexdigest()
