import numpy as np
import torch

from deepdojo.data.load import load_data
from deepdojo.evaluate.gan_view import GANView, _judge_outputs, judge_path, train_judge
from deepdojo.metrics.frechet import frechet_distance
from deepdojo.models.gan import GAN
from deepdojo.tasks import get_task
from deepdojo.train.learner import Learner


def _learner():
    data = load_data("builtin:digits", batch_size=64)
    torch.manual_seed(0)
    model = GAN(data.input_shape, z_dim=8, width=8)
    return Learner(model, data, task=get_task("gan"), progress=False, seed=0, opt="adam")


def test_judge_is_trained_once_per_data_fingerprint_and_reloaded_identically(tmp_path):
    data = load_data("builtin:digits", batch_size=64)
    a = train_judge(data, epochs=2, cache=tmp_path)
    files = list((tmp_path / "gan_judge").iterdir())
    assert len(files) == 1 and files[0].name.startswith(data.info.get("fingerprint"))
    assert files[0] == judge_path(files[0].stem, tmp_path)
    stamp = files[0].stat().st_mtime_ns
    b = train_judge(data, epochs=2, cache=tmp_path)  # loaded, not retrained
    assert files[0].stat().st_mtime_ns == stamp
    x = next(iter(data.valid))[0][:16].float().cpu()
    fa, pa = _judge_outputs(a, x)
    fb, pb = _judge_outputs(b, x)
    np.testing.assert_array_equal(fa, fb)
    np.testing.assert_array_equal(pa, pb)


def test_real_images_sit_at_the_floor_and_a_one_image_generator_covers_few_classes(tmp_path):
    learn = _learner()
    data = learn.data
    real = torch.cat([xb.cpu() for xb, _ in data.valid])  # (N, 1, 8, 8) normalized
    learn.model.sample = lambda n, y=None, generator=None: real[torch.arange(n) % len(real)]  # a perfect "generator"
    good = GANView.from_learner(learn, n=len(real), cache=tmp_path)
    net = train_judge(data, cache=tmp_path)
    f_train = _judge_outputs(net, torch.cat([xb.cpu() for xb, _ in data.train]))[0]
    assert good.fd == frechet_distance(_judge_outputs(net, real)[0], f_train) == good.fd_floor
    assert good.summary()["coverage"] == 1.0 and good.judge_accuracy > 0.9
    learn.model.sample = lambda n, y=None, generator=None: real[:1].expand(n, -1, -1, -1)  # mode collapse
    bad = GANView.from_learner(learn, n=200, cache=tmp_path).summary()
    assert bad["coverage"] == 0.1 and len(bad["missing_classes"]) == 9 and max(bad["class_shares"].values()) == 1.0
    assert bad["frechet_distance"] > 3 * good.fd_floor  # measured 3.5x
