"""One pipeline for the CLI, the Python API and every search trial.

``config -> data -> task -> model -> Learner -> LR (auto, resume-aware) -> fit -> evaluate -> report``

- :func:`build` merges the config once, loads and checks the data, chooses
  the task (``cfg.task``, else the one the data suggests, and says so), builds
  the model, creates the run folder once and returns a :class:`Learner`.
- :func:`fit` trains as the config says: ``lr="auto"`` is resolved in one
  place (:meth:`Learner.resolve_lr`: the run's own finder result on resume, a
  finder result still valid for this model, else a new LR range test);
  ``pretrained`` runs the fine-tune recipe.
- :func:`finish` evaluates (one prediction pass per split: metrics, baselines,
  diagnosis, interpretation, label suspects), draws the pictures and writes
  the report and summary — the same files for a Python user as for the CLI.
- :func:`train` is all three: ``deepdojo train`` is this function.

Example:
    >>> import tempfile
    >>> from deepdojo.config import TrainConfig
    >>> cfg = TrainConfig(data="builtin:xor", epochs=1, lr=0.05, out=tempfile.mkdtemp(), seed=0)
    >>> summary = train(cfg, quiet=True)
    >>> sorted(p.name for p in Path(summary["run_dir"]).glob("*.json"))[:4]
    ['baselines.json', 'config.json', 'data_summary.json', 'diagnosis.json']
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable

from deepdojo.config import TrainConfig
from deepdojo.data.checks import DataCheckError
from deepdojo.data.core import Data
from deepdojo.data.images import ImageFolder
from deepdojo.data.load import load_data
from deepdojo.errors import ConfigError
from deepdojo.io import write_json
from deepdojo.models import create_model_for, default_arch
from deepdojo.tasks import Task, get_task
from deepdojo.train.learner import Learner
from deepdojo.train.reproducibility import seed_everything
from deepdojo.train.run_folder import RunFolder

_FROM_CONFIG = object()  # "out" not given: take cfg.out


def load(source: str | Path | Data | ImageFolder, cfg: TrainConfig) -> Data:
    """The data a config names, checked (bad files stop here with every problem listed)."""
    data = load_data(source, size=cfg.size, valid_pct=cfg.valid_pct, test_pct=cfg.test_pct, seed=cfg.seed,
                     batch_size=cfg.batch_size, augment=cfg.augment, skip_bad=cfg.skip_bad, dedupe=cfg.dedupe,
                     task=cfg.task if isinstance(cfg.task, str) else None)
    if cfg.train_dev_pct:
        data.carve_train_dev(cfg.train_dev_pct, cfg.seed)
    return data


def choose_task(requested: Task | str | None, data: Data) -> tuple[Task, str]:
    """The task to train and a sentence saying where it came from."""
    if requested is not None:
        task = get_task(requested)
        return task, f"task: {task.name} (as asked)"
    task = get_task(data.task)
    return task, f"task: {task.name} (inferred from the data; choose another with --task)"


def build(source: str | Path | Data | ImageFolder | None = None, cfg: TrainConfig | None = None, *,
          task: Task | str | None = None, model=None, metrics: Iterable | None = None,
          out: Any = _FROM_CONFIG, name: str | None = None, progress: bool | None = None,
          callbacks: Iterable = (), quiet: bool = True, **overrides: Any) -> Learner:
    """A :class:`Learner` for ``source`` (default ``cfg.data``) set up as ``cfg`` (plus ``overrides``) says.

    ``out=None``: no run folder. ``model``: your own ``nn.Module`` instead of ``cfg.arch``.
    """
    cfg = (cfg or TrainConfig()).merged(**overrides)
    if source is None:
        source = cfg.data
    if isinstance(source, (Data, ImageFolder)) and not cfg.data:
        cfg = cfg.merged(data="<in memory>")
    elif not isinstance(source, (Data, ImageFolder)):
        cfg = cfg.merged(data=str(source))
    seed_everything(cfg.seed)
    data = load(source, cfg)
    task, said = choose_task(task if task is not None else cfg.task, data)
    if not quiet:
        print(said)
    arch = cfg.arch if cfg.arch != "auto" else (task.default_arch(data) or default_arch(data.input_shape))
    n_out = task.output_size(data)
    kwargs = {**task.model_kwargs(data), **cfg.model_kwargs}
    spec = {"arch": arch, "model_kwargs": kwargs, "num_classes": n_out}
    if model is None:
        model = create_model_for(arch, data.input_shape, n_out, **kwargs)
        if cfg.pretrained:
            from deepdojo.train.transfer import start_from

            model, built = start_from(cfg.pretrained, model, arch, data.input_shape, n_out)
            if built != arch:  # a hub model (timm:NAME): checkpoints name it, so predict rebuilds it
                spec.update(arch=built, model_kwargs={})
    else:
        spec = {"arch": None, "model_kwargs": {}, "num_classes": n_out}  # a user's module: predict needs it passed
    out = cfg.out if out is _FROM_CONFIG else out
    run_dir = None
    if out is not None:
        if cfg.resume and not (name or cfg.name):
            run_dir = RunFolder.latest(out).path
        else:
            run_dir = RunFolder.create(out, name or cfg.name, prefix=arch).path
        if data.info.get("skipped"):  # what --skip-bad left out, beside the run it shaped
            write_json(run_dir / "skipped.json", {"source": cfg.data, "skipped": data.info["skipped"]})
    return Learner(
        model, data, task=task, metrics=metrics, callbacks=callbacks, opt=cfg.opt,
        lr=cfg.lr if cfg.lr != "auto" else 1e-3, weight_decay=cfg.weight_decay, momentum=cfg.momentum, seed=cfg.seed,
        deterministic=cfg.deterministic, device=cfg.device, bf16=cfg.bf16, run_dir=run_dir, progress=progress,
        config={**cfg.to_dict(), "arch": arch, "task": task.name}, model_spec=spec,
        checkpoint_every=cfg.checkpoint_every, checkpoint_seconds=cfg.checkpoint_seconds, finisher=finish,
    )


def fit(learn: Learner, cfg: TrainConfig, quiet: bool = True) -> None:
    """Train ``learn`` as ``cfg`` says: the LR (auto: resolved once, resume-aware), schedule, fine-tuning."""
    if cfg.pretrained:
        learn.freeze()  # fine-tuning: the LR finder measures the head on fixed features
    lr = learn.resolve_lr(cfg.lr, resume=cfg.resume, show=not quiet)
    if cfg.pretrained:  # one head-only epoch, then --epochs unfrozen with discriminative LRs
        learn.fine_tune(cfg.epochs, float(lr), freeze_epochs=1, resume=cfg.resume)
    else:
        learn.fit(cfg.epochs, lr, schedule=cfg.schedule, warmup_pct=cfg.warmup_pct, resume=cfg.resume)


def finish(learn: Learner, baseline_budget_s: float = 10.0) -> dict[str, Any]:
    """Evaluate, draw, report: returns the run's summary (also in ``summary.json``) with ``report`` and ``run_dir``.

    Also :meth:`Learner.finish` for a Learner made by :func:`build` / ``vision.classifier`` / ``deepdojo.learner``.
    """
    from deepdojo.evaluate.finish import finish_run
    from deepdojo.report.html_report import write_report
    from deepdojo.report.interpretation_figures import write_interpretation_figures

    if learn.run is None:
        raise ConfigError("finish needs a run folder to write into", where="finish",
                          fix="build the Learner with a run folder (vision.classifier(..., out='runs'), run_dir=...)")
    out = finish_run(learn, baseline_budget_s=baseline_budget_s)
    interp = out.get("interpretation")
    if interp is not None:
        write_interpretation_figures(interp, learn.run.read_json("interpretation.json"), learn.run.path)
    report = write_report(learn.run.path)
    summary = learn.run.read_json("summary.json") if (learn.run.path / "summary.json").is_file() else {}
    summary.update({"run_dir": str(learn.run.path), "report": str(report)})
    return summary


def train(cfg: TrainConfig, quiet: bool = False, callbacks: Iterable = ()) -> dict[str, Any]:
    """``deepdojo train``: build, fit, finish; returns the summary (printed unless ``quiet``)."""
    try:
        learn = build(cfg.data, cfg, progress=not quiet, callbacks=callbacks, quiet=quiet)
    except DataCheckError as exc:  # stop before epoch 1 with every bad item listed, then the one-line error
        sys.stderr.write(exc.report.format() + "\n")
        raise
    fit(learn, cfg, quiet=quiet)
    summary = finish(learn)
    if not quiet:
        final = summary.get("final") or {}
        shown = ", ".join(f"{k} {v:.4f}" for k, v in final.items()
                          if k not in ("epoch", "lr", "seconds") and isinstance(v, float))
        print(f"trained {summary.get('epochs')} epochs: {shown}")
        print(f"run folder: {learn.run.path}")
        print(f"report: {summary['report']}")
    return summary
