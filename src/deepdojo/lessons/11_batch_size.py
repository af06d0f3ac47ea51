# %% [markdown]
# # Lesson 11: Batch size and learning rate
#
# **Minutes:** 1
# **Asserts:** the mini-batch gradient's variance falls as 1/B (variance x B constant within 25% for B = 8, 32, 128); at a fixed number of epochs 8x larger batches with the same learning rate end worse, and scaling the learning rate 8x with the batch (the linear scaling rule) recovers most of the gap
#
# A mini-batch gradient is an average of B per-example gradients: an estimate
# of the full gradient whose noise shrinks like 1/B. Larger batches give fewer,
# cleaner steps per epoch; to cover the same distance you take bigger steps.
# For SGD the rule of thumb is: multiply the batch by k, multiply the LR by k
# (up to a limit, and usually with warmup).

# %%
import numpy as np
import torch
from sklearn.datasets import load_digits

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(11)
digits = load_digits()
x = torch.tensor(digits.data / 16, dtype=torch.float32)
y = torch.tensor(digits.target)

# %% [markdown]
# ## 1. Gradient noise falls as 1/B
# At a fixed set of weights, draw many mini-batches of size B, compute each
# batch's gradient, and measure how much they scatter around their mean.

# %%
torch.manual_seed(0)
model = create_model("mlp", 10, in_features=64, width=64, depth=1)
rng = np.random.default_rng(0)


DRAWS = lesson.pick(200, 80)


def grad_variance(batch, draws=DRAWS):
    grads = []
    for _ in range(draws):
        idx = torch.from_numpy(rng.choice(len(y), batch, replace=False))
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    g = torch.stack(grads)  # (draws, n_params)
    return float(g.var(0).sum())


var = {b: grad_variance(b) for b in (8, 32, 128)}
scaled = {b: v * b for b, v in var.items()}
for b in var:
    print(f"   B = {b:3d}: gradient variance {var[b]:.4f}, x B = {scaled[b]:.3f}")
spread = max(scaled.values()) / min(scaled.values())
lesson.check("variance x B, largest / smallest over B = 8, 32, 128", spread, "<", 1.25, fmt=".3f")

# %% [markdown]
# ## 2. The linear scaling rule
# SGD with momentum, the same number of epochs: batch 32 at lr 0.01; batch 256
# at the same lr (8x fewer steps, each no bigger); batch 256 at 8 x 0.01.

# %%
epochs = lesson.pick(10, 6)
runs = {}
for batch, lr in ((32, 0.01), (256, 0.01), (256, 0.08)):
    data = Data.from_tensors(x, y, seed=0, batch_size=batch)
    torch.manual_seed(0)
    learn = Learner(create_model("mlp", 10, in_features=64, width=128, depth=2), data, opt="sgd", momentum=0.9,
                    lr=lr, weight_decay=0.0, seed=0, progress=False)
    learn.fit(epochs)
    runs[(batch, lr)] = learn.history
    print(f"   batch {batch:3d}, lr {lr:<5g}: {len(data.train) * epochs:4d} steps, "
          f"dev loss {learn.history[-1]['valid_loss']:.4f}, accuracy {learn.history[-1]['accuracy']:.3f}")
small, big_same, big_scaled = (runs[k][-1]["valid_loss"] for k in runs)
lesson.check("batch 256 at the same lr: dev loss / batch 32's", big_same / small, ">", 1.5, fmt=".2f")
lesson.check("share of that gap recovered by scaling the lr 8x", (big_same - big_scaled) / (big_same - small), ">",
             0.5, fmt=".2f")

fig, ax = figure(figsize=(6, 3.5))
for (batch, lr), hist in runs.items():
    ax.plot(range(1, epochs + 1), [r["valid_loss"] for r in hist], marker="o", label=f"batch {batch}, lr {lr:g}")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("dev loss")
ax.legend()
lesson.show(fig, "batch_size")

# %%
lesson.end()
