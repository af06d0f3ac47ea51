"""Data sources, checks, splits, transforms and loaders. Every source ends as :class:`Data`."""

from deepdojo.data.builtin import builtin_names, export_image_folder, load_builtin
from deepdojo.data.check_source import check_source
from deepdojo.data.checks import CheckReport, DataCheckError, Problem
from deepdojo.data.core import Data
from deepdojo.data.csv_sources import image_csv, load_csv
from deepdojo.data.leakage import find_leaks
from deepdojo.data.loaders import TensorLoader
from deepdojo.data.signals import eeg_arrays, signal_data
from deepdojo.data.tabular import tabular_csv
from deepdojo.data.text import text_csv, text_file

__all__ = [
    "CheckReport", "Data", "DataCheckError", "Problem", "TensorLoader", "builtin_names", "check_source",
    "eeg_arrays", "export_image_folder", "find_leaks", "image_csv", "load_builtin", "load_csv", "signal_data",
    "tabular_csv", "text_csv", "text_file",
]
