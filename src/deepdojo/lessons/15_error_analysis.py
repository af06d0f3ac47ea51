# %% [markdown]
# # Lesson 15: Error analysis and mislabeled data
#
# **Minutes:** 1
# **Asserts:** 8% random label noise in training costs a network little dev accuracy (within 0.05 of clean labels); ranking training examples by how strongly the model contradicts their label finds the flipped ones (>= 60% of the suspects were flipped vs an 8% base rate; >= half of the flips found); the error sheet lists every dev mistake for tagging
#
# Before building anything new, look at the mistakes. Count them by cause:
# the share of errors a cause explains is the most that fixing it can gain
# (the "ceiling"). Mislabeled examples are one such cause; deep networks are
# fairly robust to *random* label noise, and a trained model can point at the
# examples whose labels look wrong.

# %%
import tempfile
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.evaluate import Interpretation
from deepdojo.evaluate.suspects import label_suspects
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model
from deepdojo.train import EarlyStopping

lesson = begin(15)
digits = load_digits()
x = torch.tensor(digits.data / 16, dtype=torch.float32)
y = torch.tensor(digits.target)
rng = np.random.default_rng(0)
order = rng.permutation(len(y))
train_idx, valid_idx = order[:1300], order[1300:]
noisy = y.clone()
flipped = rng.choice(train_idx, size=int(0.08 * len(train_idx)), replace=False)
noisy[flipped] = torch.from_numpy((digits.target[flipped] + rng.integers(1, 10, len(flipped))) % 10)  # a wrong label
print(f"{len(flipped)} of {len(train_idx)} training labels flipped to a wrong digit; dev labels are clean")


def train(labels):
    data = Data.from_tensors(x, labels, splits={"train": train_idx, "valid": valid_idx}, batch_size=64)
    torch.manual_seed(0)
    learn = Learner(create_model("mlp", 10, in_features=64, width=256, depth=2), data, seed=0, progress=False,
                    lr=3e-3, callbacks=[EarlyStopping(patience=3, restore_best=True)])
    learn.fit(lesson.pick(20, 10))
    return learn


clean, dirty = train(y), train(noisy)
acc_clean, acc_dirty = clean.validate()["accuracy"], dirty.validate()["accuracy"]
print(f"   dev accuracy: clean labels {acc_clean:.3f}, 8% noisy labels {acc_dirty:.3f}")
lesson.check("dev accuracy lost to 8% random label noise", acc_clean - acc_dirty, "<", 0.05, fmt=".3f")

# %% [markdown]
# ## 1. Let the model point at suspicious labels
# After a short run stopped at its best dev epoch, the network has learned the
# consistent patterns but not yet memorised the contradicting labels, so a
# flipped example gets a low probability for its given label.

# %%
k = len(flipped)
suspects = label_suspects(dirty, splits=("train",), top=k)
hits = sum(int(train_idx[r["index"]]) in set(flipped.tolist()) for r in suspects)
print(f"   top {len(suspects)} suspects, e.g. " + "; ".join(
    f"row {train_idx[r['index']]} given {r['given']} looks like {r['predicted']}" for r in suspects[:3]))
same = sum(r["given"] == str(int(noisy[train_idx[r["index"]]])) for r in suspects)
lesson.check("suspects whose 'given' label is their training label (all)", same, "==", len(suspects), fmt=".0f")
lesson.check(f"share of the {len(suspects)} suspects (at most {k}) whose label was flipped", hits / len(suspects),
             ">=", 0.6, fmt=".2f")
lesson.check(f"share of the {k} flipped labels among them", hits / k, ">=", 0.5, fmt=".2f")

# %% [markdown]
# ## 2. Error analysis on the dev set
# Which confusions dominate? Fixing one pair of classes completely can remove
# at most its share of the errors: that ceiling says whether it is worth it.
# `export_errors` writes every mistake to a CSV with empty tag columns for
# manual review.

# %%
it = Interpretation.from_learner(clean, "valid")
n_errors = int((it.preds != it.targets).sum())
(actual, predicted, count), *_ = it.most_confused()
ceiling = count / n_errors
dev_error = n_errors / len(it.targets)
print(f"   {n_errors} dev errors; most confused: true {actual} read as {predicted} ({count} times)")
print(f"   fixing that pair entirely: dev error {dev_error:.3f} -> {dev_error * (1 - ceiling):.3f} at best")
csv_path = it.export_errors(Path(tempfile.mkdtemp(prefix="lesson15-")) / "errors.csv")
rows = csv_path.read_text().strip().splitlines()
lesson.check("rows in the exported error sheet (one per dev error)", len(rows) - 1, "==", n_errors, fmt=".0f")

fig, ax = figure(figsize=(4.5, 4))
cm = it.confusion_matrix()
ax.imshow(np.log1p(cm), cmap="Blues")
ax.set_xlabel("predicted")
ax.set_ylabel("actual")
ax.set_title("dev confusion matrix (log counts)")
ax.set_xticks(range(10))
ax.set_yticks(range(10))
lesson.show(fig, "confusion")

# %%
lesson.end()
