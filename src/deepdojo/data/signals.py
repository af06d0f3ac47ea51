"""1-D signals (EEG, sensors, audio frames): arrays ``(N, T)`` / ``(N, C, T)`` and a generated EEG-like set.

A signal sample is ``(C, T)``: channels first, the layout ``nn.Conv1d`` reads.
Each channel is standardized with its mean and std over the training
signals' every step (:class:`SignalTransform`), so raw units and offsets do not
matter and predict repeats it from ``info["preprocess"]`` (kind ``"signal"``).
``arch="auto"`` on signal data is ``cnn1d``; ``gru``/``lstm``/``rnn`` read the
same ``(C, T)`` samples time-major (``channels_first``).

Example:
    >>> x, y = eeg_arrays(n=40, seed=0)
    >>> x.shape, x.dtype, sorted(set(y.tolist()))
    ((40, 2, 128), dtype('float32'), [0, 1, 2, 3])
    >>> data = signal_data(x, y, seed=0, classes=list(EEG_BANDS))
    >>> data.input_shape, data.info["preprocess"]["kind"], data.classes[1]
    ((2, 128), 'signal', 'alpha')
"""

from __future__ import annotations

import numpy as np
import torch

from deepdojo.data.transforms import FeatureTransform
from deepdojo.errors import DataError

MIN_LENGTH = 4  # shorter "signals" are feature vectors: use a table


def signal_spec(channels: int, length: int, mean: list[float], std: list[float]) -> dict:
    """The preprocess record of signals ``(channels, length)``, standardized per channel."""
    return {"kind": "signal", "channels": int(channels), "length": int(length), "mean": list(mean), "std": list(std)}


class SignalTransform(FeatureTransform):
    """``(x - mean[c]) / std[c]`` per channel of ``(B, C, T)`` batches (training statistics)."""

    def __init__(self, mean, std):
        super().__init__(torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1),  # (C, 1): broadcast over T
                         torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1))

    def to_json(self) -> dict:
        return {"kind": "signal", "mean": self.mean.flatten().tolist(), "std": self.std.flatten().tolist()}


def as_signals(x, where: str = "x") -> torch.Tensor:
    """``(N, T)`` or ``(N, C, T)`` numbers -> float32 ``(N, C, T)``; one-line errors for anything else."""
    try:
        t = torch.as_tensor(np.asarray(x, dtype=np.float32))
    except (TypeError, ValueError) as exc:
        raise DataError(f"signals must be numbers in an (N, T) or (N, C, T) array ({exc})", where=where,
                        fix="pass a float NumPy array; ragged sequences need padding to one length") from None
    if t.dim() == 2:
        t = t[:, None, :]  # one channel
    if t.dim() != 3:
        raise DataError(f"signals must be (N, T) or (N, C, T), got shape {tuple(t.shape)}", where=where,
                        fix="put samples first, then channels, then time steps")
    if len(t) == 0:
        raise DataError("no signals given", where=where, fix="pass at least one signal per class")
    if t.shape[2] < MIN_LENGTH:
        raise DataError(f"signals of {t.shape[2]} steps are too short for a 1-D model (need {MIN_LENGTH}+)",
                        where=where, fix="for a few values per sample use a table (Data.from_tensors / a CSV)")
    bad = ~torch.isfinite(t)
    if bad.any():
        n, c, s = (int(v) for v in bad.nonzero()[0])
        raise DataError(f"signal {n}, channel {c}, step {s} is {float(t[n, c, s])}", where=where,
                        fix="fill or drop missing values before training (NaN/inf poison every batch norm)")
    return t


