"""Shared setup for the NNADC tests: recipe/ on the import path, one torch thread (shared CPU)."""
import pathlib
import sys

import torch

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "recipe"
if str(RECIPE) not in sys.path:
    sys.path.insert(0, str(RECIPE))
torch.set_num_threads(1)
