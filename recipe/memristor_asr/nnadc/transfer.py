"""The conversion law: which fraction of the code range an analog input should land on.

Why separate: a logarithmic NNADC is the same hardware trained on a different target
(``y = log2(1 + a)`` instead of ``y = a``); training targets, test signals (a sine in the ``y``
domain) and ideal codes all go through these two functions.

Inputs ``a`` are fractions of the full-scale input range, ``[0, 1]``; the converter's analog
input voltage is the centred ``x = 2 a - 1``.
"""
import numpy as np
import torch

__all__ = ["target_fraction", "input_from_fraction", "ideal_codes"]


def _check(transfer: str) -> None:
    if transfer not in ("linear", "log2"):
        raise ValueError(f"transfer={transfer!r}: expected 'linear' or 'log2'")


def target_fraction(a, transfer: str):
    """``a`` in [0, 1] -> code fraction ``y`` in [0, 1] (numpy array or torch tensor)."""
    _check(transfer)
    if transfer == "linear":
        return a
    return torch.log2(1 + a) if isinstance(a, torch.Tensor) else np.log2(1 + a)


def input_from_fraction(y, transfer: str):
    """Inverse of :func:`target_fraction`."""
    _check(transfer)
    if transfer == "linear":
        return y
    return torch.exp2(y) - 1 if isinstance(y, torch.Tensor) else np.exp2(y) - 1


def ideal_codes(a: np.ndarray, n_bits: int, transfer: str) -> np.ndarray:
    """Codes of an ideal ``n_bits`` converter with the given law (floor, clipped to range)."""
    y = np.asarray(target_fraction(np.asarray(a, dtype=np.float64), transfer))
    return np.clip(np.floor(y * 2**n_bits), 0, 2**n_bits - 1).astype(np.int64)
