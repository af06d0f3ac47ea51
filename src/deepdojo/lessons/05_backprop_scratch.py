# %% [markdown]
# # Lesson 5: Backpropagation is the chain rule, in a glass box
#
# **Minutes:** 1
# **Asserts:** a hyperplane gets at most 3 of XOR's 4 points (accuracy <= 0.75); an MLP gets all 4 (1.00); analytic and finite-difference gradients agree; scratch and PyTorch losses agree to 1e-10
#
# `deepdojo.scratch` is a NumPy-only autograd engine shaped like PyTorch
# (`Tensor`, `nn`, `optim`, `functional`). Every operation sits beside its local
# derivative in `deepdojo/scratch/tensor.py`, so you can read all of backprop.
# Run it: `deepdojo lesson run 5` (add `--smoke` for the quick version).

# %%
import numpy as np
import torch

from deepdojo.lessons import begin
from deepdojo.scratch import Tensor, gradcheck, manual_seed, nn, no_grad, optim
from deepdojo.scratch import functional as F

lesson = begin(5)
STEPS = lesson.pick(500, 150)
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # (4, 2)
Y = np.array([0, 1, 1, 0])  # XOR: 1 when exactly one input is on


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


# %% [markdown]
# ## 1. A hyperplane cannot solve XOR
# A Linear layer scores each class with w·x + b, so the boundary between the two
# classes is a straight line. XOR puts (0,1) and (1,0) on one side and (0,0), (1,1)
# on the other: no line does that, so at best 3 of the 4 points are right.

# %%
manual_seed(0)
acc_linear, loss_linear = train_on_xor(nn.Linear(2, 2), STEPS)
lesson.check("Linear(2, 2) on XOR, accuracy", acc_linear, "<=", 0.75)
lesson.check("its loss stays near log 2 = 0.69", loss_linear, ">", 0.5, fmt=".3f")

# %% [markdown]
# ## 2. One hidden layer solves it
# Linear → Tanh → Linear bends the input space: hidden units compute features such
# as "x1 OR x2" and "x1 AND x2", and XOR is a straight line in *those* coordinates.

# %%
manual_seed(0)
acc_mlp, loss_mlp = train_on_xor(nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)), STEPS)
lesson.check("Linear-Tanh-Linear on XOR, accuracy", acc_mlp, "==", 1.0)

# %% [markdown]
# ## 3. Backprop is the chain rule, and we can check it
# For y = tanh(z), z = x Wᵀ + b, the engine multiplies the incoming gradient by
# d tanh(z)/dz = 1 − tanh(z)², then by dz/dW = x and dz/db = 1. Nudging each input
# and weight by ±1e-6 and measuring the change in the output gives the same
# numbers (`gradcheck` compares them to 1e-6 relative tolerance).

# %%
manual_seed(1)
layer = nn.Linear(2, 3)
x = Tensor(X, requires_grad=True)
agree = gradcheck(lambda x, w, b: layer(x).tanh(), [x, layer.weight, layer.bias])
lesson.check("gradcheck: analytic = finite-difference gradients (1 = yes)", agree, "==", 1, fmt=".0f")

# %% [markdown]
# ## 4. Same model, same numbers as PyTorch
# We build the MLP in torch, copy its `state_dict` into scratch (names like
# `0.weight` match), and train both with SGD + momentum on the same data in float64.

# %%
torch.manual_seed(0)
theirs = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
ours = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
opt_ours = optim.SGD(ours.parameters(), lr=0.5, momentum=0.9)
opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.5, momentum=0.9)
x_t, y_t = torch.from_numpy(X), torch.from_numpy(Y)
worst, worst_param = 0.0, 0.0
for step in range(lesson.pick(100, 20)):
    opt_ours.zero_grad()
    loss_ours = F.cross_entropy(ours(Tensor(X)), Y)
    loss_ours.backward()
    opt_ours.step()
    opt_theirs.zero_grad()
    loss_theirs = torch.nn.functional.cross_entropy(theirs(x_t), y_t)
    loss_theirs.backward()
    opt_theirs.step()
    worst = max(worst, abs(loss_ours.item() - loss_theirs.item()))
    if step == 0:
        print(f"   step 0: scratch loss {loss_ours.item():.12f}   torch loss {loss_theirs.item():.12f}")
for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
    worst_param = max(worst_param, float(np.abs(p.data - q.detach().numpy()).max()))
lesson.check("largest loss difference, scratch vs torch", worst, "<", 1e-10, fmt=".1e")
lesson.check("largest weight difference after training", worst_param, "<", 1e-10, fmt=".1e")

# %% [markdown]
# The two engines agree to round-off: everything `torch.autograd` does for this
# model is what you can read in `src/deepdojo/scratch/tensor.py`.

# %%
lesson.end()
