"""End-to-end: the engine trains real models. XOR separates a hyperplane from an MLP;
a small CNN learns scikit-learn's 8x8 digits."""

import time

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from deepdojo.scratch import Tensor, manual_seed, nn, no_grad, optim
from deepdojo.scratch import functional as F

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


def _fit_xor(model, steps=300):
    opt = optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(Tensor(XOR_X)), XOR_Y)
        loss.backward()
        opt.step()
    with no_grad():
        return (model(Tensor(XOR_X)).argmax(1).numpy() == XOR_Y).mean(), loss.item()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mlp_solves_xor(seed):
    manual_seed(seed)
    accuracy, loss = _fit_xor(nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)))
    assert accuracy == 1.0
    assert loss < 0.05


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_linear_layer_cannot_solve_xor(seed):
    manual_seed(seed)
    accuracy, loss = _fit_xor(nn.Linear(2, 2))
    assert accuracy <= 0.75  # no line separates {(0,1), (1,0)} from {(0,0), (1,1)}
    assert loss > 0.5  # and it is not for lack of training: the loss stays near log 2


def test_small_cnn_learns_digits():
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8) in [0, 1]
    x_train, x_val, y_train, y_val = train_test_split(
        images, digits.target, test_size=0.2, stratify=digits.target, random_state=0
    )
    manual_seed(0)
    f32 = np.float32  # float32 halves the time; exactness is tested elsewhere
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, dtype=f32),  # (N, 16, 8, 8)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 16, 4, 4)
        nn.Conv2d(16, 32, 3, padding=1, dtype=f32),  # (N, 32, 4, 4)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 32, 2, 2)
        nn.Flatten(),
        nn.Linear(128, 10, dtype=f32),
    )
    epochs = 12
    opt = optim.Adam(model.parameters(), lr=3e-3)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    # Batches of 32 gain nothing from BLAS threads, and on a busy machine spinning
    # threads cost a lot: one thread keeps this test fast everywhere.
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(epochs):
            order = rng.permutation(len(x_train))
            for i in range(0, len(order), 32):
                batch = order[i : i + 32]
                opt.zero_grad()
                F.cross_entropy(model(Tensor(x_train[batch])), y_train[batch]).backward()
                opt.step()
            schedule.step()
    elapsed = time.perf_counter() - start
    model.eval()
    with no_grad():
        accuracy = (model(Tensor(x_val)).argmax(1).numpy() == y_val).mean()
    print(f"digits: validation accuracy {accuracy:.4f} after {elapsed:.1f} s of training")
    assert accuracy >= 0.95
