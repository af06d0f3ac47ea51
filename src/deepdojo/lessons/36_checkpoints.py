# %% [markdown]
# # Lesson 36: Checkpoints: save, load, resume, predict
#
# **Minutes:** 1
# **Asserts:** a run crashed mid-epoch and resumed from its last checkpoint ends with weights bit-identical to an uninterrupted run (largest difference 0) and the same history; checkpoints are safetensors whose SHA-256 verifies (no pickle); a Predictor rebuilt from the run folder predicts what the Learner predicts; a corrupted checkpoint is refused
#
# A long run will be interrupted: a crash, a pre-empted GPU, a full disk. The
# fix is to save the *full* training state (weights, optimizer moments, every
# random-number generator, the position in the epoch) often and atomically,
# and to resume from it so exactly that the interruption leaves no trace.

# %%
import shutil
import tempfile
from pathlib import Path

import torch

from deepdojo import vision
from deepdojo.data.builtin import digits_arrays
from deepdojo.errors import CheckpointError
from deepdojo.lessons import begin
from deepdojo.predict import Predictor
from deepdojo.train import Callback
from deepdojo.train.checkpoint import read_meta

lesson = begin(36)
runs = Path(tempfile.mkdtemp(prefix="lesson36-"))
epochs = lesson.pick(4, 2)


def classifier(name, *callbacks):
    return vision.classifier("builtin:digits", arch="cnn", out=runs, name=name, seed=0, checkpoint_every=10,
                             progress=False, callbacks=callbacks)


class Crash(Callback):
    """Stands in for a power cut: raise out of the training loop right after step ``at``."""

    def __init__(self, at):
        self.at = at

    def after_batch(self):
        if self.learn.step == self.at:
            raise RuntimeError(f"simulated crash after step {self.at}")


# %% [markdown]
# ## 1. Uninterrupted, crashed, resumed

# %%
ref = classifier("uninterrupted")
ref.fit_one_cycle(epochs, lr_max=3e-3)
steps_per_epoch = len(ref.data.train)
crash_at = steps_per_epoch + steps_per_epoch // 2 + 3  # the middle of epoch 2, between two checkpoints
try:
    classifier("crashed", Crash(crash_at)).fit_one_cycle(epochs, lr_max=3e-3)
except RuntimeError as exc:
    print(f"   {exc}")
resumed = classifier("crashed")
resumed.fit_one_cycle(epochs, lr_max=3e-3, resume=True)
diff = max((a - b).abs().max().item() for a, b in zip(ref.model.state_dict().values(),
                                                       resumed.model.state_dict().values()))
lesson.check("largest weight difference, resumed vs uninterrupted", diff, "==", 0.0, fmt=".1e")
same_history = [{k: v for k, v in r.items() if k != "seconds"} for r in ref.history] == \
    [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history]
lesson.check("identical per-epoch losses and metrics (1 = yes)", float(same_history), "==", 1, fmt=".0f")

# %% [markdown]
# ## 2. What is on disk

# %%
folder = runs / "crashed" / "checkpoints"
for p in sorted(folder.iterdir()):
    print(f"   {p.name:34s} {p.stat().st_size:>9,d} bytes")
weights = sorted(folder.glob("*.safetensors"))


def vouched_for(p) -> bool:
    """best/last carry their metadata and SHA-256 inside the file; training states have a .json sidecar."""
    if p.stem.startswith("state-"):
        return "sha256" in p.with_suffix(".json").read_text()
    return len(read_meta(p)["sha256"]) == 64  # read_meta verifies the digest before it answers


lesson.check("every .safetensors carries a verified SHA-256", sum(vouched_for(p) for p in weights), "==",
             len(weights), fmt=".0f")
lesson.check("pickle files in the run folder", len([p for p in runs.rglob("*") if p.suffix in (".pt", ".pth", ".pkl")]),
             "==", 0, fmt=".0f")

# %% [markdown]
# ## 3. Predict from the run folder alone
# `Predictor.from_run` rebuilds the architecture and the preprocessing recorded
# in the checkpoint; raw uint8 images in, probabilities out.

# %%
predictor = Predictor.from_run(runs / "uninterrupted", checkpoint="last")
raw = torch.from_numpy(digits_arrays()[0][:64])  # (64, 1, 8, 8) uint8, as a camera would deliver them
gap = (predictor.predict_tensor(raw) - ref.predict(raw).cpu()).abs().max().item()
lesson.check("Predictor vs Learner, largest probability difference", gap, "<", 1e-6, fmt=".1e")

# %% [markdown]
# ## 4. A damaged file is refused, not silently loaded

# %%
last = folder / "last.safetensors"
blob = bytearray(last.read_bytes())
blob[-1] ^= 0xFF  # flip the bits of the last byte
last.write_bytes(bytes(blob))
try:
    resumed.load(last)
    refused = 0.0
except CheckpointError as exc:
    print(f"   {exc}")
    refused = 1.0
lesson.check("corrupted checkpoint refused (1 = yes)", refused, "==", 1, fmt=".0f")

# %%
shutil.rmtree(runs)  # the run folders were scratch space for this lesson
lesson.end()
