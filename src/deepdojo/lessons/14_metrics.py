# %% [markdown]
# # Lesson 14: Metrics: precision, recall, F1, one number, satisficing, weighted error
#
# **Minutes:** 1
# **Asserts:** deepdojo's streaming precision/recall/F1 equal scikit-learn's (to 1e-9); raising the threshold trades recall for precision; with "latency <= 100 ms" as the satisficing metric the pick is B (92%), not C (95%, 1500 ms); weighting a costly class 10x changes which model is better
#
# Accuracy alone hides how a model is wrong. **Precision**: of the examples
# predicted positive, how many are? **Recall**: of the positives, how many did
# we find? **F1** is their harmonic mean: one number to optimise. Constraints
# you only need to *meet* (latency, memory) are **satisficing** metrics; the one
# you push is the **optimizing** metric.

# %%
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import f1_score, precision_score, recall_score

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.metrics import F1, Precision, Recall, WeightedError
from deepdojo.models import create_model

lesson = begin(14)
digits = load_digits()
x = torch.tensor(digits.data, dtype=torch.float32)
y = torch.tensor(digits.target == 9, dtype=torch.long)  # 1 = "is a 9": 10% positives
data = Data.from_tensors(x, y, seed=0, classes=["other", "9"])
torch.manual_seed(0)
learn = Learner(create_model("mlp", 2, in_features=64, width=16, depth=1), data, seed=0, progress=False, lr=3e-3)
learn.fit(lesson.pick(10, 5))
probs, targets = learn.get_preds()  # (N, 2) probabilities, (N,)

# %% [markdown]
# ## 1. Precision, recall and F1, checked against scikit-learn

# %%
pred = probs.argmax(1).numpy()
for metric, oracle in ((Precision("per_class"), precision_score), (Recall("per_class"), recall_score),
                       (F1("per_class"), f1_score)):
    metric.update(probs.log(), targets)
    ours = metric.compute()[1]  # the positive class
    lesson.check(f"{metric.name} of '9': deepdojo - scikit-learn", abs(ours - oracle(targets.numpy(), pred)), "<",
                 1e-9, fmt=".1e")
    print(f"   {metric.name}: {ours:.3f}")

# %% [markdown]
# ## 2. The threshold trades one for the other

# %%
rows = []
for t in np.linspace(0.05, 0.95, 19):
    hit = (probs[:, 1].numpy() >= t).astype(int)
    rows.append((t, precision_score(targets, hit, zero_division=0), recall_score(targets, hit)))
t, p, r = map(np.array, zip(*rows))
lesson.check("precision at threshold 0.9 vs 0.1 (higher)", p[t.round(2) == 0.9][0], ">=", p[t.round(2) == 0.1][0])
lesson.check("recall at threshold 0.9 vs 0.1 (lower)", r[t.round(2) == 0.9][0], "<=", r[t.round(2) == 0.1][0])
fig, ax = figure(figsize=(5, 3.3))
ax.plot(t, p, marker=".", label="precision")
ax.plot(t, r, marker=".", label="recall")
ax.set_xlabel("threshold on P('9')")
ax.legend()
lesson.show(fig, "precision_recall")

# %% [markdown]
# ## 3. Satisficing and optimizing
# The notes' cat classifiers: maximise accuracy subject to running in 100 ms.

# %%
models = {"A": (0.90, 80), "B": (0.92, 95), "C": (0.95, 1500)}  # accuracy, latency (ms)
ok = {k: v for k, v in models.items() if v[1] <= 100}
pick = max(ok, key=lambda k: ok[k][0])
lesson.check("best accuracy among models meeting latency <= 100 ms", pick, "==", "B")
lesson.check("the most accurate overall is ruled out", max(models, key=lambda k: models[k][0]), "==", "C")

# %% [markdown]
# ## 4. Weighted error: when some mistakes cost more
# Two filters for an app that must not show unsafe images (class 1): A makes 5%
# errors, B 4%, but B's errors are on the unsafe class. With those mistakes
# weighted 10x, A is the better model.

# %%
target = torch.tensor([0] * 90 + [1] * 10)
pred_a, pred_b = target.clone(), target.clone()
pred_a[:5] = 1  # A: 5 safe images blocked
pred_b[90:94] = 0  # B: 4 unsafe images let through


def weighted(pred, weights):
    m = WeightedError(class_weights=weights)
    m.update(torch.nn.functional.one_hot(pred, 2).float(), target)
    return m.compute()


lesson.check("plain error: B better than A", weighted(pred_b, [1, 1]), "<", weighted(pred_a, [1, 1]), fmt=".3f")
lesson.check("unsafe mistakes x10: A better than B", weighted(pred_a, [1, 10]), "<", weighted(pred_b, [1, 10]),
             fmt=".3f")

# %%
lesson.end()
