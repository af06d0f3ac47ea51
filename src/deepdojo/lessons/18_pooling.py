# %% [markdown]
# # Lesson 18: Pooling, and locally vs fully connected layers
#
# **Minutes:** 1
# **Asserts:** max pooling has no parameters and keeps each window's maximum; a one-pixel shift changes conv + max-pooled features less than raw pixels; trained on 300 digits, a small CNN (>= 0.90 dev) loses less accuracy on shifted digits than a dense network with 8x+ more parameters
#
# Pooling summarises each window by one number (its max or mean): fewer
# activations for the next layer, and some tolerance to small shifts. A
# convolution is a *locally* connected layer with *shared* weights; a dense
# layer connects every input to every output. On images the first is a much
# better prior: it needs fewer parameters and less data.

# %%
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure

lesson = begin(18)

# %% [markdown]
# ## 1. Max pooling, by hand

# %%
a = torch.tensor([[1.0, 3, 2, 1], [2, 9, 1, 1], [1, 3, 2, 3], [5, 6, 1, 2]]).reshape(1, 1, 4, 4)
pooled = F.max_pool2d(a, kernel_size=2, stride=2)  # (1, 1, 2, 2)
print(a[0, 0], "\n->", pooled[0, 0])
lesson.check("max-pool 2x2/2 of the notes' 4x4 example (sum of [[9, 2], [6, 3]])", pooled.sum(), "==", 20, fmt=".0f")
lesson.check("parameters in nn.MaxPool2d(2)", sum(p.numel() for p in nn.MaxPool2d(2).parameters()), "==", 0,
             fmt=".0f")

# %% [markdown]
# ## 2. Some tolerance to shifts
# Shift each digit one pixel to the right and compare how much its features
# change, raw and after a 3x3 convolution + 2x2 max pool (relative change).

# %%
x_all, y_all = load_digits(return_X_y=True)
images = torch.tensor(x_all, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16  # (1797, 1, 8, 8)
shifted = torch.roll(images, shifts=1, dims=3)
torch.manual_seed(0)
conv = nn.Conv2d(1, 8, 3, padding=1)
with torch.no_grad():
    feats = F.max_pool2d(torch.relu(conv(images)), 2)
    feats_shifted = F.max_pool2d(torch.relu(conv(shifted)), 2)


def rel_change(u, v):
    return float((u - v).flatten(1).norm(dim=1).mean() / u.flatten(1).norm(dim=1).mean())


raw_change, pooled_change = rel_change(images, shifted), rel_change(feats, feats_shifted)
lesson.check("relative change after conv + max-pool vs raw pixels", pooled_change, "<", raw_change, fmt=".3f")

# %% [markdown]
# ## 3. Locally connected, shared weights vs fully connected
# Both networks are trained with the same Learner on 300 digits and checked on
# the remaining ~1500, as they are and shifted one pixel to the right (a shift
# never seen in training). Shared local filters + pooling carry over to the
# shifted digits much better than a dense layer, which has to relearn every
# pattern at every position.

# %%
order = np.random.default_rng(0).permutation(len(y_all))
pixels = images.mul(16).round().mul(255 / 16).round().to(torch.uint8)  # (1797, 1, 8, 8) uint8 images
data = Data.from_tensors(pixels, torch.tensor(y_all), splits={"train": order[:300], "valid": order[300:]},
                         batch_size=50, augment=None)
valid_idx = torch.tensor(order[300:])
shifted_valid = torch.roll(pixels[valid_idx], shifts=1, dims=3)
cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 16, 4, 4)
                    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 2, 2)
                    nn.Flatten(), nn.Linear(128, 10))
dense = nn.Sequential(nn.Flatten(), nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
results = {}
for name, model in (("CNN", cnn), ("dense", dense)):
    torch.manual_seed(0)
    learn = Learner(model, data, seed=0, progress=False, lr=3e-3)
    learn.fit(lesson.pick(40, 20))
    params = sum(p.numel() for p in model.parameters())
    acc = learn.history[-1]["accuracy"]
    acc_shifted = float((learn.predict(shifted_valid).argmax(1).cpu() == torch.tensor(y_all)[valid_idx]).float().mean())
    results[name] = (acc, acc_shifted, params)
    print(f"   {name:5s}: {params:7,d} parameters, dev accuracy {acc:.3f}, shifted by one pixel {acc_shifted:.3f}")
lesson.check("dense parameters / CNN parameters", results["dense"][2] / results["CNN"][2], ">", 8, fmt=".1f")
lesson.check("CNN dev accuracy", results["CNN"][0], ">=", 0.9, fmt=".3f")
drop_cnn, drop_dense = (results[k][0] - results[k][1] for k in ("CNN", "dense"))
lesson.check("accuracy lost to a one-pixel shift: CNN's below the dense network's", drop_cnn, "<", drop_dense,
             fmt=".3f")

fig, ax = figure(figsize=(5.5, 3.2))
names = list(results)
ax.bar(np.arange(2) - 0.2, [results[k][0] for k in names], width=0.4, label="dev")
ax.bar(np.arange(2) + 0.2, [results[k][1] for k in names], width=0.4, label="dev shifted 1 px")
ax.set_xticks(range(2), [f"{k} ({results[k][2]:,} params)" for k in names])
ax.set_ylabel("accuracy (300 training images)")
ax.legend()
lesson.show(fig, "cnn_vs_dense")

# %%
lesson.end()
