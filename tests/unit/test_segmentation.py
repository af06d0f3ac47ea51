"""Segmentation: Dice + CE loss against direct formulas, U-Net shapes and a tiny fit, the mask-folder reader's checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from deepdojo.data.mask_folder import load_mask_folder
from deepdojo.data.scenes import load_scenes
from deepdojo.errors import DataError
from deepdojo.metrics.dense import Dice
from deepdojo.models import create_model
from deepdojo.tasks import get_task
from deepdojo.tasks.segmentation import soft_dice_loss


def test_soft_dice_matches_a_per_class_loop():
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(3, 4, 6, 5, generator=g), torch.randint(0, 3, (3, 6, 5), generator=g)  # class 3 absent
    probs = logits.softmax(1)
    dices = []
    for k in range(3):
        t = (target == k).float()
        dices.append(2 * (probs[:, k] * t).sum() / (probs[:, k].sum() + t.sum()))
    assert torch.allclose(soft_dice_loss(logits, target), 1 - torch.stack(dices).mean(), atol=1e-6)
    task = get_task("segmentation")
    assert torch.allclose(task.loss(logits, target), F.cross_entropy(logits, target) + 1 - torch.stack(dices).mean(),
                          atol=1e-6)
    per = task.per_example_loss(logits, target)
    assert torch.allclose(per, torch.stack([task.loss(logits[i:i + 1], target[i:i + 1]) for i in range(3)]), atol=1e-6)


@pytest.mark.parametrize("size", [(32, 32), (30, 27)])
def test_unet_keeps_the_resolution(size):
    m = create_model("unet", 4, in_channels=3, width=4, depth=2)
    assert m(torch.zeros(2, 3, *size)).shape == (2, 4, *size)


def test_tiny_unet_learns_shapes_scenes():
    data = load_scenes("shapes_segmentation", n=24, seed=0, batch_size=8)
    assert data.task == "segmentation" and data.classes[0] == "background" and data.train.y.shape[1:] == (64, 64)
    task = get_task("segmentation")
    torch.manual_seed(0)
    model = create_model("unet", 4, in_channels=3, width=4, depth=2)
    xb, yb = next(iter(data.valid))
    xb, yb = xb[:4], yb[:4]
    dice = Dice()
    dice.update(model(xb), yb)
    before = dice.compute()
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(30):
        loss = task.loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    dice.reset()
    with torch.no_grad():  # batch statistics, as in training: 30 steps are too few for the running averages
        dice.update(model(xb), yb)
    assert dice.compute() > before + 0.3, (before, dice.compute())


def _folder(tmp_path, n=5, size=(8, 8), classes="background\nblob\n"):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    (tmp_path / "classes.txt").write_text(classes)
    for i in range(n):
        Image.fromarray(np.full((*size, 3), 30 * i, np.uint8)).save(tmp_path / "images" / f"{i}.png")
        m = Image.fromarray((np.arange(size[0] * size[1]).reshape(size) % 2).astype(np.uint8), mode="L").convert("P")
        m.save(tmp_path / "masks" / f"{i}.png")
    return tmp_path


def test_mask_folder_reads_palette_masks(tmp_path):
    root = _folder(tmp_path)
    data = load_mask_folder(root, valid_pct=0.2)
    assert data.classes == ["background", "blob"] and data.train.y.dtype == torch.int64
    assert set(data.train.y.unique().tolist()) == {0, 1}
    assert data.info["sizes"] == {"train": 4, "valid": 1}


def test_mask_folder_names_every_bad_file(tmp_path):
    root = _folder(tmp_path)
    (root / "masks" / "0.png").unlink()  # image without a mask
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "masks" / "orphan.png")  # mask without an image
    Image.fromarray(np.zeros((4, 8), np.uint8)).save(root / "masks" / "1.png")  # wrong size
    Image.fromarray(np.full((8, 8), 7, np.uint8)).save(root / "masks" / "2.png")  # no class 7
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "masks" / "3.png")  # RGB
    with pytest.raises(DataError) as err:
        load_mask_folder(root)
    msg = str(err.value)
    assert "5 bad file(s)" in msg
    for part in ("0.png: no mask", "orphan.png: mask without an image", "1.png: mask is 8x4 but its image 1.png is 8x8",
                 "2.png: value(s) [7] have no class", "3.png: RGB mask"):
        assert part in msg, part


def test_mask_folder_needs_classes(tmp_path):
    root = _folder(tmp_path)
    (root / "classes.txt").unlink()
    with pytest.raises(DataError, match="no classes.txt"):
        load_mask_folder(root)


def test_load_data_routes_images_and_masks_folders_and_builtins(tmp_path):
    from deepdojo.data.builtin import builtin_names
    from deepdojo.vision import load_data

    assert load_data(_folder(tmp_path)).task == "segmentation"
    assert {"shapes_detection", "shapes_segmentation"} <= set(builtin_names())


@pytest.mark.parametrize("name", ["unet", "yolo"])
def test_dense_models_split_into_layer_groups_and_round_trip(name, tmp_path):
    """What the contract tests check of classifiers, for the models whose outputs are maps, not vectors."""
    from deepdojo.models.examples import example_batch, example_model
    from deepdojo.train.checkpoint import load_weights, save_weights
    from deepdojo.train.transfer import layer_groups

    model = example_model(name, 3)
    groups = layer_groups(model)
    ids = [id(p) for g in groups for p in g]
    assert len(groups) >= 2 and len(ids) == len(set(ids)) == len(list(model.parameters()))
    x = example_batch(name, batch=2)
    out = model(x)
    out.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    other = example_model(name, 3, seed=1)
    load_weights(other, save_weights(model, tmp_path / name))
    assert torch.equal(model.eval()(x), other.eval()(x))
