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
from deepdojo.data.leakage import describe_leaks
from deepdojo.data.load import load_data, table_options_of
from deepdojo.data.model_hints import default_arch_for, model_kwargs_for
from deepdojo.errors import ConfigError, DeepdojoError
from deepdojo.io import write_json
from deepdojo.models import default_arch
from deepdojo.models.fit_check import build_checked
from deepdojo.tasks import Task, get_task
from deepdojo.tasks.base import source_format
from deepdojo.train.distributed import leave_for_evaluation, main_decides
from deepdojo.train.learner import Learner
from deepdojo.train.reproducibility import seed_everything
from deepdojo.train.run_folder import RunFolder, check_run_name, claim_run_folder

_FROM_CONFIG = object()  # "out" not given: take cfg.out


def load(source: str | Path | Data | ImageFolder, cfg: TrainConfig, **text_options: Any) -> Data:
    """The data a config names, checked (bad files stop here with every problem listed).

    CSV/TSV/TXT files are read with the config's columns and encoding
    (:func:`~deepdojo.data.load.table_options_of`), texts with ``text_options``
    (a language model's ``vocab`` and ``level``); ``train_dev_pct`` carves the train-dev split.
    """
    data = load_data(source, size=cfg.size, valid_pct=cfg.valid_pct, test_pct=cfg.test_pct, seed=cfg.seed,
                     batch_size=cfg.batch_size, augment=cfg.augment, skip_bad=cfg.skip_bad, dedupe=cfg.dedupe,
                     leak_check=cfg.leak_check, rehash=cfg.rehash, task=cfg.task if isinstance(cfg.task, str) else None,
                     reads=source_format(cfg.task), **{**table_options_of(cfg), **text_options})
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
    lm = None
    if cfg.pretrained:  # ImageNet weights: their architecture and resolution unless set (transfer.pretrained_config)
        from deepdojo.train.text_transfer import language_model_source
        from deepdojo.train.transfer import pretrained_config

        lm = language_model_source(cfg.pretrained)  # a language model's run: ULMFiT (train/text_transfer.py)
        cfg = lm.configure(cfg) if lm is not None else pretrained_config(cfg)
    if source is None:
        source = cfg.data
    if isinstance(source, (Data, ImageFolder)) and not cfg.data:
        cfg = cfg.merged(data="<in memory>")
    elif not isinstance(source, (Data, ImageFolder)):
        cfg = cfg.merged(data=str(source))
    seed_everything(cfg.seed)
    data = load(source, cfg, **(lm.data_options() if lm is not None else {}))  # the LM's vocabulary: its ids
    task, said = choose_task(task if task is not None else cfg.task, data)
    if not quiet:
        print(said)
        for line in task.describe_data(data):  # e.g. a recommender's split and its cold-start rows
            print(line)
        if lm is not None:
            print(f"pretrained: the {lm.arch} language model's encoder and {len(lm.vocab):,}-token {lm.level} "
                  f"vocabulary ({lm.path}); fine-tuning thaws one layer group per epoch, head first, lower "
                  "groups at lr/2.6 per level (ULMFiT)")
    arch = cfg.arch if cfg.arch != "auto" else (task.default_arch(data) or default_arch_for(data)
                                                or default_arch(data.input_shape))
    n_out = task.output_size(data)
    kwargs = {**task.model_kwargs(data), **model_kwargs_for(data, arch), **(lm.model_kwargs if lm else {}),
              **cfg.model_kwargs}
    spec = {"arch": arch, "model_kwargs": kwargs, "num_classes": n_out}
    if model is None:
        model = build_checked(arch, data.input_shape, n_out, **kwargs)  # a mismatch: one line naming the fix
        if lm is not None:
            lm.load_into(model)  # the encoder; the head stays new
        elif cfg.pretrained:
            from deepdojo.train.transfer import pretrained_data, start_from

            pretrained_data(cfg.pretrained, data)  # ImageNet weights: ImageNet's normalization, saved with the model
            model, built = start_from(cfg.pretrained, model, arch, data.input_shape, n_out)
            if built != arch:  # a hub model (timm:NAME): checkpoints name it, so predict rebuilds it
                spec.update(arch=built, model_kwargs={})
    else:
        spec = {"arch": None, "model_kwargs": {}, "num_classes": n_out}  # a user's module: predict needs it passed
    out = cfg.out if out is _FROM_CONFIG else out
    run_dir = None
    if out is not None:
        claimed: list[RunFolder] = []  # holds the lock until the Learner's own RunFolder takes it over

        def make_run_dir() -> Path:
            claimed.append(claim_run_folder(out, name or cfg.name, arch, resume=cfg.resume, overwrite=cfg.overwrite))
            path = claimed[0].path
            if data.info.get("skipped"):  # what --skip-bad left out, beside the run it shaped
                write_json(path / "skipped.json", {"source": cfg.data, "skipped": data.info["skipped"]})
            return path

        run_dir = main_decides(make_run_dir, cfg.device, cfg.strategy)  # [distributed] rank 0 names it, once
    if cfg.early_stop:
        from deepdojo.train.early_stopping import EarlyStopping

        monitor = cfg.monitor or task.monitor
        mode = "auto" if cfg.monitor else ("min" if task.minimize else "max")
        callbacks = [*callbacks, EarlyStopping(monitor=monitor, patience=cfg.early_stop, mode=mode)]
    return Learner(
        model, data, task=task, metrics=metrics if metrics is not None else cfg.metrics, callbacks=callbacks,
        opt=cfg.opt, grad_clip=cfg.grad_clip,
        lr=cfg.lr if cfg.lr != "auto" else 1e-3, weight_decay=cfg.weight_decay, momentum=cfg.momentum, seed=cfg.seed,
        deterministic=cfg.deterministic, device=cfg.device, bf16=cfg.bf16, run_dir=run_dir, progress=progress,
        config={**cfg.to_dict(), "arch": arch, "task": task.name}, model_spec=spec,
        checkpoint_every=cfg.checkpoint_every, checkpoint_seconds=cfg.checkpoint_seconds, finisher=finish,
        strategy=cfg.strategy, channels_last=cfg.channels_last, compile=cfg.compile,
    )


