"""Defaults chosen from the data when the user leaves them unset: how many epochs a CLI run trains.

A fixed 5 epochs suits images (each epoch is costly and one-cycle converges
quickly), but leaves a table of a thousand rows with ~80 optimizer steps, an
MLP at half its accuracy. Tables and sequences instead get enough epochs
for about :data:`TARGET_STEPS` steps (at least 5, at most :data:`MAX_EPOCHS`);
images and fine-tuning keep 5.

Example:
    >>> auto_epochs(steps_per_epoch=13, is_image=False)[0]
    77
    >>> auto_epochs(steps_per_epoch=2000, is_image=False)[0]
    5
    >>> auto_epochs(steps_per_epoch=13, is_image=True)[0]
    5
"""

from __future__ import annotations

import math

TARGET_STEPS = 1000
MIN_EPOCHS, MAX_EPOCHS, IMAGE_EPOCHS = 5, 100, 5


def auto_epochs(steps_per_epoch: int, is_image: bool, pretrained: bool = False) -> tuple[int, str]:
    """``(epochs, why)``: the epoch count for data with ``steps_per_epoch`` batches, and a line saying why."""
    if is_image or pretrained:
        return IMAGE_EPOCHS, f"{IMAGE_EPOCHS} epochs ({'fine-tuning' if pretrained else 'images'}: set --epochs to choose)"
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / max(steps_per_epoch, 1))))
    return epochs, (f"{epochs} epochs of {steps_per_epoch} steps (about {TARGET_STEPS} optimizer steps for "
                    f"tables and sequences; set --epochs to choose)")
