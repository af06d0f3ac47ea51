"""The scratch tests compare tiny tensors with torch: extra torch threads only add
spin-wait overhead (badly so on a busy 2-core CI machine), so run torch single-threaded
here and restore the setting afterwards."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_threaded_torch():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
