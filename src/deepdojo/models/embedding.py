"""Siamese embedding network: any registered image backbone as the encoder, its head a projection to ``dim``.

Both images of a pair (all three of a triplet) go through the *same* network
— that is what "siamese" means; the losses then compare the embeddings
(:mod:`deepdojo.tasks.metric_learning`). The backbone is built from the zoo
with ``num_classes=dim``, so its last linear layer is the projection; the
output is L2-normalized, so distances lie in ``[0, 2]`` and a margin means the
same thing for every backbone.

Example:
    >>> import torch
    >>> net = siamese(16, in_channels=1, backbone="cnn", widths=(8, 16))
    >>> z = net(torch.zeros(2, 1, 28, 28))
    >>> z.shape, round(float(z.detach().norm(dim=1)[0]), 4)
    (torch.Size([2, 16]), 1.0)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepdojo.errors import ConfigError
from deepdojo.models.registry import create_model, list_models, model_kind, register_model


class EmbeddingNet(nn.Module):
    """``encoder`` ``(B, C, H, W) -> (B, dim)``, then L2 normalization (unless ``normalize=False``)."""

    def __init__(self, encoder: nn.Module, normalize: bool = True):
        super().__init__()
        self.encoder, self.normalize = encoder, normalize

    def layer_groups(self) -> list:
        """The encoder's own groups; else its body then its head (``.head`` or last Linear), input side first."""
        groups = getattr(self.encoder, "layer_groups", None)
        if callable(groups):
            return groups()
        head = getattr(self.encoder, "head", None)
        if not isinstance(head, nn.Module):
            head = next((m for m in reversed(list(self.encoder.modules())) if isinstance(m, nn.Linear)), None)
        if head is None:
            return [self.encoder]
        in_head = {id(p) for p in head.parameters()}
        return [[p for p in self.encoder.parameters() if id(p) not in in_head], head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, dim)
        z = self.encoder(x).flatten(1)
        return F.normalize(z, dim=1) if self.normalize else z


# the contract tests train it with cross-entropy on its outputs: unit-length outputs could not reach 90% lower loss
@register_model("siamese", example={"input_shape": (1, 28, 28),
                                     "kwargs": {"backbone": "cnn", "widths": (8, 16), "normalize": False}})
def siamese(num_classes: int, in_channels: int = 3, backbone: str = "cnn", normalize: bool = True, **kw) -> EmbeddingNet:
    """``num_classes`` is the embedding size; ``backbone``: any image model of the zoo (cnn, resnet18, vgg11 ...)."""
    if backbone == "siamese" or backbone not in list_models() or model_kind(backbone) != "image":
        images = [m for m in list_models() if model_kind(m) == "image" and m != "siamese"]
        raise ConfigError(f"unknown image backbone {backbone!r} for the siamese network", where="model_kwargs.backbone",
                          fix=f"use one of {', '.join(images)}")
    return EmbeddingNet(create_model(backbone, num_classes, in_channels=in_channels, **kw), normalize=normalize)
