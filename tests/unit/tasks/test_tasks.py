"""The Task objects against oracles: losses against torch, metrics against scikit-learn, the extension point."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score, f1_score, hamming_loss

from deepdojo import Learner
from deepdojo.data.core import Data
from deepdojo.errors import ConfigError
from deepdojo.metrics.multilabel import HammingLoss, MultiLabelAP, MultiLabelF1
from deepdojo.metrics.sequence import BitsPerToken, Perplexity, TokenAccuracy, TokenNLL
from deepdojo.tasks import Task, get_task, register_task, task_names


def test_registry_and_errors():
    assert {"classification", "regression", "multilabel", "language_model"} <= set(task_names())
    with pytest.raises(ConfigError, match="did you mean 'multilabel'"):
        get_task("multilable")
    with pytest.raises(ConfigError, match="threshold"):
        get_task("multilabel", threshold=1.5)
    t = get_task("multilabel", threshold=0.3)
    assert get_task(t.name, **t.state()).threshold == 0.3  # what a checkpoint stores rebuilds the task


def test_multilabel_masked_loss_equals_the_loss_on_the_labelled_subset():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(16, 5, generator=g)
    target = (torch.rand(16, 5, generator=g) > 0.5).float()
    missing = torch.rand(16, 5, generator=g) < 0.4
    target[missing] = float("nan")
    known = ~missing
    expected = F.binary_cross_entropy_with_logits(pred[known], target[known])
    assert torch.allclose(get_task("multilabel").loss(pred, target), expected, atol=1e-6)
    no_missing = torch.nan_to_num(target)
    assert torch.allclose(get_task("multilabel").loss(pred, no_missing),
                          F.binary_cross_entropy_with_logits(pred, no_missing), atol=1e-6)


@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_multilabel_metrics_match_sklearn(threshold):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(200, 6, generator=g)
    target = (torch.rand(200, 6, generator=g) > 0.6).float()
    target[:, 5] = 0  # a label that is never on: AP undefined, F1 0 as scikit-learn says
    probs = logits.sigmoid().numpy()
    pred = (probs > threshold).astype(int)
    f1, ham, ap = MultiLabelF1(threshold), HammingLoss(threshold), MultiLabelAP()
    for a, b in ((0, 70), (70, 200)):  # streamed over two batches
        for m in (f1, ham, ap):
            m.update(logits[a:b], target[a:b])
    assert f1.compute() == pytest.approx(f1_score(target.numpy(), pred, average="macro", zero_division=0))
    assert ham.compute() == pytest.approx(hamming_loss(target.numpy(), pred))
    expected_ap = np.mean([average_precision_score(target[:, k].numpy(), probs[:, k]) for k in range(5)])
    assert ap.compute() == pytest.approx(expected_ap, abs=1e-9)


def test_average_precision_groups_ties_like_sklearn():
    scores = torch.tensor([0.9, 0.5, 0.5, 0.5, 0.1, 0.1])
    target = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    from deepdojo.metrics.multilabel import average_precision

    assert average_precision(scores, target) == pytest.approx(average_precision_score(target, scores))


def test_multilabel_threshold_chosen_on_validation_beats_half_when_scores_are_low():
    g = torch.Generator().manual_seed(2)
    target = (torch.rand(300, 4, generator=g) > 0.5).float()
    probs = (0.15 + 0.3 * target + 0.05 * torch.rand(300, 4, generator=g))  # positives ~0.45-0.5: below 0.5
    task = get_task("multilabel")
    chosen = task.finalize(probs, target)
    assert chosen["threshold"] < 0.5 and task.threshold == chosen["threshold"]
    assert chosen["valid_multilabel_f1"] > 0.99 > chosen["valid_multilabel_f1_at_0.5"]


def test_token_metrics_are_one_number_in_three_units():
    g = torch.Generator().manual_seed(3)
    logits, target = torch.randn(4, 7, 11, generator=g), torch.randint(0, 11, (4, 7), generator=g)
    target[0, :3] = -100  # ignored (padding)
    ms = [TokenNLL(), BitsPerToken(), Perplexity(), TokenAccuracy()]
    for m in ms:
        m.update(logits, target)
    nats = F.cross_entropy(logits.reshape(-1, 11), target.reshape(-1), ignore_index=-100).item()
    assert ms[0].compute() == pytest.approx(nats, rel=1e-6)
    assert ms[1].compute() == pytest.approx(nats / math.log(2), rel=1e-6)
    assert ms[2].compute() == pytest.approx(math.exp(nats), rel=1e-6)  # perplexity = exp(loss)
    keep = target != -100
    assert ms[3].compute() == pytest.approx(((logits.argmax(-1) == target) & keep).sum().item() / keep.sum().item())
    lm = get_task("language_model")
    assert lm.loss(logits, target).item() == pytest.approx(nats, rel=1e-6)


def test_language_model_baselines_count_unigrams_and_bigrams():
    x = np.array([[0, 1, 0, 1], [0, 1, 0, 1]])
    y = np.array([[1, 0, 1, 0], [1, 0, 1, 0]])  # next token is fully determined by the current one
    b = get_task("language_model").baselines(x, y, x, y, 2, 1.0, 0)
    assert b["unigram"]["nats_per_token"] == pytest.approx(math.log(2))
    assert b["bigram"]["nats_per_token"] < 0.25 and b["bigram"]["perplexity"] < 1.3


def test_learner_takes_its_loss_metrics_and_decoding_from_the_task():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=g)
    y = (x[:, :2] > 0).float()  # two labels
    data = Data.from_tensors(x, y, task="multilabel", classes=["a", "b"], seed=0, batch_size=16)
    learn = Learner(torch.nn.Linear(3, 2), data, progress=False, seed=0)
    assert learn.task.name == "multilabel"
    pred = torch.randn(5, 2)
    assert torch.allclose(learn.loss_fn(pred, y[:5]), F.binary_cross_entropy_with_logits(pred, y[:5]))
    assert [m.name for m in learn.metrics] == ["multilabel_f1", "hamming_loss", "multilabel_map"]
    learn.fit(10, 0.1)
    assert learn.history[-1]["multilabel_f1"] > 0.8
    probs, _ = learn.get_preds()
    assert probs.min() >= 0 and probs.max() <= 1  # sigmoid, not softmax: rows need not sum to 1
    regression = Learner(torch.nn.Linear(3, 1), Data.from_tensors(x, x[:, 0], seed=0), progress=False)
    assert regression.task.name == "regression" and [m.name for m in regression.metrics] == ["mae", "rmse", "r2"]


def test_a_user_written_task_with_its_own_training_step():
    """The extension point: a Task supplying the step (here: two optimizer steps per batch, counted)."""
    calls = []

    @register_task
    class TwoStep(Task):
        name = "two_step_demo"

        def output_size(self, data):
            return 1

        def loss(self, pred, target):
            return F.mse_loss(pred.reshape(target.shape), target)

        def metrics(self):
            return ["mae"]

        @staticmethod
        def train_step(learn, xb, yb):
            for _ in range(2):
                loss = learn.loss_fn(learn.model(xb), yb)
                loss.backward()
                learn.opt.step()
                learn.opt.zero_grad(set_to_none=True)
            calls.append(len(xb))
            return loss

    x = torch.randn(40, 2)
    data = Data.from_tensors(x, x.sum(1), seed=0, batch_size=10)
    learn = Learner(torch.nn.Linear(2, 1), data, task="two_step_demo", progress=False, seed=0)
    learn.fit(2, 0.05)
    assert len(calls) == 2 * len(data.train) and learn.history[-1]["mae"] < learn.history[0]["mae"] + 1e-9
