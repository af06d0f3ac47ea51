"""ROC AUC, average precision and the plain metric names, against scikit-learn as the oracle (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score

from deepdojo.metrics import make_metric


def _stream(metric, logits: torch.Tensor, y: torch.Tensor, batch: int = 7):
    metric.reset()
    for i in range(0, len(y), batch):
        metric.update(logits[i : i + batch], y[i : i + batch])
    return metric.compute()


def _data(k: int, n: int = 200, seed: int = 0, ties: bool = False):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    logits = torch.randn(n, k, generator=g) + 1.5 * torch.nn.functional.one_hot(y, k)
    if ties:  # coarse scores: many exact ties, the case a naive rank would get wrong
        logits = (logits * 2).round() / 2
    return logits, y


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", [2, 4])
def test_auc_and_ap_match_scikit_learn(k, ties):
    logits, y = _data(k, ties=ties)
    probs = logits.softmax(-1).double().numpy()
    yn = y.numpy()
    onehot = np.eye(k)[yn]
    if k == 2:
        assert _stream(make_metric("auc_binary"), logits, y) == pytest.approx(roc_auc_score(yn, probs[:, 1]), abs=1e-9)
        assert _stream(make_metric("average_precision_binary"), logits, y) == pytest.approx(
            average_precision_score(yn, probs[:, 1]), abs=1e-9)
    assert _stream(make_metric("auc_macro"), logits, y) == pytest.approx(
        roc_auc_score(onehot, probs, average="macro"), abs=1e-9)
    assert _stream(make_metric("auc_weighted"), logits, y) == pytest.approx(
        roc_auc_score(onehot, probs, average="weighted"), abs=1e-9)
    assert _stream(make_metric("average_precision_macro"), logits, y) == pytest.approx(
        average_precision_score(onehot, probs, average="macro"), abs=1e-9)
    per = _stream(make_metric("auc_per_class"), logits, y)
    np.testing.assert_allclose(per, roc_auc_score(onehot, probs, average=None), atol=1e-9)
    per_ap = _stream(make_metric("average_precision_per_class"), logits, y)
    np.testing.assert_allclose(per_ap, average_precision_score(onehot, probs, average=None), atol=1e-9)


@pytest.mark.parametrize("measure,oracle", [("precision", precision_score), ("recall", recall_score), ("f1", f1_score)])
@pytest.mark.parametrize("k", [2, 3])
def test_plain_names_resolve_and_say_which(measure, oracle, k):
    logits, y = _data(k, seed=1)
    m = make_metric(measure)
    value = _stream(m, logits, y)
    average = "binary" if k == 2 else "macro"
    assert m.name == f"{measure}_{average}"  # the record key says which average was computed
    assert value == pytest.approx(oracle(y.numpy(), logits.argmax(1).numpy(), average=average, zero_division=0))
    auc = make_metric("auc")
    _stream(auc, logits, y)
    assert auc.name == f"auc_{average}"


def test_auc_of_a_class_without_negatives_is_nan_and_left_out_of_the_mean():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    y = torch.tensor([0, 1, 1, 0])  # class 2 never occurs
    per = _stream(make_metric("auc_per_class"), logits, y)
    assert per[0] == 1.0 and per[1] == 1.0 and np.isnan(per[2])
    assert _stream(make_metric("auc_macro"), logits, y) == 1.0
