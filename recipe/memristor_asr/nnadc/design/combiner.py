"""Digital combiners: per-stage digits -> output code.

The options, because the Monte-Carlo results depend strongly on which one a design assumes:

- ``ideal_combine``: the textbook shift-and-add of a pipelined / sub-ranging converter,
  ``code = sum_i d_i * 2**(N - P_i)`` with ``P_i`` the bits resolved up to stage ``i``. It is
  exact only if every stage's residue is exact, which is what the paper's design relies on.
- ``fit_calibration`` / ``apply_calibration``: foreground calibration as used in real pipelined
  ADCs: one weight per digit bit (plus an offset), fitted per chip by least squares on a
  calibration ramp. It absorbs gain and offset errors of the residues (as long as no stage
  overflows the next), not their nonlinearity (method "bits" of :func:`calibrate`).
- ``fit_stage_calibration`` / ``apply_stage_calibration``: per-stage gain and offset, the textbook
  pipeline calibration: one weight per stage *digit* (the stage's bits in their nominal 2:1 ratio)
  and one offset. Inverting ``r_k = g_k (2**N_k r_(k-1) - d_k) + o_k`` stage by stage makes the
  input an affine function of the digits, so per-stage offsets all land in the one constant
  (method "stage"; equal to "bits" for 1-bit stages).
- ``fit_code_lut`` / ``apply_code_lut``: a code-domain lookup table per chip: every raw
  shift-and-add code is mapped to the mean ideal value of the calibration-ramp samples that gave
  it (codes the ramp never produced: interpolated between their neighbours). Raw code and digit
  tuple are in one-to-one correspondence without redundancy, so this is the least-squares best
  *static* correction any combiner can make from the digits: it also removes residue
  nonlinearity, but not what a saturated stage has lost (method "lut").
- ``fit_segment_calibration`` / ``apply_segment_calibration``: per-digit-segment weights: the
  inputs are split by the digits of the leading stages (as many as fit in :data:`SEGMENT_BITS` bits,
  at least the first stage) and each segment gets its own per-bit weights: a piecewise-linear
  correction, between "bits" and "lut" in size (method "segment").

All are foreground calibrations a chip can do: one ramp measured per chip, the fit stored in
the digital combiner (``2**N`` words for the table).
"""
from typing import Sequence

import numpy as np

from .conversion_law import ideal_digits

__all__ = ["ideal_combine", "ideal_stage_digits", "digit_bit_features", "fit_calibration", "apply_calibration",
           "stage_digit_features", "fit_stage_calibration", "apply_stage_calibration", "fit_code_lut",
           "apply_code_lut", "fit_segment_calibration", "apply_segment_calibration", "CALIBRATIONS", "calibrate",
           "SEGMENT_BITS"]

#: calibration methods of :func:`calibrate`
CALIBRATIONS = ("bits", "stage", "segment", "lut")
#: bits of the leading stages that select a segment of :func:`fit_segment_calibration`
SEGMENT_BITS = 2


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


