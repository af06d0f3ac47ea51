"""GANWatch: names GAN failures in the progress output and the epoch record, with what to try.

Installed by :func:`deepdojo.train.default_callbacks.standard_callbacks` for any
model with ``adversarial = True`` (:class:`deepdojo.models.gan.GAN`). Per step it
keeps the task's detached D/G losses (no host sync); once per epoch it reads
them, samples ``n_samples`` images and compares their diversity with a real
batch (:func:`deepdojo.metrics.gan_health.gan_failures`). The record gains
``d_loss``, ``g_loss`` and ``gan_failures`` (names); each finding is printed as
one line ``GAN: NAME (evidence). Try: ...``.
"""

from __future__ import annotations

import torch

from deepdojo.metrics.gan_health import gan_failures
from deepdojo.train.callbacks import Callback


class GANWatch(Callback):
    order = -5  # record fields before the progress line prints them

    def __init__(self, n_samples: int = 64, window: int = 20, quiet: bool = False):
        self.n_samples, self.window, self.quiet = n_samples, window, quiet
        self.d, self.g = [], []
        self.findings: list[dict] = []

    def before_epoch(self) -> None:
        self.d, self.g = [], []

    def after_batch(self) -> None:
        last = getattr(self.learn.task, "last", None)
        if last and torch.is_tensor(last.get("d_loss")):
            self.d.append(last["d_loss"])
            self.g.append(last["g_loss"])

    def after_validate(self) -> None:
        learn = self.learn
        if not self.d or getattr(learn, "finding_lr", False):
            return
        d = torch.stack(self.d).float().cpu().numpy()  # one host read per epoch
        g = torch.stack(self.g).float().cpu().numpy()
        real = next(iter(learn.data.valid or learn.data.train))[0][: self.n_samples]
        gen = torch.Generator().manual_seed(1234)  # its own RNG: the training RNG stream is untouched (bit-exact resume)
        fake = learn.model.sample(len(real), generator=gen)
        self.findings = gan_failures(d, g, fake.reshape(len(fake), -1).float().cpu().numpy(),
                                     real.reshape(len(real), -1).float().cpu().numpy(), window=self.window)
        learn.record.update({"d_loss": float(d.mean()), "g_loss": float(g.mean()),
                             "gan_failures": [f["name"] for f in self.findings]})
        if not self.quiet:
            for f in self.findings:
                print(f"GAN: {f['name']} ({f['evidence']}). Try: {f['fix']}", flush=True)
