"""The callbacks every Learner gets unless ``default_callbacks=False``."""

from __future__ import annotations

from deepdojo.train.callbacks import Callback
from deepdojo.train.carried_state import CarriedState, carries_state
from deepdojo.train.guards import GradientClip, NanGuard
from deepdojo.train.progress import ProgressBar, interactive
from deepdojo.train.resume import ResumeFromCheckpoint, TrainingCheckpoints
from deepdojo.train.run_logger import RunLogger, SaveCheckpoints


def standard_callbacks(learn, progress: bool | None, grad_clip: float | None) -> list[Callback]:
    """NaN guard; gradient clipping if asked; progress (``None``: a bar when interactive,
    ``True``: a bar or plain lines, ``False``: nothing); with a run folder: run logger, weights
    checkpoints, and resumable full-state checkpoints (every epoch end and every 10 minutes)."""
    cbs: list[Callback] = [NanGuard()]
    if grad_clip:
        cbs.append(GradientClip(max_norm=grad_clip))
    if progress is None and interactive():
        cbs.append(ProgressBar("rich"))
    elif progress:
        cbs.append(ProgressBar("rich" if interactive() else "plain"))
    if learn.run is not None:
        cbs += [ResumeFromCheckpoint(), RunLogger(), SaveCheckpoints(),
                TrainingCheckpoints(every_steps=learn.checkpoint_every, every_seconds=learn.checkpoint_seconds)]
        if carries_state(learn.model):  # a recurrent LM's hidden state travels with its checkpoints
            cbs.append(CarriedState())
    return cbs
