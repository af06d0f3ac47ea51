# %% [markdown]
# # Lesson 17: Convolution: edge kernels, padding and stride, volumes, parameter counts
#
# **Minutes:** 1
# **Asserts:** a vertical-edge kernel responds 30 across the edge and 0 elsewhere, a horizontal one 0 everywhere; output side = floor((n + 2p - f)/s) + 1 matches PyTorch in 200 random cases; "same" padding (f-1)/2 keeps the size; a conv layer has (f*f*c_in + 1)*c_out parameters whatever the image size; the scratch engine's conv2d equals PyTorch's (1e-10)
#
# A convolution slides a small kernel over the image and takes a weighted sum at
# every position. The same few weights are reused everywhere (parameter
# sharing), and each output looks at a small window (sparse connections).

# %%
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepdojo.data.builtin import shapes_dataset
from deepdojo.lessons import begin, figure
from deepdojo.models.summary import conv_output_size, summary
from deepdojo.scratch import Tensor
from deepdojo.scratch import functional as SF

lesson = begin(17)

# %% [markdown]
# ## 1. An edge detector by hand
# A 6x6 image, bright on the left half and dark on the right, convolved with the
# vertical-edge kernel (three rows of [1, 0, −1]): the response is large only
# in the columns whose window straddles the edge.

# %%
image = torch.zeros(1, 1, 6, 6)
image[..., :3] = 10.0  # (1, 1, 6, 6): left half bright
vertical = torch.tensor([[1.0, 0.0, -1.0]] * 3).reshape(1, 1, 3, 3)
out = F.conv2d(image, vertical)  # (1, 1, 4, 4)
print(out[0, 0])
lesson.check("response in the two columns across the edge", out[0, 0, :, 1:3].min(), "==", 30, fmt=".0f")
lesson.check("response away from the edge", out[0, 0, :, [0, 3]].abs().max(), "==", 0, fmt=".0f")
horizontal = vertical.transpose(2, 3)
lesson.check("a horizontal-edge kernel's largest response here", F.conv2d(image, horizontal).abs().max(), "==", 0,
             fmt=".0f")

shape = torch.tensor(shapes_dataset(n=2, size=48, seed=3)["x"][:1]).float().mean(1, keepdim=True)  # (1, 1, 48, 48)
fig, axes = figure(1, 3, figsize=(9, 3))
for ax, (title, img) in zip(axes, [("image", shape), ("vertical edges", F.conv2d(shape, vertical, padding=1)),
                                   ("horizontal edges", F.conv2d(shape, horizontal, padding=1))]):
    ax.imshow(img[0, 0], cmap="gray")
    ax.set_title(title)
    ax.axis("off")
lesson.show(fig, "edges")

# %% [markdown]
# ## 2. Output size: n → ⌊(n + 2p − f)/s⌋ + 1
# Kernel f, padding p, stride s. We check the formula against what PyTorch
# actually produces, for random settings.

# %%
rng = np.random.default_rng(0)
agree = 0
for _ in range(200):
    n, f = int(rng.integers(5, 40)), int(rng.integers(1, 6))
    p, s = int(rng.integers(0, f)), int(rng.integers(1, 4))
    got = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), padding=p, stride=s).shape[-1]
    agree += got == conv_output_size(n, f, p, s) == (n + 2 * p - f) // s + 1
lesson.check("formula = PyTorch's output side, out of 200 random cases", agree, "==", 200, fmt=".0f")
same = [conv_output_size(32, f, (f - 1) // 2) for f in (1, 3, 5, 7)]
lesson.check("'same' padding (f-1)/2 keeps a 32-pixel side for f = 1, 3, 5, 7 (smallest output)", min(same), "==",
             32, fmt=".0f")
lesson.check("AlexNet's first layer: 224 with f=11, p=2, s=4 gives", conv_output_size(224, 11, 2, 4), "==", 55,
             fmt=".0f")

# %% [markdown]
# ## 3. Volumes and parameters
# On a c_in-channel input, each of c_out filters is f x f x c_in weights plus
# one bias: (f·f·c_in + 1)·c_out parameters, however large the image.

# %%
layer = nn.Conv2d(3, 10, kernel_size=3, padding=1)
for side in (32, 256):
    s = summary(layer, (3, side, side))
    print(f"   input 3x{side}x{side} -> output {s.rows[0].output_shape[1:]}, parameters {s.total_params}")
    lesson.check(f"parameters of Conv2d(3, 10, 3) on {side}x{side}", s.total_params, "==", (3 * 3 * 3 + 1) * 10,
                 fmt=".0f")
dense = nn.Linear(3 * 32 * 32, 10 * 32 * 32, device="meta")  # shapes only: no 126 MB allocated
lesson.check("a dense layer producing the same 10x32x32 volume: parameters / conv's",
             sum(p.numel() for p in dense.parameters()) / 280, ">", 100_000, fmt=",.0f")

# %% [markdown]
# ## 4. The same operation in the glass box
# `deepdojo.scratch` implements conv2d in NumPy, one kernel tap at a
# time, with its backward pass beside it; its output matches PyTorch.

# %%
x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
w = torch.randn(4, 3, 3, 3, dtype=torch.float64)
b = torch.randn(4, dtype=torch.float64)
theirs = F.conv2d(x, w, b, stride=2, padding=1)
ours = SF.conv2d(Tensor(x.numpy()), Tensor(w.numpy()), Tensor(b.numpy()), stride=2, padding=1).numpy()
lesson.check("scratch conv2d vs torch, largest difference", np.abs(ours - theirs.numpy()).max(), "<", 1e-10,
             fmt=".1e")

# %%
lesson.end()
