"""Transfer learning on built-in digits: pretrain on 0-4, fine-tune on 5-9 with 10 examples per class.

Protocol (fixed before looking at task-B results; every task-B number it prints is on B's test split):
  - task A (digits 0-4, 80/20 train/test): ``PRETRAIN_EPOCHS`` one-cycle epochs with the ``light``
    batch augmentation (small rotations/shifts, no mirroring).
  - task B (digits 5-9, ``--per-class`` training images per class, the rest to test): every arm
    trains ``EPOCHS_B`` epochs in total with the same model, batch size and ``light`` augmentation.
    * fine-tuned: task A's body, a fresh head, ``fine_tune``: 1 head-only epoch (body frozen,
      batch-norm trainable) at ``lr``, then ``EPOCHS_B - 1`` unfrozen epochs with discriminative
      LRs ``slice(lr/2/lr_mult, lr/2)``; grid: ``LRS`` x ``LR_MULTS`` (6 points, printed ``lr/lr_mult``);
    * from scratch: the same architecture, freshly initialised, one-cycle at ``lr``; grid:
      ``SCRATCH_LRS`` (6 points, so it is tuned as much as the fine-tuned arm);
    * head only (linear probe on task A's frozen body), one-cycle at ``lr`` in ``LRS``.
    The script prints every grid point and
    compares the best grid point of each arm (picked by B test accuracy, mean over seeds: the
    same optimistic choice for both arms, so neither is favoured).
  - catastrophic forgetting: all layers trained on B with one LR (no freezing, no discriminative
    LRs), high vs low; task-A test accuracy of the new body under task A's old head.
Each arm reports mean +- std over ``--seeds`` seeds (the seed picks the split and the inits).

Run: ``PYTHONPATH=src python benchmarks/transfer_digits.py [--seeds 5] [--per-class 10]``

Measured (CPU, 5 seeds, 10/class): pretraining does NOT help here. Best of grid: fine-tuned
0.918 +- 0.037 (lr 3e-2, lr_mult 10) vs from scratch 0.939 +- 0.018 (lr 3e-3); fine-tuning wins on
0 of 5 seeds. The body has to move a lot (lr_mult 10 beats 100 at every LR; the linear probe
reaches only 0.75), i.e. features for 8x8 digits 0-4 transfer poorly to 5-9, and 50 augmented
images suffice to learn these from scratch. Forgetting: training every layer on B at 3e-2 drops
task A from 1.000 to 0.463; at 3e-4 to 0.997 (while B reaches only 0.833).
With ``--per-class 3`` it still roughly ties: 0.799 +- 0.051 vs 0.813 +- 0.061 (fine-tuning wins 2 of 5 seeds).
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
PRETRAIN_EPOCHS = 30
EPOCHS_B = 16  # every task-B arm: fine-tune = 1 head-only + 15 unfrozen; scratch, probe, forgetting = 16
LRS = (3e-3, 1e-2, 3e-2)  # fine-tuned: LR x LR_MULTS (6 points); head only: LRS
LR_MULTS = (10, 100)  # fine_tune's body/head LR ratio
SCRATCH_LRS = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)  # as many grid points as the fine-tuned arm
AUGMENT = "light"


def split_tasks(seed: int, per_class: int = 10):
    """uint8 digits; task A = 0-4 (80/20 train/test), task B = 5-9 relabelled 0-4 (``per_class`` to train)."""
    x, y = (torch.from_numpy(a) for a in digits_arrays())  # (N, 1, 8, 8) uint8, (N,)
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
    """Normalised by the task's own training images (as ``deepdojo train`` does), light augmentation."""
    (xtr, ytr), (xte, yte) = task
    data = Data.from_tensors(xtr, ytr, valid=(xte, yte), batch_size=batch_size, seed=seed, augment=AUGMENT)
    return Learner(model, data, seed=seed, progress=False, run_dir=run_dir, device="cpu")


def accuracy(learn: Learner) -> float:
    """Accuracy on the task's test split (the Learner's ``valid`` loader: never used for a choice)."""
    return learn.validate()["accuracy"]


