# %% [markdown]
# # Lesson 24: Localization and detection: sliding windows, their convolutional form, YOLO, IoU, NMS, anchors
#
# **Minutes:** 1
# **Asserts:** IoU of two 10x10 boxes overlapping by half a side is 1/3; NMS keeps one box per object (2 of 4 here); when there is no object the localization loss ignores the box outputs (zero gradient); a crop classifier slid over an image and its fully convolutional form give the same score maps (within 1e-5) and the convolutional pass is faster; the windows it keeps after NMS contain the planted squares; YOLO's bx, by, bw, bh encoding decodes back to the box (within 1e-3); k-means anchors fit the training boxes better (mean best IoU, by more than 0.05) than hand-picked ones of aspect ratios 1:2, 1:1, 2:1
#
# Classification says *what*; localization also says *where* (one object: a
# class and a box); detection finds *every* object. This lesson builds the
# pieces the curriculum uses: IoU, non-max suppression, the target vector
# with "don't care" entries, the sliding-window detector and why its
# convolutional implementation replaces it, and YOLO's grid and anchors.

# %%
import time

import torch
import torch.nn.functional as F
from matplotlib.patches import Rectangle

from deepdojo import vision
from deepdojo.data.scenes import shapes_scenes
from deepdojo.lessons import begin, figure
from deepdojo.metrics.detection import box_iou, nms
from deepdojo.tasks import get_task
from deepdojo.tasks.detection import kmeans_anchors, wh_iou

lesson = begin(24)
gen = torch.Generator().manual_seed(0)

# %% [markdown]
# ## 1. Intersection over union
# Two 10x10 boxes shifted by 5 pixels share a 5x10 strip: 50 / (100 + 100 - 50) = 1/3.

# %%
a, b = torch.tensor([[0.0, 0.0, 10.0, 10.0]]), torch.tensor([[5.0, 0.0, 15.0, 10.0]])
lesson.check("IoU of two 10x10 boxes overlapping by half a side", box_iou(a, b)[0, 0], "~=", 1 / 3, tol=1e-6, fmt=".4f")

# %% [markdown]
# ## 2. Non-max suppression
# A detector fires several times on one object. NMS keeps the most confident
# box and drops every box overlapping it by more than a threshold (0.5), then repeats.

# %%
boxes = torch.tensor([[10.0, 10, 50, 50], [12, 11, 52, 49], [9, 12, 48, 51], [70, 70, 90, 90]])
scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
kept = nms(boxes, scores, 0.5)
print(f"   kept boxes {kept.tolist()} of 4")
lesson.check("boxes NMS keeps (two objects, three boxes on the first)", len(kept), "==", 2, fmt=".0f")

# %% [markdown]
# ## 3. The localization target: y = [pc, bx, by, bh, bw, c1, c2, c3]
# With no object (pc = 0) the rest is "don't care": the loss counts only pc,
# so whatever the network says about the box there costs nothing.

# %%
loc = get_task("localization", image_size=[64, 64])
target = torch.tensor([[1.0, 10, 12, 40, 44], [-1, -1, -1, -1, -1]])  # a square at (10, 12)-(40, 44); no object
out = torch.randn(2, 8, generator=gen, requires_grad=True)
loc.loss(out, target).backward()
print(f"   gradient of the no-object row: {out.grad[1].tolist()}")
lesson.check("largest gradient on the box and class outputs of the no-object image", out.grad[1, 1:].abs().max(),
             "==", 0.0, fmt=".1f")

# %% [markdown]
# ## 4. A sliding-window detector, and the same detector as one convolution
# Train a classifier of 14x14 crops: "a bright square" or "noise". Slide it
# over a larger image at stride 2 and each window gets a score. Cutting out
# every crop repeats the work where crops overlap; turning the fully
# connected layers into convolutions (the first a 5x5 over the last feature
# map, the others 1x1: same weights) computes every window in one pass.


# %%
def crops(n: int):
    """(n, 1, 14, 14) noise crops, half with an 8x8 bright square somewhere inside."""
    x = torch.rand(n, 1, 14, 14, generator=gen) * 0.5
    y = torch.arange(n) % 2
    for i in range(0, n, 2):
        r, c = torch.randint(0, 7, (2,), generator=gen).tolist()
        x[i + 1, 0, r:r + 8, c:c + 8] = 1.0
    return x, y


