# %% [markdown]
# # Lesson 8: Bias, variance, human-level error and the basic recipe
#
# **Minutes:** 1
# **Asserts:** the notes' scenarios are diagnosed as written (1%/11%: variance; 15%/16%: bias; 15%/30%: both gaps >= 10 points; human 1% vs 7.5% with train 8%, dev 10%: avoidable bias vs variance); measured on digits, a 2-unit network is diagnosed with avoidable bias, a wide one on 100 examples with variance, and shifted dev images with data mismatch
#
# Compare errors, not accuracies. Human-level error stands in for the best
# possible (Bayes) error. Then:
# avoidable bias = train − human; variance = dev − train (or train-dev − train);
# data mismatch = dev − train-dev. Work on the biggest gap first:
# bias → bigger model, train longer; variance → more data, regularize;
# mismatch → make training data look like dev.

# %%
import numpy as np
import torch
from sklearn.datasets import load_digits

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.evaluate import diagnose
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(8)

# %% [markdown]
# ## 1. The scenarios, as numbers

# %%
scenarios = {
    "train 1%, dev 11%": (diagnose(0.01, 0.11), "variance"),
    "train 15%, dev 16%": (diagnose(0.15, 0.16), "avoidable_bias"),
    "A: human 1%, train 8%, dev 10%": (diagnose(0.08, 0.10, human_error=0.01), "avoidable_bias"),
    "B: human 7.5%, train 8%, dev 10%": (diagnose(0.08, 0.10, human_error=0.075), "variance"),
}
for name, (d, expected) in scenarios.items():
    lesson.check(f"{name}: work on", d.primary, "==", expected)
both = diagnose(0.15, 0.30)
lesson.check("train 15%, dev 30%: avoidable bias gap (points)", 100 * both.gaps["avoidable_bias"], ">=", 10, fmt=".0f")
lesson.check("                    and variance gap (points)", 100 * both.gaps["variance"], ">=", 10, fmt=".0f")
low = diagnose(0.005, 0.01)
lesson.check("train 0.5%, dev 1%: largest gap (points), nothing big to fix", 100 * max(low.gaps.values()), "<", 1,
             fmt=".1f")
print()
print(scenarios["A: human 1%, train 8%, dev 10%"][0].text())

# %% [markdown]
# ## 2. Measured: a model too small, and a model with too little data
# Human-level error on these 8x8 digits is near 0, so we pass 0.5%.

# %%
digits = load_digits()
x = torch.tensor(digits.data / 16, dtype=torch.float32)  # (1797, 64)
y = torch.tensor(digits.target)
order = np.random.default_rng(0).permutation(len(y))
epochs = lesson.pick(40, 15)


def errors(width, n_train, valid_x=None):
    data = Data.from_tensors(x, y, splits={"train": order[:n_train], "valid": order[1200:]}, batch_size=50)
    torch.manual_seed(0)
    learn = Learner(create_model("mlp", 10, in_features=64, width=width, depth=1), data, seed=0, progress=False,
                    weight_decay=0.0, lr=1e-2)
    learn.fit(epochs)
    train_err = 1 - learn.validate(data.train, prefix="train_")["train_accuracy"]
    return learn, train_err, 1 - learn.history[-1]["accuracy"]


_, tr, va = errors(width=2, n_train=1000)
d_small = diagnose(tr, va, human_error=0.005)
print(f"   2 hidden units, 1000 examples: train error {tr:.1%}, dev error {va:.1%}")
lesson.check("2 hidden units: diagnosis", d_small.primary, "==", "avoidable_bias")
_, tr, va = errors(width=512, n_train=100)
d_few = diagnose(tr, va, human_error=0.005)
print(f"   512 hidden units, 100 examples: train error {tr:.1%}, dev error {va:.1%}")
lesson.check("512 hidden units on 100 examples: diagnosis", d_few.primary, "==", "variance")
_, tr_big, va_big = errors(width=512, n_train=1000)
print(f"   the recipe's fixes: 512 units (bias) and 1000 examples (variance): train {tr_big:.1%}, dev {va_big:.1%}")
lesson.check("fixing both brings dev error below both broken models'", va_big, "<",
             min(d_small.errors["valid"], d_few.errors["valid"]), fmt=".3f")

# %% [markdown]
# ## 3. Data mismatch and the train-dev set
# Suppose dev and test come from another camera: digits shifted right by one
# pixels. A **train-dev** set, held out from the *training* distribution,
# separates variance (train → train-dev) from mismatch (train-dev → dev).

# %%
shifted = torch.roll(x.reshape(-1, 8, 8), shifts=1, dims=2).reshape(-1, 64)  # dev from "another camera"
x_all = torch.cat([x, shifted])
y_all = torch.cat([y, y])
splits = {"train": order[:1000], "train_dev": order[1000:1200], "valid": len(y) + order[1200:]}
data = Data.from_tensors(x_all, y_all, splits={"train": splits["train"], "valid": splits["valid"]}, batch_size=50)
torch.manual_seed(0)
learn = Learner(create_model("mlp", 10, in_features=64, width=512, depth=1), data, seed=0, progress=False,
                weight_decay=0.0, lr=1e-2)
learn.fit(epochs)
train_dev = Data.from_tensors(x_all, y_all, splits={"train": splits["train"], "valid": splits["train_dev"]},
                              batch_size=50)  # the same normalization: statistics come from the same train rows
tr = 1 - learn.validate(data.train, prefix="train_")["train_accuracy"]
trd = 1 - learn.validate(train_dev.valid)["accuracy"]
va = 1 - learn.history[-1]["accuracy"]
d_mis = diagnose(tr, va, human_error=0.005, train_dev_error=trd)
print(d_mis.text())
lesson.check("shifted dev images: diagnosis", d_mis.primary, "==", "data_mismatch")

fig, ax = figure(figsize=(7, 3.5))
cases = {"2 units": d_small, "100 examples": d_few, "shifted dev": d_mis}
names = ["avoidable_bias", "variance", "data_mismatch"]
for i, (label, d) in enumerate(cases.items()):
    ax.bar(np.arange(3) + 0.27 * (i - 1), [100 * d.gaps.get(k, 0.0) for k in names], width=0.27, label=label)
ax.set_xticks(range(3), [n.replace("_", " ") for n in names])
ax.set_ylabel("gap (percentage points)")
ax.legend()
lesson.show(fig, "gaps")

# %%
lesson.end()
