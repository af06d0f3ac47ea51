"""GAN task: alternating D/G steps move only their own network; TTUR; resume is bit-exact; losses vs a direct computation."""

import pytest
import torch
import torch.nn.functional as F

from deepdojo.data.load import load_data
from deepdojo.errors import ConfigError
from deepdojo.models.gan import GAN
from deepdojo.tasks import get_task
from deepdojo.tasks.gan import d_loss, g_loss
from deepdojo.train.learner import Learner


def _learner(run_dir=None, callbacks=(), conditional=False, **task_kw):
    data = load_data("builtin:digits", batch_size=64)
    torch.manual_seed(0)
    model = GAN(data.input_shape, z_dim=8, width=8, num_classes=data.num_classes if conditional else 0)
    return Learner(model, data, task=get_task("gan", **task_kw), progress=False, seed=0, run_dir=run_dir,
                   callbacks=list(callbacks), opt="adam")


def test_losses_match_a_direct_computation():
    real, fake = torch.tensor([[2.0], [-1.0]]), torch.tensor([[0.5], [-3.0]])
    sig = torch.sigmoid
    want = -(0.9 * torch.log(sig(real)) + 0.1 * torch.log(1 - sig(real))).mean() - torch.log(1 - sig(fake)).mean()
    assert torch.allclose(d_loss(real, fake, "nonsaturating", 0.1), want, atol=1e-6)
    assert torch.allclose(g_loss(fake, "nonsaturating"), -torch.log(sig(fake)).mean(), atol=1e-6)
    assert torch.allclose(d_loss(real, fake, "hinge", 0.0), F.relu(1 - real).mean() + F.relu(1 + fake).mean())
    assert torch.allclose(g_loss(fake, "hinge"), -fake.mean())


def test_each_step_moves_only_its_own_network():
    learn = _learner()
    gan = learn.model
    d0 = {k: v.clone() for k, v in gan.discriminator.state_dict().items()}
    g0 = {k: v.clone() for k, v in gan.generator.state_dict().items()}
    seen = []
    learn.callbacks = []  # the step alone, outside fit: no guards waiting for before_fit
    learn.add_callbacks([])
    task = learn.task
    orig_step = learn.opt.step

    def step(*a, **kw):
        seen.append({"g_grads": any(p.grad is not None for p in gan.generator.parameters()),
                     "d_grads": any(p.grad is not None for p in gan.discriminator.parameters())})
        return orig_step(*a, **kw)

    learn.opt.step = step
    xb, yb = next(iter(learn.data.train))
    task.train_step(learn, xb, yb)
    assert seen == [{"g_grads": False, "d_grads": True}, {"g_grads": True, "d_grads": False}]
    assert all(not torch.equal(v, gan.discriminator.state_dict()[k]) for k, v in d0.items() if v.is_floating_point()
               and "running" not in k and k.endswith("weight"))
    assert any(not torch.equal(v, gan.generator.state_dict()[k]) for k, v in g0.items() if k.endswith("weight"))


def test_ttur_scales_the_discriminator_lr_during_its_step_only():
    learn = _learner(d_lr_ratio=4.0)
    learn.callbacks = []
    learn.add_callbacks([])
    lrs = []
    orig_step = learn.opt.step
    learn.opt.step = lambda *a, **kw: (lrs.append([g["lr"] for g in learn.opt.param_groups]), orig_step(*a, **kw))[1]
    for g in learn.opt.param_groups:
        g["lr"] = 1e-3
    xb, yb = next(iter(learn.data.train))
    learn.task.train_step(learn, xb, yb)
    groups = [g.get("layer_group", 0) for g in learn.opt.param_groups]
    for step_lrs in lrs:
        assert [lr for lr, grp in zip(step_lrs, groups) if grp == 1] == pytest.approx([4e-3] * groups.count(1))
        assert [lr for lr, grp in zip(step_lrs, groups) if grp == 0] == pytest.approx([1e-3] * groups.count(0))
    assert all(g["lr"] == pytest.approx(1e-3) for g in learn.opt.param_groups)  # restored after the step


@pytest.mark.parametrize("conditional", [False, True])
def test_mid_epoch_resume_is_bit_exact_with_both_networks(tmp_path, conditional):
    from deepdojo.train.callbacks import Callback
    from deepdojo.train.resume import TrainingCheckpoints

    class Crash(Callback):
        def after_batch(self):
            if self.learn.step == 5:
                raise RuntimeError("crash")

    def make(run_dir, *cbs):
        learn = _learner(run_dir, cbs, conditional=conditional, d_lr_ratio=2.0)
        learn.callback(TrainingCheckpoints).every_steps = 2
        return learn

    ref = make(tmp_path / "ref")
    ref.fit(2, 2e-3)
    with pytest.raises(RuntimeError, match="crash"):
        make(tmp_path / "run", Crash()).fit(2, 2e-3)
    resumed = make(tmp_path / "run")
    resumed.fit(2, 2e-3, resume=True)
    a, b = resumed.model.state_dict(), ref.model.state_dict()
    assert set(a) == set(b) and any(k.startswith("generator.") for k in a) and any(k.startswith("discriminator.") for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a)
    sa, sb = resumed.opt.state_dict()["state"], ref.opt.state_dict()["state"]
    assert all(torch.equal(sa[i]["exp_avg"], sb[i]["exp_avg"]) for i in sb)  # both networks' Adam moments
    assert [r["valid_loss"] for r in resumed.history] == [r["valid_loss"] for r in ref.history]


