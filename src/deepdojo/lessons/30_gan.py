# %% [markdown]
# # Lesson 30: A GAN learns to draw digits
#
# **Minutes:** 1
# **Asserts:** on builtin:digits, after a few epochs of alternating discriminator and generator steps (Adam 2e-4, beta1 0.5, one-sided label smoothing) the Fréchet distance of a judge classifier's features to real digits falls at least 2x below the untrained generator's; the judge finds at least 8 of the 10 digit classes among 500 samples, none above half of them; a generator that outputs one image covers one class
#
# A GAN is two networks in a game. The discriminator D sees real images and
# the generator's fakes and learns to tell them apart; the generator G turns
# random noise z into images and learns to make D call them real. Each batch
# takes one D step, then one G step through D (the task's own `train_step`).
#
# How good are the fakes? There is no loss to read: D's and G's losses chase
# each other. We train a classifier on the real digits (the "judge") and compare
# the distribution of its features on real and generated images with the
# Fréchet distance (FID's formula, with our judge in place of Inception), and
# count which classes the judge sees among the samples (class coverage).

# %%
import numpy as np
import torch

import deepdojo
from deepdojo.lessons import begin, figure
from deepdojo.metrics.frechet import class_coverage, frechet_distance

lesson = begin(30)
torch.manual_seed(0)

# %% [markdown]
# ## 1. The judge: a classifier on the real digits
# Its 10 logits are the features; the floor is the distance between two
# disjoint sets of real digits (training vs validation): no generator can be
# expected to do better than real data.

# %%
judge = deepdojo.learner("builtin:digits", task="classification", progress=False, seed=0)
judge.fit(5, 2e-3)  # already small: smoke and full runs are the same
judge.model.eval()


def features(x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return judge.model(x).double().numpy()  # (N, 10) logits


real_train = features(torch.cat([xb for xb, _ in judge.data.train]))
real_valid = features(torch.cat([xb for xb, _ in judge.data.valid]))
floor = frechet_distance(real_valid, real_train)
print(f"   judge accuracy {judge.history[-1]['accuracy']:.3f}; FD real vs real (the floor) {floor:.2f}")

# %% [markdown]
# ## 2. Train the GAN
# `task="gan"` builds a DCGAN sized to the images (two optimizer groups: G and D)
# and trains with the DCGAN recipe: Adam at 2e-4 with beta1 = 0.5.

# %%
gan = deepdojo.learner("builtin:digits", task="gan", progress=False, seed=0)
n = 500
untrained = features(gan.model.sample(n, generator=torch.Generator().manual_seed(0)))
gan.fit(3, gan.task.default_lr)  # measured: 5 epochs scored worse here (FD 2.2x, 8 classes); GAN training is not monotone
trained = features(gan.model.sample(n, generator=torch.Generator().manual_seed(0)))

fd_before, fd_after = frechet_distance(untrained, real_train), frechet_distance(trained, real_train)
cov = class_coverage(trained.argmax(1), 10)
print(f"   FD untrained {fd_before:.1f}, trained {fd_after:.1f} (floor {floor:.2f}); "
      f"D loss {gan.history[-1]['d_loss']:.3f}, G loss {gan.history[-1]['g_loss']:.3f}")
lesson.check("FD untrained / FD trained", fd_before / fd_after, ">=", 2.0)
lesson.check("classes the judge finds among 500 samples", cov["coverage"] * 10, ">=", 8, fmt=".0f")
lesson.check("largest share of one class", max(cov["shares"]), "<=", 0.5)

# %% [markdown]
# ## 3. Mode collapse, planted
# A generator that found one image D likes and draws only it "wins" a round
# but has learned nothing of the variety: class coverage exposes it.

# %%
one = gan.model.sample(1, generator=torch.Generator().manual_seed(0)).expand(n, -1, -1, -1)
collapsed = class_coverage(features(one).argmax(1), 10)
lesson.check("classes covered by a one-image generator", collapsed["coverage"] * 10, "==", 1, fmt=".0f")

fig, ax = figure(figsize=(5, 5))
grid = gan.model.sample(64, generator=torch.Generator().manual_seed(0))[:, 0]  # (64, 8, 8), normalized
ax.imshow(grid.reshape(8, 8, 8, 8).permute(0, 2, 1, 3).reshape(64, 64).numpy(), cmap="gray_r")
ax.set_axis_off()
lesson.show(fig, "generated_digits")

# %%
lesson.end()
