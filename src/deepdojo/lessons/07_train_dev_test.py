# %% [markdown]
# # Lesson 7: Train, dev and test; underfitting, overfitting and early stopping
#
# **Minutes:** 1
# **Asserts:** a 2-unit network underfits (train accuracy < 0.85, train and dev alike); a wide network trained long overfits (train loss ~0 while dev loss rises 25%+ above its minimum); early stopping stops before the end and restores the best dev loss; the sealed test set, looked at once, agrees with dev (within 0.06)
#
# Three splits, three jobs: **train** fits the weights, **dev** (validation)
# chooses everything else (architecture, epochs, learning rate), **test** is
# looked at once, at the end, to say how good the chosen model is. deepdojo
# seals the test split: only a logged look through the vault can read it.

# %%
import tempfile

import numpy as np
import torch
from sklearn.datasets import load_digits

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.evaluate import TestVault
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model
from deepdojo.train import EarlyStopping

lesson = begin(7)
digits = load_digits()
x = torch.tensor(digits.data / 16, dtype=torch.float32)  # (1797, 64)
y = torch.tensor(digits.target)
order = np.random.default_rng(0).permutation(len(y))
# a deliberately small training set makes overfitting easy to see
splits = {"train": order[:200], "valid": order[200:700], "test": order[700:1200]}
data = Data.from_tensors(x, y, splits=splits, batch_size=50)
print({k: len(v) for k, v in splits.items()}, "examples; data.test is", type(data.test).__name__)


def train(width, epochs, callbacks=()):
    torch.manual_seed(0)
    learn = Learner(create_model("mlp", 10, in_features=64, width=width, depth=2), data, seed=0,
                    progress=False, weight_decay=0.0, lr=1e-2, callbacks=callbacks)
    learn.fit(epochs)
    train_acc = learn.validate(data.train, prefix="train_")["train_accuracy"]
    return learn, train_acc


# %% [markdown]
# ## Underfitting: too little capacity
# Two hidden units cannot represent ten digits: the training error itself is
# high, and dev is about as bad. More data will not help; a bigger model will.

# %%
epochs = lesson.pick(40, 25)
small, small_train = train(2, epochs)
small_dev = small.history[-1]["accuracy"]
lesson.check("2 hidden units: training accuracy", small_train, "<", 0.85)
lesson.check("and dev is no worse than 0.1 below it (no variance problem)", small_train - small_dev, "<", 0.1)

# %% [markdown]
# ## Overfitting: memorising 200 examples
# A network of 512-unit layers drives the training loss to ~0 while the dev
# loss, after a minimum, climbs: it grows confident on its mistakes.

# %%
big, big_train = train(512, epochs)
dev_loss = [r["valid_loss"] for r in big.history]
train_loss = [r["train_loss"] for r in big.history]
best_epoch = int(np.argmin(dev_loss))
lesson.check("512 units: final training loss", train_loss[-1], "<", 0.01, fmt=".4f")
lesson.check("final dev loss / its minimum", dev_loss[-1] / min(dev_loss), ">", 1.25, fmt=".2f")

fig, ax = figure(figsize=(6, 3.5))
ax.plot(train_loss, label="train loss")
ax.plot(dev_loss, label="dev loss")
ax.axvline(best_epoch, color="k", ls=":", label=f"best dev epoch ({best_epoch})")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.legend()
lesson.show(fig, "overfitting")

# %% [markdown]
# ## Early stopping
# Watch the dev loss, stop after `patience` epochs without improvement, and put
# back the weights of the best epoch.

# %%
stopper = EarlyStopping("valid_loss", patience=3, restore_best=True)
stopped, _ = train(512, epochs, callbacks=[stopper])
ran = len(stopped.history)
restored = stopped.validate()["valid_loss"]
lesson.check("early stopping ran fewer epochs than the budget", ran, "<", epochs, fmt=".0f")
lesson.check("restored weights have the best dev loss seen", restored, "~=",
             min(r["valid_loss"] for r in stopped.history), tol=1e-5, fmt=".4f")

# %% [markdown]
# ## One look at the test set
# The vault opens the sealed split for one evaluation and logs it. Because dev
# chose the model (its epoch), dev accuracy is slightly optimistic; the test
# accuracy is the honest number to report.

# %%
vault = TestVault(tempfile.mkdtemp(prefix="lesson07-run-"))  # a fresh run folder: this is its first look
look = vault.look(data, stopped.validate, checkpoint_sha256=None)
test_acc, dev_acc = look["metrics"]["accuracy"], stopped.validate()["accuracy"]
print(f"   dev accuracy {dev_acc:.3f}, test accuracy {test_acc:.3f}; look number {look['look']} at this test set")
lesson.check("test accuracy agrees with dev", abs(test_acc - dev_acc), "<", 0.06, fmt=".3f")

# %%
lesson.end()