def test_conditional_generator_needs_labels_and_bad_settings_are_config_errors():
    gan = GAN((1, 8, 8), z_dim=4, width=4, num_classes=3)
    assert gan.sample(6).shape == (6, 1, 8, 8)
    with pytest.raises(ConfigError, match="labels"):
        gan.generator(torch.zeros(2, 4))
    with pytest.raises(ConfigError, match="loss"):
        get_task("gan", loss="wasserstein")
    with pytest.raises(ConfigError, match="smoothing"):
        get_task("gan", smooth=0.7)
    with pytest.raises(ConfigError, match="images"):
        GAN((64,))


def test_frechet_distance_matches_scipy_sqrtm_and_coverage_counts():
    import numpy as np
    from scipy import linalg

    from deepdojo.metrics.frechet import class_coverage, frechet_distance

    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 5))
    b = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5)) + 0.7
    mu_a, mu_b, s_a, s_b = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    want = ((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * linalg.sqrtm(s_a @ s_b).real)
    assert frechet_distance(a, b) == pytest.approx(want, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    cov = class_coverage(np.array([1, 1, 1, 3]), 4)
    assert cov["coverage"] == 0.5 and cov["shares"] == [0.0, 0.75, 0.0, 0.25] and cov["missing"] == [0, 2]
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(a, b[:, :3])


def test_a_constant_generator_is_named_mode_collapse_in_the_record_and_the_progress_output(capsys):
    learn = _learner()
    gen = learn.model.generator
    seed_forward = gen.forward
    gen.forward = lambda z, y=None: seed_forward(z, y) * 0 + gen.up[-1].bias.view(1, -1, 1, 1)  # one image for all z
    from deepdojo.train.gan_watch import GANWatch

    learn.remove_callback(GANWatch).add_callbacks([GANWatch(quiet=False)])
    learn.fit(1, 1e-3)
    assert "mode_collapse" in learn.history[-1]["gan_failures"]
    out = capsys.readouterr().out
    assert "GAN: mode_collapse" in out and "Try:" in out


def test_a_healthy_short_run_names_no_failure_and_records_both_losses():
    learn = _learner()
    learn.fit(1, 2e-3)
    rec = learn.history[-1]
    assert rec["gan_failures"] == [] and rec["d_loss"] > 0.05 and rec["g_loss"] > 0


def test_discriminator_wins_and_frozen_losses_are_named_from_planted_loss_traces():
    from deepdojo.metrics.gan_health import gan_failures

    names = lambda fs: [f["name"] for f in fs]  # noqa: E731
    assert names(gan_failures([1e-5 * (1 + i % 3) for i in range(30)], [12.0 + i % 2 for i in range(30)])) \
        == ["discriminator_wins"]
    assert names(gan_failures([0.69] * 30, [0.7] * 30)) == ["frozen_losses"]
    healthy = gan_failures([0.6 + 0.1 * (i % 3) for i in range(30)], [0.9 + 0.2 * (i % 2) for i in range(30)])
    assert healthy == []
    fixes = gan_failures([0.0] * 30, [5.0] * 30)
    assert {f["name"] for f in fixes} == {"discriminator_wins", "frozen_losses"} and all("try" in f["fix"] for f in fixes)


def test_auto_lr_is_the_dcgan_rate_with_beta1_half_kept_through_one_cycle(tmp_path):
    from deepdojo.config import TrainConfig
    from deepdojo.run import build, fit

    cfg = TrainConfig(data="builtin:digits", task="gan", epochs=1, lr="auto", out=str(tmp_path), seed=0)
    assert cfg.schedule == "one_cycle"  # the default, whose momentum cycling would move Adam's beta1
    from deepdojo.train.callbacks import Callback

    seen = []

    class Spy(Callback):
        def after_batch(self):
            seen.extend((g["lr"], g["betas"]) for g in self.learn.opt.param_groups)

    learn = build(cfg.data, cfg, callbacks=[Spy()])
    fit(learn, cfg)
    assert seen and max(lr for lr, _ in seen) == pytest.approx(2e-4)  # one-cycle peaks at the default LR
    assert {b for _, b in seen} == {(0.5, 0.999)}  # beta1 stays 0.5 on every step, both groups
    assert not list(tmp_path.rglob("lr_find.json"))  # no range test ran
