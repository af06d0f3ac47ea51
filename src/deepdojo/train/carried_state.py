"""Checkpoints carry a recurrent language model's hidden state, so a mid-epoch resume continues every stream.

A model that carries its state across batches (``model.state``, reset by
``model.reset_state()``; see ``models/language.py``) would restart its
streams from zeros after a resume, and the resumed run would drift from an
uninterrupted one. :class:`CarriedState` saves the state with each training
checkpoint and puts it back when the resumed epoch begins (after the loop's
``model.train()``, which resets it).
"""

from __future__ import annotations

from deepdojo.train.callbacks import Callback


def carries_state(model) -> bool:
    return callable(getattr(model, "reset_state", None)) and hasattr(model, "state")


class CarriedState(Callback):
    order = -5  # before any callback reads the model in before_epoch

    def __init__(self):
        self.pending = None

    def state_dict(self) -> dict:
        state = getattr(self.learn.model, "state", None)
        return {} if state is None else {"state": state}

    def load_state_dict(self, state: dict) -> None:
        self.pending = state.get("state")

    def before_epoch(self) -> None:
        if self.pending is not None and self.learn.start_batch:  # resuming mid-epoch: continue the streams
            s = self.pending
            self.learn.model.state = tuple(t.to(self.learn.device) for t in s) if isinstance(s, tuple) else \
                s.to(self.learn.device)
        self.pending = None
