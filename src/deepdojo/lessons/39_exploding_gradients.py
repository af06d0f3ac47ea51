# %% [markdown]
# # Lesson 39: Exploding and vanishing gradients, initialization and clipping
#
# **Minutes:** 1
# **Asserts:** through a stack of linear layers the first layer's gradient grows ~1.5^depth with weights of gain 1.5 (x1e6 from depth 10 to 40) and vanishes with gain 0.5 (x1e-6 or less), while variance-preserving init keeps it within 10x; unclipped SGD on raw diabetes targets overflows to inf in its first steps (stopped by the NaN guard), and clipping the gradient norm to 10 trains it below the predict-the-mean baseline
#
# Backprop multiplies one Jacobian per layer. If each multiplies the gradient
# by more than 1 it explodes exponentially with depth; less than 1 and it
# vanishes. Initialization that preserves variance (Xavier, Kaiming) keeps the
# product near 1 at the start; gradient clipping caps a single bad step.

# %%
import numpy as np
import torch
from sklearn.datasets import load_diabetes
from torch import nn

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.errors import DeepdojoError
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(39)

# %% [markdown]
# ## 1. The gradient through a deep stack, at initialization

# %%
def first_layer_grad(depth, gain, width=64):
    torch.manual_seed(0)
    layers = [nn.Linear(width, width, bias=False) for _ in range(depth)]
    for layer in layers:
        nn.init.normal_(layer.weight, std=gain / np.sqrt(width))  # gain 1: variance preserving (Xavier/LeCun)
    net = nn.Sequential(*layers)
    net(torch.randn(32, width)).pow(2).mean().backward()
    return layers[0].weight.grad.norm().item()


depths = [5, 10, 20, 40]
norms = {gain: [first_layer_grad(d, gain) for d in depths] for gain in (0.5, 1.0, 1.5)}
for gain, row in norms.items():
    print(f"   gain {gain}: " + "  ".join(f"depth {d}: {n:.2e}" for d, n in zip(depths, row)))
lesson.check("gain 1.5: gradient at depth 40 / depth 10", norms[1.5][3] / norms[1.5][1], ">", 1e6, fmt=".1e")
lesson.check("gain 0.5: gradient at depth 40 / depth 10", norms[0.5][3] / norms[0.5][1], "<", 1e-6, fmt=".1e")
lesson.check("gain 1 (variance preserving): depth 40 / depth 10, at least", norms[1.0][3] / norms[1.0][1], ">", 0.1,
             fmt=".2f")
lesson.check("gain 1 (variance preserving): depth 40 / depth 10, at most", norms[1.0][3] / norms[1.0][1], "<", 10,
             fmt=".2f")
fig, ax = figure(figsize=(5.5, 3.4))
for gain, row in norms.items():
    ax.plot(depths, row, marker="o", label=f"weights of gain {gain}")
ax.set_yscale("log")
ax.set_xlabel("depth")
ax.set_ylabel("first layer's gradient norm")
ax.legend()
lesson.show(fig, "gradient_vs_depth")

# %% [markdown]
# ## 2. Clipping
# Targets left in their raw units (disease progression ~150) make the squared
# error, and its gradient, huge at the start. Plain SGD takes one giant step
# and overflows; deepdojo's NaN guard stops the run at that step, before the
# weights are ruined. Clipping the gradient's norm to 10 keeps every step sane.

# %%
x, y = load_diabetes(return_X_y=True)
data = Data.from_tensors(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32), seed=0,
                         batch_size=32)


def learner(clip):
    torch.manual_seed(0)
    return Learner(create_model("mlp", 1, in_features=10, width=64, depth=3), data, opt="sgd", lr=3e-3,
                   weight_decay=0.0, seed=0, progress=False, grad_clip=clip)


probe = learner(None)
xb, yb = next(iter(data.train))
probe.loss_fn(probe.model(xb), yb).backward()
first_norm = torch.cat([p.grad.flatten() for p in probe.model.parameters()]).norm().item()
lesson.check("gradient norm at the first step", first_norm, ">", 100 * 10, fmt=",.0f")

plain = learner(None)
try:
    plain.fit(lesson.pick(10, 5))
    stopped = 0.0
except DeepdojoError as exc:
    print(f"   without clipping: {type(exc).__name__}: {str(exc).split(' (fix')[0]}")
    stopped = 1.0
lesson.check("without clipping the loss overflowed and the run was stopped (1 = yes)", stopped, "==", 1, fmt=".0f")

clipped = learner(10.0)
clipped.fit(lesson.pick(10, 5))
y_valid = torch.cat([yb for _, yb in data.valid])
y_train = torch.cat([yb for _, yb in data.train])
mean_baseline = float(((y_valid - y_train.mean()) ** 2).mean())
lesson.check("clipped at norm 10: dev MSE below predicting the mean", clipped.history[-1]["valid_loss"], "<",
             mean_baseline, fmt=",.0f")

# %%
lesson.end()
