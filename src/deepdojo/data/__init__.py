"""Data sources, splits, transforms and loaders. Every source ends as :class:`Data`."""

from deepdojo.data.builtin import builtin_names, export_image_folder, load_builtin
from deepdojo.data.core import Data
from deepdojo.data.loaders import TensorLoader

__all__ = ["Data", "TensorLoader", "builtin_names", "export_image_folder", "load_builtin"]
