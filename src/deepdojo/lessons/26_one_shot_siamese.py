# %% [markdown]
# # Lesson 26: One-shot: siamese networks and triplet loss
#
# **Minutes:** 1
# **Asserts:** the triplet loss computed triplet by triplet equals the library's (all and batch-hard mining, within 1e-5); on glyph identities never seen in training, a trained siamese embedding's 10-way one-shot accuracy beats nearest neighbour on pixels by >= 0.15 and >= 1.5x, beats its own untrained network, and beats chance (0.10); with margin 0 (contrastive loss) or an absurd learning rate the embeddings collapse and the spread detector says so (< 0.05)
#
# Face verification has one photo per person: too few to train a classifier
# per person. Instead a network learns an embedding f(x) where images of the
# same identity are close and of different identities are far apart; a new
# person then needs one example (one-shot). The triplet loss asks, for an
# anchor A, a positive P (same identity) and a negative N:
# d(A, P) + alpha <= d(A, N).

# %%
import itertools

import torch

from deepdojo import Learner
from deepdojo.data.identities import load_glyphs
from deepdojo.lessons import begin, figure
from deepdojo.metrics.verification import COLLAPSE_SPREAD, one_shot_accuracy, spread
from deepdojo.models import create_model
from deepdojo.tasks import Verification
from deepdojo.tasks.metric_learning import contrastive_loss, triplet_loss

lesson = begin(26)
torch.manual_seed(0)

# %% [markdown]
# ## 1. The triplet loss, triplet by triplet
# For every (anchor, positive, negative) in a batch, the cost is
# max(d(A, P) - d(A, N) + alpha, 0); the library averages the triplets that
# still cost something. Batch-hard mining keeps, per anchor, only its farthest
# positive and nearest negative.

# %%
emb = torch.nn.functional.normalize(torch.randn(12, 8), dim=1)  # (B, D) unit-length embeddings
labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
alpha = 0.2
dist = lambda i, j: float((emb[i] - emb[j]).norm())  # noqa: E731
costs = [max(dist(a, p) - dist(a, n) + alpha, 0.0)
         for a, p, n in itertools.permutations(range(12), 3) if labels[a] == labels[p] and labels[a] != labels[n]]
by_hand = sum(c for c in costs if c > 0) / sum(c > 0 for c in costs)
lesson.check("|triplet loss by hand - library's| (all triplets)",
             abs(by_hand - float(triplet_loss(emb, labels, margin=alpha, mining="all"))), "<", 1e-5, fmt=".1e")
hard = []
for a in range(12):
    far_pos = max(dist(a, p) for p in range(12) if p != a and labels[p] == labels[a])
    near_neg = min(dist(a, n) for n in range(12) if labels[n] != labels[a])
    hard.append(max(far_pos - near_neg + alpha, 0.0))
hard_by_hand = sum(c for c in hard if c > 0) / max(1, sum(c > 0 for c in hard))
lesson.check("|batch-hard triplet loss by hand - library's|",
             abs(hard_by_hand - float(triplet_loss(emb, labels, margin=alpha, mining="batch_hard"))), "<", 1e-5, fmt=".1e")

# %% [markdown]
# ## 2. One-shot on identities never seen in training
# `builtin:glyphs`: each identity is a glyph of three pen strokes, redrawn with
# wobble, rotation and scale per example (like an unknown alphabet). Validation
# identities are held out of training. A 10-way one-shot episode shows one
# example of 10 unseen identities and a query; the nearest example names it.
# Training batches hold P identities x K = 4 examples each, so every anchor has
# positives to compare with.

# %%
data = load_glyphs(n_identities=60, per_identity=20, seed=0, valid_pct=0.3)
xv, yv = data.valid.source_x[data.valid.index], data.valid.source_y[data.valid.index]  # unseen identities
pixels = torch.nn.functional.normalize(xv.float().reshape(len(xv), -1), dim=1)
episodes = lesson.pick(1000, 400)
acc_pixels = one_shot_accuracy(pixels, yv, n_way=10, episodes=episodes, seed=0)