def fit(learn: Learner, cfg: TrainConfig, quiet: bool = True) -> None:
    """Train ``learn`` as ``cfg`` says: the LR (auto: resolved once, resume-aware), schedule, fine-tuning."""
    if cfg.pretrained:
        learn.freeze()  # fine-tuning: the LR finder measures the head on fixed features
    if cfg.lr == "auto" and learn.task.default_lr is not None:
        lr = learn.task.default_lr  # e.g. a GAN: no single loss for the range test to descend
    else:
        lr = learn.resolve_lr(cfg.lr, resume=cfg.resume, show=not quiet)
    if cfg.pretrained and getattr(learn.model, "unfreeze_gradually", False):  # ULMFiT: one group thawed per epoch
        from deepdojo.train.text_transfer import fine_tune_gradually

        fine_tune_gradually(learn, cfg.epochs, float(lr), resume=cfg.resume)
    elif cfg.pretrained:  # one head-only epoch, then --epochs unfrozen with discriminative LRs
        learn.fine_tune(cfg.epochs, float(lr), freeze_epochs=1, resume=cfg.resume)
    else:
        shape = one_cycle_options(cfg)
        if "moms" in shape and getattr(learn.model, "adam_betas", None) is not None:
            shape["moms"] = (learn.model.adam_betas[0],) * 2  # a GAN keeps its beta1: cycling it destabilises the game
        learn.fit(cfg.epochs, lr, schedule=cfg.schedule, warmup_pct=cfg.warmup_pct, resume=cfg.resume, **shape)


def one_cycle_options(cfg: TrainConfig) -> dict[str, Any]:
    """The one-cycle shape fields of the config (``pct_start``, ``div``, ``final_div``, ``moms``) when it is one-cycle."""
    if cfg.schedule != "one_cycle":
        return {}
    return {"pct_start": cfg.pct_start, "div": cfg.div, "final_div": cfg.final_div, "moms": tuple(cfg.moms)}


