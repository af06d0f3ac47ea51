# %% [markdown]
# # Lesson 13: Random search beats grid search, on a log scale
#
# **Minutes:** 1
# **Asserts:** with 9 trials a 3x3 grid tries 3 learning rates, random search 9; when one hyperparameter matters, random search's best is at least as good in most repetitions (>= 70%); log-uniform sampling puts ~1/3 of learning rates in each decade of [1e-4, 1e-1] where uniform sampling puts ~90% in the top decade
#
# Most hyperparameters barely matter and a few matter a lot, but you do not know
# which in advance. A grid spends its trials re-testing the same few values of
# the important one; random search tries a new value every trial. And a
# learning rate should be sampled on a log scale: 1e-4 to 1e-3 is as big a step
# as 1e-2 to 1e-1.

# %%
import numpy as np

from deepdojo.lessons import begin, figure
from deepdojo.search.space import parse_space

lesson = begin(13)
rng = np.random.default_rng(0)


def dev_error(log_lr, dropout, best_log_lr):
    """A stand-in for a training run: the learning rate matters (best at 10**best_log_lr), dropout hardly does."""
    return 0.02 + 0.05 * (log_lr - best_log_lr) ** 2 + 0.002 * dropout


# %% [markdown]
# ## 1. Nine trials each, repeated 500 times
# Both search log10(lr) in [−4, −1] and dropout in [0, 0.5]. Each repetition
# is a new problem whose best learning rate lies somewhere in that range (you
# never know where); the grid is the same every time, random search draws anew.

# %%
grid_lr = np.linspace(-4, -1, 3)
grid = [(a, b) for a in grid_lr for b in np.linspace(0, 0.5, 3)]
wins, best_random, best_grid = 0, [], []
for _ in range(lesson.pick(500, 200)):
    optimum = rng.uniform(-4, -1)
    pts = np.c_[rng.uniform(-4, -1, 9), rng.uniform(0, 0.5, 9)]
    best_random.append(min(dev_error(a, b, optimum) for a, b in pts))
    best_grid.append(min(dev_error(a, b, optimum) for a, b in grid))
    wins += best_random[-1] <= best_grid[-1]
lesson.check("distinct learning rates a 3x3 grid tries", len({a for a, _ in grid}), "==", 3, fmt=".0f")
lesson.check("distinct learning rates 9 random trials try", len(set(pts[:, 0])), "==", 9, fmt=".0f")
lesson.check("share of repetitions where random's best <= grid's best", wins / len(best_random), ">=", 0.7)
print(f"   median best dev error: grid {np.median(best_grid):.4f}, random {np.median(best_random):.4f}")

fig, axes = figure(1, 2, figsize=(8, 3.4))
for ax, p, title in ((axes[0], np.array(grid), "grid: 3 learning rates"), (axes[1], pts, "random: 9 learning rates")):
    ax.scatter(p[:, 0], p[:, 1])
    for x in p[:, 0]:
        ax.axvline(x, color="#ddd", lw=0.8, zorder=0)
    ax.set_xlabel("log10(learning rate)  (matters)")
    ax.set_ylabel("dropout  (hardly matters)")
    ax.set_title(title)
lesson.show(fig, "grid_vs_random")

# %% [markdown]
# ## 2. Sample the learning rate on a log scale
# `deepdojo search --param 'lr=log(1e-4,1e-1)'` samples log-uniformly: each
# decade is equally likely. Uniform sampling over the same range almost never
# tries a small rate.

# %%
space = parse_space({"lr": "log(1e-4, 1e-1)"})
low, high = space["lr"].args
n = lesson.pick(30000, 6000)
log_uniform = 10 ** rng.uniform(np.log10(low), np.log10(high), n)
uniform = rng.uniform(low, high, n)
for lo in (1e-4, 1e-3, 1e-2):
    share = np.mean((log_uniform >= lo) & (log_uniform < lo * 10))
    lesson.check(f"log-uniform: share in [{lo:g}, {lo * 10:g})", share, "~=", 1 / 3, tol=0.02, fmt=".3f")
lesson.check("uniform: share in the top decade [0.01, 0.1)", np.mean(uniform >= 1e-2), "~=", 0.9, tol=0.02, fmt=".3f")

# %%
lesson.end()
