# %% [markdown]
# # Lesson 27: Neural style transfer: Gram matrices, and optimizing the image instead of the network
#
# **Minutes:** 1
# **Asserts:** the Gram matrix equals F Fᵀ/(C·H·W) computed entry by entry (1e-10) and does not change when the feature map's positions are shuffled, while the content loss does; starting from the content image, L-BFGS lowers the style loss 100x+ while the content loss stays under 5% of the style loss removed; the result's Gram matrices move toward the style's (2x+ closer) also under a second random network that played no part; with the same number of loss evaluations L-BFGS ends lower than Adam
#
# Gatys et al. (2016) paint one image in the manner of another with a fixed
# CNN and no training at all: the *pixels* are the parameters. The content
# loss compares feature maps at one deep layer (what is where). The style
# loss compares Gram matrices, the channel-by-channel correlations of the
# features averaged over all positions: they record which features occur
# together — texture, colour, stroke — and forget where. A total-variation
# term keeps the image smooth. Without pretrained weights we read features
# from a VGG-16 with random weights: random multi-scale filters capture
# texture statistics well, though they recognise no objects.

# %%
import torch

import deepdojo
from deepdojo.lessons import begin, figure
from deepdojo.models.style_features import FeatureTap, random_vgg, vgg_layers
from deepdojo.tasks.style_transfer import StyleObjective, content_loss, gram_matrix, optimize_image

lesson = begin(27)
torch.set_num_threads(1)  # small images: one thread avoids contention and is faster here
torch.manual_seed(0)

# %% [markdown]
# ## 1. The Gram matrix keeps *which* features, not *where*
# G[i, j] = Σ over positions of F[i]·F[j], divided by C·H·W. Shuffling the
# positions of a feature map leaves every such sum unchanged.

# %%
f = torch.randn(1, 4, 5, 6, dtype=torch.float64)  # (B, C, H, W)
direct = torch.tensor([[sum(float(f[0, i, y, x] * f[0, j, y, x]) for y in range(5) for x in range(6)) / (4 * 5 * 6)
                        for j in range(4)] for i in range(4)], dtype=torch.float64)
lesson.check("Gram matrix vs entry-by-entry sums, largest gap", (gram_matrix(f)[0] - direct).abs().max(), "<", 1e-10,
             fmt=".1e")
perm = torch.randperm(30)
shuffled = f.reshape(1, 4, 30)[..., perm].reshape(1, 4, 5, 6)
lesson.check("Gram change when positions are shuffled", (gram_matrix(shuffled) - gram_matrix(f)).abs().max(), "<",
             1e-12, fmt=".1e")
lesson.check("content loss when positions are shuffled", content_loss(shuffled, f), ">", 0.5)

# %% [markdown]
# ## 2. Style transfer: a colour ramp in the manner of stripes
# Content: a smooth ramp with a disc. Style: diagonal stripes and noise.

# %%
size = lesson.pick(64, 48)
yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
disc = (((xx - 0.5) ** 2 + (yy - 0.5) ** 2) < 0.08).float()
content = torch.stack([xx, yy * (1 - disc) + disc, 1 - xx])[None]  # (1, 3, H, W) in [0, 1]
style = torch.stack([(torch.sin(xx * 60 + yy * 20) > 0).float(), (torch.sin(yy * 45) > 0).float(),
                     torch.rand(size, size)])[None]


def objective_for(seed):
    net = random_vgg(seed=seed, width_mult=0.25)  # a quarter-width VGG-16 keeps the lesson fast on a CPU
    content_layer, style_layers = vgg_layers(net)  # relu4_2; relu1_1 .. relu5_1
    return StyleObjective(FeatureTap(net, [content_layer, *style_layers]), content_layer, style_layers, content, style)


objective, held_out = objective_for(0), objective_for(1)
steps = lesson.pick(60, 40)
result, history = optimize_image(objective, content, steps=steps, optimizer="lbfgs")
first, last = history[0], history[-1]
print(f"   style loss {first['style']:.3g} -> {last['style']:.3g}; content loss {first['content']:.3g} -> "
      f"{last['content']:.3g} ({len(history)} loss evaluations)")
lesson.check("style loss: start / end", first["style"] / last["style"], ">", 100, fmt=".0f")
lesson.check("content loss at the end, as a share of the style loss removed",
             last["content"] / (first["style"] - last["style"]), "<", 0.05, fmt=".4f")


def gram_gap(obj, img):
    """Relative squared distance of img's Gram matrices from the style image's, summed over the style layers."""
    grams = obj.grams(img)
    return sum(float((grams[k] - obj.style_grams[k]).pow(2).sum() / obj.style_grams[k].pow(2).sum()) for k in grams)


for name, obj in (("the network optimized against", objective), ("a second random network", held_out)):
    before, after = gram_gap(obj, content), gram_gap(obj, result)
    lesson.check(f"Gram distance to the style under {name}: before / after", before / after, ">", 2, fmt=".1f")

fig, axes = figure(1, 3, figsize=(9, 3.2))
for ax, img, title in zip(axes, (content, style, result), ("content", "style", "result (random VGG features)")):
    ax.imshow(img[0].permute(1, 2, 0).numpy())
    ax.set_title(title)
    ax.axis("off")
lesson.show(fig, "style_transfer")

# %% [markdown]
# ## 3. L-BFGS or Adam?
# Gatys used L-BFGS: the objective is smooth and deterministic (one image, no
# mini-batches), exactly where a quasi-Newton method's curvature estimate pays.

# %%
_, adam_history = optimize_image(objective, content, steps=len(history), optimizer="adam")
print(f"   after {len(history)} loss evaluations: L-BFGS {last['total']:.3g}, Adam {adam_history[-1]['total']:.3g}")
lesson.check("final total loss, Adam / L-BFGS (same evaluations)", adam_history[-1]["total"] / last["total"], ">", 1,
             fmt=".1f")
fig, ax = figure(figsize=(6, 3.5))
for name, h in (("L-BFGS", history), ("Adam, lr 0.02", adam_history)):
    ax.plot([r["total"] for r in h], label=name)
ax.set_yscale("log")
ax.set_xlabel("loss evaluations")
ax.set_ylabel("weighted total loss")
ax.legend()
lesson.show(fig, "lbfgs_vs_adam")

# %% [markdown]
# ## 4. The same from files, in one call
# `deepdojo.stylize` (CLI: `deepdojo stylize content.jpg style.jpg --out result.png`)
# decodes the images, picks the features (cached ImageNet VGG-16 weights if
# you have them, else this random fallback, and says so), and writes the
# result, the side-by-side comparison and the loss curves.

# %%
from PIL import Image  # noqa: E402

lesson.out.mkdir(parents=True, exist_ok=True)
for name, img in (("content", content), ("style", style)):
    Image.fromarray((img[0].permute(1, 2, 0).numpy() * 255).astype("uint8")).save(lesson.out / f"{name}.png")
made = deepdojo.stylize(lesson.out / "content.png", lesson.out / "style.png", out=lesson.out / "result.png",
                        features="random-vgg16", width_mult=0.25, size=size, steps=lesson.pick(20, 5))
print(f"   {made.note}")
lesson.check("files written beside the result", len(made.files), "==", 4, fmt=".0f")

# %%
lesson.end()
