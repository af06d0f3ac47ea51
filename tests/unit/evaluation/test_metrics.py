"""Every metric against an oracle (scikit-learn, properscoring) on random inputs, fed in several batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from deepdojo.errors import ConfigError
from deepdojo.metrics import make_metric, metric_names
from deepdojo.metrics.classification import ExpectedCalibrationError, WeightedError
from deepdojo.metrics.dense import CRPS


def stream(metric, pred, target, batch=7):
    """Feed ``metric`` in uneven batches, the way validation does."""
    metric.reset()
    for i in range(0, len(target), batch):
        metric.update(pred[i : i + batch], target[i : i + batch])
    return metric.compute()


def random_classification(seed, n=97, k=5, never_predicted=None, absent=None):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g) * 2
    target = torch.randint(0, k, (n,), generator=g)
    if never_predicted is not None:
        logits[:, never_predicted] = -100.0
    if absent is not None:
        target[target == absent] = (absent + 1) % k
        logits[:, absent] = -100.0
    return logits, target


CASES = [dict(), dict(never_predicted=2), dict(absent=3), dict(k=2), dict(n=1)]


@pytest.mark.parametrize("seed,case", [(s, c) for s in range(2) for c in CASES])
@pytest.mark.parametrize("measure", ["precision", "recall", "f1"])
def test_precision_recall_f1_match_sklearn(seed, case, measure):
    logits, target = random_classification(seed, **case)
    y, p = target.numpy(), logits.argmax(-1).numpy()
    fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[measure]
    for average in ["macro", "micro", "weighted", "per_class"]:
        got = stream(make_metric(f"{measure}_{average}"), logits, target)
        if average == "per_class":
            want = fn(y, p, average=None, labels=range(logits.shape[1]), zero_division=0)
        else:
            want = fn(y, p, average=average, zero_division=0)
        np.testing.assert_allclose(got, want, atol=1e-12, err_msg=f"{measure}_{average}")


@pytest.mark.parametrize("case", CASES)
def test_accuracy_error_topk_confusion_match_sklearn(case):
    logits, target = random_classification(1, **case)
    y, p = target.numpy(), logits.argmax(-1).numpy()
    k = logits.shape[1]
    assert stream(make_metric("accuracy"), logits, target) == pytest.approx(skm.accuracy_score(y, p))
    assert stream(make_metric("error_rate"), logits, target) == pytest.approx(skm.zero_one_loss(y, p))
    assert stream(make_metric("top3_accuracy"), logits, target) == pytest.approx(
        skm.top_k_accuracy_score(y, logits.numpy(), k=min(3, k), labels=range(k)) if k > 2 else 1.0)
    cm = stream(make_metric("confusion_matrix"), logits, target)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, p, labels=range(k)))
    per_class = stream(make_metric("accuracy_per_class"), logits, target)
    want = skm.recall_score(y, p, average=None, labels=range(k), zero_division=np.nan)
    np.testing.assert_allclose(per_class, want)


def test_weighted_error_matches_sklearn_sample_weight():
    logits, target = random_classification(4, n=200, k=3)
    class_w = np.array([1.0, 10.0, 0.5])
    example_w = torch.rand(200, generator=torch.Generator().manual_seed(0)).double()
    m = WeightedError(class_weights=class_w)
    for i in range(0, 200, 33):
        m.update(logits[i : i + 33], target[i : i + 33], weight=example_w[i : i + 33])
    w = class_w[target.numpy()] * example_w.numpy()
    assert m.compute() == pytest.approx(skm.zero_one_loss(target.numpy(), logits.argmax(-1).numpy(), sample_weight=w))
    assert stream(make_metric("weighted_error"), logits, target) == pytest.approx(
        skm.zero_one_loss(target.numpy(), logits.argmax(-1).numpy()))


@pytest.mark.parametrize("seed", range(4))
def test_ece_matches_sklearn_calibration_curve(seed):
    from sklearn.calibration import calibration_curve

    logits, target = random_classification(seed, n=500, k=4)
    probs = logits.softmax(-1)
    conf, correct = probs.max(-1).values.numpy(), (probs.argmax(-1) == target).numpy().astype(int)
    frac_pos, mean_conf = calibration_curve(correct, conf, n_bins=10, strategy="uniform")
    counts = np.histogram(conf, bins=np.linspace(0, 1, 11))[0]
    want = float(np.sum(counts[counts > 0] / len(conf) * np.abs(frac_pos - mean_conf)))
    assert stream(ExpectedCalibrationError(n_bins=10), logits, target) == pytest.approx(want, abs=1e-9)
    assert stream(ExpectedCalibrationError(n_bins=10, from_logits=False), probs, target) == pytest.approx(want, abs=1e-6)


def test_ece_is_zero_when_confidence_equals_accuracy():
    # confidence 1.0 and always right: perfectly calibrated
    target = torch.tensor([0, 1, 2, 1])
    assert stream(make_metric("ece"), torch.nn.functional.one_hot(target, 3).float() * 100, target) == pytest.approx(0.0)


@pytest.mark.parametrize("seed", range(3))
def test_regression_metrics_match_sklearn(seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randn(83, generator=g) * 3 + 1
    pred = (y + torch.randn(83, generator=g)).unsqueeze(1)  # (B, 1): the shape a regression head gives
    yn, pn = y.numpy(), pred[:, 0].numpy()
    assert stream(make_metric("mae"), pred, y) == pytest.approx(skm.mean_absolute_error(yn, pn), rel=1e-5)
    assert stream(make_metric("rmse"), pred, y) == pytest.approx(math.sqrt(skm.mean_squared_error(yn, pn)), rel=1e-5)
    assert stream(make_metric("r2"), pred, y) == pytest.approx(skm.r2_score(yn, pn), rel=1e-4)


def random_masks(seed, k=3, empty_class=None, b=4, hw=6):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, k, hw, hw, generator=g)
    target = torch.randint(0, k, (b, hw, hw), generator=g)
    if empty_class is not None:  # the class is in no mask and never predicted
        target[target == empty_class] = 0
        logits[:, empty_class] = -100.0
    return logits, target


@pytest.mark.parametrize("empty_class", [None, 2])
@pytest.mark.parametrize("seed", range(3))
def test_iou_dice_match_sklearn(seed, empty_class):
    logits, target = random_masks(seed, empty_class=empty_class)
    y, p = target.reshape(-1).numpy(), logits.argmax(1).reshape(-1).numpy()
    present = sorted(set(y) | set(p))
    iou = skm.jaccard_score(y, p, labels=present, average=None)
    dice = skm.f1_score(y, p, labels=present, average=None)
    assert stream(make_metric("iou"), logits, target, batch=3) == pytest.approx(iou.mean())
    assert stream(make_metric("dice"), logits, target, batch=3) == pytest.approx(dice.mean())
    per = stream(make_metric("iou_per_class"), logits, target, batch=3)
    np.testing.assert_allclose([per[c] for c in present], iou)
    if empty_class is not None:
        assert math.isnan(per[empty_class])


def test_binary_iou_dice_with_empty_masks():
    logits = torch.full((2, 1, 4, 4), -3.0)  # predicts nothing
    target = torch.zeros(2, 4, 4, dtype=torch.long)  # nothing there
    assert stream(make_metric("iou"), logits, target) == 1.0  # sklearn jaccard_score(zero_division=1)
    target[0, 0, 0] = 1  # one missed foreground pixel
    y, p = target.reshape(-1).numpy(), np.zeros(32, dtype=int)
    assert stream(make_metric("iou"), logits, target) == skm.jaccard_score(y, p, zero_division=1.0) == 0.0
    logits[1, 0, :2] = 3.0
    y, p = target.reshape(-1).numpy(), (logits[:, 0] > 0).reshape(-1).numpy().astype(int)
    assert stream(make_metric("dice"), logits, target) == pytest.approx(skm.f1_score(y, p))
    assert stream(make_metric("iou"), logits, target) == pytest.approx(skm.jaccard_score(y, p))


@pytest.mark.parametrize("seed", range(3))
def test_multilabel_match_sklearn(seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(60, 5, generator=g)
    target = (torch.rand(60, 5, generator=g) < 0.3).long()
    target[:, 4] = 0  # a label never present
    logits[:, 4] = -1.0  # and never predicted: F1 0 as in scikit-learn
    p = (logits > 0).numpy().astype(int)
    assert stream(make_metric("multilabel_f1"), logits, target) == pytest.approx(
        skm.f1_score(target.numpy(), p, average="macro", zero_division=0))
    np.testing.assert_allclose(stream(make_metric("multilabel_f1_per_label"), logits, target),
                               skm.f1_score(target.numpy(), p, average=None, zero_division=0))
    assert stream(make_metric("hamming_loss"), logits, target) == pytest.approx(skm.hamming_loss(target.numpy(), p))


def test_crps_matches_properscoring():
    ps = pytest.importorskip("properscoring", reason="properscoring is the CRPS oracle (test extra)")
    g = torch.Generator().manual_seed(0)
    y = torch.randn(50, generator=g)
    mu, log_sigma = torch.randn(50, generator=g), torch.randn(50, generator=g) * 0.5
    got = stream(CRPS("gaussian"), torch.stack([mu, log_sigma], 1), y)
    want = ps.crps_gaussian(y.numpy(), mu.numpy(), np.exp(log_sigma.numpy())).mean()
    assert got == pytest.approx(want, rel=1e-6)
    samples = torch.randn(50, 31, generator=g) + mu[:, None]
    got = stream(make_metric("crps_ensemble"), samples, y)
    assert got == pytest.approx(ps.crps_ensemble(y.numpy(), samples.numpy()).mean(), rel=1e-6)


def test_update_never_reads_the_host():
    """Streaming contract: update() launches device ops only (no .item()/.tolist()/float())."""
    logits, target = random_classification(0)
    for name in ["accuracy", "f1_macro", "ece", "weighted_error", "confusion_matrix", "top3_accuracy"]:
        m = make_metric(name)
        with _forbid_host_reads():
            m.update(logits, target)
        m.compute()


class _forbid_host_reads:
    def __enter__(self):
        self.saved = {n: getattr(torch.Tensor, n) for n in ("item", "tolist", "__float__", "numpy")}

        def boom(*a, **k):
            raise AssertionError("host read inside update()")

        for n in self.saved:
            setattr(torch.Tensor, n, boom)

    def __exit__(self, *exc):
        for n, f in self.saved.items():
            setattr(torch.Tensor, n, f)


def test_every_name_builds_and_unknown_names_suggest():
    for name in metric_names():
        assert make_metric(name).name == name
    with pytest.raises(ConfigError, match="did you mean 'f1_macro'"):
        make_metric("f1_marco")
