"""Optimisers with torch.optim's arguments and update rules, written out in NumPy.

Each ``step`` reads ``p.grad`` and rewrites ``p.data`` in place. The formulas follow
torch's single-tensor code paths line by line, so in float64 the trajectories agree with
torch to round-off.

>>> from deepdojo.scratch.tensor import Tensor
>>> from deepdojo.scratch.nn import Parameter
>>> w = Parameter(np.array([1.0]))
>>> opt = SGD([w], lr=0.1)
>>> (w * w).sum().backward()     # dL/dw = 2w = 2
>>> opt.step(); w.data           # 1 - 0.1 * 2
array([0.8])
"""

from abc import ABC, abstractmethod

import numpy as np

from deepdojo.scratch import lr_scheduler  # reachable as optim.lr_scheduler, as in torch

__all__ = ["SGD", "RMSprop", "Adam", "AdamW", "Optimizer", "lr_scheduler"]


class Optimizer(ABC):
    """Holds ``param_groups`` (dicts with "params" and hyper-parameters, which a scheduler
    may change between steps) and per-parameter ``state``."""

    def __init__(self, params, defaults):
        params = list(params)
        groups = params if params and isinstance(params[0], dict) else [{"params": params}]
        self.param_groups = []
        for group in groups:
            group = {**defaults, **group, "params": list(group["params"])}
            self.param_groups.append(group)
        self.state = {}  # id(param) -> dict of buffers

    def zero_grad(self):
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad, self.state.setdefault(id(p), {}), group)

    @abstractmethod
    def _update(self, p, grad, state, group):
        """Update one parameter in place from its gradient and its state (each optimizer's rule)."""


class SGD(Optimizer):
    """torch.optim.SGD: with weight decay wd, momentum mu, dampening tau:
    g = grad + wd*p; b = mu*b + (1-tau)*g (b = g on the first step);
    g = g + mu*b if nesterov else b; p = p - lr*g."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):  # fmt: skip
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))  # fmt: skip

    def _update(self, p, grad, state, group):
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        mu = group["momentum"]
        if mu != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= mu
                buf += (1 - group["dampening"]) * grad
            buf = state["momentum_buffer"]
            grad = grad + mu * buf if group["nesterov"] else buf
        p.data -= group["lr"] * grad


class RMSprop(Optimizer):
    """torch.optim.RMSprop: v = alpha*v + (1-alpha)*g^2; with ``centered`` also
    m = alpha*m + (1-alpha)*g and v - m^2 replaces v; denominator sqrt(.) + eps;
    with momentum, b = momentum*b + g/denom and p -= lr*b, else p -= lr*g/denom."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):  # fmt: skip
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))  # fmt: skip

    def _update(self, p, grad, state, group):
        alpha, eps = group["alpha"], group["eps"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        if not state:
            state["square_avg"] = np.zeros_like(p.data)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p.data)
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (grad - grad_avg)  # torch's lerp_
            denom = np.sqrt(square_avg - grad_avg * grad_avg) + eps  # variance estimate
        else:
            denom = np.sqrt(square_avg) + eps
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += grad / denom
            p.data -= group["lr"] * buf
        else:
            p.data -= group["lr"] * grad / denom


class Adam(Optimizer):
    """torch.optim.Adam: m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2,
    p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps); with ``amsgrad``, v is replaced
    by its running maximum. ``weight_decay`` adds wd*p to the gradient (L2, coupled)."""

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):  # fmt: skip
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))  # fmt: skip

    def _update(self, p, grad, state, group):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        if wd != 0:
            if self._decoupled:
                p.data *= 1 - lr * wd  # AdamW: shrink the weights directly
            else:
                grad = grad + wd * p.data  # Adam: L2 term inside the gradient
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (grad - exp_avg)  # torch's lerp_
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        step_size = lr / (1 - beta1**t)  # bias corrections undo the zero initialisation
        bias_correction2_sqrt = (1 - beta2**t) ** 0.5
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            denom = np.sqrt(state["max_exp_avg_sq"]) / bias_correction2_sqrt + eps
        else:
            denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt + eps
        p.data -= step_size * exp_avg / denom


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay p *= 1 - lr*wd (default 0.01)."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):  # fmt: skip
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
