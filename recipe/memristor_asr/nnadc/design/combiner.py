"""Digital combiners: per-stage digits -> output code.

Two options, because the Monte-Carlo results depend strongly on which one a design assumes:

- ``ideal_combine``: the textbook shift-and-add of a pipelined / sub-ranging converter,
  ``code = sum_i d_i * 2**(N - P_i)`` with ``P_i`` the bits resolved up to stage ``i``. It is
  exact only if every stage's residue is exact, which is what the paper's design relies on.
- ``fit_calibration`` / ``apply_calibration``: foreground calibration as used in real pipelined
  ADCs: one weight per digit bit (plus an offset), fitted per chip by least squares on a
  calibration ramp. It absorbs gain and offset errors of the residues (as long as no stage
  overflows the next), not their nonlinearity.
"""
from typing import Sequence

import numpy as np

from .conversion_law import ideal_digits

__all__ = ["ideal_combine", "ideal_stage_digits", "digit_bit_features", "fit_calibration", "apply_calibration"]


def ideal_stage_digits(y: np.ndarray, stage_bits: Sequence[int]) -> np.ndarray:
    """Digits of ideal stages for code fractions ``y [T]`` in [0, 1): ``[T, n_stages]``.

    The analog recursion of a pipeline with perfect sub-ADCs and residue amplifiers:
    ``d_i = floor(2**N_i * r)``, ``r <- 2**N_i * r - d_i`` (the reference the combiner must invert).
    """
    r = np.asarray(y, dtype=np.float64).copy()
    out = []
    for nb in stage_bits:
        d = ideal_digits(r, nb)
        out.append(d)
        r = r * 2**nb - d
    return np.stack(out, axis=-1)


def ideal_combine(digits: np.ndarray, stage_bits: Sequence[int]) -> np.ndarray:
    """``digits [..., n_stages]`` -> codes ``[...]`` (int64), shift-and-add."""
    stage_bits = list(stage_bits)
    if digits.shape[-1] != len(stage_bits):
        raise ValueError(f"digits have {digits.shape[-1]} stages, stage_bits lists {len(stage_bits)}")
    total = sum(stage_bits)
    code = np.zeros(digits.shape[:-1], dtype=np.int64)
    pos = 0
    for i, nb in enumerate(stage_bits):
        pos += nb
        code += digits[..., i].astype(np.int64) << (total - pos)
    return code


def digit_bit_features(digits: np.ndarray, stage_bits: Sequence[int]) -> np.ndarray:
    """Binary bits of every stage digit, plus a constant: ``[..., sum(stage_bits) + 1]`` float64."""
    cols = []
    for i, nb in enumerate(stage_bits):
        d = digits[..., i].astype(np.int64)
        for b in range(nb):
            cols.append(((d >> b) & 1).astype(np.float64))
    cols.append(np.ones(digits.shape[:-1]))
    return np.stack(cols, axis=-1)


def fit_calibration(digits: np.ndarray, target: np.ndarray, stage_bits: Sequence[int]) -> np.ndarray:
    """Least-squares bit weights per instance.

    :param digits: ``[M, T, n_stages]`` digits of a calibration ramp
    :param target: ``[T]`` ideal code value of each ramp sample (continuous, in LSB)
    :return: weights ``[M, n_features]``
    """
    feats = digit_bit_features(digits, stage_bits)  # [M, T, F]
    w = np.empty((feats.shape[0], feats.shape[-1]))
    for m in range(feats.shape[0]):
        w[m] = np.linalg.lstsq(feats[m], target, rcond=None)[0]
    return w


def apply_calibration(digits: np.ndarray, weights: np.ndarray, stage_bits: Sequence[int]) -> np.ndarray:
    """Calibrated codes ``[M, T]`` (rounded and clipped to the code range)."""
    feats = digit_bit_features(digits, stage_bits)  # [M, T, F]
    est = np.einsum("mtf,mf->mt", feats, weights)
    return np.clip(np.rint(est), 0, 2 ** sum(stage_bits) - 1).astype(np.int64)
