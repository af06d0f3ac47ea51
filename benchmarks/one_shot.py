"""10-way one-shot accuracy on unseen glyph identities: a siamese network (triplet loss) vs nearest neighbour on pixels.

builtin:glyphs draws each identity as three random pen strokes, redrawn with
wobble, rotation, scale, shift and pen width per example. The network trains
on some identities; the one-shot episodes use identities it never saw (a query
and one example each of 10 identities; the nearest example names the query).
The baseline runs the same episodes (same seed) with raw pixels as the
embedding. Target: the network wins by a wide margin (>= 1.5x the baseline and
>= 0.2 above it). Prints both, the ratio, and a verdict.

    python benchmarks/one_shot.py                 # full: 30 epochs, 100 identities (the lead's run)
    python benchmarks/one_shot.py --quick         # 6 epochs, 60 identities: proves it runs
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from deepdojo.data.identities import load_glyphs
from deepdojo.metrics.verification import one_shot_accuracy, pair_distances, verification_auc
from deepdojo.models import create_model
from deepdojo.tasks import Verification
from deepdojo.train.learner import Learner


def valid_arrays(data) -> tuple[torch.Tensor, torch.Tensor]:
    v = data.valid
    return v.source_x[v.index], v.source_y[v.index]  # uint8 (N, 1, 28, 28), (N,)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="6 epochs on 60 identities")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--identities", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--mining", default="all", choices=["all", "batch_hard", "semi_hard"])
    ap.add_argument("--episodes", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.identities = 6, 60
    torch.set_num_threads(args.threads)
    data = load_glyphs(n_identities=args.identities, per_identity=20, seed=args.seed, valid_pct=0.3)
    x, y = valid_arrays(data)
    print(f"glyphs: {args.identities} identities x 20; {data.info.sizes['train']} training images, "
          f"{data.info.sizes['valid']} of {len(y.unique())} unseen identities for the episodes", flush=True)

    pixels = torch.nn.functional.normalize(x.float().reshape(len(x), -1), dim=1)
    base = one_shot_accuracy(pixels, y, n_way=10, episodes=args.episodes, seed=args.seed)
    base_auc = verification_auc(*pair_distances(pixels, y))

    torch.manual_seed(args.seed)
    model = create_model("siamese", 64, in_channels=1, backbone="cnn", widths=(16, 32, 64))
    learn = Learner(model, data, task=Verification(mining=args.mining), lr=args.lr, seed=args.seed, progress=False)
    t0 = time.perf_counter()
    learn.fit_one_cycle(args.epochs, args.lr)
    secs = time.perf_counter() - t0
    emb, targets = learn.get_preds(data.valid)
    acc = one_shot_accuracy(emb, targets, n_way=10, episodes=args.episodes, seed=args.seed)
    auc = verification_auc(*pair_distances(emb, targets))

    print(f"siamese cnn, triplet loss ({args.mining} mining), {args.epochs} epochs in {secs:.0f}s "
          f"(threads {args.threads}, load average {os.getloadavg()[0]:.1f})")
    print(f"10-way one-shot accuracy on unseen identities: siamese {acc:.4f}  vs  nearest neighbour on pixels "
          f"{base:.4f}  (chance 0.1000)  ratio {acc / max(base, 1e-9):.2f}x")
    print(f"verification ROC AUC on unseen identities:     siamese {auc:.4f}  vs  pixels {base_auc:.4f}")
    wide = acc >= 1.5 * base and acc >= base + 0.2
    print("verdict: " + ("PASS - the siamese network wins by a wide margin" if wide else
                         "FAIL - no wide margin over pixels (train longer: the full run uses 30 epochs)"))


if __name__ == "__main__":
    main()
