# %% [markdown]
# # Lesson 23: Multi-task learning with missing labels, and multi-label classification
#
# **Minutes:** 1
# **Asserts:** the masked loss on the (1, 0, ?, 1) example equals the loss on the three labelled entries (within 1e-7) and gives the "?" output zero gradient; with 50% of label cells missing, the masked loss beats dropping incomplete rows (mean per-task accuracy, by more than 0.01); on examples with two or more labels a softmax classifier gets none fully right (0.00) while independent sigmoids with a threshold get >= 0.8, and the sigmoids' macro F1 beats the softmax's and their Hamming loss is lower
#
# One network can answer several yes/no questions about the same input at once
# (is there a pedestrian? a car? a stop sign? a traffic light?): one sigmoid
# output per question, binary cross-entropy per output, the sum (or mean) as the
# loss. Sharing the body lets the tasks help each other. Real labels are often
# incomplete: somebody marked the cars but not the stop signs. A "?" in the
# table must not count as "no" — it must not count at all.

# %%
import numpy as np
import torch
import torch.nn.functional as F

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.metrics import HammingLoss, MultiLabelF1, MultiLabelF1PerLabel
from deepdojo.models import create_model
from deepdojo.tasks import MultiLabel

lesson = begin(23)
task = MultiLabel()  # sigmoid per label, binary cross-entropy over the labelled cells only

# %% [markdown]
# ## 1. The masked loss: "?" counts nowhere
# The curriculum's example: labels (1, 0, ?, 1). The `multilabel` task reads
# "?" (or an empty cell) as NaN and averages the per-label losses over the
# known entries only. Check it against the loss computed by hand on labels
# 0, 1 and 3, and check that the "?" output receives no gradient (the network
# is not pushed either way on a question nobody answered).

# %%
logits = torch.tensor([[2.0, -1.0, 0.7, 0.3]], requires_grad=True)  # (1, 4) one example, four tasks
target = torch.tensor([[1.0, 0.0, float("nan"), 1.0]])  # (1, 4) "?" = NaN
masked = task.loss(logits, target)
known = [0, 1, 3]
by_hand = F.binary_cross_entropy_with_logits(logits[:, known], target[:, known])
masked.backward()
print(f"   masked loss {masked.item():.6f}, loss on the labelled entries {by_hand.item():.6f}")
lesson.check("masked loss minus the labelled-subset loss", abs(masked.item() - by_hand.item()), "<=", 1e-7, fmt=".1e")
lesson.check("gradient on the '?' output", abs(logits.grad[0, 2].item()), "==", 0.0, fmt=".1e")

# %% [markdown]
# ## 2. Half the labels missing: mask them, do not drop the rows
# Four related tasks built on shared hidden features. Half of the label
# cells are hidden at random. Dropping every row with a "?" keeps only
# 0.5^4 = 6% of the rows; the masked loss learns from every known label. The
# dropped-rows model gets as many optimizer steps (more epochs over its small
# set), so it is short of data, not of training. Both are scored on a fully
# labelled validation set.

