"""Defaults chosen from the data when the user leaves them unset: how many epochs a CLI run trains.

A fixed 5 epochs suits large image sets (each epoch is costly and one-cycle
converges quickly), but leaves a table of a thousand rows with ~80 optimizer
steps, an MLP at half its accuracy. Tables and sequences instead get enough
epochs for about :data:`TARGET_STEPS` steps (at least 5, at most
:data:`MAX_EPOCHS`). Images and signals (``is_image``: the data a CNN trains
on) get enough for :data:`IMAGE_TARGET_STEPS` (at most :data:`IMAGE_MAX_EPOCHS`):
builtin:digits (23 steps an epoch) trains 16 epochs, 97.5% where 5 left it at
96.4% (benchmarks/real_data.py --quick); builtin:eeg's cnn1d trains 20 (1,000
steps, 67 epochs, gained nothing over 5 at 6.5x the time); a folder of 5,000+
images keeps 5. Fine-tuning pretrained weights keeps 5.

Example:
    >>> auto_epochs(steps_per_epoch=13, is_image=False)[0]
    77
    >>> auto_epochs(steps_per_epoch=2000, is_image=False)[0]
    5
    >>> auto_epochs(steps_per_epoch=23, is_image=True)[0]
    16
    >>> auto_epochs(steps_per_epoch=79, is_image=True)[0]
    5
"""

from __future__ import annotations

import math

TARGET_STEPS = 1000
MIN_EPOCHS, MAX_EPOCHS, IMAGE_EPOCHS = 5, 100, 5
IMAGE_TARGET_STEPS, IMAGE_MAX_EPOCHS = 350, 20  # image epochs cost more; their models converge in fewer steps


def auto_epochs(steps_per_epoch: int, is_image: bool, pretrained: bool = False) -> tuple[int, str]:
    """``(epochs, why)``: the epoch count for data with ``steps_per_epoch`` batches, and a line saying why."""
    if pretrained:
        return IMAGE_EPOCHS, f"{IMAGE_EPOCHS} epochs (fine-tuning pretrained weights: set --epochs to choose)"
    if is_image:
        epochs = min(IMAGE_MAX_EPOCHS, max(IMAGE_EPOCHS, math.ceil(IMAGE_TARGET_STEPS / max(steps_per_epoch, 1))))
        return epochs, (f"{epochs} epochs of {steps_per_epoch} steps (about {IMAGE_TARGET_STEPS} optimizer steps "
                        f"for images and signals, at least {IMAGE_EPOCHS}; set --epochs to choose)")
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / max(steps_per_epoch, 1))))
    return epochs, (f"{epochs} epochs of {steps_per_epoch} steps (about {TARGET_STEPS} optimizer steps for "
                    f"tables and sequences; set --epochs to choose)")
