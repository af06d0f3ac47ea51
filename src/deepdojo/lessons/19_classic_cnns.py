# %% [markdown]
# # Lesson 19: Classic CNNs: LeNet-5, AlexNet, VGG, ResNet, Inception's 1x1 convolutions
#
# **Minutes:** 1
# **Asserts:** deepdojo's LeNet-5, AlexNet, VGG-16, ResNet-18 and ResNet-50 have the published parameter counts exactly (61,706 / 61,100,840 / 138,357,544 / 11,689,512 / 25,557,032); a 1x1 bottleneck cuts a 5x5 convolution's multiply-adds from 120.4M to 12.4M; a 31-layer plain network does not train (loss stays at ln 10) while the same depth with skip connections reaches >= 0.9 dev accuracy
#
# The architectures that shaped the field, as deepdojo builds them, checked
# against the numbers in their papers; then the two ideas that made depth
# affordable: 1x1 convolutions (Inception) and residual connections (ResNet).

# %%
import math

import torch
from sklearn.datasets import load_digits
from torch import nn

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model
from deepdojo.models.summary import summary

lesson = begin(19)

# %% [markdown]
# ## 1. The classics, by parameter count
# Built on PyTorch's `meta` device: shapes only, no memory, so even VGG-16's
# 138 million weights cost nothing to count.

# %%
published = {"lenet5": ((1, 32, 32), 10, 61_706), "alexnet": ((3, 224, 224), 1000, 61_100_840),
             "vgg16": ((3, 224, 224), 1000, 138_357_544), "resnet18": ((3, 224, 224), 1000, 11_689_512),
             "resnet50": ((3, 224, 224), 1000, 25_557_032)}
counts = {}
for name, (shape, classes, paper) in published.items():
    with torch.device("meta"):
        model = create_model(name, classes, in_channels=shape[0])
    counts[name] = sum(p.numel() for p in model.parameters())
    lesson.check(f"{name} parameters (published: {paper:,})", counts[name], "==", paper, fmt=",.0f")

# %% [markdown]
# ## 2. Inception's 1x1 bottleneck
# A 5x5 convolution from 192 to 32 channels on a 28x28 map costs
# 28·28·32 · 5·5·192 ≈ 120M multiply-adds. Shrinking to 16 channels with a
# 1x1 convolution first costs about a tenth, for a similar output volume.

# %%
direct = nn.Conv2d(192, 32, 5, padding=2)
bottleneck = nn.Sequential(nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding=2))
cost_direct = summary(direct, (192, 28, 28)).total_mult_adds
cost_bottleneck = summary(bottleneck, (192, 28, 28)).total_mult_adds
lesson.check("5x5 conv 192 -> 32 on 28x28, multiply-adds", cost_direct, "==", 28 * 28 * 32 * 5 * 5 * 192, fmt=",.0f")
lesson.check("with a 1x1 bottleneck to 16 channels", cost_bottleneck, "==",
             28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16, fmt=",.0f")
lesson.check("saving factor", cost_direct / cost_bottleneck, ">", 9, fmt=".1f")

# %% [markdown]
# ## 3. Why ResNets train: skip connections
# The same 31 linear layers (15 blocks of two, ReLU), PyTorch's default
# initialization, plain SGD on digits. Without skips the signal and its
# gradient shrink at every layer and the network learns nothing; with
# x + f(x) each block starts close to the identity and the gradient has a
# direct path back to the first layer.

# %%
class Block(nn.Module):
    def __init__(self, width, residual):
        super().__init__()
        self.f = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
        self.residual = residual

    def forward(self, x):  # (B, width) -> (B, width)
        return torch.relu(x + self.f(x)) if self.residual else torch.relu(self.f(x))


def deep_net(residual, blocks=15):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), *[Block(64, residual) for _ in range(blocks)],
                         nn.Linear(64, 10))


digits = load_digits()
data = Data.from_tensors(torch.tensor(digits.data, dtype=torch.float32), torch.tensor(digits.target), seed=0)
runs = {}
for residual in (False, True):
    learn = Learner(deep_net(residual), data, opt="sgd", lr=0.05, weight_decay=0.0, seed=0, progress=False)
    learn.fit(lesson.pick(6, 4))
    runs["ResNet-style" if residual else "plain"] = learn.history
    h = learn.history[-1]
    print(f"   {'with skips' if residual else 'plain':10s}: training loss {h['train_loss']:.3f}, dev {h['accuracy']:.3f}")
lesson.check("plain 31 layers: final training loss (ln 10 = 2.303 means nothing learned)",
             runs["plain"][-1]["train_loss"], ">", math.log(10) - 0.05, fmt=".3f")
lesson.check("with skip connections: dev accuracy", runs["ResNet-style"][-1]["accuracy"], ">=", 0.9, fmt=".3f")

fig, ax = figure(figsize=(5.5, 3.3))
for name, hist in runs.items():
    ax.plot([r["train_loss"] for r in hist], marker="o", label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_title("31 layers, SGD")
ax.legend()
lesson.show(fig, "plain_vs_residual")

# %%
lesson.end()
