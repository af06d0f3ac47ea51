"""Every docstring example in the package runs and shows what it claims."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import deepdojo

SKIP = {"deepdojo.__main__"}  # running it is the CLI, not an example
# lesson scripts (deepdojo/lessons/NN_topic.py) are package files, not modules: importing one would run it
MODULES = sorted(m.name for m in pkgutil.walk_packages(deepdojo.__path__, "deepdojo.")
                 if m.name not in SKIP and m.name.rsplit(".", 1)[-1].isidentifier())


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write run folders write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
