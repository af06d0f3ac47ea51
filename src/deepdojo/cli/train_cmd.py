"""``deepdojo train DATA``: train, evaluate on validation, write the run folder and report.

Training state is checkpointed at every epoch end, every ``--checkpoint-every`` steps and every
``--checkpoint-seconds`` seconds. ``--resume`` continues the run folder ``--name`` under ``--out``
(or the newest one there) from its newest checkpoint that verifies, mid-epoch included, and ends
with the same weights as an uninterrupted run; the LR finder is not rerun (its recorded choice is
reused). SIGTERM or SIGINT (Ctrl-C) writes a checkpoint at the next step boundary and exits with
code 75 (EX_TEMPFAIL), so a scheduler can requeue the job with ``--resume``.
"""

from __future__ import annotations

import argparse
import sys

from deepdojo.cli.common import add_data_model_flags, config_from_args, emit_json
from deepdojo.config import TrainConfig
from deepdojo.data.checks import DataCheckError


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model on DATA and write a run folder with a report")
    add_data_model_flags(p)
    p.add_argument("--epochs", type=int)
    p.add_argument("--schedule", choices=["one_cycle", "constant", "cosine", "step", "exponential"])
    p.add_argument("--resume", action="store_true", help="continue the run folder --name (or the newest) from its last checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="reuse --name although that folder holds a run: its files are deleted first")
    p.add_argument("--checkpoint-every", type=int, dest="checkpoint_every", metavar="N",
                   help="also checkpoint the training state every N steps (default: epoch ends and every 10 minutes)")
    p.add_argument("--checkpoint-seconds", type=float, dest="checkpoint_seconds", metavar="M",
                   help="checkpoint the training state every M seconds (default 600)")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    p.add_argument("--deterministic", action="store_true")
    p.add_argument("--pretrained", metavar="RUN_DIR",
                   help="start from this run folder's weights with a new head (or timm:NAME / torchvision:NAME) and "
                        "fine-tune: 1 head-only epoch, then --epochs unfrozen with LRs lr/200..lr/2 (one-cycle)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.pretrained:
        cfg = cfg.merged(pretrained=args.pretrained)
    summary = train(cfg, quiet=args.json)
    if args.json:
        emit_json(summary)
    return 0


def train(cfg: TrainConfig, quiet: bool = False) -> dict:
    """Run one training job from a config; returns the summary (also in summary.json)."""
    from deepdojo import vision
    from deepdojo.evaluate.finish import finish_run
    from deepdojo.errors import DeepdojoError
    from deepdojo.report.html_report import note_failure, write_report
    from deepdojo.train.run_folder import check_run_name

    check_run_name(cfg.out, cfg.name, cfg.resume, cfg.overwrite)  # before loading any data
    try:
        learn = vision.classifier(cfg.data, config=cfg, out=cfg.out, name=cfg.name, progress=not quiet)
    except DataCheckError as exc:  # stop before epoch 1 with every bad item listed, then the one-line error
        sys.stderr.write(exc.report.format() + "\n")
        raise
    if cfg.pretrained:
        learn.freeze()  # fine-tuning: the LR finder measures the head on fixed features
    lr = cfg.lr
    if lr == "auto" and cfg.resume and (learn.run.path / "lr_find.json").is_file():
        lr = learn.run.read_json("lr_find.json")["suggestion"]  # the run's own choice: no second LR search
    elif lr == "auto":
        result = learn.lr_find(show=not quiet)
        lr = result.suggestion
    if cfg.pretrained:  # one head-only epoch, then --epochs unfrozen with discriminative LRs
        learn.fine_tune(cfg.epochs, float(lr), freeze_epochs=1, resume=cfg.resume)
    else:
        learn.fit(cfg.epochs, lr, schedule=cfg.schedule, warmup_pct=cfg.warmup_pct, resume=cfg.resume)
    try:
        finish_run(learn)  # baselines, diagnosis, data summary, interpretation (train/valid only)
    except (DeepdojoError, MemoryError):
        raise
    except Exception as exc:  # the model is trained and saved: a failed plot or baseline must not cost the report
        note_failure(learn.run.path, "evaluation after training (baselines, diagnosis, interpretation)", exc)
    report = write_report(learn.run.path)
    summary = learn.run.read_json("summary.json")
    summary.update({"run_dir": str(learn.run.path), "report": str(report)})
    if not quiet:
        final = summary.get("final") or {}
        shown = ", ".join(f"{k} {v:.4f}" for k, v in final.items() if k not in ("epoch", "lr", "seconds") and isinstance(v, float))
        print(f"trained {summary['epochs']} epochs: {shown}")
        print(f"run folder: {learn.run.path}")
        print(f"report: {report}")
    return summary