def finish(learn: Learner, baseline_budget_s: float = 10.0) -> dict[str, Any]:
    """Evaluate, draw, report: returns the run's summary (also in ``summary.json``) with ``report`` and ``run_dir``.

    Also :meth:`Learner.finish` for a Learner made by :func:`build` / ``vision.classifier`` / ``deepdojo.learner``.
    """
    from deepdojo.evaluate.finish import finish_run
    from deepdojo.report.html_report import note_failure, write_report
    from deepdojo.report.interpretation_figures import write_interpretation_figures

    if learn.run is None:
        raise ConfigError("finish needs a run folder to write into", where="finish",
                          fix="build the Learner with a run folder (vision.classifier(..., out='runs'), run_dir=...)")
    try:
        out = finish_run(learn, baseline_budget_s=baseline_budget_s)
        if out.get("interpreter") is not None:
            write_interpretation_figures(out["interpreter"], out["interpretation"], learn.run.path)
    except (DeepdojoError, MemoryError):
        raise
    except Exception as exc:  # the model is trained and saved: a failed plot or baseline must not cost the report
        note_failure(learn.run.path, "evaluation after training (baselines, diagnosis, interpretation)", exc)
    report = write_report(learn.run.path)
    summary = learn.run.read_json("summary.json") if (learn.run.path / "summary.json").is_file() else {}
    summary.update({"run_dir": str(learn.run.path), "report": str(report)})
    return summary


def train(cfg: TrainConfig, quiet: bool = False, callbacks: Iterable = (), auto_epochs: bool = False) -> dict[str, Any]:
    """``deepdojo train``: build, fit, finish; returns the summary (printed unless ``quiet``).

    ``auto_epochs``: the epoch count is chosen from the data size (train/auto_defaults.py) and said first.
    """
    if cfg.out is not None:
        check_run_name(cfg.out, cfg.name, cfg.resume, cfg.overwrite)  # before loading any data
    try:
        learn = build(cfg.data, cfg, progress=not quiet, callbacks=callbacks, quiet=quiet)
    except DataCheckError as exc:  # stop before epoch 1 with every bad item listed, then the one-line error
        sys.stderr.write(exc.report.format() + "\n")
        raise
    if auto_epochs:
        from deepdojo.train.auto_defaults import auto_epochs as choose

        recipe = learn.task.auto_recipe(learn.data, learn.model, cfg)  # e.g. a language model's nanoGPT recipe
        if recipe is None:
            convolved = learn.data.is_image or (learn.data.info.get("preprocess") or {}).get("kind") == "signal"
            epochs, why = choose(len(learn.data.train), convolved, bool(cfg.pretrained))  # signals: a CNN, like images
            recipe = {"epochs": epochs}, why
        cfg = cfg.merged(**recipe[0])
        learn.config.update(recipe[0])
        if not quiet:
            n = (learn.data.info.get("sizes") or {}).get("train")
            print(f"deepdojo: {learn.config['arch']}" + (f" on {n:,} training examples" if n else "")
                  + f": {recipe[1]}", flush=True)
    if not quiet and (line := describe_leaks(learn.data.info.get("leaks"), deduped=cfg.dedupe)):
        print(line, flush=True)  # before epoch 1: a leak makes validation measure memory
    fit(learn, cfg, quiet=quiet)  # [distributed] the LR finder is a collective: every rank runs it, rank 0 shows it
    if not leave_for_evaluation(learn):  # [distributed] rank 0 evaluates and reports alone
        return {}
    summary = finish(learn)
    if not quiet:
        final = summary.get("final") or {}
        shown = ", ".join(f"{k} {v:.4f}" for k, v in final.items()
                          if k not in ("epoch", "lr", "seconds") and isinstance(v, float))
        print(f"trained {summary.get('epochs')} epochs: {shown}")
        print(f"run folder: {learn.run.path}")
        print(f"report: {summary['report']}")
    return summary
