"""Transfer learning on built-in digits: pretrain on 0-4, fine-tune on 5-9 with 10 examples per class.

Prints, as mean +- std over 5 seeds:
  1. task-B test accuracy: fine-tuned from task A (``fine_tune``), a linear probe on the
     frozen task-A body, and from scratch (two LRs), with the same model, data and epochs;
  2. catastrophic forgetting: task-A accuracy (body after task B + the old task-A head)
     after training the whole network on B with a high vs a low learning rate.

Run: ``PYTHONPATH=src python benchmarks/transfer_digits.py [--seeds 5] [--per-class 10]``

Measured (CPU, 5 seeds): with 10 examples/class fine-tuning roughly ties training
from scratch (0.90 vs 0.91: 8x8 digits are easy enough to learn from 50 images);
with 3/class it wins (0.80 vs 0.71). Training everything at LR 3e-2 drops task A
from 0.996 to ~0.42-0.49; at 3e-4 task A is untouched.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time

import numpy as np
import torch
from torch import nn

from deepdojo import Learner
from deepdojo.data.builtin import digits_arrays
from deepdojo.data.core import Data
from deepdojo.models import create_model
from deepdojo.train.transfer import load_pretrained

ARCH = dict(widths=(64, 128), dropout=0.1)
EPOCHS_B = 16  # fine-tune: 1 head-only epoch + 15 unfrozen; scratch and forgetting runs: 16


def split_tasks(seed: int, per_class: int = 10):
    """Normalised digits; task A = 0-4 (80/20 train/test), task B = 5-9 relabelled 0-4 (``per_class`` to train)."""
    x, y = digits_arrays()
    x = (torch.from_numpy(x).float() / 255 - 0.3) / 0.4  # roughly zero mean, unit std for all tasks alike
    y = torch.from_numpy(y)
    rng = np.random.default_rng(seed)
    a_idx, b_train, b_test = [], [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y.numpy() == c))
        if c < 5:
            a_idx.append(idx)
        else:
            b_train.append(idx[:per_class])
            b_test.append(idx[per_class:])
    a_idx = rng.permutation(np.concatenate(a_idx))
    cut = int(0.8 * len(a_idx))
    a_tr, a_te = torch.from_numpy(a_idx[:cut]), torch.from_numpy(a_idx[cut:])
    b_tr, b_te = torch.from_numpy(np.concatenate(b_train)), torch.from_numpy(np.concatenate(b_test))
    task_a = ((x[a_tr], y[a_tr]), (x[a_te], y[a_te]))
    task_b = ((x[b_tr], y[b_tr] - 5), (x[b_te], y[b_te] - 5))
    return task_a, task_b


def learner(model: nn.Module, task, batch_size: int, seed: int, run_dir=None) -> Learner:
    (xtr, ytr), (xte, yte) = task
    data = Data.from_tensors(xtr, ytr, valid=(xte, yte), batch_size=batch_size, seed=seed, normalize=False)
    return Learner(model, data, seed=seed, progress=False, run_dir=run_dir, device="cpu")


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def one_seed(seed: int, high_lr: float, low_lr: float, per_class: int = 10) -> dict[str, float]:
    task_a, task_b = split_tasks(seed, per_class)
    torch.manual_seed(seed)
    learn_a = learner(create_model("cnn", 5, in_channels=1, **ARCH), task_a, 64, seed,
                      run_dir=tempfile.mkdtemp(prefix="task_a_"))
    learn_a.fit_one_cycle(10, 3e-3)
    learn_a.save("best", extra={"arch": "cnn"})
    out = {"A: pretrained": accuracy(learn_a.model, *task_a[1])}

    def from_a() -> nn.Module:  # task A's body, a fresh task-B head
        torch.manual_seed(seed + 1)
        m = create_model("cnn", 5, in_channels=1, **ARCH)
        load_pretrained(m, learn_a.run.path, arch="cnn")
        m.head[-1].reset_parameters()
        return m

    ft = learner(from_a(), task_b, 16, seed)
    ft.fine_tune(EPOCHS_B - 1, base_lr=3e-2, freeze_epochs=1, lr_mult=10)
    out["B: fine-tuned"] = accuracy(ft.model, *task_b[1])
    probe = learner(from_a(), task_b, 16, seed)
    probe.freeze()
    probe.fit_one_cycle(EPOCHS_B, 1e-2)
    out["B: head only"] = accuracy(probe.model, *task_b[1])
    for lr in (3e-3, 1e-2):  # scratch gets two LRs, so the comparison does not hinge on one bad pick
        torch.manual_seed(seed + 1)
        scratch = learner(create_model("cnn", 5, in_channels=1, **ARCH), task_b, 16, seed)
        scratch.fit_one_cycle(EPOCHS_B, lr)
        out[f"B: scratch {lr:g}"] = accuracy(scratch.model, *task_b[1])
    for name, lr in (("high", high_lr), ("low", low_lr)):
        m = from_a()
        learn = learner(m, task_b, 16, seed)
        learn.fit_one_cycle(EPOCHS_B, lr)  # every layer, one LR: no freezing, no discriminative LRs
        old = copy.deepcopy(m)
        old.head[-1].load_state_dict(learn_a.model.head[-1].state_dict())  # task A's head on the new body
        out[f"B after lr {name}"] = accuracy(m, *task_b[1])
        out[f"A after lr {name}"] = accuracy(old, *task_a[1])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--high-lr", type=float, default=3e-2)
    p.add_argument("--low-lr", type=float, default=3e-4)
    p.add_argument("--per-class", type=int, default=10, help="task-B training examples per class")
    args = p.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    runs = [one_seed(s, args.high_lr, args.low_lr, args.per_class) for s in range(args.seeds)]
    print(f"digits: task A = 0-4, task B = 5-9 with {args.per_class} train examples/class; {args.seeds} seeds, "
          f"{time.perf_counter() - t0:.0f}s")
    for key in runs[0]:
        vals = [r[key] for r in runs]
        print(f"  {key:<18} {statistics.mean(vals):.3f} +- {statistics.stdev(vals) if len(vals) > 1 else 0:.3f}")
    mean = lambda k: statistics.mean(r[k] for r in runs)  # noqa: E731
    best = max(mean("B: scratch 0.003"), mean("B: scratch 0.01"))
    print(f"fine-tuned / best from-scratch accuracy on B: {mean('B: fine-tuned') / best:.3f}x")
    print(f"forgetting on A (drop from {mean('A: pretrained'):.3f}): lr {args.high_lr:g} -> "
          f"{mean('A: pretrained') - mean('A after lr high'):.3f}, lr {args.low_lr:g} -> "
          f"{mean('A: pretrained') - mean('A after lr low'):.3f}")


if __name__ == "__main__":
    main()
