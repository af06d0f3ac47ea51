"""Verification metrics against scikit-learn (ROC AUC, ROC curve for the EER) and brute force."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from deepdojo.metrics.verification import (EqualErrorRate, OneShotAccuracy, Spread, VerificationAccuracy,
                                           VerificationAuc, best_threshold, collapse_note, equal_error_rate,
                                           one_shot_accuracy, pair_distances, spread, verification_auc)


def embeddings(seed, n=60, k=6, noise=0.8):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, 4, generator=g)
    y = torch.randint(0, k, (n,), generator=g)
    return centres[y] + noise * torch.randn(n, 4, generator=g), y


@pytest.mark.parametrize("seed", range(5))
def test_auc_equals_sklearn(seed):
    d, same = pair_distances(*embeddings(seed))
    assert verification_auc(d, same) == pytest.approx(roc_auc_score(same.numpy(), -d.numpy()), abs=1e-12)


def test_auc_with_ties_equals_sklearn():
    d = torch.tensor([0.1, 0.1, 0.5, 0.5, 0.5, 0.9])
    same = torch.tensor([True, False, True, False, False, True])
    assert verification_auc(d, same) == pytest.approx(roc_auc_score(same.numpy(), -d.numpy()))


@pytest.mark.parametrize("seed", range(5))
def test_eer_where_sklearn_roc_crosses(seed):
    d, same = pair_distances(*embeddings(seed))
    fpr, tpr, _ = roc_curve(same.numpy(), -d.numpy())
    fnr = 1 - tpr
    k = int(np.argmax(fpr - fnr >= 0))  # the first ROC point past the crossing; interpolate on the segment
    w = (fnr[k - 1] - fpr[k - 1]) / ((fpr[k] - fpr[k - 1]) - (fnr[k] - fnr[k - 1]))
    expected = fpr[k - 1] + w * (fpr[k] - fpr[k - 1])
    assert equal_error_rate(d, same) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_best_threshold_is_the_brute_force_best(seed):
    d, same = pair_distances(*embeddings(seed))
    t, acc = best_threshold(d, same)
    s = same.numpy()
    dn = d.numpy()

    def balanced(cut):
        return ((dn[s] <= cut).mean() + (dn[~s] > cut).mean()) / 2

    assert balanced(t) == pytest.approx(acc)
    assert acc == pytest.approx(max(balanced(c) for c in np.unique(dn)))


def test_perfect_and_random_embeddings():
    y = torch.arange(10).repeat_interleave(5)
    perfect = torch.nn.functional.one_hot(y, 10).float() * 5
    d, same = pair_distances(perfect, y)
    assert (verification_auc(d, same), equal_error_rate(d, same), best_threshold(d, same)[1]) == (1.0, 0.0, 1.0)
    assert one_shot_accuracy(perfect, y, n_way=10, episodes=200) == 1.0
    noise = torch.randn(50, 8, generator=torch.Generator().manual_seed(0))
    assert 0.0 < one_shot_accuracy(noise, y, n_way=10, episodes=2000) < 0.2  # chance is 0.1


def test_one_shot_brute_force_episode():
    emb = torch.tensor([[0.0], [0.1], [1.0], [1.1], [5.0], [5.1]])
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    assert one_shot_accuracy(emb, y, n_way=3, episodes=300) == 1.0
    assert np.isnan(one_shot_accuracy(emb, y, n_way=4))  # only 3 identities


def test_streaming_metrics_equal_the_functions():
    emb, y = embeddings(1)
    d, same = pair_distances(emb, y)
    for metric, expected in ((VerificationAuc(), verification_auc(d, same)), (EqualErrorRate(), equal_error_rate(d, same)),
                             (VerificationAccuracy(), best_threshold(d, same)[1]),
                             (OneShotAccuracy(5, 300), one_shot_accuracy(emb, y, 5, 300))):
        for i in range(0, 60, 16):
            metric.update(emb[i:i + 16], y[i:i + 16])
        assert metric.compute() == pytest.approx(expected)


def test_collapse_is_detected_and_warned():
    collapsed = torch.ones(20, 4) + 1e-4 * torch.randn(20, 4)
    assert spread(collapsed) < 0.01
    assert spread(torch.randn(200, 16)) > 0.5
    m = Spread()
    m.update(collapsed, torch.zeros(20))
    with pytest.warns(UserWarning, match="collapsing to a point.*semi-hard"):
        m.compute()
    assert collapse_note(0.4) is None


def test_fixed_threshold_accuracy_is_not_refitted():
    emb, y = embeddings(2)
    d, same = pair_distances(emb, y)
    t, best = best_threshold(d, same)
    fixed = VerificationAccuracy(threshold=t / 3)  # a threshold chosen elsewhere (on validation)
    fixed.update(emb, y)
    s, dn = same.numpy(), d.numpy()
    expected = ((dn[s] <= t / 3).mean() + (dn[~s] > t / 3).mean()) / 2
    assert fixed.compute() == pytest.approx(expected) and fixed.compute() < best
