"""deepdojo: a deep-learning workbench on PyTorch.

Names are resolved lazily, so ``import deepdojo`` (and the NumPy-only
``deepdojo.scratch``) never imports torch by itself.

Example (any data, any task: the neutral door; ``vision.classifier`` is the image one):
    >>> import tempfile, deepdojo
    >>> learn = deepdojo.learner("builtin:diabetes", task="regression", out=tempfile.mkdtemp(), progress=False)
    >>> _ = learn.fit_one_cycle(1, 1e-2)
    >>> summary = learn.finish(baseline_budget_s=1)
    >>> summary["report"].endswith("report.html")
    True
"""

__version__ = "0.1.0"

__all__ = ["Learner", "Predictor", "Task", "__version__", "finish", "learner", "load_learner", "stylize"]


def __getattr__(name: str):
    if name == "Learner":
        from deepdojo.train.learner import Learner

        return Learner
    if name in ("load_learner", "Predictor"):
        from deepdojo import predict

        return getattr(predict, name)
    if name == "Task":
        from deepdojo.tasks import Task

        return Task
    if name in ("learner", "finish"):
        from deepdojo import run

        return run.build if name == "learner" else run.finish
    if name == "stylize":
        from deepdojo.stylize import stylize

        return stylize
    raise AttributeError(f"module 'deepdojo' has no attribute {name!r}")
