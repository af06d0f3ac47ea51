# %% [markdown]
# # Lesson 40: Classical machine learning as baselines (scikit-learn)
#
# **Minutes:** 1
# **Asserts:** on 8x8 digits logistic regression, k-nearest neighbours and a random forest all reach >= 0.93 dev accuracy; the forest beats a single tree by >= 0.05; k-means finds digit groups without labels (adjusted Rand index >= 0.5); on diabetes linear regression (R^2 > 0.3) and a forest (> 0.15) beat predicting the mean (<= 0); a deepdojo MLP is within 0.03 of the best classical model, not far beyond it
#
# Before a neural network, fit the classics: they take seconds, need little
# tuning, and tell you what "good" means on your data. deepdojo reports a
# majority and a linear baseline beside every run; this lesson tours the rest.

# %%
import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, load_digits
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import adjusted_rand_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(40)
x, y = load_digits(return_X_y=True)
x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)

# %% [markdown]
# ## 1. Classifiers on digits

# %%
models = {
    "logistic regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    "k-nearest neighbours (k=3)": KNeighborsClassifier(3),
    "decision tree": DecisionTreeClassifier(random_state=0),
    "random forest (100 trees)": RandomForestClassifier(lesson.pick(100, 30), random_state=0),
}
scores = {name: m.fit(x_tr, y_tr).score(x_va, y_va) for name, m in models.items()}
for name, acc in scores.items():
    print(f"   {name:28s} dev accuracy {acc:.3f}")
for name in ("logistic regression", "k-nearest neighbours (k=3)", "random forest (100 trees)"):
    lesson.check(f"{name}: dev accuracy", scores[name], ">=", 0.93, fmt=".3f")
lesson.check("random forest minus a single tree", scores["random forest (100 trees)"] - scores["decision tree"], ">=",
             0.05, fmt=".3f")

# %% [markdown]
# ## 2. k-means: structure without labels
# Ten clusters of the images, compared with the true digits only afterwards.

# %%
clusters = KMeans(10, n_init=lesson.pick(10, 3), random_state=0).fit_predict(x)
ari = adjusted_rand_score(y, clusters)
lesson.check("k-means clusters vs true digits, adjusted Rand index", ari, ">=", 0.5, fmt=".3f")

# %% [markdown]
# ## 3. Regression on diabetes
# 442 patients, 10 features: small and noisy. A forest is not automatically
# better than a straight line; measure.

# %%
xd, yd = load_diabetes(return_X_y=True)
xd_tr, xd_va, yd_tr, yd_va = train_test_split(xd, yd, test_size=0.25, random_state=0)
r2 = {"predict the mean": r2_score(yd_va, np.full(len(yd_va), yd_tr.mean())),
      "linear regression": r2_score(yd_va, LinearRegression().fit(xd_tr, yd_tr).predict(xd_va)),
      "random forest": r2_score(yd_va, RandomForestRegressor(lesson.pick(200, 50), min_samples_leaf=5,
                                                             random_state=0).fit(xd_tr, yd_tr).predict(xd_va))}
for name, value in r2.items():
    print(f"   {name:18s} dev R^2 {value:.3f}")
lesson.check("predicting the mean: dev R^2", r2["predict the mean"], "<=", 0.0, fmt=".3f")
lesson.check("linear regression: dev R^2", r2["linear regression"], ">", 0.3, fmt=".3f")
lesson.check("random forest: dev R^2 (beats the mean, but not always the line)", r2["random forest"], ">", 0.15,
             fmt=".3f")

# %% [markdown]
# ## 4. And the neural network?
# The same split, an MLP trained by deepdojo. On small, clean data like this
# the classics are hard to beat by much: the baseline is the bar to clear.

# %%
order = np.arange(len(y))
idx_tr, idx_va = train_test_split(order, test_size=0.25, random_state=0, stratify=y)
data = Data.from_tensors(torch.tensor(x, dtype=torch.float32), torch.tensor(y), splits={"train": idx_tr,
                                                                                       "valid": idx_va})
torch.manual_seed(0)
learn = Learner(create_model("mlp", 10, in_features=64, width=256, depth=2, dropout=0.2), data, seed=0,
                progress=False)
learn.fit_one_cycle(lesson.pick(20, 10), lr_max=3e-3)
mlp = learn.history[-1]["accuracy"]
best_name = max(scores, key=scores.get)
print(f"   MLP dev accuracy {mlp:.3f}; best classical: {best_name} {scores[best_name]:.3f}")
lesson.check("MLP minus the best classical model (absolute)", abs(mlp - scores[best_name]), "<", 0.03, fmt=".3f")

fig, ax = figure(figsize=(7, 3.2))
names = [*scores, "deepdojo MLP"]
ax.barh(names, [*scores.values(), mlp], color=["#999"] * len(scores) + ["#1f77b4"])
ax.set_xlim(0.7, 1.0)
ax.set_xlabel("dev accuracy on 8x8 digits")
lesson.show(fig, "classical_vs_mlp")

# %%
lesson.end()
