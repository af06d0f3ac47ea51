"""deepdojo.scratch must work on a machine without torch."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import deepdojo.scratch

SCRATCH_DIR = Path(deepdojo.scratch.__file__).parent
SRC_DIR = SCRATCH_DIR.parent.parent

PROGRAM = r"""
import importlib.abc
import sys


class BlockTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name} is blocked in this test")
        return None


sys.meta_path.insert(0, BlockTorch())
try:
    import torch  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("the torch blocker did not work")

import numpy as np

from deepdojo.scratch import Tensor, functional as F, manual_seed, nn, optim

manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(8, 3))
opt = optim.Adam(model.parameters(), lr=0.01)
loss = F.cross_entropy(model(Tensor(np.ones((2, 1, 4, 4)))), np.array([0, 2]))
loss.backward()
opt.step()
assert all(p.grad is not None for p in model.parameters())
leaked = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
assert not leaked, leaked
print("scratch ok without torch", round(loss.item(), 6))
"""


def test_scratch_imports_and_trains_with_torch_blocked():
    env = {**os.environ, "PYTHONPATH": str(SRC_DIR)}
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "scratch ok without torch" in result.stdout


def test_no_scratch_module_imports_torch_or_the_rest_of_deepdojo():
    """Static check: scratch may import only the stdlib, NumPy and itself."""
    for path in SCRATCH_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: use absolute imports"
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] != "torch", f"{path.name} imports {name}"
                if name.startswith("deepdojo"):
                    assert name.startswith("deepdojo.scratch"), f"{path.name} imports {name}"