# %%
def multitask_set(n, tasks=4, features=12, missing=0.5, seed=0):
    """(x (n, F), y (n, T) with NaN = missing, y_full (n, T)): every task is built from one shared representation."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    hidden = np.tanh(x @ rng.normal(size=(features, 8)))  # (n, 8) shared by all tasks
    logits = hidden @ rng.normal(size=(8, tasks)) * 2.0
    y_full = (logits + rng.logistic(size=logits.shape) * 0.3 > 0).astype(np.float32)
    y = y_full.copy()
    y[rng.random(y.shape) < missing] = np.nan
    return x, y, y_full


def fit_mlp(x, y, x_valid, y_valid, epochs, width=64):
    """An MLP trained with the multilabel task (masked loss); returns the trained model in eval mode."""
    data = Data.from_tensors(torch.from_numpy(x), torch.from_numpy(y),
                             valid=(torch.from_numpy(x_valid), torch.from_numpy(y_valid)), task="multilabel",
                             classes=[f"t{i}" for i in range(y.shape[1])], batch_size=64, seed=0,
                             normalize=False)  # raw features, so the model can be called on raw x below
    torch.manual_seed(0)
    model = create_model("mlp", y.shape[1], in_features=x.shape[1], width=width, depth=2)
    Learner(model, data, task="multilabel", lr=3e-3, seed=0, progress=False).fit_one_cycle(epochs, 3e-3)
    return model.eval()


def probabilities(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).sigmoid().numpy()


n, epochs = 3000, 4
x_all, y_all, y_full = multitask_set(n + 2000)
x, y, x_valid, y_valid = x_all[:n], y_all[:n], x_all[n:], y_full[n:]  # validation: every label known
complete = ~np.isnan(y).any(1)
masked_model = fit_mlp(x, y, x_valid, y_valid, epochs)
dropped_epochs = int(np.ceil(epochs * n / complete.sum()))  # as many optimizer steps as the masked model
dropped_model = fit_mlp(x[complete], y[complete], x_valid, y_valid, dropped_epochs)
acc_masked = float(((probabilities(masked_model, x_valid) > 0.5) == (y_valid > 0.5)).mean())
acc_dropped = float(((probabilities(dropped_model, x_valid) > 0.5) == (y_valid > 0.5)).mean())
print(f"   rows used: masked {n}, dropped {int(complete.sum())} ({dropped_epochs} epochs)")
print(f"   mean per-task accuracy: masked loss {acc_masked:.3f}, dropped incomplete rows {acc_dropped:.3f}")
lesson.check("masked loss accuracy minus dropped-rows accuracy", acc_masked - acc_dropped, ">", 0.01, fmt=".3f")

# %% [markdown]
# ## 3. Multi-label: sigmoids, not a softmax
# An image can hold a car *and* a pedestrian. A softmax's probabilities sum to
# one, so at most one label can pass 0.5 and its top-1 decision names exactly
# one label: it cannot say "two labels". Independent sigmoids, one per label,
# each compared with a threshold, can (the task's `finalize` chooses the
# threshold on validation, one for all labels: per-label ones overfit small
# validation sets). Here
# each of four labels is present independently (35% each) and the input is
# the sum of the present labels' patterns plus noise. The softmax model is
# trained the way people try it: one present label per example as its class.

# %%
def label_set(n, k=4, features=16, seed=1):
    rng = np.random.default_rng(seed)
    patterns = rng.normal(size=(k, features))  # (K, F) what each label adds to the input
    y = (rng.random((n, k)) < 0.35).astype(np.float32)  # (n, K) multi-hot
    x = (y @ patterns + rng.normal(0, 0.5, (n, features))).astype(np.float32)
    return x, y


x_ml, y_ml = label_set(4000)
tr, va, te = slice(0, 2400), slice(2400, 3200), slice(3200, 4000)
sigmoid_model = fit_mlp(x_ml[tr], y_ml[tr], x_ml[va], y_ml[va], epochs=lesson.pick(8, 8), width=32)
chosen = task.finalize(torch.from_numpy(probabilities(sigmoid_model, x_ml[va])), torch.from_numpy(y_ml[va]))
print(f"   threshold chosen on validation: {task.threshold:.2f} (validation F1 {chosen['valid_multilabel_f1']:.3f}, "
      f"at 0.5: {chosen['valid_multilabel_f1_at_0.5']:.3f})")

rng = np.random.default_rng(2)


def one_label(rows):
    """(x, class) for the rows with any label: the softmax needs one class per example, a random present one."""
    has = y_ml[rows].sum(1) > 0
    one = np.array([rng.choice(np.flatnonzero(row)) for row in y_ml[rows][has]])
    return torch.from_numpy(x_ml[rows][has]), torch.from_numpy(one)


soft_data = Data.from_tensors(*one_label(tr), valid=one_label(va),
                              classes=[f"label{i}" for i in range(4)], batch_size=64, seed=0, normalize=False)
torch.manual_seed(0)
softmax_model = create_model("mlp", 4, in_features=16, width=32, depth=2)
Learner(softmax_model, soft_data, lr=3e-3, seed=0, progress=False).fit_one_cycle(lesson.pick(8, 8), 3e-3)

x_te, y_te = torch.from_numpy(x_ml[te]), torch.from_numpy(y_ml[te])  # (800, 16), (800, 4)
with torch.no_grad():
    sig_logits = sigmoid_model(x_te)  # (800, 4)
    top1 = softmax_model.eval()(x_te).argmax(1)  # (800,) the softmax's single answer
soft_on = F.one_hot(top1, 4).float()  # (800, 4) exactly one label on per example
soft_logits = soft_on * 20 - 10  # decisions as logits the metrics read (on: +10, off: -10)


def score(logit_like, threshold):
    f1, per, ham = MultiLabelF1(threshold), MultiLabelF1PerLabel(threshold), HammingLoss(threshold)
    for m in (f1, per, ham):
        m.update(logit_like, y_te)
    return f1.compute(), per.compute(), ham.compute()


sig_f1, sig_per, sig_ham = score(sig_logits, task.threshold)
soft_f1, soft_per, soft_ham = score(soft_logits, 0.5)
multi = y_te.sum(1) >= 2  # examples with two or more labels
sig_on = sig_logits.sigmoid() > task.threshold
sig_exact = float((sig_on == (y_te > 0.5)).all(1)[multi].float().mean())
soft_exact = float(((soft_on > 0.5) == (y_te > 0.5)).all(1)[multi].float().mean())
print(f"   {int(multi.sum())} of {len(y_te)} test examples have two or more labels")
print("   per-label F1, sigmoids:", " ".join(f"{v:.2f}" for v in sig_per),
      "| softmax:", " ".join(f"{v:.2f}" for v in soft_per))
print(f"   macro F1: sigmoids {sig_f1:.3f}, softmax {soft_f1:.3f}; Hamming loss: sigmoids {sig_ham:.3f}, "
      f"softmax {soft_ham:.3f}")
lesson.check("softmax: multi-label examples fully right", soft_exact, "==", 0.0)
lesson.check("sigmoids: multi-label examples fully right", sig_exact, ">=", 0.8)
lesson.check("macro F1: sigmoids beat the softmax", sig_f1, ">", soft_f1, fmt=".3f")
lesson.check("Hamming loss: sigmoids below the softmax", sig_ham, "<", soft_ham, fmt=".3f")

fig, ax = figure(figsize=(6, 3.5))
pos = np.arange(4)
ax.bar(pos - 0.2, sig_per, 0.4, label="sigmoids + threshold")
ax.bar(pos + 0.2, soft_per, 0.4, label="softmax (top-1)")
ax.set_xticks(pos, [f"label {i}" for i in range(4)])
ax.set_ylabel("test F1")
ax.set_ylim(0, 1.05)
ax.legend(fontsize=8)
lesson.show(fig, "per_label_f1")

# %%
lesson.end()
