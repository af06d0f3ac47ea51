# %% [markdown]
# # Lesson 35: Predicting distributions: entropy, calibration, CRPS
#
# **Minutes:** 1
# **Asserts:** entropy is ln K for a uniform prediction and ~0 for a confident one; an overfit network's softmax is overconfident (ECE >= 0.03, confidence above accuracy) and temperature scaling fitted on half of dev at least halves ECE on the other half without changing a single prediction; CRPS of a near-point forecast equals its MAE, and the true noise level scores better than a 5x too narrow or too wide one
#
# A softmax output sums to 1, but that does not make it a probability you can
# trust: a network trained to zero loss learns to be sure of itself. We
# measure *calibration* (are the 80%-confident predictions right 80% of the
# time?), fix it with one number (a temperature), and score whole predictive
# distributions for regression with the CRPS.

# %%
import math

import numpy as np
import torch
from sklearn.datasets import load_digits

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.metrics import CRPS, MAE, ExpectedCalibrationError
from deepdojo.models import create_model

lesson = begin(35)

# %% [markdown]
# ## 1. Entropy: how spread out a prediction is
# H(p) = −Σ p log p: ln K nats when all K classes are equally likely, 0 when
# one class has all the mass.

# %%
def entropy(p):
    return float(-(p * p.clamp_min(1e-12).log()).sum(-1).mean())


lesson.check("entropy of a uniform prediction over 10 classes (ln 10 = 2.303)", entropy(torch.full((10,), 0.1)), "~=",
             math.log(10), tol=1e-6, fmt=".3f")
lesson.check("entropy of a 0.999-confident prediction", entropy(torch.tensor([0.999] + [0.001 / 9] * 9)), "<", 0.02,
             fmt=".4f")

# %% [markdown]
# ## 2. An overfit network is overconfident
# 200 training digits, a wide network trained well past its best dev epoch
# (lesson 7): training loss ~0, and every dev prediction near 100% sure.

# %%
digits = load_digits()
x = torch.tensor(digits.data / 16, dtype=torch.float32)
y = torch.tensor(digits.target)
order = np.random.default_rng(0).permutation(len(y))
data = Data.from_tensors(x, y, splits={"train": order[:200], "valid": order[200:]}, batch_size=50)
torch.manual_seed(0)
learn = Learner(create_model("mlp", 10, in_features=64, width=512, depth=2), data, seed=0, progress=False, lr=1e-2,
                weight_decay=0.0)
learn.fit(lesson.pick(40, 25))
with torch.no_grad():
    logits = torch.cat([learn.model(xb) for xb, _ in data.valid])  # (1597, 10)
targets = torch.cat([yb for _, yb in data.valid])
fit_half, test_half = torch.arange(0, len(targets), 2), torch.arange(1, len(targets), 2)


def ece(logits, targets):
    m = ExpectedCalibrationError()
    m.update(logits, targets)
    return m.compute()


probs = logits[test_half].softmax(-1)
confidence = float(probs.max(-1).values.mean())
accuracy = float((probs.argmax(-1) == targets[test_half]).float().mean())
ece_before = ece(logits[test_half], targets[test_half])
print(f"   dev: mean confidence {confidence:.3f}, accuracy {accuracy:.3f}, ECE {ece_before:.3f}")
lesson.check("ECE of the overfit network", ece_before, ">=", 0.03, fmt=".3f")
lesson.check("mean confidence minus accuracy (overconfident)", confidence - accuracy, ">", 0, fmt=".3f")

# %% [markdown]
# ## 3. Temperature scaling
# Divide the logits by one number T > 1, fitted to minimise the negative
# log-likelihood on one half of dev, and check on the other half. The arg-max
# (every prediction) is unchanged; only the confidence is.

# %%
log_t = torch.zeros((), requires_grad=True)
opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")


def closure():
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(logits[fit_half] / log_t.exp(), targets[fit_half])
    loss.backward()
    return loss


opt.step(closure)
T = float(log_t.detach().exp())
ece_after = ece(logits[test_half] / T, targets[test_half])
print(f"   fitted temperature T = {T:.2f}; ECE {ece_before:.3f} -> {ece_after:.3f}")
lesson.check("ECE after temperature scaling / before", ece_after / ece_before, "<=", 0.5, fmt=".2f")
changed = int(((logits[test_half] / T).argmax(-1) != logits[test_half].argmax(-1)).sum())
lesson.check("predictions changed by the temperature", changed, "==", 0, fmt=".0f")


def reliability(ax, logits, title):
    p = logits.softmax(-1)
    conf, pred = p.max(-1)
    bins = np.linspace(0, 1, 11)
    idx = np.clip(np.digitize(conf.numpy(), bins) - 1, 0, 9)
    correct = (pred == targets[test_half]).float().numpy()
    acc = [correct[idx == b].mean() if (idx == b).any() else np.nan for b in range(10)]
    ax.bar(bins[:-1] + 0.05, acc, width=0.09)
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(title)


fig, axes = figure(1, 2, figsize=(8, 3.4))
reliability(axes[0], logits[test_half], f"raw softmax, ECE {ece_before:.3f}")
reliability(axes[1], logits[test_half] / T, f"T = {T:.1f}, ECE {ece_after:.3f}")
lesson.show(fig, "reliability")

# %% [markdown]
# ## 4. Scoring a predictive distribution: CRPS
# For a forecast distribution F and outcome y, CRPS = ∫ (F(z) − 1[z ≥ y])² dz.
# For a point forecast it is the absolute error; it rewards a distribution
# that is sharp *and* honest about its spread. Outcomes here are N(μ, 1):
# the forecaster that says σ = 1 beats one that says 0.2 or 5.

# %%
gen = torch.Generator().manual_seed(0)
mu = torch.randn(lesson.pick(20000, 5000), generator=gen)
outcome = mu + torch.randn(len(mu), generator=gen)  # (N,) true noise sigma = 1


def crps(sigma):
    m = CRPS("gaussian")
    m.update(torch.stack([mu, torch.full_like(mu, math.log(sigma))], 1), outcome)  # (N, 2): mean, log sigma
    return m.compute()


mae = MAE()
mae.update(mu[:, None], outcome)
lesson.check("CRPS of a near-point forecast (sigma 1e-6) vs its MAE", abs(crps(1e-6) - mae.compute()), "<", 1e-4,
             fmt=".1e")
scores = {s: crps(s) for s in (0.2, 1.0, 5.0)}
print("   CRPS: " + ", ".join(f"sigma {s:g}: {v:.3f}" for s, v in scores.items()))
lesson.check("CRPS with the true sigma 1 below sigma 0.2 (overconfident)", scores[1.0], "<", scores[0.2], fmt=".3f")
lesson.check("CRPS with the true sigma 1 below sigma 5 (underconfident)", scores[1.0], "<", scores[5.0], fmt=".3f")

# %%
lesson.end()
