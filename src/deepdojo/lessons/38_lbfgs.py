# %% [markdown]
# # Lesson 38: Second-order optimization: Newton and L-BFGS vs first-order methods
#
# **Minutes:** 1
# **Asserts:** one Newton step solves least squares exactly (gap < 1e-9); on L2-regularized logistic regression L-BFGS reaches scikit-learn's optimum (coefficients within 1e-4) and within 25 gradient evaluations (line search included) its loss gap is below 1e-8 while gradient descent and Adam, given 25 each, are still more than 1e-4 above
#
# First-order methods use only the gradient: a direction, and a step size you
# must choose. Newton's method also uses the curvature (the Hessian) and jumps
# to the minimum of the local quadratic model: on a quadratic, in one step.
# L-BFGS builds an approximation of the inverse Hessian from the last few
# gradients, costing little more than gradient descent per step. It shines on
# smooth, full-batch problems of moderate size; on noisy mini-batches of a deep
# network, SGD-family methods win.

# %%
import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression

from deepdojo.lessons import begin, figure

lesson = begin(38)
torch.set_default_dtype(torch.float64)  # this lesson measures gaps of 1e-9: float32 cannot

# %% [markdown]
# ## 1. Newton on a quadratic: one step
# The MSE of linear regression is quadratic in w, so w − H⁻¹∇ from *any*
# starting point lands on the normal-equations solution (lesson 2).

# %%
xd, yd = load_diabetes(return_X_y=True)
X = torch.tensor(np.hstack([(xd - xd.mean(0)) / xd.std(0), np.ones((len(xd), 1))]))  # (442, 11)
Y = torch.tensor(yd)
w = torch.zeros(11, requires_grad=True)
mse = ((X @ w - Y) ** 2).mean()
grad = torch.autograd.grad(mse, w)[0]
hessian = 2 * X.T @ X / len(X)
w_newton = w.detach() - torch.linalg.solve(hessian, grad)
w_exact = torch.linalg.lstsq(X, Y).solution
lesson.check("one Newton step vs least squares, largest coefficient gap", (w_newton - w_exact).abs().max(), "<", 1e-9,
             fmt=".1e")

# %% [markdown]
# ## 2. L-BFGS vs gradient descent vs Adam on logistic regression
# 569 tumours, 30 standardized features, L2 penalty λ = 1e-2. The loss is
# smooth and strictly convex: one optimum, which scikit-learn also finds.

# %%
xb, yb = load_breast_cancer(return_X_y=True)
Xc = torch.tensor((xb - xb.mean(0)) / xb.std(0))  # (569, 30)
Yc = torch.tensor(yb, dtype=torch.float64)
lam = 1e-2


def loss_fn(w, b):
    logits = Xc @ w + b
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, Yc) + lam / 2 * (w @ w)


def first_order(make_opt, evals):
    """Loss after each of ``evals`` steps (one gradient evaluation each)."""
    w, b = torch.zeros(30, requires_grad=True), torch.zeros((), requires_grad=True)
    opt, curve = make_opt([w, b]), []
    for _ in range(evals):
        opt.zero_grad()
        loss = loss_fn(w, b)
        curve.append(loss.item())
        loss.backward()
        opt.step()
    return curve


def lbfgs(evals):
    """L-BFGS with a strong-Wolfe line search, stopped after ``evals`` gradient evaluations (line search included)."""
    w, b = torch.zeros(30, requires_grad=True), torch.zeros((), requires_grad=True)
    opt, curve = torch.optim.LBFGS([w, b], lr=1, max_iter=evals, max_eval=evals, line_search_fn="strong_wolfe",
                                   tolerance_grad=1e-12, tolerance_change=1e-15), []

    def closure():
        opt.zero_grad()
        loss = loss_fn(w, b)
        curve.append(loss.item())
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach(), curve


w_opt, b_opt, _ = lbfgs(500)
best = loss_fn(w_opt, b_opt).item()
sk = LogisticRegression(C=1 / (lam * len(Yc)), tol=1e-12, max_iter=10_000).fit(Xc.numpy(), yb)
lesson.check("L-BFGS optimum vs scikit-learn's, largest coefficient gap",
             np.abs(w_opt.numpy() - sk.coef_[0]).max(), "<", 1e-4, fmt=".1e")

evals = 25
L = torch.linalg.eigvalsh(Xc.T @ Xc / len(Xc))[-1].item() / 4 + lam  # a bound on the curvature of this loss
curves = {
    "L-BFGS": lbfgs(evals)[2],
    "gradient descent, lr 1/L": first_order(lambda p: torch.optim.SGD(p, lr=1 / L), evals),
    "Adam, lr 0.1": first_order(lambda p: torch.optim.Adam(p, lr=0.1), evals),
}
for name, curve in curves.items():
    print(f"   {name:26s} best loss gap within {evals} gradient evaluations: {min(curve) - best:.2e}")
lesson.check(f"L-BFGS gap within {evals} gradient evaluations", min(curves["L-BFGS"]) - best, "<", 1e-8, fmt=".1e")
lesson.check(f"gradient descent gap within {evals}", min(curves["gradient descent, lr 1/L"]) - best, ">", 1e-4,
             fmt=".1e")
lesson.check(f"Adam gap within {evals}", min(curves["Adam, lr 0.1"]) - best, ">", 1e-4, fmt=".1e")

fig, ax = figure(figsize=(6, 3.5))
for name, curve in curves.items():
    ax.plot(range(1, len(curve) + 1), np.maximum(np.array(curve) - best, 1e-16), marker=".", label=name)
ax.set_yscale("log")
ax.set_xlabel("gradient evaluations")
ax.set_ylabel("loss - optimum")
ax.legend()
lesson.show(fig, "lbfgs")
torch.set_default_dtype(torch.float32)

# %%
lesson.end()
