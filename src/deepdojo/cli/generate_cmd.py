"""``deepdojo generate RUN``: sample text from a trained language model, or a PNG grid from a GAN.

For a GAN run: ``--n 64 --seed 0 [--class NAME] [--out grid.png]`` (see :mod:`deepdojo.cli.generate_images`).

``--seed`` makes the sample reproducible (the same run, prompt, settings and
seed give the same text); ``--temperature`` below 1 makes it more
conservative (0: always the most likely token), ``--top-k`` draws only among
the k most likely tokens. A prompt with a character (or word) the model
never saw in training is a one-line error naming it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepdojo.cli.common import emit_json
from deepdojo.errors import ConfigError


def add_parser(sub) -> None:
    p = sub.add_parser("generate", help="sample text from RUN's language model")
    p.add_argument("run_dir", metavar="RUN")
    p.add_argument("--prompt", default="", help="text to continue (default: a newline)")
    p.add_argument("--length", type=int, default=500, help="tokens to generate (default 500)")
    p.add_argument("--temperature", type=float, default=1.0, help="< 1 sharper, > 1 more random, 0 greedy (default 1)")
    p.add_argument("--top-k", type=int, dest="top_k", default=None, help="draw only among the k most likely tokens")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same text (default 0)")
    p.add_argument("--n", type=int, default=64, help="GAN runs: images in the grid (default 64)")
    p.add_argument("--class", dest="class_name", default=None, help="conditional GAN runs: generate this class")
    p.add_argument("--out", default=None, help="GAN runs: the PNG to write (default RUN/generated.png)")
    p.add_argument("--checkpoint", default="best", help="checkpoint name in RUN/checkpoints (default: best)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def generate(run_dir: str | Path, prompt: str = "", length: int = 500, temperature: float = 1.0,
             top_k: int | None = None, seed: int | None = 0, checkpoint: str = "best") -> str:
    """Text from the language model of ``run_dir`` (its checkpoint carries the vocabulary and token level)."""
    from deepdojo.evaluate.run_eval import run_checkpoint
    from deepdojo.tasks.language_model import generate_text
    from deepdojo.train.checkpoint import model_from_checkpoint

    model, meta = model_from_checkpoint(run_checkpoint(run_dir, checkpoint))
    vocab = meta.get("vocab") or meta.get("classes")
    if not vocab or not callable(getattr(model, "step", None)):
        raise ConfigError("this run is not a language model (no vocabulary or no step())", where=str(run_dir),
                          fix="train one on a text file: deepdojo train corpus.txt --task lm")
    return generate_text(model, vocab, meta.get("level") or "char", prompt, length, temperature=temperature,
                         top_k=top_k, seed=seed)


def run(args: argparse.Namespace) -> int:
    from deepdojo.evaluate.run_eval import run_checkpoint
    from deepdojo.train.checkpoint import model_from_checkpoint

    model, meta = model_from_checkpoint(run_checkpoint(args.run_dir, args.checkpoint))
    if getattr(model, "adversarial", False):  # a GAN: a PNG grid of samples
        from deepdojo.cli.generate_images import write_grid

        out = write_grid(model, meta, args.out or Path(args.run_dir) / "generated.png", args.n, args.seed,
                         args.class_name)
        if args.json:
            emit_json({"run_dir": str(Path(args.run_dir)), "seed": args.seed, "n": args.n, "png": str(out)})
        else:
            print(f"wrote {out}")
        return 0
    text = generate(args.run_dir, args.prompt, args.length, args.temperature, args.top_k, args.seed, args.checkpoint)
    if args.json:
        emit_json({"run_dir": str(Path(args.run_dir)), "prompt": args.prompt, "seed": args.seed, "text": text})
    else:
        print(text)
    return 0