def siamese():
    torch.manual_seed(0)
    return create_model("siamese", 64, in_channels=1, backbone="cnn", widths=(16, 32, 64))


learn = Learner(siamese(), data, task=Verification(), lr=1e-2, seed=0, progress=False)
emb_untrained, _ = learn.get_preds(data.valid)
acc_untrained = one_shot_accuracy(emb_untrained, yv, n_way=10, episodes=episodes, seed=0)
learn.fit_one_cycle(6, 1e-2)  # ~10 s on one core: smoke trains the same
emb_trained, targets = learn.get_preds(data.valid)
acc_trained = one_shot_accuracy(emb_trained, targets, n_way=10, episodes=episodes, seed=0)
print(f"   10-way one-shot on unseen identities: chance 0.100, pixels {acc_pixels:.3f}, "
      f"untrained network {acc_untrained:.3f}, trained {acc_trained:.3f}")
lesson.check("pixels nearest neighbour vs chance 0.10", acc_pixels, ">", 0.10, fmt=".3f")
lesson.check("trained siamese - pixels (one-shot accuracy)", acc_trained - acc_pixels, ">=", 0.15, fmt=".3f")
lesson.check("trained siamese / pixels", acc_trained / acc_pixels, ">=", 1.5, fmt=".2f")
lesson.check("trained - untrained siamese", acc_trained - acc_untrained, ">=", 0.1, fmt=".3f")

fig, axes = figure(1, 2, figsize=(8, 3.5))
for ax, (name, e) in zip(axes, [("untrained", emb_untrained), ("trained", emb_trained)]):
    u, s, vt = torch.linalg.svd(e - e.mean(0), full_matrices=False)
    xy = (e - e.mean(0)) @ vt[:2].T  # (N, 2): the two main directions of the embedding
    first = yv < yv.unique()[8]  # 8 identities, one colour each
    ax.scatter(xy[first, 0], xy[first, 1], c=yv[first], cmap="tab10", s=8)
    ax.set_title(f"{name} embedding, 8 unseen identities", fontsize=9)
lesson.show(fig, "embeddings")

# %% [markdown]
# ## 3. Collapse: when every image maps to the same point
# The trivial solution f(x) = constant makes d(A, P) = d(A, N) = 0. The
# margin alpha is what forbids it: with a margin of 0 the contrastive loss only
# pulls pairs together, and nothing pushes them apart. An absurd learning rate
# wrecks the network the same way. The `spread` metric (mean distance to the
# mean embedding: about 0.7 for random directions) detects it.

# %%
model = siamese()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
data.train.set_epoch(0)
for _, (xb, yb) in zip(range(lesson.pick(30, 20)), itertools.cycle(data.train)):
    loss = contrastive_loss(model(xb), yb, margin=0.0)
    opt.zero_grad()
    loss.backward()
    opt.step()
model.eval()
with torch.no_grad():
    xs = torch.cat([xb for xb, _ in data.valid])
    collapsed_margin = spread(model(xs))
absurd = Learner(siamese(), data, task=Verification(), lr=1e3, seed=0, progress=False)
absurd.fit(1, 1e3)
collapsed_lr = spread(absurd.get_preds(data.valid)[0])
print(f"   spread: trained {spread(emb_trained):.3f}, margin 0 {collapsed_margin:.4f}, lr 1e3 {collapsed_lr:.4f}")
lesson.check("spread of the trained embedding", spread(emb_trained), ">", COLLAPSE_SPREAD, fmt=".3f")
lesson.check("spread after training with margin 0", collapsed_margin, "<", COLLAPSE_SPREAD, fmt=".4f")
lesson.check("spread after training at learning rate 1e3", collapsed_lr, "<", COLLAPSE_SPREAD, fmt=".4f")

# %%
lesson.end()
