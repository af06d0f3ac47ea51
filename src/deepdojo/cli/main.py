"""``deepdojo`` command line: thin commands over the Python API.

Exit codes: 0 success; 2 bad usage or bad input (one line, no traceback);
1 anything else; 75 (EX_TEMPFAIL) training stopped by SIGTERM/SIGINT after
writing a checkpoint: rerun with ``--resume`` (a scheduler may requeue it);
130 interrupted elsewhere. ``--json`` prints one JSON object as the last line
of standard output.

Each command is a module with ``add_parser(subparsers)`` and ``run(args) -> int``;
:data:`COMMANDS` lists them in ``--help`` order.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from deepdojo.cli import (
    data_cmd, diagnose_cmd, evaluate_cmd, export_cmd, generate_cmd, interpret_cmd, lesson_cmd, lr_find_cmd, predict_cmd,
    quickstart_cmd, report_cmd, search_cmd, stylize_cmd, summary_cmd, train_cmd,
)
from deepdojo.errors import DeepdojoError

COMMANDS = [quickstart_cmd, train_cmd, lr_find_cmd, predict_cmd, generate_cmd, data_cmd, evaluate_cmd, diagnose_cmd,
            interpret_cmd, report_cmd, export_cmd, search_cmd, summary_cmd, lesson_cmd, stylize_cmd]


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line (no usage dump) with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"deepdojo: error: {message} (see '{self.prog} --help')\n")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    import deepdojo

    parser = OneLineParser(prog="deepdojo", description="A deep-learning workbench on PyTorch.")
    parser.add_argument("--version", action="version", version=f"deepdojo {deepdojo.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    code = _main(argv)
    from deepdojo.cli.launch import record_status

    record_status(code)  # [distributed] a worker under `--nproc` tells the launcher how it ended
    return code


def _main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad flag (already reported in one line)
        return int(exc.code or 0)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.run(args) or 0)
    except DeepdojoError as exc:
        sys.stderr.write(f"deepdojo: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("deepdojo: interrupted\n")
        return 130
    except Exception:  # a bug, not bad input: show everything
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
