"""``deepdojo lesson list | run NAME [--smoke] | open NAME``: the executable curriculum."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from deepdojo.cli.common import emit_json


def add_parser(sub) -> None:
    p = sub.add_parser("lesson", help="list, run or open the lessons (each asserts what it teaches)")
    lsub = p.add_subparsers(dest="lesson_command", metavar="ACTION", parser_class=type(p))
    lsub.required = True
    ls = lsub.add_parser("list", help="number, title, minutes and what each lesson asserts")
    ls.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ls.set_defaults(run=run_list)
    r = lsub.add_parser("run", help="run a lesson as a script; exit 1 if a claim no longer holds")
    r.add_argument("name", metavar="NAME", help="number (4), file name (04_hyperplane_xor) or part of the topic")
    r.add_argument("--smoke", action="store_true", help="the quick version CI runs")
    r.add_argument("--out", help="folder for the lesson's figures and claims.json (default lesson_output/NN)")
    r.set_defaults(run=run_lesson)
    o = lsub.add_parser("open", help="write the lesson as a Jupyter notebook into the current folder")
    o.add_argument("name", metavar="NAME")
    o.add_argument("--dir", default=".", help="folder to write NN_topic.ipynb to (default: current folder)")
    o.add_argument("--force", action="store_true", help="overwrite an existing notebook")
    o.set_defaults(run=run_open)


def run_list(args: argparse.Namespace) -> int:
    from deepdojo.lessons import list_lessons

    lessons = list_lessons()
    if args.json:
        emit_json({"lessons": [lsn.to_json() for lsn in lessons]})
        return 0
    for lsn in lessons:
        print(f"{lsn.number:2d}  {lsn.title}  ({lsn.minutes} min)\n    asserts: {lsn.asserts}")
    print(f"\n{len(lessons)} lessons. Run one: deepdojo lesson run NUMBER [--smoke]; "
          "as a notebook: deepdojo lesson open NUMBER")
    return 0


def run_lesson(args: argparse.Namespace) -> int:
    from deepdojo.lessons import LESSON_DIR, find_lesson
    from deepdojo.lessons.kit import OUT_ENV

    lesson = find_lesson(args.name)
    env = dict(os.environ)
    # the deepdojo this command runs from is the one the lesson imports (checkout, editable or wheel)
    root = str(LESSON_DIR.parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    if args.out:
        env[OUT_ENV] = args.out
    cmd = [sys.executable, str(lesson.path), *(["--smoke"] if args.smoke else [])]
    code = subprocess.run(cmd, env=env, check=False).returncode
    if code != 0:
        sys.stderr.write(f"deepdojo: lesson {lesson.number} ({lesson.slug}) failed with exit code {code}\n")
        return 1
    return 0


def run_open(args: argparse.Namespace) -> int:
    from deepdojo.lessons import find_lesson, write_notebook

    path = write_notebook(find_lesson(args.name), args.dir, force=args.force)
    print(f"wrote {path}  (open it with: jupyter lab {path})")
    return 0
