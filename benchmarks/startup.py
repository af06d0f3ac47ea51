"""Start-up that scales: image folders of growing size, cold and warm, against the old code path and
a torch DataLoader's first epoch; the leak search; full-state checkpoint writes. Prints ratios.

Every measurement runs in its own subprocess (peak RSS is per process): ``ru_maxrss`` (peak
resident, page-cache pages of the memory map included) and the peak of ``RssAnon`` (memory the
process owns; sampled every 5 ms), which is what must stay flat as the data grows. The old code
path is the merge-base with ``main`` (``--old-ref``), extracted with ``git archive`` and run in
the same session. Ends with an extrapolation to ImageNet scale (1.28M images at 224x224).

    PYTHONPATH=src python benchmarks/startup.py [--sizes 2000 5000 10000 20000] [--side 96]
    PYTHONPATH=src python benchmarks/startup.py --only checkpoint
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- children (one measurement each)


class PeakAnon:
    """Samples ``RssAnon`` of this process every 5 ms in a thread; ``peak`` in MB."""

    def __init__(self):
        self.peak, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _read(self) -> float:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._read())
            time.sleep(0.005)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak, self._read())


def child_folder(root: str, cache: str, epoch: bool) -> dict:
    """ImageFolder + to_data (the start-up), then one pass over the train batches (an epoch's data)."""
    import torch

    from deepdojo.data.images import ImageFolder

    probe = PeakAnon()
    t0 = time.perf_counter()
    folder = ImageFolder(root, cache_dir=cache)
    data = folder.to_data(batch_size=64)
    start = time.perf_counter() - t0
    out = {"start_s": start, "n": len(folder)}
    if epoch:
        t0 = time.perf_counter()
        total = torch.zeros(())
        for xb, _ in data.train:
            total += xb[:, 0, 0, 0].sum()
        out["epoch_s"] = time.perf_counter() - t0
    out["peak_anon_mb"] = probe.stop()
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def child_torch(root: str) -> dict:
    """A torch DataLoader's first epoch: decode with Pillow per item, shuffle, batch 64, normalize."""
    import numpy as np
    import torch
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset

    class Folder(Dataset):
        def __init__(self, root):
            self.items = sorted((str(p), i) for i, c in enumerate(sorted(os.listdir(root)))
                                for p in Path(root, c).iterdir())

        def __len__(self):
            return len(self.items)

        def __getitem__(self, k):
            path, label = self.items[k]
            with Image.open(path) as im:
                a = np.asarray(im.convert("RGB"))
            return torch.from_numpy(a.copy()).permute(2, 0, 1).float().div_(255).sub_(0.5).div_(0.25), label

    probe = PeakAnon()
    t0 = time.perf_counter()
    loader = DataLoader(Folder(root), batch_size=64, shuffle=True, num_workers=0,
                        generator=torch.Generator().manual_seed(0))
    total = torch.zeros(())
    for xb, _ in loader:
        total += xb[:, 0, 0, 0].sum()
    return {"epoch_s": time.perf_counter() - t0, "peak_anon_mb": probe.stop(),
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_leaks(root: str, cache: str, old_src: str | None) -> dict:
    """The leak search on a warm folder: new (cached hashes; and hashes recomputed) vs the old all-pairs code."""
    import importlib.util

    from deepdojo.data.images import ImageFolder
    from deepdojo.data.leakage import find_leaks

    f = ImageFolder(root, cache_dir=cache)
    view = f.cache
    good = view.good()
    hashes = (view.records["phash"][good], view.records["digest"][good])
    out = {}
    t0 = time.perf_counter()
    new = find_leaks(f.x, f.splits, hashes=hashes)
    out["new_search_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    find_leaks(f.x, f.splits)
    out["new_with_hashing_s"] = time.perf_counter() - t0
    out["new"] = {"exact": sum(l.kind == "exact_duplicate" for l in new), "near": sum(l.kind == "near_duplicate" for l in new)}
    if old_src:
        spec = importlib.util.spec_from_file_location("old_leakage", Path(old_src) / "deepdojo/data/leakage.py")
        old_mod = importlib.util.module_from_spec(spec)
        sys.modules["old_leakage"] = old_mod  # dataclasses look their module up
        spec.loader.exec_module(old_mod)
        x = f.x.clone()  # the old code took an in-memory tensor
        t0 = time.perf_counter()
        old = old_mod.find_leaks(x, f.splits)
        out["old_s"] = time.perf_counter() - t0
        out["old"] = {"exact": sum(l.kind == "exact_duplicate" for l in old),
                      "near": sum(l.kind == "near_duplicate" for l in old)}
        old_set = {(l.split, l.index) for l in old}
        new_set = {(l.split, l.index) for l in new}
        out["found_by_old_not_new"] = len(old_set - new_set)
        out["found_by_new_not_old"] = len(new_set - old_set)
        # the same items, each matched to a train item with the same pixels (ties between identical
        # train copies may pick another one of them)
        digest = hashes[1]
        old_exact = {l.index: l.train_index for l in old if l.kind == "exact_duplicate"}
        new_exact = {l.index: l.train_index for l in new if l.kind == "exact_duplicate"}
        out["exact_same"] = old_exact.keys() == new_exact.keys() and all(
            (digest[old_exact[i]] == digest[new_exact[i]]).all() for i in old_exact)
    return out


def child_pool(root: str, cache: str) -> dict:
    """A cold decode of the folder in one process vs a 2-process pool (interleaved, best of 2)."""
    from deepdojo.data import image_cache
    from deepdojo.data.images import scan_folder

    _, paths, _, _ = scan_folder(Path(root))
    best = {"one process": float("inf"), "pool of 2": float("inf")}
    for _ in range(2):
        for name, pool in (("one process", False), ("pool of 2", True)):
            image_cache.use_pool = lambda *a, pool=pool: pool
            shutil.rmtree(cache, ignore_errors=True)
            t0 = time.perf_counter()
            image_cache.sync_folder(root, paths, None, workers=2, cache_dir=cache)
            best[name] = min(best[name], time.perf_counter() - t0)
    shutil.rmtree(cache, ignore_errors=True)
    return best


def child_checkpoint(size: str) -> dict:
    """Full-state checkpoint writes vs torch.save (plain, and fsync + rename), best of several."""
    import hashlib

    import torch
    from safetensors.torch import save as st_save

    from deepdojo.train.run_folder import atomic_write_bytes, fsync_dir
    from deepdojo.train.state_files import write_state
    from deepdojo.train.train_state import check_finite

    g = torch.Generator().manual_seed(0)
    if size == "cnn":  # ~3.5 MB of weights + AdamW state
        shapes = [(32, 3, 3, 3), (64, 32, 3, 3), (128, 64, 3, 3), (128 * 4 * 4, 64), (64, 10)]
    else:  # ResNet-18-sized: 11.2M parameters, weights + AdamW's two moments ~ 134 MB
        shapes = [(512, 512, 3, 3)] * 4 + [(256, 256, 3, 3)] * 4 + [(128, 128, 3, 3)] * 4 + [(64, 64, 3, 3)] * 5
        shapes += [(512, 10)]
    tensors = {}
    for i, s in enumerate(shapes):
        w = torch.randn(*s, generator=g) * 0.01
        tensors[f"model/{i}.weight"] = w
        tensors[f"opt/state/{i}/exp_avg"] = torch.randn(*s, generator=g) * 1e-3
        tensors[f"opt/state/{i}/exp_avg_sq"] = torch.rand(*s, generator=g) * 1e-6
    nbytes = sum(t.numel() * t.element_size() for t in tensors.values())
    d = Path(tempfile.mkdtemp(dir=os.environ.get("BENCH_TMP")))

    def plain():
        torch.save(tensors, d / "plain.pt")

    def fsynced():
        tmp = d / ".fs.tmp"
        with open(tmp, "wb") as f:
            torch.save(tensors, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, d / "fs.pt")
        fsync_dir(d)

    def old_way():  # the previous write_state: whole file in memory, scanned for NaN, hashed, written, sidecar
        old_check_finite(tensors)
        payload = st_save({k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()})
        digest = hashlib.sha256(payload).hexdigest()
        atomic_write_bytes(d / "old.safetensors", payload)
        atomic_write_bytes(d / "old.json", json.dumps({"sha256": digest, "bytes": len(payload)}).encode())

    def old_check_finite(ts):  # the previous check: isfinite().all() on every model/opt tensor
        for k, t in ts.items():
            if k.startswith(("model/", "opt/")) and t.is_floating_point():
                assert bool(torch.isfinite(t).all())

    def new_way():
        check_finite(tensors, str(d))
        write_state(d / "new", tensors, {"step": 0}, keep=2)

    cases = {"torch.save": plain, "torch.save + fsync + rename": fsynced, "old write_state": old_way,
             "new write_state (streamed)": new_way}
    best = {k: float("inf") for k in cases}
    for _ in range(7 if size == "cnn" else 5):  # interleaved, best of: less noise on a shared machine
        for k, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    shutil.rmtree(d, ignore_errors=True)
    return {"mb": nbytes / 2**20, "seconds": best}


# ---------------------------------------------------------------- the driver


def make_master(root: Path, n: int, side: int) -> list[Path]:
    """``n`` photo-like PNGs (smooth random colour fields), 1% of them exact copies of others."""
    import numpy as np
    from PIL import Image

    files = sorted(root.rglob("*.png"), key=lambda p: p.name) if root.is_dir() else []
    if len(files) >= n:
        return files[:n]
    rng = np.random.default_rng(len(files))
    for i in range(len(files), n):
        cls = "ab"[i % 2]
        (root / cls).mkdir(parents=True, exist_ok=True)
        path = root / cls / f"{i:07d}.png"
        if i % 100 == 99:  # an exact copy of an earlier image of the same class
            shutil.copyfile(earlier(root, cls, i, rng), path)
            continue
        field = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        Image.fromarray(field).resize((side, side), Image.Resampling.BICUBIC).save(path, compress_level=1)
    return sorted(root.rglob("*.png"), key=lambda p: p.name)[:n]


def earlier(root: Path, cls: str, i: int, rng) -> Path:
    """An earlier image of class ``cls`` (same parity of index)."""
    j = int(rng.integers(0, max(1, i // 2))) * 2 + (i % 2)
    return root / cls / f"{min(j, i - 2):07d}.png"


def link_subset(files: list[Path], master: Path, dest: Path) -> None:
    if dest.is_dir():
        return
    for f in files:
        target = dest / f.relative_to(master)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(f, target)


def run_child(args: list[str], src: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def old_source(ref: str | None, into: Path) -> Path | None:
    if ref is None:
        try:
            ref = subprocess.run(["git", "-C", str(REPO), "merge-base", "HEAD", "main"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        except (subprocess.CalledProcessError, FileNotFoundError):
            return None
    if ref in ("", "none"):
        return None
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def startup(args, work: Path, old_src: Path | None) -> None:
    new_src = REPO / "src"
    master = work / "master"
    print(f"generating up to {max(args.sizes)} PNGs {args.side}x{args.side} (reused between runs) ...", flush=True)
    files = make_master(master, max(args.sizes), args.side)
    rows = []
    for n in args.sizes:
        root = work / f"folder-{n}"
        link_subset(files[:n], master, root)
        row = {"n": n}
        for name, src in (("new", new_src), ("old", old_src)):
            if src is None:
                continue
            cache = work / f"cache-{name}-{n}"
            shutil.rmtree(cache, ignore_errors=True)
            row[f"{name}_cold"] = run_child(["folder", str(root), str(cache), "0"], src)
            row[f"{name}_warm"] = run_child(["folder", str(root), str(cache), "1"], src)
            shutil.rmtree(cache, ignore_errors=True) if name == "old" else None
        row["torch"] = run_child(["torch", str(root)], new_src)
        row["leaks"] = run_child(["leaks", str(root), str(work / f"cache-new-{n}"), str(old_src or "")], new_src)
        shutil.rmtree(work / f"cache-new-{n}", ignore_errors=True)
        rows.append(row)
        print_row(row)
    summarize(rows, args.side)
    n = next((n for n in args.sizes if n >= 5000), args.sizes[-1])
    pool = run_child(["pool", str(work / f"folder-{n}"), str(work / "cache-pool")], new_src)
    print(f"\ncold decode of {n} images: one process {pool['one process']:.2f}s, pool of 2 {pool['pool of 2']:.2f}s, "
          f"pool / one {pool['pool of 2'] / pool['one process']:.3f} ({os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}; the default uses a pool of --workers with 2+ usable CPUs and 256+ files)")


def print_row(r: dict) -> None:
    n, t = r["n"], r["torch"]
    nw, nc = r["new_warm"], r["new_cold"]
    line = [f"\n{n} images:"]
    line.append(f"  new: cold start {nc['start_s']:.2f}s, warm start {nw['start_s']:.2f}s, "
                f"epoch of batches {nw['epoch_s']:.2f}s; peak RssAnon {max(nc['peak_anon_mb'], nw['peak_anon_mb']):.0f} MB "
                f"(maxrss {max(nc['maxrss_mb'], nw['maxrss_mb']):.0f} MB incl. mapped page cache)")
    if "old_warm" in r:
        ow, oc = r["old_warm"], r["old_cold"]
        line.append(f"  old: cold start {oc['start_s']:.2f}s, warm start {ow['start_s']:.2f}s, "
                    f"epoch {ow['epoch_s']:.2f}s; peak RssAnon {max(oc['peak_anon_mb'], ow['peak_anon_mb']):.0f} MB")
        line.append(f"  warm start new/old {nw['start_s'] / ow['start_s']:.3f}  cold start new/old "
                    f"{nc['start_s'] / oc['start_s']:.3f}  peak RssAnon new/old "
                    f"{max(nc['peak_anon_mb'], nw['peak_anon_mb']) / max(oc['peak_anon_mb'], ow['peak_anon_mb']):.3f}")
    line.append(f"  torch DataLoader first epoch {t['epoch_s']:.2f}s (peak RssAnon {t['peak_anon_mb']:.0f} MB); "
                f"new warm start / that {nw['start_s'] / t['epoch_s']:.3f}, "
                f"new warm start + epoch / that {(nw['start_s'] + nw['epoch_s']) / t['epoch_s']:.3f}, "
                f"new cold start / that {nc['start_s'] / t['epoch_s']:.3f}")
    lk = r["leaks"]
    text = f"  leak search: new {lk['new_search_s']:.3f}s (hashes cached), {lk['new_with_hashing_s']:.2f}s hashing included"
    if "old_s" in lk:
        text += (f"; old {lk['old_s']:.2f}s; new/old {lk['new_search_s'] / lk['old_s']:.4f} "
                 f"({lk['new_with_hashing_s'] / lk['old_s']:.3f} hashing included); found old {lk['old']} new {lk['new']}, "
                 f"exact duplicates identical: {lk['exact_same']}, flagged by old only {lk['found_by_old_not_new']}, "
                 f"new only {lk['found_by_new_not_old']}")
    line.append(text)
    print("\n".join(line), flush=True)


def summarize(rows: list[dict], side: int) -> None:
    peaks = [max(r["new_cold"]["peak_anon_mb"], r["new_warm"]["peak_anon_mb"]) for r in rows]
    print(f"\npeak RssAnon (new) from {rows[0]['n']} to {rows[-1]['n']} images: {peaks[0]:.0f} -> {peaks[-1]:.0f} MB, "
          f"ratio {peaks[-1] / peaks[0]:.3f}")
    if "old_warm" in rows[0]:
        old = [max(r["old_cold"]["peak_anon_mb"], r["old_warm"]["peak_anon_mb"]) for r in rows]
        print(f"peak RssAnon (old) over the same sizes: {old[0]:.0f} -> {old[-1]:.0f} MB, ratio {old[-1] / old[0]:.3f}")
    # linear fits over the two largest sizes: per-image cost and fixed cost
    a, b = rows[-2], rows[-1]
    dn = b["n"] - a["n"]
    per = {
        "warm_s": (b["new_warm"]["start_s"] - a["new_warm"]["start_s"]) / dn,
        "cold_s": (b["new_cold"]["start_s"] - a["new_cold"]["start_s"]) / dn,
        "anon_mb": (peaks[-1] - peaks[-2]) / dn,
        "leak_s": (b["leaks"]["new_search_s"] - a["leaks"]["new_search_s"]) / dn,
    }
    n_big, scale = 1_281_167, (224 / side) ** 2
    disk_gb = n_big * 3 * 224 * 224 / 2**30
    anon = peaks[-1] + per["anon_mb"] * (n_big - b["n"])
    print(f"\nextrapolation to ImageNet scale ({n_big} images, 224x224; linear in N from {a['n']} -> {b['n']}):")
    print(f"  per image: warm {per['warm_s'] * 1e6:.1f} us, cold {per['cold_s'] * 1e3:.2f} ms at {side}x{side} "
          f"(x{scale:.1f} pixels at 224x224 for decode-bound work), leak search {per['leak_s'] * 1e6:.2f} us, "
          f"RssAnon {per['anon_mb'] * 1024:.2f} KB")
    print(f"  warm start  ~{b['new_warm']['start_s'] + per['warm_s'] * (n_big - b['n']):.0f} s (stat() per file, "
          f"records and hashes read; no pixel touched)")
    print(f"  cold start  ~{per['cold_s'] * scale * n_big / 3600:.1f} h on one core (decode + hash + write, "
          f"pixel-bound part scaled by {scale:.1f}); a pool divides it by the cores where decoding dominates")
    print(f"  peak RssAnon ~{anon / 1024:.2f} GB (goal: under 24 GB); pixel cache on disk {disk_gb:.0f} GB, "
          f"read through the page cache (memory-mapped), never resident as owned memory")


def checkpoints() -> None:
    print("\nfull-state checkpoint writes (best of 5-7, interleaved):")
    for size in ("cnn", "resnet18"):
        r = run_child(["checkpoint", size], REPO / "src")
        s = r["seconds"]
        base = s["torch.save + fsync + rename"]
        print(f"  {size} ({r['mb']:.1f} MB): " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in s.items()))
        print(f"    new / fsync'd torch.save {s['new write_state (streamed)'] / base:.3f} (goal <= 1.3); "
              f"old / fsync'd torch.save {s['old write_state'] / base:.3f}; new / plain torch.save "
              f"{s['new write_state (streamed)'] / s['torch.save']:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 10000, 20000])
    ap.add_argument("--side", type=int, default=96)
    ap.add_argument("--old-ref", default=None, help="git ref of the old code path (default: merge-base with main; 'none' skips it)")
    ap.add_argument("--old-src", default=None, help="an already extracted src/ folder of the old code path")
    ap.add_argument("--only", choices=["startup", "checkpoint"])
    ap.add_argument("--work", default=None, help="where the generated folders live (default: a temp folder)")
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "folder":
            out = child_folder(rest[0], rest[1], rest[2] == "1")
        elif kind == "torch":
            out = child_torch(rest[0])
        elif kind == "pool":
            out = child_pool(rest[0], rest[1])
        elif kind == "leaks":
            out = child_leaks(rest[0], rest[1], rest[2] if len(rest) > 2 and rest[2] else None)
        else:
            out = child_checkpoint(rest[0])
        print(json.dumps(out))
        return
    import torch

    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    work = Path(args.work or tempfile.gettempdir()) / "deepdojo-bench-startup"
    work.mkdir(parents=True, exist_ok=True)
    if args.only != "checkpoint":
        with tempfile.TemporaryDirectory() as tmp:
            old_src = Path(args.old_src) if args.old_src else old_source(args.old_ref, Path(tmp))
            startup(args, work, old_src)
    if args.only != "startup":
        checkpoints()


if __name__ == "__main__":
    main()
