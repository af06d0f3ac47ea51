# %% [markdown]
# # Lesson 4: A hyperplane cannot solve XOR; a hidden layer approximates anything
#
# **Minutes:** 1
# **Asserts:** a linear model on XOR stays at or below 0.75 validation accuracy while an MLP reaches 0.97 or more; fitting sin(3x), an MLP's error falls as it gets wider (64 tanh units: MSE below 0.01)
#
# A linear classifier draws one straight line (a hyperplane in more dimensions).
# XOR, four clusters at the corners of a square with opposite corners sharing a
# label, cannot be split by any line. One hidden layer with a non-linearity can,
# and, wide enough, it approximates any continuous function.

# %%
import numpy as np
import torch

from deepdojo import Learner
from deepdojo.data import load_builtin
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(4)
data = load_builtin("xor", seed=0)  # 400 noisy points, 80/20 stratified split
epochs = lesson.pick(30, 12)


def train(model):
    learn = Learner(model, data, seed=0, progress=False, lr=1e-2)
    learn.fit(epochs)
    return learn, learn.history[-1]["accuracy"]


torch.manual_seed(0)
linear, acc_linear = train(create_model("linear", 2, in_features=2))
torch.manual_seed(0)
mlp, acc_mlp = train(create_model("mlp", 2, in_features=2, width=16, depth=1))
lesson.check("linear model on XOR, validation accuracy", acc_linear, "<=", 0.75)
lesson.check("MLP with one hidden layer of 16, validation accuracy", acc_mlp, ">=", 0.97)

# %% [markdown]
# ## What each model draws
# The colour is the predicted probability of class 1 over the plane: one
# straight boundary for the linear model, a bent one for the MLP.

# %%
grid = np.stack(np.meshgrid(np.linspace(-2, 2, 120), np.linspace(-2, 2, 120)), -1).reshape(-1, 2)
xs = np.concatenate([xb.cpu().numpy() for xb, _ in data.train])
ys = np.concatenate([yb.cpu().numpy() for _, yb in data.train])
fig, axes = figure(1, 2, figsize=(9, 4))
for ax, (name, learn) in zip(axes, [("linear", linear), ("MLP", mlp)]):
    p = learn.predict(torch.tensor(grid, dtype=torch.float32))[:, 1].reshape(120, 120).cpu().numpy()
    ax.contourf(np.linspace(-2, 2, 120), np.linspace(-2, 2, 120), p, levels=20, cmap="RdBu_r", alpha=0.7)
    ax.scatter(*xs.T, c=ys, cmap="RdBu_r", s=6, edgecolors="k", linewidths=0.2)
    ax.set_title(f"{name}: P(class 1)")
lesson.show(fig, "xor_boundaries")

# %% [markdown]
# ## Universal approximation, measured
# Fit y = sin(3x) on [−2, 2] with one hidden layer of 2, 8 and 64 tanh units:
# the wider the layer, the more bends it can place, the smaller the error. The
# loop below is the one the Learner runs for you: forward, loss, backward, step.

# %%
xr = torch.linspace(-2, 2, 256).unsqueeze(1)  # (256, 1)
yr = torch.sin(3 * xr).squeeze(1)  # (256,)
mse = {}
fig, ax = figure(figsize=(6, 3.5))
ax.plot(xr.squeeze(1), yr, "k", lw=3, alpha=0.3, label="sin(3x)")
for width in (2, 8, 64):
    torch.manual_seed(0)
    model = create_model("mlp", 1, in_features=1, width=width, depth=1, act_layer=torch.nn.Tanh, init="xavier")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(lesson.pick(1500, 500)):  # full batch
        opt.zero_grad()
        loss = ((model(xr).squeeze(1) - yr) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        fit = model(xr).squeeze(1)
    mse[width] = float(((fit - yr) ** 2).mean())
    ax.plot(xr.squeeze(1), fit, label=f"{width} units: MSE {mse[width]:.4f}")
ax.legend(fontsize=8)
lesson.show(fig, "universal_approximation")
lesson.check("MSE with 8 units below MSE with 2", mse[8], "<", mse[2], fmt=".4f")
lesson.check("MSE with 64 units below MSE with 8", mse[64], "<", mse[8], fmt=".4f")
lesson.check("64 tanh units fit sin(3x), MSE", mse[64], "<", 0.01, fmt=".4f")

# %%
lesson.end()
