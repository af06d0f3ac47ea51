"""The sliding-window detector: explicit crops and the fully convolutional pass give the same score maps."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from deepdojo import vision
from deepdojo.errors import ConfigError
from deepdojo.models.sliding_window import WindowCNN, conv_scores, crop_scores, to_fully_convolutional


def squares(n: int, size: int, g: torch.Generator):
    """Noise images, half with a bright 8x8 square at a random place: ``(n, 1, size, size)``, labels, corners."""
    x = torch.rand(n, 1, size, size, generator=g) * 0.5
    y = torch.arange(n) % 2
    xy = torch.randint(0, size - 8 + 1, (n, 2), generator=g)
    for i in range(n):
        if y[i]:
            c, r = xy[i].tolist()
            x[i, 0, r:r + 8, c:c + 8] = 1.0
    return x, y, xy


@pytest.mark.parametrize("size,channels", [(14, 3), (28, 3), (31, 1), (40, 2)])
def test_crops_and_the_convolutional_pass_agree_within_1e5(size, channels):
    torch.manual_seed(size)
    model = WindowCNN(num_classes=4, in_channels=channels, window=14, width=8, hidden=32)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)  # a few steps: weights that are not the initial ones
    for _ in range(3):
        loss = F.cross_entropy(model(torch.randn(8, channels, 14, 14)), torch.arange(8) % 4)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    images = torch.randn(3, channels, size, size)
    crops, conv = crop_scores(model, images, logits=True), conv_scores(model, images, logits=True)
    n = (size - 14) // 2 + 1
    assert crops.shape == conv.shape == (3, 4, n, n)
    assert (crops - conv).abs().max() < 1e-5
    # and each map position is the plain classifier on that crop
    i, j = n - 1, n // 2
    direct = model(images[:, :, 2 * i:2 * i + 14, 2 * j:2 * j + 14])
    assert torch.allclose(conv[:, :, i, j], direct, atol=1e-5)


def test_the_convolutional_form_copies_the_weights_and_does_not_share_them():
    model = WindowCNN(num_classes=2, in_channels=1, window=16, width=4, hidden=8).eval()
    conv = to_fully_convolutional(model)
    x = torch.randn(1, 1, 16, 16)
    assert torch.allclose(conv(x).flatten(), model(x).flatten(), atol=1e-6)  # a window-sized input: a 1x1 map
    with torch.no_grad():
        model.head[-1].bias += 1.0
    assert not torch.allclose(conv(x).flatten(), model(x).flatten())


def test_a_crop_classifier_slides_into_a_detector():
    """Trained on 14x14 crops (a square or not), it finds the square in a larger image, both ways alike."""
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = WindowCNN(num_classes=2, in_channels=1, window=14, width=8, hidden=32)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        x, y, _ = squares(64, 14, g)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    scene = torch.rand(1, 1, 40, 40, generator=g) * 0.5
    scene[0, 0, 20:28, 10:18] = 1.0  # one square, top-left corner (x=10, y=20)
    maps = vision.sliding_window(model, scene)
    assert torch.allclose(maps, vision.sliding_window(model, scene, method="crops"), atol=1e-5)
    found = vision.window_detections(maps, window=14, stride=2, threshold=0.5)[0]
    assert len(found["boxes"]) >= 1
    x0, y0, x1, y1 = found["boxes"][0].tolist()
    assert x0 <= 10 and y0 <= 20 and x1 >= 18 and y1 >= 28  # the best window holds the whole square


def test_bad_inputs_are_config_errors():
    model = WindowCNN(num_classes=2, in_channels=1, window=14, width=4, hidden=8)
    with pytest.raises(ConfigError, match="14x14 crops"):
        model(torch.zeros(1, 1, 20, 20))
    with pytest.raises(ConfigError, match="smaller than the 14x14 window"):
        crop_scores(model, torch.zeros(1, 1, 10, 20))
    with pytest.raises(ConfigError, match="model's stride"):
        vision.sliding_window(model, torch.zeros(1, 1, 20, 20), stride=3)
    with pytest.raises(ConfigError, match="even number"):
        WindowCNN(num_classes=2, window=15)
    assert crop_scores(model.eval(), torch.zeros(1, 1, 20, 20), stride=3).shape == (1, 2, 3, 3)  # crops: any stride
