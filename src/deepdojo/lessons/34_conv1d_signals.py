# %% [markdown]
# # Lesson 34: 1-D convolutions on signals
#
# **Minutes:** 1
# **Asserts:** a width-k moving average divides white-noise variance by k (within 10%); convolution is shift-equivariant (shift then convolve = convolve then shift, exactly, away from the ends); on sine / square / sawtooth waves with random frequency and phase a 1-D CNN reaches >= 0.95 dev accuracy where logistic regression on the raw samples stays below 0.6
#
# Sensors, audio and ECGs are 1-D signals: a value per time step, maybe a few
# channels. The same ideas as images apply along one axis: a small kernel slid
# over time detects a local pattern wherever it occurs.

# %%
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(34)
gen = torch.Generator().manual_seed(0)

# %% [markdown]
# ## 1. A kernel is a filter
# Averaging k neighbouring samples of independent noise divides its variance
# by k: the moving average is a low-pass filter, a kernel of k weights 1/k.

# %%
noise = torch.randn(1, 1, 100_000, generator=gen)  # (B, C, L)
for k in (4, 16):
    smoothed = F.conv1d(noise, torch.full((1, 1, k), 1 / k))
    lesson.check(f"noise variance / variance after a width-{k} moving average", noise.var() / smoothed.var(), "~=", k,
                 tol=0.1 * k, fmt=".2f")

# %% [markdown]
# ## 2. Shift-equivariance
# Delay the signal by 7 steps and the feature map is delayed by 7 steps too:
# the same kernel is applied at every position.

# %%
x = torch.randn(1, 1, 200, generator=gen)
kernel = torch.randn(3, 1, 5, generator=gen)  # 3 random filters of width 5
delayed = torch.roll(x, 7, dims=-1)
a, b = F.conv1d(delayed, kernel), torch.roll(F.conv1d(x, kernel), 7, dims=-1)
lesson.check("largest difference, conv(shift(x)) vs shift(conv(x)) away from the ends",
             (a[..., 10:-10] - b[..., 10:-10]).abs().max(), "<", 1e-6, fmt=".1e")

# %% [markdown]
# ## 3. Classifying waveforms
# Sine, square and sawtooth waves, 128 samples, random frequency (2 to 6
# cycles), random phase and amplitude, plus noise. Because the phase is random,
# no fixed weight per time step can tell them apart; a detector of local shape
# (a sharp jump, a ramp, a smooth curve) can, wherever it sits.

# %%
n, length = lesson.pick(1500, 900), 128
rng = np.random.default_rng(0)
kind = rng.integers(0, 3, n)
t = np.arange(length) / length
cycles, phase, amp = rng.uniform(2, 6, (n, 1)), rng.uniform(0, 1, (n, 1)), rng.uniform(0.5, 2, (n, 1))
u = (cycles * t + phase) % 1.0  # (n, length) position within each cycle
waves = np.where(kind[:, None] == 0, np.sin(2 * np.pi * u), np.where(kind[:, None] == 1, np.sign(u - 0.5), 2 * u - 1))
signals = (amp * waves + rng.normal(0, 0.3, (n, length))).astype(np.float32)[:, None, :]  # (n, 1, 128)
data = Data.from_tensors(torch.from_numpy(signals), torch.from_numpy(kind), seed=0, batch_size=64,
                         classes=["sine", "square", "sawtooth"])

x_tr = np.concatenate([xb.cpu().numpy().reshape(len(xb), -1) for xb, _ in data.train])
y_tr = np.concatenate([yb.cpu().numpy() for _, yb in data.train])
x_va = np.concatenate([xb.cpu().numpy().reshape(len(xb), -1) for xb, _ in data.valid])
y_va = np.concatenate([yb.cpu().numpy() for _, yb in data.valid])
linear = LogisticRegression(max_iter=2000).fit(x_tr, y_tr).score(x_va, y_va)
torch.manual_seed(0)
learn = Learner(create_model("cnn1d", 3, in_channels=1, widths=(16, 32), kernel_size=5), data, seed=0,
                progress=False)
learn.fit_one_cycle(lesson.pick(8, 5), lr_max=1e-2)
cnn = learn.history[-1]["accuracy"]
print(f"   dev accuracy: logistic regression on raw samples {linear:.3f}, 1-D CNN {cnn:.3f}")
lesson.check("logistic regression on the raw samples", linear, "<", 0.6, fmt=".3f")
lesson.check("1-D CNN", cnn, ">=", 0.95, fmt=".3f")

fig, axes = figure(3, 1, figsize=(7, 5))
for c, ax in enumerate(axes):
    i = int(np.flatnonzero(kind == c)[0])
    ax.plot(signals[i, 0], lw=1)
    ax.set_title(["sine", "square", "sawtooth"][c], fontsize=9)
lesson.show(fig, "waveforms")

# %%
lesson.end()
