# %% [markdown]
# # Lesson 1: The simplest classifier: predict the majority, then beat it
#
# **Minutes:** 1
# **Asserts:** on "is this digit a 9?" the majority class scores its share (~0.90) yet finds no 9s (recall 0.00); random guessing scores p^2 + (1-p)^2; a trained linear model beats the majority baseline
#
# Before any model, ask: what accuracy does *no* model get? On a problem where
# 90% of the answers are "no", always answering "no" is 90% accurate and
# completely useless. Every result in deepdojo is reported beside these
# baselines (`deepdojo.evaluate.compute_baselines`).

# %%
import numpy as np
import torch
from sklearn.datasets import load_digits

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.evaluate import compute_baselines
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(1)
digits = load_digits()
x = torch.tensor(digits.data, dtype=torch.float32)  # (1797, 64) pixel intensities 0..16
y = torch.tensor(digits.target == 9, dtype=torch.long)  # 1 = "it is a 9"
data = Data.from_tensors(x, y, valid_pct=0.3, seed=0, classes=["not 9", "9"])
share = float((y == 0).float().mean())
print(f"{len(y)} digits, {share:.1%} of them are not a 9")

# %% [markdown]
# ## 1. The majority class and random guessing
# The majority baseline predicts the most common training label for everyone.
# Guessing at random *with the training frequencies* p and 1-p is right with
# probability p·p + (1-p)·(1-p): worse than the majority whenever p > 0.5.

# %%
base = compute_baselines(data)["baselines"]
majority, stratified = base["majority"]["accuracy"], base["stratified"]["accuracy"]
y_valid = np.concatenate([yb.numpy() for _, yb in data.valid])
rng = np.random.default_rng(0)
guesses = rng.random((200, len(y_valid))) < share  # 200 rounds of random guessing: True = "not 9"
simulated = float(((guesses & (y_valid == 0)) | (~guesses & (y_valid == 1))).mean())
lesson.check("majority accuracy = share of the majority class in valid", majority, "~=", float((y_valid == 0).mean()),
             tol=1e-9, fmt=".3f")
lesson.check("random guessing, simulated, matches p^2 + (1-p)^2", simulated, "~=", stratified, tol=0.01, fmt=".3f")
lesson.check("random guessing is worse than the majority", stratified, "<", majority, fmt=".3f")
majority_recall = float(np.mean(np.full(len(y_valid), base["majority"]["predicts"])[y_valid == 1] == 1))
lesson.check("yet the majority finds none of the 9s (recall)", majority_recall, "==", 0.0)

# %% [markdown]
# ## 2. A model has to beat that
# A linear model (logistic regression, trained with deepdojo's Learner) must
# clear the majority baseline, and we report by how much.

# %%
learn = Learner(create_model("logistic", 2, in_features=64), data, seed=0, progress=False, lr=1e-2)
learn.fit(lesson.pick(20, 6))
probs, targets = learn.get_preds()
pred = probs.argmax(1).numpy()
acc = float((pred == targets.numpy()).mean())
recall = float((pred[targets.numpy() == 1] == 1).mean())
lesson.check("logistic regression accuracy beats the majority", acc, ">", majority + 0.05, fmt=".3f")
lesson.check("and it finds most of the 9s (recall)", recall, ">", 0.5)

fig, ax = figure(figsize=(5, 3))
names = ["random guess", "majority", "logistic"]
ax.bar(names, [stratified, majority, acc], color=["#bbb", "#888", "#1f77b4"])
ax.set_ylim(0.5, 1.0)
ax.set_ylabel("validation accuracy")
ax.set_title("is it a 9? baselines first")
lesson.show(fig, "baselines")

# %%
lesson.end()
