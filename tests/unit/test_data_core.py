"""TensorLoader, Data, splits, transforms, augmentation, built-ins, metrics vs scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, r2_score

from deepdojo.data import Data, TensorLoader, load_builtin
from deepdojo.data.augment import BatchAugment, make_augment
from deepdojo.data.splits import stratified_split
from deepdojo.errors import ConfigError, DataError
from deepdojo.metrics import make_metric


def test_loader_covers_every_sample_once_per_epoch_and_reshuffles():
    loader = TensorLoader(torch.arange(103), torch.arange(103), batch_size=10, shuffle=True, seed=1)
    orders = []
    for epoch in range(2):
        loader.set_epoch(epoch)
        seen = torch.cat([yb for _, yb in loader])
        assert sorted(seen.tolist()) == list(range(103))
        orders.append(seen)
    assert not torch.equal(orders[0], orders[1])
    loader.set_epoch(0)
    assert torch.equal(torch.cat([yb for _, yb in loader]), orders[0])  # same epoch, same order


def test_iter_from_resumes_mid_epoch_exactly():
    x = torch.randint(0, 255, (50, 3, 8, 8), dtype=torch.uint8)
    data = Data.from_tensors(x, torch.arange(50) % 2, batch_size=8, augment="default", seed=3)
    data.train.set_epoch(2)
    full = [xb for xb, _ in data.train]
    tail = [xb for xb, _ in data.train.iter_from(3)]
    assert all(torch.equal(a, b) for a, b in zip(full[3:], tail)) and len(tail) == len(full) - 3


def test_drop_last_and_len():
    assert len(TensorLoader(torch.zeros(10), torch.zeros(10), batch_size=4, drop_last=True)) == 2
    assert len(TensorLoader(torch.zeros(10), torch.zeros(10), batch_size=4)) == 3


def test_stratified_split_keeps_class_shares_and_is_seeded():
    y = np.repeat(np.arange(5), [100, 50, 20, 10, 2])
    tr, va = stratified_split(y, 0.2, seed=0)
    assert np.intersect1d(tr, va).size == 0 and len(tr) + len(va) == len(y)
    assert np.bincount(y[va]).tolist() == [20, 10, 4, 2, 1]
    assert np.array_equal(stratified_split(y, 0.2, seed=0)[1], va)
    assert not np.array_equal(stratified_split(y, 0.2, seed=1)[1], va)
    with pytest.raises(DataError):
        stratified_split(y, 1.5)


def test_image_normalization_uses_train_stats():
    data = load_builtin("digits", augment="none")
    xb = torch.cat([xb for xb, _ in data.train])
    assert abs(xb.mean().item()) < 1e-3 and abs(xb.std().item() - 1) < 1e-2
    assert data.info["transform"]["kind"] == "image" and len(data.info["split_hash"]) == 64


def test_augmentation_is_deterministic_per_generator_and_flips_exactly():
    x = torch.rand(6, 3, 16, 16)
    aug = BatchAugment(flip=True, max_rotate=0, max_zoom=1.0, max_shift=0, brightness=0, contrast=0)
    out = aug(x, torch.Generator().manual_seed(0))
    # pure mirroring through grid_sample reproduces torch.flip up to interpolation rounding
    for i in range(6):
        assert torch.allclose(out[i], x[i], atol=1e-5) or torch.allclose(out[i], x[i].flip(-1), atol=1e-5)
    heavy = make_augment("default")
    a = heavy(x, torch.Generator().manual_seed(5))
    b = heavy(x, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, x) and a.min() >= 0 and a.max() <= 1
    with pytest.raises(ConfigError):
        make_augment("wild")


def test_builtins():
    for name, classes in [("digits", 10), ("xor", 2), ("spirals", 2), ("moons", 2)]:
        d = load_builtin(name)
        assert d.num_classes == classes and d.task == "classification"
    with pytest.raises(DataError, match="unknown built-in dataset 'mnist'"):
        load_builtin("mnist")


def test_metrics_match_scikit_learn():
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        logits, target = torch.randn(200, 4, generator=g), torch.randint(0, 4, (200,), generator=g)
        target[:10] = 3  # a class may also never be predicted
        m = make_metric("accuracy")
        m.update(logits[:120], target[:120])
        m.update(logits[120:], target[120:])
        assert m.compute() == pytest.approx(accuracy_score(target, logits.argmax(1)))
        e = make_metric("error_rate")
        e.update(logits, target)
        assert e.compute() == pytest.approx(1 - accuracy_score(target, logits.argmax(1)))
        pred, true = torch.randn(100, 1, generator=g), torch.randn(100, generator=g)
        for name, fn in [("mae", mean_absolute_error), ("rmse", lambda a, b: mean_squared_error(a, b) ** 0.5), ("r2", r2_score)]:
            metric = make_metric(name)
            metric.update(pred[:60], true[:60])
            metric.update(pred[60:], true[60:])
            assert metric.compute() == pytest.approx(fn(true.numpy(), pred[:, 0].numpy()), rel=1e-5)
    top = make_metric("top2_accuracy")
    top.update(torch.tensor([[0.1, 0.5, 0.4], [0.9, 0.02, 0.08]]), torch.tensor([2, 1]))
    assert top.compute() == 0.5


def test_feature_normalization_matches_standard_scaler_on_constant_columns():
    """A column constant in train (a digit corner pixel in 200 samples) must not blow up later values a million-fold."""
    from sklearn.preprocessing import StandardScaler

    from deepdojo.data.transforms import feature_stats

    x_train = torch.tensor([[0.0, 1.0, 5.0], [0.0, 3.0, 5.0], [0.0, 2.0, 5.0]])  # columns 0 and 2 constant
    x_new = torch.tensor([[4.0, 2.0, 6.0]])
    mean, std = feature_stats(x_train)
    ours = (x_new - torch.tensor(mean)) / torch.tensor(std)
    scaler = StandardScaler().fit(x_train.numpy())
    theirs = scaler.transform(x_new.numpy())
    assert torch.allclose(ours[:, [0, 2]], torch.from_numpy(theirs[:, [0, 2]]).float())  # 4.0 and 1.0, not 4e6, 1e6
    assert abs(float(ours[0, 1])) < 1e-6  # the varying column is standardized (std ddof differs from sklearn's)
    assert feature_stats(torch.tensor([[1.0, 2.0]]))[1] == [1.0, 1.0]  # one row: no spread to divide by