torch.manual_seed(0)
clf = vision.WindowCNN(num_classes=2, in_channels=1, window=14, width=16, hidden=64)
opt = torch.optim.Adam(clf.parameters(), lr=3e-3)
for step in range(lesson.pick(150, 60)):
    x, y = crops(64)
    loss = F.cross_entropy(clf(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
x, y = crops(400)
crop_acc = float((clf.eval()(x).argmax(1) == y).float().mean())
lesson.check("crop classifier accuracy on new crops", crop_acc, ">=", 0.95, fmt=".3f")

scene = torch.rand(1, 1, 96, 96, generator=gen) * 0.5
planted = [(10, 14), (50, 60), (70, 20)]  # top-left corners (x, y) of three squares
for cx, cy in planted:
    scene[0, 0, cy:cy + 8, cx:cx + 8] = 1.0
images = scene.repeat(8, 1, 1, 1)  # a batch, so the timing is not all overhead
t0 = time.perf_counter()
by_crops = vision.sliding_window(clf, images, method="crops")
t_crops = time.perf_counter() - t0
t0 = time.perf_counter()
by_conv = vision.sliding_window(clf, images)
t_conv = time.perf_counter() - t0
print(f"   {by_conv.shape[-2]}x{by_conv.shape[-1]} windows per image; crops {t_crops * 1e3:.0f} ms, "
      f"one convolutional pass {t_conv * 1e3:.0f} ms")
lesson.check("largest difference between the two score maps", (by_crops - by_conv).abs().max(), "<=", 1e-5, fmt=".1e")
lesson.check("speed-up of the convolutional pass (time of crops / time of one pass)", t_crops / t_conv, ">", 1.0)

found = vision.window_detections(by_conv[:1], window=14, stride=2, threshold=0.9, iou_threshold=0.1)[0]
inside = sum(any(bx[0] <= cx and bx[1] <= cy and bx[2] >= cx + 8 and bx[3] >= cy + 8 for bx in found["boxes"].tolist())
             for cx, cy in planted)
print(f"   {len(found['boxes'])} windows kept after NMS")
lesson.check("planted squares inside a kept window", inside, "==", 3, fmt=".0f")

fig, axes = figure(1, 2, figsize=(8, 4))
axes[0].imshow(scene[0, 0], cmap="gray")
for x0, y0, x1, y1 in found["boxes"].tolist():
    axes[0].add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color="tab:orange", lw=2))
axes[0].set_title("windows kept after NMS", fontsize=9)
axes[1].imshow(by_conv[0, 1], cmap="viridis")
axes[1].set_title("P(square) per window (one conv pass)", fontsize=9)
lesson.show(fig, "sliding_window")

# %% [markdown]
# ## 5. YOLO: a grid, and boxes relative to their cell and anchor
# The image is cut into cells (stride 8 here). A box belongs to the cell
# holding its centre: bx = (cell + sigmoid(tx)) x stride, and its size is an
# anchor's scaled by exp(tw). The encoding is invertible.

# %%
det = get_task("detection", anchors=[[12.0, 12.0], [30.0, 20.0]], image_size=[64, 64])
box = torch.tensor([21.0, 9.0, 49.0, 31.0])  # x0, y0, x1, y1: centre (35, 20), 28 x 22
cx, cy, w, h = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1]
gx, gy = int(cx // 8), int(cy // 8)
best = int(wh_iou(torch.tensor([[w, h]]), torch.tensor(det.anchors)).argmax())  # the anchor whose shape fits
aw, ah = det.anchors[best]
raw = torch.full((1, 2, 5 + 3, 8, 8), -12.0)  # (B, anchors, 5 + classes, G, G)
fx, fy = cx / 8 - gx, cy / 8 - gy
raw[0, best, :, gy, gx] = torch.tensor([torch.logit(fx), torch.logit(fy), torch.log(w / aw), torch.log(h / ah), 12.0,
                                        -12.0, 12.0, -12.0])  # ... objectness, class 1
decoded = det.decode(raw.flatten(1, 2))[0, 0]
print(f"   cell ({gx}, {gy}), anchor {best} {det.anchors[best]}: decoded {decoded[:4].round(decimals=3).tolist()}")
lesson.check("largest error of the decoded box", (decoded[:4] - box).abs().max(), "<=", 1e-3, fmt=".1e")

# %% [markdown]
# ## 6. Anchors from the data
# YOLOv2 picks anchor shapes by k-means on the training boxes' widths and
# heights, with 1 - IoU as the distance. They fit the boxes better than
# hand-picked ones (Faster R-CNN's aspect ratios 1:2, 1:1, 2:1 at the median size).

# %%
scenes = shapes_scenes(n=lesson.pick(300, 100), seed=0)
rows = torch.from_numpy(scenes["boxes"]).reshape(-1, 5)
rows = rows[rows[:, 0] >= 0]
wh = (rows[:, 3:5] - rows[:, 1:3]).double()
learned = torch.from_numpy(kmeans_anchors(wh.numpy(), 3))
side = float(wh.prod(1).median().sqrt())
ratios = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)  # width / height
picked = torch.stack([side * ratios.sqrt(), side / ratios.sqrt()], 1)  # (3, 2): the same area, three shapes
fit_learned = float(wh_iou(wh, learned).max(1).values.mean())
fit_picked = float(wh_iou(wh, picked).max(1).values.mean())
print(f"   k-means anchors {learned.round().tolist()}; hand-picked {picked.round().tolist()}")
lesson.check("mean best IoU of the training boxes: k-means anchors vs hand-picked ones", fit_learned, ">",
             fit_picked + 0.05, fmt=".3f")

# %%
lesson.end()
