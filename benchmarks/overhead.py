"""Per-step overhead: plain PyTorch loop vs deepdojo's Learner vs PyTorch Lightning.

Same model, data tensors, optimizer, batch size and shuffle order for all.
Each framework trains for STEPS steps; we take the median step time (time
between consecutive batch ends) and repeat the trio ROUNDS times, interleaved,
so machine noise hits all three alike. Prints ratios against the plain loop.

"deepdojo" has every default callback on (NaN/Inf guard over loss and gradients, run
folder, checkpoints); "deepdojo_loss_guard" is the same with the guard reading the loss only.
Also checks that deepdojo's first steps give bit-identical weights to the plain loop.

    python benchmarks/overhead.py [--steps 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.data.loaders import epoch_permutation
from deepdojo.train.callbacks import Callback
from deepdojo.train.guards import NanGuard

BS, SEED, LR = 64, 0, 1e-3


def models():
    """name -> (model factory, x, y)."""
    g = torch.Generator().manual_seed(0)
    x_lin, y_lin = torch.randn(BS * 1000, 64, generator=g), torch.randint(0, 10, (BS * 1000,), generator=g)
    x_cnn, y_cnn = torch.randn(BS * 1000, 1, 16, 16, generator=g), torch.randint(0, 10, (BS * 1000,), generator=g)

    def logistic():
        return nn.Linear(64, 10)

    def small_cnn():
        return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(32 * 16, 10))

    return {"logistic": (logistic, x_lin, y_lin), "small_cnn": (small_cnn, x_cnn, y_cnn)}


def median_step(stamps: list[float]) -> float:
    return statistics.median(b - a for a, b in zip(stamps, stamps[1:]))


def run_plain(make, x, y, steps):
    torch.manual_seed(SEED)
    model = make()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    perm, stamps = epoch_permutation(len(x), SEED, 0), []
    model.train()
    for b in range(steps):
        idx = perm[b * BS : (b + 1) * BS]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        stamps.append(time.perf_counter())
    return median_step(stamps), model


class Stamp(Callback):
    order = 1000

    def __init__(self, steps):
        self.steps, self.stamps = steps, []

    def after_batch(self):
        self.stamps.append(time.perf_counter())
        if len(self.stamps) >= self.steps:
            from deepdojo.train.callbacks import CancelFit

            raise CancelFit()


def run_deepdojo(make, x, y, steps, check_grads=True):
    torch.manual_seed(SEED)
    model = make()
    data = Data.from_tensors(x, y, valid=(x[:BS], y[:BS]), normalize=False, batch_size=BS, seed=SEED)
    stamp = Stamp(steps)
    with tempfile.TemporaryDirectory() as tmp:  # default callbacks on, run folder included
        learn = Learner(model, data, opt="adamw", weight_decay=0.0, progress=False, callbacks=[stamp], run_dir=tmp)
        learn.callback(NanGuard).check_grads = check_grads  # False: the guard reads the loss only
        learn.fit(1, LR)
    return median_step(stamp.stamps), model


def run_lightning(make, x, y, steps, lean: bool):
    import lightning as L

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = make()

        def training_step(self, batch, _):
            xb, yb = batch
            return F.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=LR, weight_decay=0.0)

    class Batches:  # pre-indexed batches, like the others: measures the trainer, not collation
        def __iter__(self):
            perm = epoch_permutation(len(x), SEED, 0)
            return ((x[perm[b * BS : (b + 1) * BS]], y[perm[b * BS : (b + 1) * BS]]) for b in range(steps))

        def __len__(self):
            return steps

    stamps = []

    class StampCb(L.Callback):
        def on_train_batch_end(self, *args):
            stamps.append(time.perf_counter())

    torch.manual_seed(SEED)
    module = Module()
    with tempfile.TemporaryDirectory() as tmp:
        kw = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False) if lean else {}
        trainer = L.Trainer(max_epochs=1, accelerator="cpu", devices=1, callbacks=[StampCb()], default_root_dir=tmp, **kw)
        trainer.fit(module, train_dataloaders=Batches())
    return median_step(stamps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)  # steady per-step timings; overhead is what we compare
    try:
        import lightning  # noqa: F401

        have_lightning = True
    except ImportError:
        have_lightning = False
        print("lightning not installed (pip install -e '.[bench]'): skipping its columns")
    for name, (make, x, y) in models().items():
        results: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            t_plain, m_plain = run_plain(make, x, y, args.steps)
            t_dd, m_dd = run_deepdojo(make, x, y, args.steps)
            results.setdefault("plain", []).append(t_plain)
            results.setdefault("deepdojo", []).append(t_dd)
            results.setdefault("deepdojo_loss_guard", []).append(run_deepdojo(make, x, y, args.steps, check_grads=False)[0])
            if have_lightning:
                results.setdefault("lightning_lean", []).append(run_lightning(make, x, y, args.steps, lean=True))
                results.setdefault("lightning_defaults", []).append(run_lightning(make, x, y, args.steps, lean=False))
        same = all(torch.equal(a, b) for a, b in zip(m_plain.state_dict().values(), m_dd.state_dict().values()))
        base = statistics.median(results["plain"])
        print(f"\n{name}: batch {BS}, {args.steps} steps x {args.rounds} rounds, median step time")
        for k, v in results.items():
            t = statistics.median(v)
            print(f"  {k:20s} {t * 1e6:9.1f} us/step   ratio {t / base:5.3f}x   (+{(t - base) * 1e6:7.1f} us)")
        print(f"  deepdojo weights after {args.steps} steps bit-identical to the plain loop: {same}")


if __name__ == "__main__":
    main()
