# %% [markdown]
# # Lesson 37: Multi-GPU training with data parallelism (two CPU processes stand in for two GPUs)
#
# **Minutes:** 1
# **Asserts:** the gradient of a batch equals the weighted average of the gradients of its two halves (to 1e-6): what an all-reduce computes; two real processes (torchrun, gloo) with batch 16 each reproduce one process with batch 32: the same loss every epoch (within 1e-4) and the same final weights (within 1e-4), while one process with batch 16 (a different global batch) ends at least 10x farther away
#
# With two GPUs, **data parallelism** puts a full copy of the model on each,
# gives each half of every batch, and before each optimizer step **averages
# the gradients** across the copies (an *all-reduce*). Every copy then takes
# the same step and stays identical. Nothing about the model changes: the
# only thing that changes is how many examples one step sees (the **global
# batch** = per-device batch x devices).
#
# This machine has no GPUs, so two CPU processes talking over `gloo` (PyTorch's
# CPU backend) stand in for them: `deepdojo train ... --nproc 2` starts them
# with `torchrun`, exactly as it would start one process per GPU.

# %%
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

import deepdojo
from deepdojo.lessons import begin, figure

lesson = begin(37)
torch.manual_seed(0)

# %% [markdown]
# ## 1. The all-reduce is an average of gradients
# The mean loss over a batch is the size-weighted average of the mean losses
# of its parts, and gradients are linear: so the batch's gradient is the
# size-weighted average of the parts' gradients. Each GPU computes one part;
# the all-reduce adds them up.

# %%
model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))


def grads(xb, yb):
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(xb), yb).backward()
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


whole = grads(x, y)
halves = [grads(x[r::2], y[r::2]) for r in range(2)]  # "GPU 0" takes rows 0, 2, 4...; "GPU 1" rows 1, 3, 5...
averaged = (halves[0] + halves[1]) / 2  # what the all-reduce hands back to both
lesson.check("largest difference, whole-batch gradient vs the average of the two halves'",
             (whole - averaged).abs().max(), "<", 1e-6, fmt=".1e")

# %% [markdown]
# ## 2. Two processes, for real
# Three runs of the same network on the same data, seed and learning rate:
# - **two processes**, `deepdojo train ... --nproc 2 --batch-size 16`: a global batch of 32;
# - **one process**, batch 32 (here, through the Python API): the same global batch, the oracle;
# - **one process**, batch 16: a different global batch.
#
# If data parallelism is right, the first two agree to float rounding and the
# third does not: twice the steps, each on half the data, is another training.

# %%
out = Path(tempfile.mkdtemp(prefix="lesson37-"))
epochs = lesson.pick(3, 1)
env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two processes on a small CPU: one thread each
env.pop("WORLD_SIZE", None)


def two_processes():
    """The CLI under torchrun: two worker processes, batch 16 each (rank 0 writes the run folder)."""
    cmd = [sys.executable, "-m", "deepdojo", "train", "builtin:digits", "--arch", "mlp", "--epochs", str(epochs),
           "--lr", "0.01", "--augment", "none", "--seed", "0", "--out", str(out), "--name", "two", "--json",
           "--nproc", "2", "--batch-size", "16"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    history = [json.loads(line) for line in (out / "two" / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r["train_loss"] for r in history if "train_loss" in r], deepdojo.load_learner(out / "two").model.state_dict()


def one_process(batch_size):
    """The same settings in this process, through the Python API."""
    learn = deepdojo.learner("builtin:digits", arch="mlp", batch_size=batch_size, augment="none", seed=0, out=None,
                             progress=False)
    learn.fit_one_cycle(epochs, 0.01)
    return [r["train_loss"] for r in learn.history], learn.model.state_dict()


two_loss, two_w = two_processes()
one_loss, one_w = one_process(32)
small_loss, small_w = one_process(16)


def farthest(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


print("   train loss per epoch:")
for name, losses in (("2 processes x 16", two_loss), ("1 process x 32", one_loss), ("1 process x 16", small_loss)):
    print(f"     {name:<17}" + "  ".join(f"{v:.5f}" for v in losses))
lesson.check("largest train-loss difference per epoch, 2 x 16 vs 1 x 32",
             max(abs(a - b) for a, b in zip(two_loss, one_loss)), "<", 1e-4, fmt=".1e")
same, other = farthest(two_w, one_w), farthest(small_w, one_w)
lesson.check("largest weight difference, 2 x 16 vs 1 x 32", same, "<", 1e-4, fmt=".1e")
lesson.check("how much farther 1 x 16 ends from 1 x 32 than 2 x 16 does", other / max(same, 1e-12), ">=", 10,
             fmt=".3g")

fig, ax = figure(figsize=(6, 3.5))
for name, losses, style in (("2 processes x batch 16", two_loss, "o-"), ("1 process x batch 32", one_loss, "x--"),
                            ("1 process x batch 16", small_loss, "s:")):
    ax.plot(np.arange(1, len(losses) + 1), losses, style, label=name)
ax.set(xlabel="epoch", ylabel="train loss", title="Same global batch, same training")
ax.legend()
lesson.show(fig, "loss_curves")

# %% [markdown]
# What this does not show: speed. Two processes on one small CPU share its
# cores, so they are no faster; on two GPUs each does half the work per step.
# What carries over unchanged is the arithmetic: keep the **global batch**
# (and the learning rate tuned for it) when you change the number of devices,
# or you are running a different experiment.

# %%
lesson.end()