def channel_stats(x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of ``(N, C, T)`` over samples and steps (a constant channel gets std 1)."""
    flat = x.transpose(0, 1).reshape(x.shape[1], -1).double()  # (C, N * T)
    std = flat.std(1) if flat.shape[1] > 1 else torch.zeros(x.shape[1], dtype=torch.float64)
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    return flat.mean(1).tolist(), std.tolist()


def signal_data(x, y, *, valid_pct: float = 0.2, test_pct: float = 0.0, seed: int = 0, batch_size: int = 64,
                classes: list[str] | None = None, name: str = "signals"):
    """:class:`~deepdojo.data.Data` of signals ``(N, T)`` / ``(N, C, T)`` and labels (int: classes, float: values).

    Split stratified under ``seed`` like every source; each channel is
    standardized with training statistics.
    """
    from deepdojo.data.core import Data
    from deepdojo.data.splits import holdout_splits

    xs, ys = as_signals(x), torch.as_tensor(np.asarray(y))
    if len(ys) != len(xs):
        raise DataError(f"{len(xs)} signals but {len(ys)} labels", where="y", fix="give one label per signal")
    class_labels = not ys.is_floating_point()
    splits = holdout_splits(ys.numpy(), valid_pct, test_pct, seed, stratify=class_labels)
    mean, std = channel_stats(xs[torch.from_numpy(splits["train"])])
    data = Data.from_tensors(xs, ys, splits=splits, seed=seed, batch_size=batch_size, classes=classes,
                             normalize=False, name=name)
    tf = SignalTransform(mean, std)
    for dl in data.loaders():
        getattr(dl, "_loader", dl).transform = tf  # a sealed test split: its inner loader
    data.info.transform = tf.to_json()
    data.info.preprocess = signal_spec(xs.shape[1], xs.shape[2], mean, std)
    return data


# ------------------------------------------------------------------ a generated EEG-like set

EEG_BANDS = {"theta": 6.0, "alpha": 10.0, "beta": 20.0, "gamma": 35.0}  # class -> burst frequency (Hz)


def eeg_arrays(n: int = 1200, seed: int = 0, channels: int = 2, length: int = 128,
               fs: float = 128.0) -> tuple[np.ndarray, np.ndarray]:
    """EEG-like signals ``(n, channels, length)`` float32 (1 s at 128 Hz) and labels ``(n,)`` in 0..3.

    The class is the frequency band of one oscillation burst (:data:`EEG_BANDS`,
    each +-10%): 0.3-0.6 s long under a Hann window, at a random time, phase
    and amplitude, in one random channel, on top of 1/f-like background
    activity (an AR(1) process, as EEG's spectrum falls with frequency) plus
    white noise and a per-channel offset in raw microvolt-like units. Where
    and when the burst happens varies, so no fixed weight per sample finds it
    (an MLP's view); a short filter slid over time does (a 1-D CNN's).
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(EEG_BANDS)
    rng.shuffle(y)
    # background: AR(1) with coefficient 0.95 (low frequencies dominate), sd ~1
    white = rng.normal(0, 1, (n, channels, length))
    bg = np.empty_like(white)
    bg[..., 0] = white[..., 0]
    for s in range(1, length):
        bg[..., s] = 0.95 * bg[..., s - 1] + np.sqrt(1 - 0.95 ** 2) * white[..., s]
    x = bg + rng.normal(0, 0.3, (n, channels, length))
    t = np.arange(length) / fs
    freqs = np.array(list(EEG_BANDS.values()))[y] * rng.uniform(0.9, 1.1, n)  # (n,) Hz
    dur = rng.uniform(0.3, 0.6, n) * fs  # burst length in samples
    start = rng.uniform(0, length - dur)
    phase, amp, chan = rng.uniform(0, 2 * np.pi, n), rng.uniform(1.5, 2.5, n), rng.integers(0, channels, n)
    for i in range(n):
        s0, s1 = int(start[i]), int(start[i] + dur[i])
        window = np.hanning(s1 - s0)
        x[i, chan[i], s0:s1] += amp[i] * window * np.sin(2 * np.pi * freqs[i] * t[: s1 - s0] + phase[i])
    x = x * 20.0 + rng.normal(0, 50, (1, channels, 1))  # raw units: ~20 per unit, a fixed offset per channel
    return x.astype(np.float32), y.astype(np.int64)
