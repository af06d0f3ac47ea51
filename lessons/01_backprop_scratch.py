"""Lesson 1: backpropagation in the glass box.

Run it:   python lessons/01_backprop_scratch.py          (with deepdojo installed, or
          PYTHONPATH=src python lessons/01_backprop_scratch.py from a checkout)
          add --smoke for the quick version CI runs.

What you will see, and what the script asserts:
  1. A hyperplane (one Linear layer) cannot fit XOR: it gets at most 3 of 4 points right.
  2. One hidden layer with a non-linearity fits XOR perfectly.
  3. Backpropagation is just the chain rule: the gradient the engine computes matches a
     finite-difference estimate.
  4. deepdojo.scratch is PyTorch in miniature: the same model with the same weights
     gives the same losses and gradients in both engines, step after step.
"""

import argparse

import numpy as np

from deepdojo.scratch import Tensor, gradcheck, manual_seed, nn, no_grad, optim
from deepdojo.scratch import functional as F

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # (4, 2)
Y = np.array([0, 1, 1, 0])  # XOR: 1 when exactly one input is on


def say(text):
    print(text.strip("\n"), end="\n\n")


def train_on_xor(model, steps, lr=0.05):
    opt = optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(Tensor(X)), Y)
        loss.backward()  # fill p.grad for every parameter
        opt.step()  # move each parameter against its gradient
    with no_grad():
        predictions = model(Tensor(X)).argmax(1).numpy()
    return (predictions == Y).mean(), loss.item()


def part1_hyperplane(steps):
    say("""
== 1. A hyperplane cannot solve XOR ==
A Linear layer scores each class with w.x + b, so the boundary between the two classes
is a straight line. XOR puts (0,1) and (1,0) on one side and (0,0), (1,1) on the other:
no line does that, so at best 3 of the 4 points are right.""")
    manual_seed(0)
    accuracy, loss = train_on_xor(nn.Linear(2, 2), steps)
    print(f"   Linear(2, 2) after {steps} steps: accuracy {accuracy:.0%}, loss {loss:.3f}\n")
    assert accuracy <= 0.75, "a linear model cannot be right on all four XOR points"
    assert loss > 0.5, "the loss stays near log(2) = 0.69: the model can't do better"


def part2_mlp(steps):
    say("""
== 2. One hidden layer solves it ==
Linear -> Tanh -> Linear bends the input space: the hidden units compute features such
as "x1 OR x2" and "x1 AND x2", and XOR is a straight line in *those* coordinates.""")
    manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    accuracy, loss = train_on_xor(model, steps)
    print(f"   Linear-Tanh-Linear after {steps} steps: accuracy {accuracy:.0%}, loss {loss:.4f}\n")
    assert accuracy == 1.0, "the MLP should get every XOR point right"


def part3_chain_rule():
    say("""
== 3. Backprop is the chain rule, and we can check it ==
For y = tanh(z), z = x W^T + b, the engine multiplies the incoming gradient by
d tanh(z)/dz = 1 - tanh(z)^2, then by dz/dW = x and dz/db = 1. Nudging each input and
weight by +-1e-6 and measuring the change in the output gives the same numbers
(gradcheck compares them to 1e-6 relative tolerance).""")
    manual_seed(1)
    layer = nn.Linear(2, 3)
    x = Tensor(X, requires_grad=True)
    assert gradcheck(lambda x, w, b: layer(x).tanh(), [x, layer.weight, layer.bias])
    print("   gradcheck: analytic and numerical gradients agree\n")


def part4_same_as_torch(steps):
    say("""
== 4. Same model, same numbers as PyTorch ==
We build the MLP in torch, copy its state_dict into scratch (names like '0.weight'
match), and train both with SGD + momentum on the same data in float64.""")
    import torch  # only this part needs torch; scratch itself never imports it

    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)
    ).double()
    ours = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    opt_ours = optim.SGD(ours.parameters(), lr=0.5, momentum=0.9)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.5, momentum=0.9)
    x_t, y_t = torch.from_numpy(X), torch.from_numpy(Y)
    worst = 0.0
    for step in range(steps):
        opt_ours.zero_grad()
        loss_ours = F.cross_entropy(ours(Tensor(X)), Y)
        loss_ours.backward()
        opt_ours.step()
        opt_theirs.zero_grad()
        loss_theirs = torch.nn.functional.cross_entropy(theirs(x_t), y_t)
        loss_theirs.backward()
        opt_theirs.step()
        worst = max(worst, abs(loss_ours.item() - loss_theirs.item()))
        if step in (0, steps - 1):
            print(f"   step {step:3d}: scratch loss {loss_ours.item():.12f}"
                  f"   torch loss {loss_theirs.item():.12f}")  # fmt: skip
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=0, atol=1e-10, err_msg=name)
    print(f"\n   largest loss difference over {steps} steps: {worst:.1e}")
    assert worst < 1e-10, "both engines implement the same mathematics"
    say("""
   The two engines agree to round-off: everything torch.autograd does for this model
   is what you can read in src/deepdojo/scratch/tensor.py.""")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="fewer steps, for CI")
    args = parser.parse_args(argv)
    steps = 150 if args.smoke else 500
    part1_hyperplane(steps)
    part2_mlp(steps)
    part3_chain_rule()
    part4_same_as_torch(20 if args.smoke else 100)
    print("Lesson 1 complete: every claim above was checked by an assert.")


if __name__ == "__main__":
    main()
