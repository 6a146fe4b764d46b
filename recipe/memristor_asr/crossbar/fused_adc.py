"""Fused CPU kernel: read noise, ADC and recombination of one row tile in a single pass.

After the two matrix products of a row tile (column mean ``v`` and read-noise variance ``var``,
both ``[frames, P * out]`` in ADC code units), the rest of a crossbar layer's forward is
element-wise: draw a Gaussian per column, add ``sqrt(var) * z``, round to the ADC grid, clip and
count, weight each plane by its significance and add it to the output. Done as separate torch
operations this was about eight passes over ``[row tiles, frames, P * out]`` plus a serial
Mersenne-Twister draw (5-7 ns per number on one core, not parallel), more than the matrix
products themselves. Here it is one loop per frame (numba, compiled once and cached on disk).

Noise is counter-based: element ``(frame n, column c)`` of a call with key ``k`` always gets the
same number, whatever the thread count, the chunking or the order (Random123's idea; the
generator is a keyed integer hash, Wellons' ``triple32`` applied twice, feeding Box-Muller).
Box-Muller uses 24-bit uniforms, so ``|z|`` stops at 5.77 (a truncation of probability 6e-8
per pair). ``log``, ``sin``, ``cos`` are evaluated by polynomials (relative error < 1e-6) so the
loop vectorises; tests check the moments, tails and independence against the normal law.
"""
import math
import os
from typing import Optional

import numpy as np

__all__ = ["available", "normal_noise", "adc_accumulate"]

try:  # numba is pinned in requirements.txt; without it the torch path runs
    import numba
    from numba import njit, prange

    # numba's OpenMP layer shares torch's libgomp; its idle workers then slowed every following
    # torch operation about 20-fold (a 3.7 MB torch.zeros: 0.4 -> 8 ms). The work-queue layer's
    # workers sleep. It must not be launched from two Python threads at once (layers run in turn).
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"
    _HAVE_NUMBA = os.environ.get("MEMRISTOR_ASR_NO_FUSED", "") == ""
except ImportError:  # pragma: no cover - exercised only on installs without numba
    _HAVE_NUMBA = False


def available() -> bool:
    """True when the fused kernel can run (numba present, not disabled by
    ``MEMRISTOR_ASR_NO_FUSED=1``)."""
    return _HAVE_NUMBA


