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
from deepdojo.cli.common import add_data_model_flags, add_training_flags, config_from_args, emit_json
from deepdojo.config import TrainConfig


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model on DATA and write a run folder with a report")
    add_data_model_flags(p)
    add_training_flags(p)
    p.add_argument("--epochs", type=int)
    p.add_argument("--schedule", choices=["one_cycle", "constant", "cosine", "step", "exponential"])
    p.add_argument("--resume", action="store_true", help="continue the run folder --name (or the newest) from its last checkpoint")
    p.add_argument("--checkpoint-every", type=int, dest="checkpoint_every", metavar="N",
                   help="also checkpoint the training state every N steps (default: epoch ends and every 10 minutes)")
    p.add_argument("--checkpoint-seconds", type=float, dest="checkpoint_seconds", metavar="M",
                   help="checkpoint the training state every M seconds (default 600)")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    p.add_argument("--nproc", type=int, metavar="N",
                   help="train in N processes on this machine (torchrun + DDP; the global batch is N x --batch-size)")
    p.add_argument("--strategy", choices=["ddp", "fsdp"], help="data parallelism under torchrun (default ddp)")
    p.add_argument("--channels-last", action="store_true", dest="channels_last", help="NHWC memory format (CNNs)")
    p.add_argument("--compile", action="store_true", help="torch.compile the training step")
    p.add_argument("--deterministic", action="store_true")
    p.add_argument("--pretrained", metavar="RUN_DIR",
                   help="start from this run folder's weights with a new head (or timm:NAME / torchvision:NAME) and "
                        "fine-tune: 1 head-only epoch, then --epochs unfrozen with LRs lr/200..lr/2 (one-cycle)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo.train import distributed

    cfg = config_from_args(args)  # checked here, before any worker starts
    place = distributed.world_from_env()
    if cfg.nproc > 1 and place is None:  # [distributed] re-run this command in N processes under torchrun
        from deepdojo.cli.launch import launch

        return launch(cfg.nproc, args.argv)
    if place is not None:
        cfg = cfg.merged(nproc=place[1])  # the world size is part of the run's settings (global batch)
        args.json = args.json and place[0] == 0  # rank 0 prints
    try:
        return _run(args, cfg)
    finally:
        distributed.teardown()


def _run(args: argparse.Namespace, cfg: TrainConfig) -> int:
    if args.pretrained:
        cfg = cfg.merged(pretrained=args.pretrained)

    summary = train(cfg, quiet=args.json)
    if args.json:
        emit_json(summary)
    return 0


def train(cfg: TrainConfig, quiet: bool = False) -> dict:
    """Run one training job from a config; returns the summary (also in summary.json). See ``deepdojo.run``."""
    from deepdojo.run import train as run_train

    return run_train(cfg, quiet=quiet)
