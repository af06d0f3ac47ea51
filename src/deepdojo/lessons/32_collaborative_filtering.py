# %% [markdown]
# # Lesson 32: Collaborative filtering: dot products, biases, and what the factors learn
#
# **Minutes:** 1
# **Asserts:** on planted rank-3 ratings with noise sd 0.3, a dot-product model with user and item biases reaches RMSE <= 1.25 x the noise floor, below the bias-only model and the global mean; its learned item biases track the planted ones (r >= 0.9); the planted item factors are a linear function of the learned ones (R^2 >= 0.8); a user unseen in training gets global mean + item bias, so their predicted ranking is the item-bias ranking exactly
#
# A recommender sees a sparse table: a few ratings per user, most cells empty.
# **Collaborative filtering** fills the gaps by assuming a few hidden tastes
# explain everything: each user gets a vector `p_u` (how much they like
# action, romance, ...), each item a vector `q_i` (how much of each it has),
# and a rating is their **dot product** plus a **user bias** (a generous
# rater) and an **item bias** (a film everyone likes):
#
# `rating = mean + b_u + b_i + p_u . q_i`
#
# The vectors are **embeddings**: rows of a table looked up by id, learned by
# gradient descent like any weight. Nobody tells the model what the
# dimensions mean; we plant known tastes and check what it finds.

# %%
import tempfile
from pathlib import Path

import numpy as np
import torch

import deepdojo
from deepdojo.evaluate import compute_baselines
from deepdojo.lessons import begin, figure

lesson = begin(32)
rng = np.random.default_rng(0)
n_users, n_items, rank, noise = lesson.pick(300, 150), lesson.pick(200, 100), 3, 0.3
user_taste = rng.normal(0, 1 / rank ** 0.25, (n_users, rank))  # planted p_u
item_taste = rng.normal(0, 1 / rank ** 0.25, (n_items, rank))  # planted q_i
user_bias, item_bias = rng.normal(0, 0.3, n_users), rng.normal(0, 0.3, n_items)
pairs = np.flatnonzero(rng.random(n_users * n_items) < lesson.pick(0.25, 0.4))  # which cells are rated
users, items = pairs // n_items, pairs % n_items
clean = 3.0 + user_bias[users] + item_bias[items] + (user_taste[users] * item_taste[items]).sum(1)
ratings = clean + rng.normal(0, noise, len(clean))  # noise sd 0.3: no model can get RMSE below 0.3
csv = Path(tempfile.mkdtemp(prefix="lesson32-")) / "ratings.csv"
csv.write_text("user,item,rating\n" + "".join(f"u{u},i{i},{r:.3f}\n" for u, i, r in zip(users, items, ratings)))
print(f"{len(ratings):,} ratings of {n_items} items by {n_users} users ({len(ratings) / (n_users * n_items):.0%} "
      "of the table)")
print(csv.read_text().splitlines()[:3])

# %% [markdown]
# ## 1. Baselines, then the dot-product model
# The **global mean** predicts the same number for everyone. The **bias
# model** adds a user and an item offset (fit by regularized least squares) —
# it knows who is generous and what is popular, but nothing about taste.
# The split holds out 20% of *each user's* ratings, so every user is seen in
# training.

# %%
learn = deepdojo.learner(csv, task="collab", arch="dot", split="user", model_kwargs={"n_factors": rank},
                         weight_decay=0.1, seed=0, out=None, progress=False)
learn.fit_one_cycle(lesson.pick(20, 15), 3e-2)
valid = learn.history[-1]
base = compute_baselines(learn.data, "collab", seed=0)["baselines"]
print(f"   validation RMSE: global mean {base['global_mean']['rmse']:.3f}, bias model {base['bias']['rmse']:.3f}, "
      f"dot product + biases {valid['rmse']:.3f} (noise floor {noise})")
lesson.check("dot product + biases, RMSE / noise floor", valid["rmse"] / noise, "<=", 1.25, fmt=".3f")
lesson.check("dot product + biases RMSE vs the bias model's", valid["rmse"], "<", base["bias"]["rmse"], fmt=".3f")
lesson.check("bias model RMSE vs the global mean's", base["bias"]["rmse"], "<", base["global_mean"]["rmse"], fmt=".3f")

# %% [markdown]
# ## 2. What the embeddings learned
# The model saw ids like `i17`, never the planted tastes. Its **item biases**
# should still line up with the planted ones. Its **item factors** can only be
# right up to a rotation (any rotation of all `p_u` and `q_i` together gives
# the same dot products), so we ask whether the planted factors are a *linear
# function* of the learned ones.

# %%
codes = learn.data.info["preprocess"]["items"]  # raw id -> row of the embedding table
rows = np.array([codes[f"i{i}"] for i in range(n_items) if f"i{i}" in codes])
planted = np.array([i for i in range(n_items) if f"i{i}" in codes])
model = learn.model
learned_bias = model.item_bias.weight.detach()[rows, 0].numpy()
learned_factors = model.item_factors.weight.detach()[rows].numpy()  # (items, rank)
r_bias = np.corrcoef(learned_bias, item_bias[planted])[0, 1]
design = np.c_[learned_factors, np.ones(len(rows))]
fit, *_ = np.linalg.lstsq(design, item_taste[planted], rcond=None)
resid = item_taste[planted] - design @ fit
r2 = 1 - (resid ** 2).sum() / ((item_taste[planted] - item_taste[planted].mean(0)) ** 2).sum()
lesson.check("correlation, learned vs planted item biases", r_bias, ">=", 0.9, fmt=".3f")
lesson.check("R^2 of the planted item factors from the learned ones", r2, ">=", 0.8, fmt=".3f")

centered = learned_factors - learned_factors.mean(0)
xy = centered @ np.linalg.svd(centered, full_matrices=False)[2][:2].T  # 2-D PCA of the item factors
fig, axes = figure(1, 2, figsize=(10, 4))
axes[0].scatter(item_bias[planted], learned_bias, s=8)
axes[0].set(xlabel="planted item bias", ylabel="learned item bias", title=f"item biases (r = {r_bias:.2f})")
sc = axes[1].scatter(xy[:, 0], xy[:, 1], c=item_taste[planted, 0], cmap="coolwarm", s=8)
axes[1].set(xlabel="PC1", ylabel="PC2", title="item factors, 2-D PCA (colour: planted taste 1)")
fig.colorbar(sc, ax=axes[1])
lesson.show(fig, "what_the_factors_learned")

# %% [markdown]
# ## 3. Cold start: a user the model has never seen
# An unseen id maps to row 0 of every table, which stays zero: the model
# predicts `mean + b_i` for a new user. Sensible (recommend what everyone
# likes), and the ranking it gives is exactly the item-bias ranking.

# %%
some = [f"i{i}" for i in planted[:40]]
new_user = np.array([float(learn.predict(("someone-new", item))) for item in some])  # raw ids in, a rating out
bias_order = np.argsort(-model.item_bias.weight.detach()[[codes[i] for i in some], 0].numpy(), kind="stable")
same = float(np.mean(np.argsort(-new_user, kind="stable") == bias_order))
print("   a new user's top 5:", [some[j] for j in np.argsort(-new_user, kind="stable")[:5]])
lesson.check("share of positions where a new user's ranking equals the item-bias ranking", same, "==", 1.0, fmt=".2f")

# %%
lesson.end()
