"""Shared oracles for the scratch tests: torch (an independent implementation) and
finite differences (``gradcheck``). torch is imported by the tests, never by
deepdojo.scratch. Imported as a plain module: pytest puts this folder on sys.path."""

import numpy as np
import torch


def to_torch(array, requires_grad=False):
    """A torch leaf holding a copy of ``array`` (float64 stays float64)."""
    return torch.tensor(np.array(array), requires_grad=requires_grad)


def assert_close(actual, expected, rtol=1e-10, atol=1e-12, what=""):
    """Compare a scratch Tensor/array with a torch tensor/array."""
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    actual = getattr(actual, "data", actual)
    np.testing.assert_allclose(
        np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol, err_msg=what
    )


def copy_torch_to_scratch(torch_module, scratch_module):
    """Load torch's weights (and buffers) into the scratch twin via its state_dict."""
    scratch_module.load_state_dict({k: v.numpy() for k, v in torch_module.state_dict().items()})
