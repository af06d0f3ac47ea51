# %% [markdown]
# # Lesson 21: Visualising CNNs: filters, activations, top-activating examples, Grad-CAM
#
# **Minutes:** 1
# **Asserts:** a channel's top-activating dev images activate it far more than average (>= 2x); Grad-CAM points at pixels that matter: hiding the 16 pixels it ranks highest costs the predicted class more probability than hiding 16 random pixels, and more than hiding the 16 it ranks lowest
#
# What did the network learn? Look at its weights (first-layer filters), its
# activations (which images excite a channel most), and its explanations
# (Grad-CAM: which pixels raised this prediction). Then *test* the explanation:
# if those pixels matter, hiding them must hurt the prediction.

# %%
import numpy as np
import torch

from deepdojo import vision
from deepdojo.evaluate.visualize import activation_maps, first_layer_filters, grad_cam
from deepdojo.lessons import begin, figure

lesson = begin(21)
learn = vision.classifier("builtin:digits", arch="cnn", out=None, seed=0, progress=False, augment="none")
learn.fit_one_cycle(lesson.pick(5, 3), lr_max=3e-3)
print(f"   dev accuracy {learn.history[-1]['accuracy']:.3f}")
xv = torch.cat([xb for xb, _ in learn.data.valid]).cpu()  # (N, 1, 8, 8) preprocessed
model = learn.model.cpu().eval()

# %% [markdown]
# ## 1. First-layer filters

# %%
filters = first_layer_filters(model)  # (C_out, C_in, 3, 3), each scaled to [0, 1] for display
fig, axes = figure(2, 8, figsize=(8, 2.4))
for k, ax in enumerate(np.ravel(axes)):
    ax.imshow(filters[k, 0], cmap="gray")
    ax.axis("off")
lesson.show(fig, "filters")

# %% [markdown]
# ## 2. Which images excite a channel
# Take one channel of the last convolution; rank dev images by its mean
# activation; the top ones share a pattern.

# %%
acts = torch.stack([activation_maps(model, xv[i:i + 1]).mean((1, 2)) for i in range(len(xv))])  # (N, C)
channel = int(acts.mean(0).argmax())
order = acts[:, channel].argsort(descending=True)
top_mean, all_mean = float(acts[order[:9], channel].mean()), float(acts[:, channel].mean())
lesson.check(f"channel {channel}: mean activation of its top-9 images / of all", top_mean / all_mean, ">=", 2, fmt=".2f")
labels = torch.cat([yb for _, yb in learn.data.valid]).cpu()
print(f"   its top-9 images are digits {labels[order[:9]].tolist()}")
fig, axes = figure(1, 9, figsize=(9, 1.4))
for ax, i in zip(axes, order[:9].tolist()):
    ax.imshow(xv[i, 0], cmap="gray")
    ax.axis("off")
lesson.show(fig, "top_activating")

# %% [markdown]
# ## 3. Grad-CAM, and a test of it
# For each dev image: the predicted class's probability, then again with the
# 16 pixels Grad-CAM ranks highest set to the dataset mean (0 after
# normalization), with 16 random pixels hidden, and with the 16 it ranks lowest.
# On 8x8 inputs the last convolution's map is 1x1 (three stride-2 stages), so
# its Grad-CAM would be a constant: we explain at `features.2.0`, a 4x4 map.

# %%
LAYER = "features.2.0"  # (B, 64, 4, 4)
n = lesson.pick(300, 120)
gen = torch.Generator().manual_seed(0)
drops = {"top": [], "random": [], "bottom": []}
with torch.no_grad():
    base = model(xv[:n]).softmax(-1)  # (n, 10)
for i in range(n):
    cls = int(base[i].argmax())
    cam = grad_cam(model, xv[i:i + 1], target=cls, layer=LAYER).flatten()  # (64,)
    ranked = cam.argsort(descending=True)
    for name, pixels in (("top", ranked[:16]), ("random", torch.randperm(64, generator=gen)[:16]),
                         ("bottom", ranked[-16:])):
        hidden = xv[i:i + 1].clone().flatten(1)
        hidden[0, pixels] = 0.0
        with torch.no_grad():
            p = model(hidden.reshape(1, 1, 8, 8)).softmax(-1)[0, cls]
        drops[name].append(float(base[i, cls] - p))
mean = {k: float(np.mean(v)) for k, v in drops.items()}
print("   mean probability lost: " + ", ".join(f"{k} 16 pixels {v:.3f}" for k, v in mean.items()))
lesson.check("hiding Grad-CAM's top 16 pixels costs more than 16 random ones", mean["top"], ">", mean["random"],
             fmt=".3f")
lesson.check("and more than its bottom 16", mean["top"], ">", mean["bottom"], fmt=".3f")

fig, axes = figure(2, 6, figsize=(9, 3.3))
for k in range(6):
    axes[0][k].imshow(xv[k, 0], cmap="gray")
    axes[0][k].set_title(f"pred {int(base[k].argmax())}", fontsize=9)
    axes[1][k].imshow(xv[k, 0], cmap="gray")
    axes[1][k].imshow(grad_cam(model, xv[k:k + 1], layer=LAYER), cmap="jet", alpha=0.5)
    axes[0][k].axis("off")
    axes[1][k].axis("off")
lesson.show(fig, "gradcam")

# %%
lesson.end()