def _lstsq_per_chip(feats: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares weights ``[M, F]`` of ``feats [M, T, F] @ w ~ target [T]``, per chip."""
    w = np.empty((feats.shape[0], feats.shape[-1]))
    for m in range(feats.shape[0]):
        w[m] = np.linalg.lstsq(feats[m], target, rcond=None)[0]
    return w


def _to_codes(est: np.ndarray, n_bits: int) -> np.ndarray:
    return np.clip(np.rint(est), 0, 2**n_bits - 1).astype(np.int64)


def stage_digit_features(digits: np.ndarray) -> np.ndarray:
    """Every stage digit as one feature, plus a constant: ``[..., n_stages + 1]`` float64."""
    d = digits.astype(np.float64)
    return np.concatenate([d, np.ones(d.shape[:-1] + (1,))], axis=-1)


def fit_stage_calibration(digits: np.ndarray, target: np.ndarray, stage_bits: Sequence[int]) -> np.ndarray:
    """Per-stage gain and offset: least-squares weights ``[M, n_stages + 1]`` (one per stage digit, one
    constant) of the calibration ramp ``digits [M, T, n_stages]`` against ``target [T]`` (LSB)."""
    if digits.shape[-1] != len(stage_bits):
        raise ValueError(f"digits have {digits.shape[-1]} stages, stage_bits lists {len(stage_bits)}")
    return _lstsq_per_chip(stage_digit_features(digits), np.asarray(target, dtype=np.float64))


def apply_stage_calibration(digits: np.ndarray, weights: np.ndarray, stage_bits: Sequence[int]) -> np.ndarray:
    """Codes ``[M, T]`` of :func:`fit_stage_calibration` weights (rounded and clipped to the code range)."""
    est = np.einsum("mtf,mf->mt", stage_digit_features(digits), weights)
    return _to_codes(est, sum(stage_bits))


def fit_code_lut(digits: np.ndarray, target: np.ndarray, stage_bits: Sequence[int]) -> np.ndarray:
    """Per-chip lookup table ``[M, 2**N]``: the mean ``target`` (LSB) of the ramp samples of each raw
    (shift-and-add) code; codes the ramp did not produce are linearly interpolated over the code
    index between the nearest produced ones (held constant beyond the first / last)."""
    n_codes = 2 ** sum(stage_bits)
    raw = ideal_combine(digits, stage_bits)  # [M, T]
    target = np.asarray(target, dtype=np.float64)
    lut = np.empty((raw.shape[0], n_codes))
    idx = np.arange(n_codes)
    for m in range(raw.shape[0]):
        cnt = np.bincount(raw[m], minlength=n_codes)
        tot = np.bincount(raw[m], weights=target, minlength=n_codes)
        seen = cnt > 0
        lut[m] = np.interp(idx, idx[seen], tot[seen] / cnt[seen])
    return lut


def apply_code_lut(digits: np.ndarray, lut: np.ndarray, stage_bits: Sequence[int]) -> np.ndarray:
    """Codes ``[M, T]`` through the per-chip table of :func:`fit_code_lut` (rounded, clipped)."""
    raw = ideal_combine(digits, stage_bits)  # [M, T]
    est = np.take_along_axis(lut, raw, axis=1)
    return _to_codes(est, sum(stage_bits))


def _segments(digits: np.ndarray, stage_bits: Sequence[int]) -> tuple:
    """Segment index ``[...]`` (the digits of the leading stages that fit in :data:`SEGMENT_BITS`,
    shift-and-add) and how many stages it takes (at least one)."""
    k, used = 0, 0
    while k < len(stage_bits) - 1 and used + stage_bits[k] <= SEGMENT_BITS:
        used += stage_bits[k]
        k += 1
    k = max(k, 1)
    return ideal_combine(digits[..., :k], stage_bits[:k]), k


def fit_segment_calibration(digits: np.ndarray, target: np.ndarray, stage_bits: Sequence[int]) -> np.ndarray:
    """Per-chip, per-segment bit weights ``[M, n_segments, n_features]`` (features of
    :func:`digit_bit_features`); a segment the ramp never reached keeps the chip's global fit."""
    stage_bits = list(stage_bits)
    seg, k = _segments(digits, stage_bits)
    n_seg = 2 ** sum(stage_bits[:k])
    feats = digit_bit_features(digits, stage_bits)  # [M, T, F]
    target = np.asarray(target, dtype=np.float64)
    w = np.empty((feats.shape[0], n_seg, feats.shape[-1]))
    for m in range(feats.shape[0]):
        glob = np.linalg.lstsq(feats[m], target, rcond=None)[0]
        for j in range(n_seg):
            sel = seg[m] == j
            w[m, j] = np.linalg.lstsq(feats[m, sel], target[sel], rcond=None)[0] if sel.sum() > 1 else glob
    return w


def apply_segment_calibration(digits: np.ndarray, weights: np.ndarray, stage_bits: Sequence[int]) -> np.ndarray:
    """Codes ``[M, T]`` of :func:`fit_segment_calibration` weights (rounded and clipped)."""
    seg, _ = _segments(digits, list(stage_bits))  # [M, T]
    feats = digit_bit_features(digits, stage_bits)  # [M, T, F]
    w = np.take_along_axis(weights, seg[..., None], axis=1)  # [M, T, F]
    return _to_codes((feats * w).sum(-1), sum(stage_bits))


_METHODS = {
    "bits": (fit_calibration, apply_calibration),
    "stage": (fit_stage_calibration, apply_stage_calibration),
    "segment": (fit_segment_calibration, apply_segment_calibration),
    "lut": (fit_code_lut, apply_code_lut),
}


def calibrate(method: str, d_ramp: np.ndarray, target: np.ndarray, stage_bits: Sequence[int], *records: np.ndarray):
    """Fit calibration ``method`` (one of :data:`CALIBRATIONS`) per chip on the ramp digits
    ``d_ramp [M, T_r, n_stages]`` against ``target [T_r]`` and apply it to ``records`` (digit
    arrays ``[M, T, n_stages]`` of the same chips).

    :return: the calibrated codes ``[M, T]`` of every record, in order (a list)
    """
    if method not in _METHODS:
        raise ValueError(f"calibration method {method!r}: expected one of {CALIBRATIONS}")
    fit, apply = _METHODS[method]
    params = fit(d_ramp, target, stage_bits)
    return [apply(r, params, stage_bits) for r in records]
