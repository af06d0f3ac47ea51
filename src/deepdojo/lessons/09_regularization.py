# %% [markdown]
# # Lesson 9: Regularization: L2, dropout, batch norm, input normalization
#
# **Minutes:** 1
# **Asserts:** on 200 training digits a wide MLP overfits; L2 weight decay and inverted dropout each lower its dev loss; inverted dropout keeps the expected activation (within 2%); batch norm lets a 6-layer network with plain SGD train to a lower loss; normalizing badly scaled inputs turns a failing SGD run into a working one
#
# Lesson 8 diagnosed variance: a model that fits its training set much better
# than the dev set. Regularization trades a little training fit for a smaller
# gap. Each technique below is measured against the same unregularized run.
# (Data augmentation, the other cure for variance, is not measured here: on
# 8x8 digits its gain is within the noise of a run this short.)

# %%
import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(9)
digits = load_digits()
x = torch.tensor(digits.data / 16, dtype=torch.float32)  # (1797, 64)
y = torch.tensor(digits.target)
order = np.random.default_rng(0).permutation(len(y))
splits = {"train": order[:200], "valid": order[200:]}
data = Data.from_tensors(x, y, splits=splits, batch_size=50)
epochs = lesson.pick(40, 25)


def fit(model, data=data, epochs=epochs, **kw):
    torch.manual_seed(0)
    learn = Learner(model, data, seed=0, progress=False, **{"lr": 3e-3, "weight_decay": 0.0, **kw})
    learn.fit(epochs)
    train = learn.validate(data.train, prefix="train_")
    return learn.history[-1], train


def mlp(**kw):
    torch.manual_seed(0)
    return create_model("mlp", 10, in_features=64, width=512, depth=2, **kw)


base, base_train = fit(mlp())
print(f"   no regularization: train accuracy {base_train['train_accuracy']:.3f}, dev {base['accuracy']:.3f}, "
      f"dev loss {base['valid_loss']:.3f}")

# %% [markdown]
# ## 1. L2 (weight decay) and inverted dropout
# L2 pulls every weight towards 0 each step (AdamW applies it decoupled from
# the gradient). Dropout zeroes each hidden unit with probability p during
# training and divides the survivors by 1 − p ("inverted"), so nothing needs
# rescaling at test time.

# %%
l2, _ = fit(mlp(), weight_decay=0.5)
drop, _ = fit(mlp(dropout=0.2))
print(f"   L2 0.5: dev loss {l2['valid_loss']:.3f} (accuracy {l2['accuracy']:.3f}); "
      f"dropout 0.2: dev loss {drop['valid_loss']:.3f} (accuracy {drop['accuracy']:.3f})")
lesson.check("L2 weight decay: dev loss below the unregularized one's", l2["valid_loss"], "<", base["valid_loss"],
             fmt=".3f")
lesson.check("dropout 0.2: dev loss below the unregularized one's", drop["valid_loss"], "<", base["valid_loss"],
             fmt=".3f")
layer = nn.Dropout(0.5).train()
ones = torch.ones(1000, 1000)
lesson.check("inverted dropout: mean activation in training (input 1)", layer(ones).mean(), "~=", 1.0, tol=0.02,
             fmt=".3f")
lesson.check("share of units kept", (layer(ones) > 0).float().mean(), "~=", 0.5, tol=0.02, fmt=".3f")
lesson.check("at test time dropout is the identity (largest change)", (layer.eval()(ones) - ones).abs().max(), "==",
             0, fmt=".0f")

# %% [markdown]
# ## 2. Batch normalization
# Normalizing each layer's pre-activations over the batch keeps a deep
# network's signals well scaled, so plain SGD trains it much faster.

# %%
bn_loss = {}
full = Data.from_tensors(x, y, seed=0, batch_size=64)
for bn in (False, True):
    torch.manual_seed(0)
    model = create_model("mlp", 10, in_features=64, width=64, depth=6, batch_norm=bn, act_layer=nn.Tanh,
                         init="xavier")
    hist, _ = fit(model, data=full, opt="sgd", momentum=0.0, lr=0.05, epochs=lesson.pick(8, 4))
    bn_loss[bn] = hist["train_loss"]
print(f"   6 tanh layers, SGD: training loss {bn_loss[False]:.3f} without batch norm, {bn_loss[True]:.3f} with")
lesson.check("batch norm: training loss / without", bn_loss[True] / bn_loss[False], "<", 0.75, fmt=".2f")

# %% [markdown]
# ## 3. Input normalization
# Give the 64 pixel features wildly different scales (x 10^-2 .. 10^2). The
# loss surface becomes a ravine (lesson 10) and SGD must use a rate tiny enough
# for the steepest feature. Standardizing each feature (deepdojo does it by
# default, with training statistics) makes the bowl round again.

# %%
scales = torch.tensor(10 ** np.random.default_rng(1).uniform(-2, 2, 64), dtype=torch.float32)
x_bad = x * scales
norm_acc = {}
for normalize in (False, True):
    d = Data.from_tensors(x_bad, y, seed=0, batch_size=64, normalize=normalize)
    accs = {}
    for lr in lesson.pick((1e-4, 1e-3, 1e-2, 1e-1, 1.0), (1e-3, 1e-1, 1.0)):  # each at its best rate: a fair test
        hist, _ = fit(create_model("logistic", 10, in_features=64), data=d, opt="sgd", momentum=0.0, lr=lr,
                      epochs=lesson.pick(10, 5))
        accs[lr] = hist["accuracy"] if np.isfinite(hist["valid_loss"]) else 0.0
    best = max(accs, key=accs.get)
    norm_acc[normalize] = accs[best]
    print(f"   {'normalized' if normalize else 'raw':10s} inputs: best dev accuracy {accs[best]:.3f} at lr {best:g}")
lesson.check("normalized inputs: best dev accuracy, vs raw + 0.2", norm_acc[True], ">", norm_acc[False] + 0.2,
             fmt=".3f")

fig, ax = figure(figsize=(6, 3.2))
ax.bar(["none", "L2", "dropout"], [base["valid_loss"], l2["valid_loss"], drop["valid_loss"]],
       color=["#999", "#1f77b4", "#2ca02c"])
ax.set_ylabel("dev loss (200 training digits)")
lesson.show(fig, "regularizers")

# %%
lesson.end()
