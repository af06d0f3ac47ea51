# %% [markdown]
# # Lesson 22: Transfer learning and catastrophic forgetting
#
# **Minutes:** 1
# **Asserts:** a network trained on digits 0-4 (>= 0.95) and then only on 5-9 forgets 0-4 (accuracy <= 0.2); rehearsing 20% of the old data keeps 0-4 >= 0.6 while learning 5-9 (>= 0.9); freezing the body trains the head alone (body weights unchanged to the bit); a frozen task-A body with a new head reaches >= 0.7 on 5-9 from 20 examples per class (a frozen random body is printed beside it as the baseline)
#
# Knowledge in a network lives in its weights, and gradient descent on a new
# task overwrites whatever the old task does not defend: *catastrophic
# forgetting*. Turned around, the same weights are a head start: features
# learned on one task help another (transfer learning), especially when the
# new task has little data.

# %%
import numpy as np
import torch
from sklearn.datasets import load_digits

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(22)
digits = load_digits()
x = torch.tensor(digits.data / 16, dtype=torch.float32)
y = torch.tensor(digits.target)
rng = np.random.default_rng(0)
order = rng.permutation(len(y))
train_idx, valid_idx = order[:1300], order[1300:]
old = lambda idx: idx[digits.target[idx] < 5]  # digits 0-4: task A
new = lambda idx: idx[digits.target[idx] >= 5]  # digits 5-9: task B
epochs = lesson.pick(10, 6)


def data_for(train_rows):
    return Data.from_tensors(x, y, splits={"train": train_rows, "valid": valid_idx}, batch_size=64, normalize=False,
                             classes=[str(d) for d in range(10)])


def accuracy(model, rows):
    with torch.no_grad():
        return float((model(x[rows]).argmax(1) == y[rows]).float().mean())


torch.manual_seed(0)
model = create_model("mlp", 10, in_features=64, width=128, depth=2)
Learner(model, data_for(old(train_idx)), seed=0, progress=False, lr=3e-3).fit(epochs)
after_a = accuracy(model.eval(), old(valid_idx))
lesson.check("after task A: accuracy on 0-4", after_a, ">=", 0.95, fmt=".3f")
state_a = {k: v.clone() for k, v in model.state_dict().items()}

# %% [markdown]
# ## 1. Forgetting
# Continue training the same network on 5-9 only.

# %%
Learner(model, data_for(new(train_idx)), seed=0, progress=False, lr=3e-3).fit(epochs)
forgot_a, learned_b = accuracy(model.eval(), old(valid_idx)), accuracy(model, new(valid_idx))
print(f"   after task B alone: 0-4 {forgot_a:.3f}, 5-9 {learned_b:.3f}")
lesson.check("after task B alone: accuracy on 0-4", forgot_a, "<=", 0.2, fmt=".3f")

# %% [markdown]
# ## 2. Rehearsal
# Start again from the task-A weights, but mix 20% of the old training
# examples into task B's training set.

# %%
model.load_state_dict(state_a)
keep = rng.choice(old(train_idx), size=len(old(train_idx)) // 5, replace=False)
Learner(model, data_for(np.concatenate([new(train_idx), keep])), seed=0, progress=False, lr=3e-3).fit(epochs)
kept_a, learned_b2 = accuracy(model.eval(), old(valid_idx)), accuracy(model, new(valid_idx))
print(f"   with 20% rehearsal: 0-4 {kept_a:.3f}, 5-9 {learned_b2:.3f}")
lesson.check("with rehearsal: accuracy on 0-4", kept_a, ">=", 0.6, fmt=".3f")
lesson.check("with rehearsal: accuracy on 5-9", learned_b2, ">=", 0.9, fmt=".3f")

# %% [markdown]
# ## 3. Transfer: reuse the task-A body for a small task B
# Only 20 labelled examples per new digit. `freeze()` trains the head alone:
# the body's features, learned on 0-4, stay exactly as they were. Compare with
# the honest baseline, a frozen *random* body of the same shape: random ReLU
# features are surprisingly good on 8x8 digits, and a body trained to
# separate 0-4 may have discarded what 5-9 need. Whether transfer helps is a
# measurement, not a given (deepdojo's `benchmarks/transfer_digits.py` finds
# fine-tuning losing to training from scratch on digits too); it pays off when
# the source task is large and close to the target, as ImageNet is to photos.

# %%
few = np.concatenate([new(train_idx)[digits.target[new(train_idx)] == d][:20] for d in range(5, 10)])
results = {}
for start in ("task-A body", "random body"):
    torch.manual_seed(1)
    net = create_model("mlp", 10, in_features=64, width=128, depth=2)
    if start == "task-A body":
        net.load_state_dict(state_a)
    body = [p for layer in list(net.children())[:-1] for p in layer.parameters()]  # all but the last Linear
    body_before = [p.detach().clone() for p in body]
    learn = Learner(net, data_for(few), seed=0, progress=False, lr=1e-2)
    learn.freeze()  # the head (last layer group) trains; every earlier layer is fixed
    learn.fit(lesson.pick(30, 20))
    unchanged = all(torch.equal(a, b) for a, b in zip(body_before, body))
    results[start] = accuracy(net.eval(), new(valid_idx))
    lesson.check(f"{start}: body weights unchanged by head-only training (1 = yes)", float(unchanged), "==", 1,
                 fmt=".0f")
print("   head-only training on 100 examples of 5-9: " + ", ".join(f"{k} {v:.3f}" for k, v in results.items()))
lesson.check("frozen task-A body + new head: accuracy on 5-9", results["task-A body"], ">=", 0.7, fmt=".3f")

fig, ax = figure(figsize=(6, 3.3))
bars = {"A, then B": forgot_a, "A, then B + 20% of A": kept_a}
ax.bar(list(bars), list(bars.values()), color=["#d62728", "#2ca02c"])
ax.axhline(after_a, color="k", ls="--", label=f"right after A: {after_a:.2f}")
ax.set_ylabel("accuracy on digits 0-4")
ax.legend()
lesson.show(fig, "forgetting")

# %%
lesson.end()
