"""Export parity over the model registry: onnxruntime and the ExportedProgram agree with eager PyTorch.

Each registered family's tiny instance is exported with a dynamic batch and run at batch sizes
other than the one it was traced at; outputs must match eager to <= 1e-5. A family in
``CANNOT_EXPORT`` is skipped with its reason, and its exportable variant (``EXPORTABLE_VARIANT``,
e.g. an LSTM over feature sequences) is checked instead. ONNX export of every family takes minutes
on a 2-core box (~5-10 s each), so the default suite checks a representative set (ExportedProgram: a
CNN, a ResNet, LSTM/GRU/RNN, an MLP, tabular; ONNX: a CNN and an LSTM) and DEEPDOJO_LONG_TESTS=1
checks every family in both formats.
"""

from __future__ import annotations

import os

import pytest
import torch

from deepdojo.export import CANNOT_EXPORT, EXPORTABLE_VARIANT, FORMATS, export_module, load_exported
from deepdojo.models import list_models, model_kind
from deepdojo.models.examples import KNOWN_KINDS, example_batch, example_model

LONG = os.environ.get("DEEPDOJO_LONG_TESTS") == "1"
NAMES = [n for n in list_models() if model_kind(n) in KNOWN_KINDS]
QUICK = {"exported-program": {"cnn", "resnet_small", "lstm", "gru", "rnn", "mlp", "tabular"}, "onnx": {"cnn", "lstm"}}


def cases():
    for fmt in FORMATS:
        for name in NAMES:
            quick = [] if LONG or name in QUICK[fmt] else [pytest.mark.skip(reason="DEEPDOJO_LONG_TESTS=1 checks every family")]
            if name in CANNOT_EXPORT:
                yield pytest.param(name, fmt, False, id=f"{name}-{fmt}",
                                   marks=[pytest.mark.skip(reason=f"{name} cannot export: {CANNOT_EXPORT[name]}")])
            else:
                yield pytest.param(name, fmt, False, id=f"{name}-{fmt}", marks=quick)
            if name in EXPORTABLE_VARIANT:
                yield pytest.param(name, fmt, True, id=f"{name}-variant-{fmt}", marks=quick)


def variant_batch(name: str, batch: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 12, EXPORTABLE_VARIANT[name]["in_features"], generator=g)  # (B, T, F)


@pytest.mark.parametrize("name,fmt,variant", list(cases()))
def test_exported_model_matches_eager(name, fmt, variant, tmp_path):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnxscript")
    model = example_model(name, num_classes=4, **(EXPORTABLE_VARIANT[name] if variant else {})).eval()
    batch = (lambda b, s: variant_batch(name, b, s)) if variant else (lambda b, s: example_batch(name, batch=b, seed=s))
    path = export_module(model, batch(8, 0), fmt, tmp_path / f"{name}{FORMATS[fmt]}")
    loaded = load_exported(path)
    for b in (3, 1, 8):  # the batch dimension is dynamic: sizes other than the traced one work too
        x = batch(b, 1)
        with torch.no_grad():
            want = model(x)
            got = loaded(x)
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
