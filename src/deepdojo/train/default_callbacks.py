"""The callbacks every Learner gets unless ``default_callbacks=False``."""

from __future__ import annotations

import logging

from deepdojo.train.callbacks import Callback
from deepdojo.train.carried_state import CarriedState, carries_state
from deepdojo.train.guards import GradientClip, NanGuard
from deepdojo.train.progress import ProgressBar, in_notebook, interactive
from deepdojo.train.resume import ResumeFromCheckpoint, TrainingCheckpoints
from deepdojo.train.run_logger import RunLogger, SaveCheckpoints

log = logging.getLogger("deepdojo")


def standard_callbacks(learn, progress: bool | None, grad_clip: float | None) -> list[Callback]:
    """NaN guard; gradient clipping if asked (or if the model's ``default_grad_clip`` asks); progress (``None``: a bar when interactive,
    ``True``: a bar or plain lines, ``False``: nothing); with a run folder: run logger, weights
    checkpoints, and resumable full-state checkpoints (every epoch end and every 10 minutes).

    [distributed] Only rank 0 shows progress and writes the run folder (run logger, weights
    checkpoints); every rank restores the same checkpoint and agrees on when to save and stop.
    Under FSDP every rank joins the weights checkpoints (the shards are gathered), and resumable
    full-state checkpoints are not written."""
    dist = getattr(learn, "dist", None)
    main, fsdp = dist is None or dist.main, dist is not None and dist.fsdp
    cbs: list[Callback] = [NanGuard()]
    if grad_clip is None:  # a model may ask for clipping by default (recurrent models do; grad_clip=0 turns it off)
        grad_clip = getattr(learn.model, "default_grad_clip", None)
    if grad_clip:
        cbs.append(GradientClip(max_norm=grad_clip))
    if not main:
        pass  # [distributed] rank 0 alone reports progress
    elif (progress is None or progress) and in_notebook():  # an HTML table updated in place: no ipywidgets needed
        from deepdojo.train.notebook_progress import NotebookProgress

        cbs.append(NotebookProgress())
    elif progress is None and interactive():
        cbs.append(ProgressBar("rich"))
    elif progress:
        cbs.append(ProgressBar("rich" if interactive() else "plain"))
    if getattr(learn.model, "adversarial", False) and main:  # a GAN: name its failures as they happen
        from deepdojo.train.gan_watch import GANWatch

        cbs.append(GANWatch(quiet=progress is False))
    if learn.run is not None:
        cadence = dict(every_steps=learn.checkpoint_every, every_seconds=learn.checkpoint_seconds)
        if fsdp:
            log.warning("deepdojo: FSDP writes weights checkpoints (last/best) but no resumable training state")
            cbs += [RunLogger(), SaveCheckpoints()] if main else [SaveCheckpoints()]
        elif main:
            cbs += [ResumeFromCheckpoint(), RunLogger(), SaveCheckpoints(), TrainingCheckpoints(**cadence)]
        else:
            cbs += [ResumeFromCheckpoint(), TrainingCheckpoints(**cadence)]
        if carries_state(learn.model):  # a recurrent LM's hidden state travels with its checkpoints
            cbs.append(CarriedState())
    return cbs
