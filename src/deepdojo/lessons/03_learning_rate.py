# %% [markdown]
# # Lesson 3: Learning rate too small, just right, too large
#
# **Minutes:** 1
# **Asserts:** gradient descent on linear regression converges iff lr < 2/λmax (the Hessian's largest eigenvalue): 0.5x and 0.95x reach the minimum (within 5%), 1.05x diverges (loss x10 and more), 0.01x is still more than 2x above the minimum
#
# On a quadratic loss, gradient descent multiplies the error along each
# eigenvector of the Hessian H by (1 − lr·λ) every step. If |1 − lr·λ| > 1 for
# the largest eigenvalue λmax, that error *grows*: the run diverges. So the
# largest usable learning rate is 2/λmax, which we can compute and test.

# %%
import numpy as np
import torch
from sklearn.datasets import load_diabetes

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(3)
x_raw, y = load_diabetes(return_X_y=True)
x = (x_raw - x_raw.mean(0)) / x_raw.std(0)  # (442, 10)
X1 = np.hstack([x, np.ones((len(x), 1))])
H = 2 * X1.T @ X1 / len(x)  # Hessian of the MSE with respect to (w, b)
eig = np.linalg.eigvalsh(H)
lr_max = 2 / eig[-1]
w_ols = np.linalg.lstsq(X1, y, rcond=None)[0]
mse_min = float(np.mean((X1 @ w_ols - y) ** 2))
print(f"Hessian eigenvalues from {eig[0]:.3f} to {eig[-1]:.2f} (condition number {eig[-1] / eig[0]:.0f})")
print(f"largest stable learning rate 2/λmax = {lr_max:.4f}; minimum MSE {mse_min:.1f}")

# %% [markdown]
# ## Four learning rates, the same number of full-batch steps

# %%
data = Data.from_tensors(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32), valid_pct=0,
                         batch_size=len(y), normalize=False)
steps = lesson.pick(80, 40)
curves = {}
for name, factor in [("too small (0.01x)", 0.01), ("good (0.5x)", 0.5), ("edge (0.95x)", 0.95),
                     ("too large (1.05x)", 1.05)]:
    learn = Learner(create_model("linear", 1, in_features=10), data, opt="sgd", momentum=0.0, weight_decay=0.0,
                    seed=0, progress=False)
    learn.fit(steps, lr=factor * lr_max)
    curves[name] = [r["train_loss"] for r in learn.history]
    print(f"   lr = {factor:4.2f} x 2/λmax: loss {curves[name][0]:10.1f} -> {curves[name][-1]:.4g}")

small, good, edge, large = curves.values()
lesson.check("0.95 x 2/λmax: still converging (last loss / first loss)", edge[-1] / edge[0], "<", 0.5, fmt=".3f")
lesson.check("1.05 x 2/λmax: diverges (last loss / first loss)", large[-1] / large[0], ">", 10, fmt=".3g")
lesson.check("0.01 x 2/λmax: far from the minimum (last loss / minimum)", small[-1] / mse_min, ">", 2, fmt=".2f")
lesson.check("0.5 x 2/λmax reaches the minimum (last loss / minimum)", good[-1] / mse_min, "<", 1.05, fmt=".3f")
lesson.check("0.95 x 2/λmax, the largest stable rate, too (last loss / minimum)", edge[-1] / mse_min, "<", 1.05,
             fmt=".3f")

fig, ax = figure(figsize=(6, 3.8))
for name, curve in curves.items():
    ax.plot(range(1, steps + 1), curve, label=name)
ax.axhline(mse_min, color="k", ls="--", lw=1, label="minimum")
ax.set_yscale("log")
ax.set_xlabel("step")
ax.set_ylabel("training MSE (log)")
ax.legend(fontsize=8)
lesson.show(fig, "learning_rates")

# %% [markdown]
# Too small wastes steps; too large explodes. Near the edge the weights zig-zag
# across the steepest direction of the valley but move fastest along the flat
# ones, so the largest *stable* rate is usually the best one. On a network the Hessian changes as you
# train and nobody computes it: the LR finder (lesson 12) measures the edge
# empirically instead.

# %%
lesson.end()
