# %% [markdown]
# # Lesson 10: Optimizers: averages, momentum, RMSprop, Adam, decay and warmup
#
# **Minutes:** 1
# **Asserts:** an exponentially weighted average starts 90% low without bias correction and exact with it; on a ravine (curvatures 1 and 100) momentum reaches the bottom in under a third of plain SGD's steps, RMSprop and Adam in fewer than SGD; SGD is stable only below lr 2/100; warmup and cosine decay hit their end points
#
# Plain gradient descent on a long narrow valley must use a learning rate small
# enough for the *steep* direction, so it crawls along the *flat* one. Momentum
# averages gradients over steps (the zig-zag cancels, the slope adds up);
# RMSprop divides each coordinate by its recent gradient size; Adam does both.
# All of them are built on one tool: the exponentially weighted average.

# %%
import numpy as np
import torch

from deepdojo.lessons import begin, figure
from deepdojo.train.schedules import cosine, with_warmup

lesson = begin(10)

# %% [markdown]
# ## 1. Exponentially weighted averages and bias correction
# v_t = β·v_{t−1} + (1−β)·θ_t with v_0 = 0 averages roughly the last 1/(1−β)
# values. Starting from 0 makes the first values too small; dividing by
# 1 − β^t fixes that.

# %%
rng = np.random.default_rng(0)
theta = 20 + 5 * np.sin(np.arange(100) / 10) + rng.normal(0, 2, 100)  # a noisy "temperature" series
beta, v, raw, corrected = 0.9, 0.0, [], []
for t, value in enumerate(theta, start=1):
    v = beta * v + (1 - beta) * value
    raw.append(v)
    corrected.append(v / (1 - beta**t))
lesson.check("first average without correction / first value", raw[0] / theta[0], "~=", 0.1, tol=1e-9)
lesson.check("first average with correction / first value", corrected[0] / theta[0], "~=", 1.0, tol=1e-9)
lesson.check("weight left on values 10 steps old: beta^10 (about 1/e)", beta**10, "~=", np.exp(-1), tol=0.03,
             fmt=".3f")

fig, ax = figure(figsize=(6, 3))
ax.plot(theta, ".", ms=3, color="#999", label="values")
ax.plot(raw, label="EWA, beta 0.9")
ax.plot(corrected, label="bias-corrected")
ax.legend(fontsize=8)
lesson.show(fig, "ewa")


# %% [markdown]
# ## 2. A ravine: f(x, y) = ½(x² + 100·y²)
# The Hessian's eigenvalues are 1 and 100. Plain SGD diverges above
# lr = 2/100; we give each optimizer a good learning rate (for momentum, the
# theoretically best one) and count the steps
# to f < 10⁻³ from (−5, 1).

# %%
def ravine(w):
    return 0.5 * (w[0] ** 2 + 100 * w[1] ** 2)


def descend(make_opt, steps=2000):
    w = torch.tensor([-5.0, 1.0], requires_grad=True)
    opt, path = make_opt([w]), [w.detach().clone()]
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = ravine(w)
        loss.backward()
        opt.step()
        path.append(w.detach().clone())
        if ravine(w).item() < 1e-3:
            return step, torch.stack(path)
    return steps, torch.stack(path)


runs = {
    "SGD lr 0.019": lambda p: torch.optim.SGD(p, lr=0.019),
    # the best heavy-ball settings for curvatures 1 and 100: lr = 4/(1+10)^2, momentum = (9/11)^2
    "momentum 0.67, lr 0.033": lambda p: torch.optim.SGD(p, lr=4 / 121, momentum=(9 / 11) ** 2),
    "RMSprop lr 0.1": lambda p: torch.optim.RMSprop(p, lr=0.1),
    "Adam lr 0.1": lambda p: torch.optim.Adam(p, lr=0.1),
}
steps = {}
fig, ax = figure(figsize=(7, 3.5))
gx, gy = np.meshgrid(np.linspace(-5.5, 1, 200), np.linspace(-1.3, 1.3, 200))
ax.contour(gx, gy, 0.5 * (gx**2 + 100 * gy**2), levels=np.geomspace(0.01, 100, 12), colors="#ccc", linewidths=0.6)
for name, make in runs.items():
    steps[name], path = descend(make)
    ax.plot(path[:, 0], path[:, 1], lw=1, marker=".", ms=2, label=f"{name}: {steps[name]} steps")
    print(f"   {name:24s} steps to f < 1e-3: {steps[name]}")
ax.legend(fontsize=7)
lesson.show(fig, "ravine")
sgd = steps["SGD lr 0.019"]
lesson.check("momentum's steps / SGD's", steps["momentum 0.67, lr 0.033"] / sgd, "<", 1 / 3)
lesson.check("RMSprop's steps / SGD's", steps["RMSprop lr 0.1"] / sgd, "<", 1)
lesson.check("Adam's steps / SGD's", steps["Adam lr 0.1"] / sgd, "<", 1)
w = torch.tensor([-5.0, 1.0], requires_grad=True)
opt = torch.optim.SGD([w], lr=0.021)
for _ in range(60):
    opt.zero_grad()
    ravine(w).backward()
    opt.step()
lesson.check("SGD at lr 0.021 > 2/100: |y| after 60 steps (started at 1)", abs(w[1].item()), ">", 1)

# %% [markdown]
# ## 3. Learning-rate decay and warmup
# Large steps early, small steps late: cosine decay. Adam's early moment
# estimates are noisy, so many recipes start with a few steps of linear warmup.
# deepdojo's schedules are plain functions `step -> lr`.

# %%
total, warm = 1000, 100
sched = with_warmup(cosine(0.01, total - warm), warm)
lrs = [sched(s) for s in range(total)]
lesson.check("warmup: first step's lr / peak", lrs[0] / 0.01, "~=", 1 / warm, tol=1e-9, fmt=".3f")
lesson.check("peak lr at the end of warmup", lrs[warm - 1], "~=", 0.01, tol=1e-12, fmt=".4f")
lesson.check("cosine ends near 0 (last lr / peak)", lrs[-1] / 0.01, "<", 1e-4, fmt=".1e")
fig, ax = figure(figsize=(5, 2.8))
ax.plot(lrs)
ax.set_xlabel("step")
ax.set_ylabel("learning rate")
ax.set_title("linear warmup, then cosine decay")
lesson.show(fig, "schedule")

# %%
lesson.end()
