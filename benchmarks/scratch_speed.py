"""How far is the glass box from PyTorch? Forward + backward of a small CNN on CPU.

    PYTHONPATH=src python benchmarks/scratch_speed.py [--repeats 10] [--batch 64] [--threads N]

Both engines run conv-relu-pool-conv-relu-pool-linear on a (64, 1, 28, 28) float32 batch
with identical weights (copied through the state_dict) and report the median wall time
of one forward + cross-entropy + backward pass (in alternating blocks of calls). Outputs are compared first, so the two
timings are for the same computation. Goal: scratch within 10x of torch.
"""

import argparse
import statistics
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from deepdojo.scratch import Tensor, manual_seed, nn
from deepdojo.scratch import functional as F


def build(m, **dtype):
    return m.Sequential(
        m.Conv2d(1, 16, 3, padding=1, **dtype),  # (N, 16, 28, 28)
        m.ReLU(),
        m.MaxPool2d(2),  # (N, 16, 14, 14)
        m.Conv2d(16, 32, 3, padding=1, **dtype),  # (N, 32, 14, 14)
        m.ReLU(),
        m.MaxPool2d(2),  # (N, 32, 7, 7)
        m.Flatten(),
        m.Linear(32 * 7 * 7, 10, **dtype),
    )


def median_ms(steps, repeats, rounds=3, warmup=2):
    """Median wall time (ms) of each step. Each engine runs in blocks of ``repeats``
    (after ``warmup`` untimed calls, since torch's OpenMP threads and OpenBLAS's threads
    slow each other down when calls alternate), and the blocks alternate for ``rounds``
    so a burst of load from elsewhere on the machine hits both engines."""
    times = [[] for _ in steps]
    for _ in range(rounds):
        for step, record in zip(steps, times):
            for _ in range(warmup):
                step()
            for _ in range(repeats):
                start = time.perf_counter()
                step()
                record.append(time.perf_counter() - start)
    return [1e3 * statistics.median(record) for record in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per block")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument(
        "--threads", type=int, default=None,
        help="threads for both engines (torch intra-op, NumPy's BLAS); default: their own",
    )  # fmt: skip
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
        threadpool_limits(limits=args.threads, user_api="blas")

    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, args.batch)

    torch.manual_seed(0)
    theirs = build(torch.nn)  # float32
    manual_seed(0)
    ours = build(nn, dtype=np.float32)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)

    def scratch_step():
        ours.zero_grad()
        loss = F.cross_entropy(ours(Tensor(x)), y)
        loss.backward()
        return loss

    def torch_step():
        theirs.zero_grad()
        loss = torch.nn.functional.cross_entropy(theirs(x_t), y_t)
        loss.backward()
        return loss

    loss_ours, loss_theirs = scratch_step(), torch_step()
    assert abs(loss_ours.item() - loss_theirs.item()) < 1e-4, (loss_ours, loss_theirs)
    grad_gap = np.abs(ours[0].weight.grad - theirs[0].weight.grad.numpy()).max()
    assert grad_gap < 1e-4, grad_gap

    scratch_ms, torch_ms = median_ms([scratch_step, torch_step], args.repeats)
    threads = "library defaults" if args.threads is None else args.threads
    print(f"batch {tuple(x.shape)} float32, threads: {threads} "
          f"(torch uses {torch.get_num_threads()}), median of 3 blocks x {args.repeats} calls")  # fmt: skip
    print(f"scratch: {scratch_ms:8.2f} ms per forward+backward")
    print(f"torch:   {torch_ms:8.2f} ms per forward+backward")
    print(f"ratio:   {scratch_ms / torch_ms:8.2f}x (goal: within 10x)")


if __name__ == "__main__":
    main()
