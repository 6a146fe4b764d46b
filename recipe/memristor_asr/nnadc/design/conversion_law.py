"""The conversion law and the ideal converter: which code an analog input should produce.

Why separate: a logarithmic NNADC is the same hardware trained on a different target
(``y = log2(1 + a)`` instead of ``y = a``); training targets, test signals (a sine in the ``y``
domain) and ideal codes all go through :func:`target_fraction` / :func:`input_from_fraction`.
The ideal sub-ADC digit and residue (:func:`ideal_digits`, :func:`ideal_residue`) are the targets
of training and the references of evaluation alike.

Inputs ``a`` are fractions of the full-scale input range, ``[0, 1]``; the converter's analog
input voltage is the centred ``x = 2 a - 1``.
"""
import numpy as np
import torch

__all__ = ["target_fraction", "input_from_fraction", "input_voltage", "fraction_of_range", "ideal_codes",
           "ideal_digits", "ideal_residue", "REDUNDANT_THRESHOLDS", "redundant_digits", "redundant_residue",
           "stage_digits", "stage_residue"]

#: decision thresholds of a redundant (1.5-bit) stage, as fractions of its input range
REDUNDANT_THRESHOLDS = (3 / 8, 5 / 8)


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


def input_voltage(a) -> torch.Tensor:
    """Fractions ``a`` of the full-scale range (numpy array or torch tensor) -> the centred analog
    input voltage ``x = 2 a - 1`` that drives the first blocks (float32 tensor)."""
    return torch.as_tensor(2 * a - 1, dtype=torch.float32)


def fraction_of_range(v, scale: float = 1.0):
    """Inverse of :func:`input_voltage` for a stage input delivered at ``scale`` volts per full-range
    unit (a residue's ``out_scale``): ``(v / scale + 1) / 2``."""
    return (v / scale + 1) / 2


def ideal_digits(r, n_bits: int):
    """Digit of an ideal ``n_bits`` sub-ADC for ``r`` (a fraction of its range): ``clip(floor(2**N r),
    0, 2**N - 1)`` as int64 (torch tensor in, torch tensor out; else a numpy array)."""
    if isinstance(r, torch.Tensor):
        return torch.clamp(torch.floor(r * 2**n_bits), 0, 2**n_bits - 1).to(torch.int64)
    return np.clip(np.floor(np.asarray(r) * 2**n_bits), 0, 2**n_bits - 1).astype(np.int64)


def ideal_residue(r, digit, n_bits: int):
    """Residue of an ideal stage with input ``r`` (fraction of its range) and digit ``digit``, in
    full-range units: ``2 * (2**N r - d) - 1`` (numpy arrays or torch tensors)."""
    return 2 * (r * 2**n_bits - digit) - 1


def redundant_digits(r, offsets=(0.0, 0.0)):
    """Digit of an ideal redundant (1.5-bit) sub-ADC for ``r`` (fraction of its range): the number of
    thresholds :data:`REDUNDANT_THRESHOLDS` (each moved by ``offsets``, for error-injection studies) at or
    below ``r``, in {0, 1, 2}, int64 (torch in, torch out; else numpy)."""
    t0, t1 = (t + o for t, o in zip(REDUNDANT_THRESHOLDS, offsets))
    if isinstance(r, torch.Tensor):
        return (r >= t0).to(torch.int64) + (r >= t1).to(torch.int64)
    r = np.asarray(r)
    return (r >= t0).astype(np.int64) + (r >= t1).astype(np.int64)


def redundant_residue(r, digit):
    """Residue of an ideal redundant stage, ``r' = 2 r - d / 2``, in full-range units:
    ``2 r' - 1 = 4 r - d - 1`` (in [-1, 1) for ideal decisions; a threshold error up to 1/8 of the
    range keeps it there)."""
    return 4 * r - digit - 1


def stage_digits(r, n_bits: int, redundant: bool = False):
    """:func:`redundant_digits` for a redundant stage, else :func:`ideal_digits`."""
    return redundant_digits(r) if redundant else ideal_digits(r, n_bits)


def stage_residue(r, digit, n_bits: int, redundant: bool = False):
    """:func:`redundant_residue` for a redundant stage, else :func:`ideal_residue` (full-range units)."""
    return redundant_residue(r, digit) if redundant else ideal_residue(r, digit, n_bits)


def ideal_codes(a: np.ndarray, n_bits: int, transfer: str) -> np.ndarray:
    """Codes of an ideal ``n_bits`` converter with the given law (floor, clipped to range)."""
    return ideal_digits(np.asarray(target_fraction(np.asarray(a, dtype=np.float64), transfer)), n_bits)
