# %% [markdown]
# # Lesson 2: The line of best fit, solved exactly and by gradient descent
#
# **Minutes:** 1
# **Asserts:** the normal equations give scikit-learn's coefficients (to 1e-4); full-batch gradient descent on the same MSE reaches the analytic minimum (within 1%) and never goes below it
#
# Linear regression has a closed-form answer: the weights w that minimise the
# mean squared error solve the *normal equations* XᵀX w = Xᵀy. Gradient descent
# finds the same minimum by walking downhill, one step at a time, and it is the
# only one of the two that still works when the model is a neural network.

# %%
import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(2)
x_raw, y = load_diabetes(return_X_y=True)  # (442, 10) standardized clinical features, disease progression
x = (x_raw - x_raw.mean(0)) / x_raw.std(0)  # unit scale: gradient descent sees a round bowl (lesson 3 says why)
print(f"{len(y)} patients, {x.shape[1]} features; target mean {y.mean():.1f}, std {y.std():.1f}")

# %% [markdown]
# ## 1. Exactly: the normal equations
# Add a column of ones for the intercept and solve XᵀX w = Xᵀy.
# scikit-learn's `LinearRegression` is the oracle.

# %%
X1 = np.hstack([x, np.ones((len(x), 1))])  # (442, 11)
w_ols = np.linalg.solve(X1.T @ X1, X1.T @ y)
mse_ols = float(np.mean((X1 @ w_ols - y) ** 2))
sk = LinearRegression().fit(x, y)
lesson.check("largest coefficient difference, normal equations vs scikit-learn",
             np.abs(w_ols - np.r_[sk.coef_, sk.intercept_]).max(), "<", 1e-4, fmt=".1e")
print(f"   minimum training MSE: {mse_ols:.1f}")

# %% [markdown]
# ## 2. Step by step: gradient descent
# The same model, one `linear` layer, trained by deepdojo's Learner on the full
# batch with plain SGD (no momentum, no weight decay) on the same MSE loss. Each
# step moves the weights by −lr · ∇MSE.

# %%
data = Data.from_tensors(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32), valid_pct=0,
                         batch_size=len(y), normalize=False)
steps = lesson.pick(300, 150)
learn = Learner(create_model("linear", 1, in_features=10), data, opt="sgd", momentum=0.0, weight_decay=0.0,
                lr=0.1, seed=0, progress=False)
learn.fit(steps)  # one full batch per epoch: epochs = steps
losses = [r["train_loss"] for r in learn.history]
with torch.no_grad():
    pred = learn.model(torch.tensor(x, dtype=torch.float32)).squeeze(1).double().numpy()
mse_gd = float(np.mean((pred - y) ** 2))
lesson.check(f"gradient descent's MSE after {steps} steps, relative to the minimum", mse_gd / mse_ols, "<", 1.01,
             fmt=".4f")
lesson.check("and it cannot beat the analytic minimum", mse_gd / mse_ols, ">=", 1 - 1e-4, fmt=".4f")

fig, ax = figure(figsize=(6, 3.5))
ax.plot(range(1, steps + 1), losses, label="gradient descent")
ax.axhline(mse_ols, color="k", ls="--", label=f"normal equations: {mse_ols:.0f}")
ax.set_yscale("log")
ax.set_xlabel("step")
ax.set_ylabel("training MSE")
ax.legend()
lesson.show(fig, "gd_vs_ols")

# %% [markdown]
# Both roads end at the same weights. The closed form costs a d×d solve (cheap
# here, impossible for a network); gradient descent costs many cheap steps and
# needs a learning rate, the subject of the next lesson.

# %%
lesson.end()