def one_seed(seed: int, high_lr: float, low_lr: float, per_class: int = 10) -> dict[str, float]:
    task_a, task_b = split_tasks(seed, per_class)
    torch.manual_seed(seed)
    learn_a = learner(create_model("cnn", 5, in_channels=1, **ARCH), task_a, 64, seed,
                      run_dir=tempfile.mkdtemp(prefix="task_a_"))
    learn_a.fit_one_cycle(PRETRAIN_EPOCHS, 3e-3)
    learn_a.save("best", extra={"arch": "cnn"})
    out = {"A: pretrained": accuracy(learn_a)}
    head_a = copy.deepcopy(learn_a.model.head[-1])

    def from_a() -> nn.Module:  # task A's body, a fresh task-B head
        torch.manual_seed(seed + 1)
        m = create_model("cnn", 5, in_channels=1, **ARCH)
        load_pretrained(m, learn_a.run.path, arch="cnn")
        m.head[-1].reset_parameters()
        return m

    def scratch() -> nn.Module:
        torch.manual_seed(seed + 1)
        return create_model("cnn", 5, in_channels=1, **ARCH)

    for lr in LRS:
        for mult in LR_MULTS:
            ft = learner(from_a(), task_b, 16, seed)
            ft.fine_tune(EPOCHS_B - 1, base_lr=lr, freeze_epochs=1, lr_mult=mult)
            out[f"B: fine-tuned {lr:g}/{mult}"] = accuracy(ft)
        probe = learner(from_a(), task_b, 16, seed)
        probe.freeze()
        probe.fit_one_cycle(EPOCHS_B, lr)
        out[f"B: head only {lr:g}"] = accuracy(probe)
    for lr in SCRATCH_LRS:
        new = learner(scratch(), task_b, 16, seed)
        new.fit_one_cycle(EPOCHS_B, lr)
        out[f"B: scratch {lr:g}"] = accuracy(new)
    for name, lr in (("high", high_lr), ("low", low_lr)):
        learn = learner(from_a(), task_b, 16, seed)
        learn.fit_one_cycle(EPOCHS_B, lr)  # every layer, one LR: no freezing, no discriminative LRs
        out[f"B after lr {name}"] = accuracy(learn)
        learn_a.model = copy.deepcopy(learn.model)
        learn_a.model.head[-1] = copy.deepcopy(head_a)  # task A's head on the new body
        out[f"A after lr {name}"] = accuracy(learn_a)
    return out


def best_of(runs: list[dict], arm: str) -> tuple[float, str]:
    """The arm's grid point with the best mean test accuracy: (mean, key)."""
    mean = {k: statistics.mean(r[k] for r in runs) for k in runs[0] if k.startswith(arm + " ")}
    key = max(mean, key=mean.get)
    return mean[key], key


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
          f"{time.perf_counter() - t0:.0f}s; every task-B arm: {EPOCHS_B} epochs")
    for key in runs[0]:
        vals = [r[key] for r in runs]
        print(f"  {key:<22} {statistics.mean(vals):.3f} +- {statistics.stdev(vals) if len(vals) > 1 else 0:.3f}")
    (ft, ft_key), (sc, sc_key) = best_of(runs, "B: fine-tuned"), best_of(runs, "B: scratch")
    std = lambda k: statistics.stdev(r[k] for r in runs) if len(runs) > 1 else 0.0  # noqa: E731
    print(f"best of grid on B: fine-tuned {ft:.3f} +- {std(ft_key):.3f} (lr {ft_key.split()[-1]}) vs from scratch "
          f"{sc:.3f} +- {std(sc_key):.3f} (lr {sc_key.split()[-1]}): {ft / sc:.3f}x")
    wins = sum(r[ft_key] > r[sc_key] for r in runs)
    print(f"  fine-tuned beats from-scratch on {wins} of {len(runs)} seeds (ties count as losses)")
    mean = lambda k: statistics.mean(r[k] for r in runs)  # noqa: E731
    print(f"forgetting on A (drop from {mean('A: pretrained'):.3f}): lr {args.high_lr:g} -> "
          f"{mean('A: pretrained') - mean('A after lr high'):.3f}, lr {args.low_lr:g} -> "
          f"{mean('A: pretrained') - mean('A after lr low'):.3f}")


if __name__ == "__main__":
    main()
