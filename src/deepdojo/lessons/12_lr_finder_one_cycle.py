# %% [markdown]
# # Lesson 12: The LR finder and one-cycle training
#
# **Minutes:** 1
# **Asserts:** the LR range test leaves the model exactly as it was; its suggestion lies in [1e-4, 1e-1]; one-cycle peaking at the edge of stability (minimum/10) reaches >= 0.95 dev accuracy on digits and ends with a lower dev loss than that rate held constant
#
# Lesson 3 computed the largest stable learning rate from the Hessian. For a
# network we *measure* it: train a few dozen steps while raising the LR
# exponentially from 1e-7 to 10 and watch the loss fall, flatten, then blow up.
# Pick a rate on the steep descending part. One-cycle then warms up to that rate
# and anneals to almost zero, which both trains fast and settles well.

# %%
import torch
from sklearn.datasets import load_digits

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model
from deepdojo.train.schedules import one_cycle

lesson = begin(12)
digits = load_digits()
data = Data.from_tensors(torch.tensor(digits.data, dtype=torch.float32), torch.tensor(digits.target), seed=0,
                         batch_size=64)
epochs = lesson.pick(8, 5)


def new_learner():
    torch.manual_seed(0)
    return Learner(create_model("mlp", 10, in_features=64, width=128, depth=2), data, seed=0, progress=False)


# %% [markdown]
# ## 1. The range test

# %%
learn = new_learner()
before = {k: v.clone() for k, v in learn.model.state_dict().items()}
result = learn.lr_find(show=False)
print(result.explanation)
same = all(torch.equal(before[k], v) for k, v in learn.model.state_dict().items())
lesson.check("weights unchanged by the LR finder (1 = yes)", float(same), "==", 1, fmt=".0f")
lesson.check("suggested learning rate", result.suggestion, ">=", 1e-4, fmt=".1e")
lesson.check("suggested learning rate", result.suggestion, "<=", 1e-1, fmt=".1e")
lesson.show(result.plot(), "lr_find")

# %% [markdown]
# ## 2. One-cycle lets you use the top of the range
# The finder offers several rules: `valley` (the default, cautious),
# `steepest`, and `minimum_div10` (a tenth of the LR at the loss minimum, the
# edge of stability). A constant rate at the edge keeps bouncing; one-cycle
# visits the edge in mid-training and anneals to ~0, so it ends lower.

# %%
edge = result.suggestions["minimum_div10"]
print("   rules: " + ", ".join(f"{k} {v:.1e}" for k, v in result.suggestions.items()))
runs = {}
for name, fit in [("one-cycle at the edge", lambda lrn: lrn.fit_one_cycle(epochs, lr_max=edge)),
                  ("constant at the edge", lambda lrn: lrn.fit(epochs, lr=edge)),
                  ("constant at valley", lambda lrn: lrn.fit(epochs, lr=result.suggestion))]:
    lrn = new_learner()
    fit(lrn)
    runs[name] = lrn.history
    print(f"   {name:22s} dev loss {lrn.history[-1]['valid_loss']:.4f}, accuracy {lrn.history[-1]['accuracy']:.3f}")
oc, const = runs["one-cycle at the edge"][-1], runs["constant at the edge"][-1]
lesson.check("one-cycle at the edge: dev accuracy", oc["accuracy"], ">=", 0.95, fmt=".3f")
lesson.check("one-cycle at the edge: dev loss below the constant rate's at the edge", oc["valid_loss"], "<",
             const["valid_loss"], fmt=".4f")

fig, axes = figure(1, 2, figsize=(9, 3.4))
for name, hist in runs.items():
    axes[0].plot([r["valid_loss"] for r in hist], marker="o", label=name)
axes[0].set_yscale("log")
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("dev loss")
axes[0].legend()
steps = epochs * len(data.train)
axes[1].plot([one_cycle(edge, steps)(s) for s in range(steps)])
axes[1].set_xlabel("step")
axes[1].set_title("one-cycle learning rate")
lesson.show(fig, "one_cycle")

# %%
lesson.end()
