# %% [markdown]
# # Lesson 31: Tabular data with embeddings
#
# **Minutes:** 1
# **Asserts:** a CSV with a 40-level "store" column: a network with a learned embedding per store comes within 0.05 of the Bayes accuracy, more than 0.05 above the same network without the store column and above the majority baseline; each store's predicted log-odds (all else fixed) correlates with its hidden effect (r >= 0.8)
#
# Categorical columns (store, product, weekday) cannot be fed to a network as
# numbers: store 17 is not "more" than store 3. One-hot vectors work for a few
# levels; for many, an **embedding** learns a small dense vector per level, so
# levels that behave alike end up close together.

# %%
import tempfile
from pathlib import Path

import numpy as np
import torch

from deepdojo import Learner
from deepdojo.data import tabular_csv
from deepdojo.evaluate import compute_baselines
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(31)
rng = np.random.default_rng(0)
n_stores, n = 40, lesson.pick(6000, 3000)
store_effect = rng.normal(0, 3.0, n_stores)  # each store's own (unknown) effect on sales
store = rng.integers(0, n_stores, n)
temperature = rng.normal(20, 6, n)
promo = rng.integers(0, 2, n)
logit = store_effect[store] + 0.3 * (temperature - 20) + 2.0 * promo - 1.0
high = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)  # "high sales" day
folder = Path(tempfile.mkdtemp(prefix="lesson31-"))
csv = folder / "sales.csv"
csv.write_text("store,temperature,promo,high_sales\n" + "\n".join(
    f"S{s:02d},{t:.1f},{p},{h}" for s, t, p, h in zip(store, temperature, promo, high)) + "\n")
print(csv.read_text().splitlines()[:3])

# %% [markdown]
# ## 1. Codes and embeddings
# `tabular_csv(..., encoding="codes")` turns each categorical column into
# integer codes (training levels plus a reserved "#na" for missing or unseen
# values) and standardizes the continuous ones with training statistics.

# %%
def fit(path, cat):
    data = tabular_csv(path, target="high_sales", cat=cat, encoding="codes", seed=0)
    info = data.info["tabular"]
    torch.manual_seed(0)
    model = create_model("tabular", 2, in_features=data.input_shape[0],
                         cardinalities=tuple(info["cat_cardinalities"]), width=64)
    learn = Learner(model, data, seed=0, progress=False)
    learn.fit_one_cycle(lesson.pick(8, 5), lr_max=1e-2)
    return learn, data, info


learn, data, info = fit(csv, ["store", "promo"])
print(f"   columns: {info['columns']}; cardinalities {info['cat_cardinalities']}; "
      f"embedding sizes {[e.embedding_dim for e in learn.model.embeds]}")
acc = learn.history[-1]["accuracy"]
majority = compute_baselines(data)["baselines"]["majority"]["accuracy"]
noise_ceiling = float(np.mean(np.maximum(1 / (1 + np.exp(-logit)), 1 - 1 / (1 + np.exp(-logit)))))
print(f"   dev accuracy {acc:.3f}; majority baseline {majority:.3f}; best possible (Bayes) about {noise_ceiling:.3f}")
lesson.check("with store embeddings: dev accuracy, vs the Bayes accuracy - 0.05", acc, ">=", noise_ceiling - 0.05,
             fmt=".3f")
lesson.check("above the majority baseline by", acc - majority, ">", 0.1, fmt=".3f")

without = folder / "no_store.csv"
without.write_text("\n".join(",".join(line.split(",")[1:]) for line in csv.read_text().splitlines()) + "\n")
learn_without, _, _ = fit(without, ["promo"])
lesson.check("gain from the store column", acc - learn_without.history[-1]["accuracy"], ">", 0.05, fmt=".3f")

# %% [markdown]
# ## 2. What the embeddings learned
# Ask the network about each store with everything else fixed (no promo,
# average temperature): its predicted log-odds of a high-sales day should
# follow the store's true effect, which it never saw, only inferred from sales.

# %%
levels = info["categorical"]["store"]  # sorted level names, "#na" first
codes = torch.tensor([levels.index(f"S{s:02d}") for s in range(n_stores)], dtype=torch.float32)
no_promo = float(info["categorical"]["promo"].index("0"))
rows = torch.stack([codes, torch.full_like(codes, no_promo), torch.zeros_like(codes)], 1)  # (40, 3): store, promo, temp
with torch.no_grad():
    out = learn.model.eval()(rows)  # (40, 2)
log_odds = (out[:, 1] - out[:, 0]).numpy()
r = float(np.corrcoef(log_odds, store_effect)[0, 1])
lesson.check("correlation of each store's predicted log-odds with its hidden effect", r, ">=", 0.8, fmt=".3f")
fig, ax = figure(figsize=(5, 3.5))
ax.scatter(store_effect, log_odds)
ax.set_xlabel("true store effect (hidden from the model)")
ax.set_ylabel("predicted log-odds, per store")
lesson.show(fig, "store_effects")

# %% [markdown]
# ## 3. A store the model has never seen
# New levels at prediction time map to "#na": a prediction, not a crash. But
# no training row had an unknown store, so the "#na" embedding is still its
# random initial vector: treat such predictions with suspicion (mapping rare
# levels to "#na" during training gives it something to learn).

# %%
na_code = levels.index("#na")
row = torch.tensor([[na_code, info["categorical"]["promo"].index("1"), 0.0]])  # unseen store, promo, mean temperature
p = learn.model.eval()(row).softmax(-1)[0, 1].item()
print(f"   unseen store, promo, average temperature: P(high sales) = {p:.2f}")

# %%
lesson.end()
