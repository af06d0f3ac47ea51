"""The user's path: ``deepdojo train tinyshakespeare.txt --task lm`` with the defaults, timed end to end.

    python benchmarks/shakespeare_cli.py [--data tinyshakespeare.txt] [--threads 2] [--minutes 10]
                                         [--quick] [--baseline-iters 500] [--out DIR]

Issue 15's target: <= 1.88 nats/char on the last 10% of tinyshakespeare in
<= 10 minutes on the 2-core CPU, with the defaults a user gets. This runs the
CLI exactly as a user would (a subprocess, no flags but ``--task lm``, an
``--out`` folder, and ``--threads`` as ``OMP_NUM_THREADS``), kills it at
``--minutes`` (verdict: too slow), and reads the run's ``summary.json``. The
wall time covers everything the user waits for: loading, training, the
evaluation passes and the report.

Baseline measured in the same run: ``--baseline-iters`` steps of nanoGPT's
CPU recipe (benchmarks/shakespeare_char.py's GPT arm, batch 12) through the
Learner; printed as the ratio of training tokens per second (CLI / recipe),
which says how much of the box's speed the CLI path keeps. ``--quick`` runs
the CLI on the first 1% of the text (a smoke run of the whole path: the
target does not apply).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_NATS, TARGET_MINUTES = 1.88, 10.0


def run_cli(data: Path, out: Path, threads: int, minutes: float) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "deepdojo", "train", str(data), "--task", "lm", "--out", str(out), "--name", "cli"]
    print("$ " + " ".join(cmd[2:]), flush=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, timeout=minutes * 60, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return {"wall_seconds": round(time.perf_counter() - t0, 1), "timed_out": True}
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"deepdojo train failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    first = [ln for ln in proc.stdout.splitlines() if ln.startswith("deepdojo:")]
    summary = json.loads((out / "cli" / "summary.json").read_text())
    cfg = json.loads((out / "cli" / "config.json").read_text())
    final = summary.get("final") or {}
    train_s = sum(float(json.loads(ln).get("seconds", 0)) for ln in (out / "cli" / "metrics.jsonl").read_text().splitlines()
                  if ln.strip() and "epoch" in json.loads(ln))
    return {"wall_seconds": round(wall, 1), "timed_out": False, "said": first[0] if first else None,
            "valid_nats": final.get("nats_per_token"), "epochs": cfg["epochs"], "lr": cfg["lr"],
            "schedule": cfg["schedule"], "batch_size": cfg["batch_size"], "train_seconds": round(train_s, 1)}


def run_baseline(data: Path, iters: int, threads: int) -> dict:
    """nanoGPT's CPU recipe through the Learner for ``iters`` steps: tokens per second of training."""
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from shakespeare_char import CONFIGS, run_arm

    torch.set_num_threads(threads)
    cfg = {**CONFIGS["cpu"], "iters": iters}
    args = argparse.Namespace(eval_every=iters, minutes=TARGET_MINUTES)
    r = run_arm("gpt", str(data), cfg, args)
    r["tokens_per_s"] = cfg["batch"] * cfg["block"] * r["steps"] / max(r["train_seconds"], 1e-9)
    return r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/tinyshakespeare.txt")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for both arms (the target's box has 2 cores)")
    ap.add_argument("--minutes", type=float, default=TARGET_MINUTES, help="kill the CLI run after this long")
    ap.add_argument("--baseline-iters", type=int, default=500, help="steps of the recipe baseline (0: none)")
    ap.add_argument("--quick", action="store_true", help="the first 1%% of the text: a smoke run of the whole path")
    ap.add_argument("--out", default=None, help="keep the run folder here (default: a temporary folder)")
    args = ap.parse_args()
    data = Path(args.data)
    if not data.is_file():
        raise SystemExit(f"{data}: not found (fix: pass --data path/to/tinyshakespeare.txt)")
    out = Path(args.out or tempfile.mkdtemp(prefix="shakespeare_cli_"))
    out.mkdir(parents=True, exist_ok=True)
    if args.quick:
        text = data.read_text(encoding="utf-8")
        data = out / "tinyshakespeare_1pct.txt"
        data.write_text(text[: len(text) // 100], encoding="utf-8")
    print(f"{args.threads} thread(s), load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    base = run_baseline(data, args.baseline_iters, args.threads) if args.baseline_iters else None
    cli = run_cli(data, out, args.threads, args.minutes)
    print(json.dumps(cli, indent=1))
    if base:
        print(f"baseline (nanoGPT recipe, {base['steps']} steps of 12 x 64): {base['tokens_per_s']:,.0f} tokens/s, "
              f"valid {base['valid_loss_full']:.4f}")
    if cli["timed_out"]:
        print(f"VERDICT: FAIL — the CLI run passed {args.minutes:g} minutes")
        return
    if cli["train_seconds"]:
        print(f"ratio CLI wall / CLI training seconds: {cli['wall_seconds'] / cli['train_seconds']:.2f} "
              f"(evaluation, report and start-up overhead)")
        found = re.search(r"of (\d+) steps", cli["said"] or "")
        if base and found:
            tokens = cli["epochs"] * int(found.group(1)) * cli["batch_size"] * 64  # default block 64
            print(f"ratio CLI / recipe training tokens per second: "
                  f"{tokens / cli['train_seconds'] / base['tokens_per_s']:.2f} (batch 64 vs 12)")
    ok = cli["valid_nats"] is not None and cli["valid_nats"] <= TARGET_NATS and cli["wall_seconds"] <= args.minutes * 60
    goal = "quick smoke run: target not applicable" if args.quick else (
        f"target <= {TARGET_NATS} nats/char in <= {args.minutes:g} min")
    verdict = "SMOKE RUN DONE" if args.quick else ("PASS" if ok else "FAIL")
    print(f"VERDICT: {verdict} — {cli['valid_nats']:.4f} nats/char in {cli['wall_seconds'] / 60:.1f} "
          f"min wall ({goal})")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
