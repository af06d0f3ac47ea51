# %% [markdown]
# # Lesson 6: Activations and representation learning: the hidden layer warps the space
#
# **Minutes:** 1
# **Asserts:** on concentric circles logistic regression on the raw inputs stays near chance (<= 0.65) and so does a deep network without activations; with tanh, the network's own 2-D hidden representation becomes linearly separable (a fresh logistic regression on it: >= 0.97)
#
# A network is a feature extractor followed by a linear classifier. Training
# bends the input space until the classes *are* separable by a line. We force
# the last hidden layer to have 2 units so the learned space can be plotted.

# %%
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from deepdojo import Learner
from deepdojo.data import load_builtin
from deepdojo.lessons import begin, figure

lesson = begin(6)
data = load_builtin("circles", seed=0)  # two concentric rings, 400 train / 100 valid
x_tr = np.concatenate([xb.cpu().numpy() for xb, _ in data.train])
y_tr = np.concatenate([yb.cpu().numpy() for _, yb in data.train])
x_va = np.concatenate([xb.cpu().numpy() for xb, _ in data.valid])
y_va = np.concatenate([yb.cpu().numpy() for _, yb in data.valid])
raw = LogisticRegression().fit(x_tr, y_tr).score(x_va, y_va)
lesson.check("logistic regression on the raw (x, y) inputs, validation accuracy", raw, "<=", 0.65)


# %% [markdown]
# ## Stacked linear layers are still one linear layer
# W₂(W₁x + b₁) + b₂ = (W₂W₁)x + (W₂b₁ + b₂): without a non-linearity, depth
# buys nothing.

# %%
def network(act):
    torch.manual_seed(0)
    body = nn.Sequential(nn.Linear(2, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, 2), act())
    return body, nn.Sequential(body, nn.Linear(2, 2))  # (B, 2) features -> (B, 2) class scores


epochs = lesson.pick(60, 25)
_, linear_net = network(nn.Identity)
learn_lin = Learner(linear_net, data, seed=0, progress=False, lr=1e-2)
learn_lin.fit(epochs)
lesson.check("3 layers, no activation, validation accuracy", learn_lin.history[-1]["accuracy"], "<=", 0.65)

# %% [markdown]
# ## With tanh the hidden layers learn coordinates where a line works
# We take the trained body (everything but the last Linear), compute the 2-D
# features for every point, and fit a *fresh* logistic regression on them.

# %%
body, net = network(nn.Tanh)
learn = Learner(net, data, seed=0, progress=False, lr=1e-2)
learn.fit(epochs)
with torch.no_grad():
    f_tr = body(torch.tensor(x_tr)).numpy()
    f_va = body(torch.tensor(x_va)).numpy()
probe = LogisticRegression().fit(f_tr, y_tr).score(f_va, y_va)
lesson.check("network with tanh, validation accuracy", learn.history[-1]["accuracy"], ">=", 0.97)
lesson.check("a fresh logistic regression on its 2-D hidden features", probe, ">=", 0.97)

fig, axes = figure(1, 2, figsize=(9, 4))
axes[0].scatter(*x_tr.T, c=y_tr, cmap="coolwarm", s=6)
axes[0].set_title(f"input space: a line gets {raw:.2f}")
axes[1].scatter(*f_tr.T, c=y_tr, cmap="coolwarm", s=6)
axes[1].set_title(f"learned 2-D features: a line gets {probe:.2f}")
lesson.show(fig, "warped_space")

# %% [markdown]
# The rings did not move in the input; the network moved the *coordinates*.
# That is representation learning, and why transfer learning (lesson 22) works:
# the body's features are reusable.

# %%
lesson.end()