if _HAVE_NUMBA:
    _U = np.uint32
    _F = np.float32

    @njit(inline="always")
    def _triple32(x):
        x = _U(x ^ _U(x >> _U(17)))
        x = _U(x * _U(0xED5AD4BB))
        x = _U(x ^ _U(x >> _U(11)))
        x = _U(x * _U(0xAC4C1B51))
        x = _U(x ^ _U(x >> _U(15)))
        x = _U(x * _U(0x31848BAB))
        x = _U(x ^ _U(x >> _U(14)))
        return x

    @njit(inline="always")
    def _hash(counter, k0, k1):
        return _triple32(_U(_triple32(_U(counter ^ k0)) + k1))

    @njit(inline="always")
    def _log(x):
        """Natural log of a float32 in (0, 1] (Cephes-style: exponent split, polynomial)."""
        bits = _F(x).view(_U)
        e = _F(np.int32(_U(bits >> _U(23))) - np.int32(127))
        m = _U(_U(bits & _U(0x007FFFFF)) | _U(0x3F800000)).view(_F)  # [1, 2)
        big = m > _F(1.41421356)
        m = m * _F(0.5) if big else m
        e = e + _F(1.0) if big else e
        f = m - _F(1.0)  # [-0.293, 0.414]
        z = f * f
        p = _F(7.0376836292e-2)
        p = p * f + _F(-1.1514610310e-1)
        p = p * f + _F(1.1676998740e-1)
        p = p * f + _F(-1.2420140846e-1)
        p = p * f + _F(1.4249322787e-1)
        p = p * f + _F(-1.6668057665e-1)
        p = p * f + _F(2.0000714765e-1)
        p = p * f + _F(-2.4999993993e-1)
        p = p * f + _F(3.3333331174e-1)
        y = f * z * p - _F(0.5) * z
        return f + y + e * _F(0.693147180559945)

    @njit(inline="always")
    def _sincos_turns(t):
        """(sin, cos) of 2 pi (t - 0.5) for t in [0, 1): angle in [-pi, pi), folded to
        [-pi/2, pi/2] and evaluated by Taylor polynomials (error < 1e-7)."""
        a = (t - _F(0.5)) * _F(6.283185307179586)
        fold = abs(a) > _F(1.5707963267948966)
        half_turn = _F(3.141592653589793) if a > 0 else _F(-3.141592653589793)
        a = half_turn - a if fold else a
        s2 = a * a
        s = _F(-2.505210838544172e-08)
        s = s * s2 + _F(2.755731922398589e-06)
        s = s * s2 + _F(-1.984126984126984e-04)
        s = s * s2 + _F(8.333333333333333e-03)
        s = s * s2 + _F(-1.666666666666667e-01)
        s = a + a * s2 * s
        c = _F(2.087675698786810e-09)
        c = c * s2 + _F(-2.755731922398589e-07)
        c = c * s2 + _F(2.480158730158730e-05)
        c = c * s2 + _F(-1.388888888888889e-03)
        c = c * s2 + _F(4.166666666666666e-02)
        c = c * s2 + _F(-0.5)
        c = _F(1.0) + s2 * c
        return s, (-c if fold else c)

    @njit(inline="always")
    def _fill_normal(buf, row, n_cols, k0, k1):
        """buf[0:n_cols] = N(0, 1) draws of (row, column); column c pairs with c + half."""
        half = (n_cols + 1) // 2
        base = _U(_U(row) * _U(2 * half))
        for c in range(half):
            ctr = _U(base + _U(2 * c))
            h1 = _hash(ctr, k0, k1)
            h2 = _hash(_U(ctr + _U(1)), k0, k1)
            u1 = (_F(_U(h1 >> _U(8))) + _F(1.0)) * _F(5.960464477539063e-08)  # (0, 1]
            u2 = _F(_U(h2 >> _U(8))) * _F(5.960464477539063e-08)  # [0, 1)
            r = math.sqrt(_F(-2.0) * _log(u1))
            s, co = _sincos_turns(u2)
            buf[c] = r * co
            if c + half < n_cols:
                buf[c + half] = r * s

    @njit(parallel=True, cache=True, fastmath=False)
    def _normal_kernel(out, k0, k1):
        for n in prange(out.shape[0]):
            _fill_normal(out[n], n, out.shape[1], k0, k1)

    @njit(parallel=True, cache=True, fastmath=False)
    def _adc_kernel(v, var, y, significance, n_out, k0, k1, has_noise, do_round, max_code, write_back):
        n_frames, n_cols = v.shape
        n_planes = significance.shape[0]
        clipped = np.zeros(n_frames, np.int64)
        for n in prange(n_frames):
            z = np.empty(n_cols, np.float32)
            if has_noise:
                _fill_normal(z, n, n_cols, k0, k1)
                for c in range(n_cols):
                    s = var[n, c]
                    s = math.sqrt(s) if s > _F(0.0) else _F(0.0)
                    z[c] = v[n, c] + s * z[c]
            else:
                for c in range(n_cols):
                    z[c] = v[n, c]
            if write_back:
                for c in range(n_cols):
                    v[n, c] = z[c]
            count = 0
            for p in range(n_planes):
                w = significance[p]
                off = p * n_out
                for o in range(n_out):
                    x = z[off + o]
                    if do_round:
                        x = np.rint(x)
                    hi = x > max_code
                    lo = x < -max_code
                    count += hi + lo
                    x = min(max(x, -max_code), max_code)
                    y[n, o] += w * x
            clipped[n] = count
        return clipped.sum()


def _key_words(key: int):
    key = int(key) & 0xFFFF_FFFF_FFFF_FFFF
    return np.uint32(key & 0xFFFF_FFFF), np.uint32(key >> 32)


def _threads(num_threads: Optional[int]) -> None:
    import torch

    n = int(num_threads or torch.get_num_threads())
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def normal_noise(key: int, rows: int, cols: int, num_threads: Optional[int] = None) -> np.ndarray:
    """The kernel's standard-normal draws ``[rows, cols]`` for ``key`` (float32; for tests and
    diagnostics: :func:`adc_accumulate` uses exactly these numbers)."""
    if not _HAVE_NUMBA:
        raise RuntimeError("fused_adc.normal_noise needs numba (pip install numba)")
    _threads(num_threads)
    out = np.empty((rows, cols), np.float32)
    k0, k1 = _key_words(key)
    _normal_kernel(out, k0, k1)
    return out


def adc_accumulate(v: np.ndarray, var: Optional[np.ndarray], y: np.ndarray, significance: np.ndarray, n_out: int,
                   key: int, round_codes: bool, max_code: Optional[float], write_back: bool = False,
                   num_threads: Optional[int] = None) -> int:
    """One row tile: ``y[n, o] += sum_p significance[p] * clip(round(v + sqrt(var) z))`` with
    ``z = normal_noise(key, ...)``; returns the number of clipped outputs.

    :param v: [frames, P * out] float32 column means in ADC code units (C-contiguous; with
        ``write_back`` it receives the noisy pre-ADC values, for histograms)
    :param var: same shape, read-noise variances in code units squared; None = no noise
    :param y: [frames, out] float32 accumulator (code units x significance)
    :param significance: [P] float32 plane weights
    :param max_code: clipping bound in codes; None = no clipping
    """
    if not _HAVE_NUMBA:
        raise RuntimeError("fused_adc.adc_accumulate needs numba (pip install numba)")
    _threads(num_threads)
    k0, k1 = _key_words(key)
    bound = np.float32(np.inf if max_code is None else max_code)
    var_arr = v if var is None else var
    return int(_adc_kernel(v, var_arr, y, significance, int(n_out), k0, k1, var is not None, bool(round_codes),
                           bound, bool(write_back)))
