"""channels_last, torch.compile and the NaN guard's device-side flag, checked on the CPU.

Oracle: the same Learner without the option (a plain eager NCHW run); for the guard, the step a
NaN was injected at. What needs a GPU (NCCL, bf16 speed, the sync-free guard's timing) is not here.
"""

from __future__ import annotations

import os

import pytest
import torch

from deepdojo import Learner
from deepdojo.data.loaders import TensorLoader
from deepdojo.errors import NonFiniteError
from deepdojo.models import create_model
from deepdojo.train.callbacks import Callback
from deepdojo.train.guards import NanGuard
from deepdojo.train.resume import TrainingCheckpoints
from deepdojo.train.state_files import list_states, read_state

LONG = os.environ.get("DEEPDOJO_LONG_TESTS") == "1"


def image_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(48, 3, 12, 12, generator=g)
    y = torch.randint(0, 4, (48,), generator=g)
    return TensorLoader(x[:32], y[:32], batch_size=8, shuffle=True, seed=1), TensorLoader(x[32:], y[32:], batch_size=8)


def cnn_learner(**kw) -> Learner:
    torch.manual_seed(0)
    model = create_model("cnn", 4, in_channels=3, widths=(8, 16), dropout=0.0)
    return Learner(model, image_data(), opt="sgd", momentum=0.9, seed=0, progress=False, **kw)


def assert_weights_close(a: Learner, b: Learner, tol: float = 1e-5) -> None:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()  # plain parameter names: no "_orig_mod." or "module." prefixes
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=tol, atol=tol, msg=k)


def test_channels_last_trains_like_nchw():
    plain, nhwc = cnn_learner(), cnn_learner(channels_last=True)
    conv = next(m for m in nhwc.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    plain.fit(2, 0.05)
    nhwc.fit(2, 0.05)
    assert_weights_close(plain, nhwc)
    assert nhwc.history[-1]["valid_loss"] == pytest.approx(plain.history[-1]["valid_loss"], rel=1e-4)


def test_compile_trains_like_eager_and_checkpoints_keep_plain_names(tmp_path):
    eager = cnn_learner()
    compiled = cnn_learner(compile={"backend": "aot_eager"}, run_dir=tmp_path / "run")  # aot_eager: no C++ build
    eager.fit(1, 0.05)
    compiled.fit(1, 0.05)
    assert compiled._compiled is not None  # the step really went through torch.compile
    assert_weights_close(eager, compiled)
    saved = read_state(list_states(tmp_path / "run" / "checkpoints")[-1])[0]
    assert all(not k.startswith("model/_orig_mod") for k in saved)


@pytest.mark.skipif(not LONG, reason="inductor compiles C++ (tens of seconds); DEEPDOJO_LONG_TESTS=1")
def test_compile_with_inductor_trains_like_eager():
    eager, compiled = cnn_learner(), cnn_learner(compile=True)
    eager.fit(1, 0.05)
    compiled.fit(1, 0.05)
    assert_weights_close(eager, compiled, tol=1e-4)


class NanAt(Callback):
    """Poison one gradient in step ``at``, once (before the guard looks: lower order)."""

    order = -20

    def __init__(self, at: int):
        self.at, self.done = at, False

    def after_backward(self):
        if self.learn.step == self.at and not self.done:
            self.done = True
            next(self.learn.model.parameters()).grad[0] = float("nan")


def test_device_flag_read_every_k_names_the_first_bad_step():
    learn = cnn_learner(default_callbacks=False, callbacks=[NanGuard(read_every=4), NanAt(5)])
    with pytest.raises(NonFiniteError, match=r"at step 5 \(seen at step 7"):
        learn.fit(3, 0.05)


def test_device_flag_is_read_before_every_checkpoint(tmp_path):
    """read_every=8 but a checkpoint after every step: the bad step is caught before any save holds it."""
    learn = cnn_learner(run_dir=tmp_path / "run", callbacks=[NanAt(5)])
    learn.remove_callback(NanGuard).add_callbacks([NanGuard(read_every=8)])
    learn.callback(TrainingCheckpoints).every_steps = 1
    with pytest.raises(NonFiniteError, match="at step 5"):
        learn.fit(3, 0.05)
    states = list_states(tmp_path / "run" / "checkpoints")
    assert states
    for path in states:
        tensors, meta = read_state(path)
        assert meta["step"] <= 5
        assert all(torch.isfinite(t).all() for k, t in tensors.items() if t.is_floating_point())


def test_device_flag_rollback_resumes_at_a_lower_lr(tmp_path):
    learn = cnn_learner(run_dir=tmp_path / "run", callbacks=[NanAt(5)])
    learn.remove_callback(NanGuard).add_callbacks([NanGuard(read_every=4, on_nonfinite="rollback")])
    learn.callback(TrainingCheckpoints).every_steps = 2
    learn.fit(3, 0.05)  # the NaN at step 5 is seen at step 7: back to the step-4 checkpoint, LR halved
    assert learn.lr_factor == 0.5 and len(learn.history) == 3
    assert all(torch.isfinite(p).all() for p in learn.model.parameters())
