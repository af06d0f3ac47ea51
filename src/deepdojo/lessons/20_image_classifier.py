# %% [markdown]
# # Lesson 20: An image classifier from a folder, and what it gets wrong
#
# **Minutes:** 1
# **Asserts:** a folder of 1,797 PNGs in 10 class subfolders passes the data check with 0 errors (it warns about near-duplicates across the split) and, adding one corrupt file, the check names it; a CNN trained from the folder beats the logistic-regression baseline on dev accuracy (>= 0.95); its top losses are all misclassified or nearly so, and Grad-CAM gives a heat map the size of the image
#
# The three lines from the README, on your own images: a folder with one
# subfolder per class. We make such a folder from scikit-learn's digits, check
# it, train, and then look at the mistakes, which is where you learn what to
# do next.

# %%
import shutil
import tempfile
from pathlib import Path

import torch

from deepdojo import vision
from deepdojo.data import check_source, export_image_folder
from deepdojo.evaluate import Interpretation, compute_baselines
from deepdojo.evaluate.visualize import grad_cam
from deepdojo.lessons import begin, figure

lesson = begin(20)
work = Path(tempfile.mkdtemp(prefix="lesson20-"))
folder = export_image_folder("digits", work / "digits")  # digits/<class>/<i>.png
pngs = list(folder.rglob("*.png"))
print(f"{len(pngs)} images in {len(list(folder.iterdir()))} class folders under {folder}")

# %% [markdown]
# ## 1. Check the data before training
# Every file is opened and decoded once; unreadable files, wrong modes and
# empty classes are errors, reported by path before any training starts. The
# check also warns about near-copies across the train/dev split: scikit-learn's
# digits has some, which makes dev accuracy a little optimistic
# (`dedupe=True` drops them from dev).

# %%
report = check_source(folder)
print(f"   {len(report.warnings)} warnings, e.g. {report.warnings[0].where}: {report.warnings[0].reason}"
      if report.warnings else "   no warnings")
lesson.check("errors in the exported folder", len(report.errors), "==", 0, fmt=".0f")
(folder / "3" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
report = check_source(folder)
print("   " + "\n   ".join(f"{p.where}: {p.reason}" for p in report.errors))
lesson.check("errors after adding one corrupt file", len(report.errors), "==", 1, fmt=".0f")
lesson.check("the error names the file (1 = yes)", float("broken.png" in report.errors[0].where), "==", 1, fmt=".0f")
(folder / "3" / "broken.png").unlink()

# %% [markdown]
# ## 2. Three lines: data, model, fit

# %%
learn = vision.classifier(folder, arch="cnn", out=None, seed=0, progress=False)
learn.fit_one_cycle(lesson.pick(5, 3), lr_max=3e-3)
acc = learn.history[-1]["accuracy"]
linear = compute_baselines(learn.data)["baselines"]["linear"]["accuracy"]
print(f"   CNN dev accuracy {acc:.3f}; logistic regression on the pixels {linear:.3f}")
lesson.check("CNN dev accuracy", acc, ">=", 0.95, fmt=".3f")
lesson.check("CNN minus the linear baseline", acc - linear, ">", 0, fmt=".3f")

# %% [markdown]
# ## 3. Interpret: top losses, confusions, Grad-CAM
# The examples with the highest loss are the model's most confident mistakes:
# often a hard or mislabeled image. Grad-CAM shows which pixels drove a
# prediction.

# %%
it = Interpretation.from_learner(learn, "valid")
top = it.top_losses(9)
for row in top[:5]:
    print(f"   {row['id']}: actual {row['actual']}, predicted {row['predicted']} ({row['probability']:.2f})")
print("   most confused:", it.most_confused()[:3])
lesson.check("top-9 losses that are misclassified or below 0.5 on the true class",
             sum(r["actual"] != r["predicted"] or r["p_actual"] < 0.5 for r in top), "==", 9, fmt=".0f")
xv = torch.cat([xb for xb, _ in learn.data.valid])  # (N, 1, 8, 8) preprocessed
heat = grad_cam(learn.model, xv[top[0]["index"]:top[0]["index"] + 1])
lesson.check("Grad-CAM heat map pixels (8 x 8)", heat.numel(), "==", 64, fmt=".0f")

fig, axes = figure(2, 5, figsize=(10, 4.4))
raw = it.inputs if it.inputs is not None else xv
for k, row in enumerate(top[:5]):
    i = row["index"]
    axes[0][k].imshow(raw[i, 0].float(), cmap="gray")
    axes[0][k].set_title(f"{row['actual']} -> {row['predicted']}", fontsize=9)
    axes[1][k].imshow(raw[i, 0].float(), cmap="gray")
    axes[1][k].imshow(grad_cam(learn.model, xv[i:i + 1]), cmap="jet", alpha=0.5)
    for ax in (axes[0][k], axes[1][k]):
        ax.axis("off")
lesson.show(fig, "top_losses_gradcam")
shutil.rmtree(work)

# %%
lesson.end()
