"""Converter metrics: ENOB/SNDR from a coherent sine, the paper's Eq. (18) ENOB, DNL/INL and transition
levels from a ramp.

Why adctoolbox: the spectral ENOB and the histogram DNL/INL are standard (IEEE 1241) and the
package is maintained; we only generate the stimuli, feed it codes and read its results. The
ramp transition levels (for transfer-curve plots and transfer tables) come from the cumulative
code histogram of a ramp that is uniform in the code domain.

Two ENOB figures, always reported side by side and labelled: "ENOB (spectral)" (:func:`sndr_enob`,
the standard SNDR of the sine's spectrum: signal = the fundamental bin only, DC excluded) and
"ENOB (paper Eq. 18)" (:func:`paper_enob`, Cao et al.'s time-domain figure: signal = the power of
the reconstructed unipolar ``[0, V_DD]`` signal *including its DC*). For an ideal quantizer and a
full-scale sine the second reads ``log2(3) / 2 = 0.79`` bit higher; compare with the paper only on it.
"""
from typing import Dict, Tuple

import numpy as np

from ..design.conversion_law import input_from_fraction

__all__ = ["sine_inputs", "sndr_enob", "paper_enob", "reconstruct", "ramp_dnl_inl", "transition_levels",
           "dnl_inl_from_transitions", "transition_inputs", "default_fft_size"]


def default_fft_size(n_bits: int) -> int:
    """Record length for a sine test: at least 4 samples per code, between 2**12 and 2**16."""
    return 2 ** int(np.clip(n_bits + 2, 12, 16))


def sine_inputs(n_bits: int, transfer: str, n_fft: int = None, amplitude: float = 0.999) -> Tuple[np.ndarray, int]:
    """Coherently sampled full-scale sine in the code domain, mapped to inputs ``a``.

    :param amplitude: peak amplitude as a fraction of half the code range
    :return: inputs ``a [n_fft]`` and the signal's FFT bin
    """
    import adctoolbox

    n_fft = n_fft or default_fft_size(n_bits)
    _, k = adctoolbox.find_coherent_frequency(1.0, 0.0123, n_fft)
    y = 0.5 + 0.5 * amplitude * np.sin(2 * np.pi * k * np.arange(n_fft) / n_fft)
    return input_from_fraction(y, transfer), int(k)


def sndr_enob(codes: np.ndarray) -> Dict[str, float]:
    """ENOB, SNDR, SFDR (dB) of a coherent-sine code record ``[n_fft]`` (adctoolbox, rectangular window)."""
    import adctoolbox

    r = adctoolbox.analyze_spectrum(np.asarray(codes, dtype=np.float64), create_plot=False, win_type="boxcar",
                                    side_bin=0)
    return {"enob": float(r["enob"]), "sndr_db": float(r["sndr_dbc"]), "sfdr_db": float(r["sfdr_dbc"])}


def reconstruct(codes: np.ndarray, n_bits: int) -> np.ndarray:
    """Codes -> the reconstructed unipolar signal as a fraction of full scale (``V_DD = 1``): the
    centre ``(code + 0.5) / 2**n_bits`` of each code's interval, float64 ``[...]``."""
    return (np.asarray(codes, dtype=np.float64) + 0.5) / 2**n_bits


def paper_enob(codes: np.ndarray, target: np.ndarray, n_bits: int) -> Dict[str, float]:
    """ENOB by the paper's Eq. (18) (Cao et al., TCAD 2020): a time-domain SNR on the unipolar signal.

    ``SNR = 10 log10( sum_t v_out(t)**2 / sum_t (v_out(t) - v_in(t))**2 )``, ``ENOB = (SNR - 1.76) / 6.02``,
    with ``v_out`` the reconstructed signal (:func:`reconstruct`, in ``[0, V_DD]``, its DC included)
    and ``v_in`` the ideal value; no gain / offset removal, no window, no coherent sampling needed.

    :param codes: output codes ``[..., T]`` (one record per leading index)
    :param target: the ideal signal ``v_in [T]`` as a fraction of full scale (the code-domain value
        ``y`` of the stimulus, :func:`..design.conversion_law.target_fraction` of the inputs)
    :param n_bits: converter resolution
    :return: ``{"enob", "snr_db"}`` (floats for one record, arrays ``[...]`` for several)
    """
    v_out = reconstruct(codes, n_bits)
    v_in = np.asarray(target, dtype=np.float64)
    if v_out.shape[-1] != v_in.shape[-1]:
        raise ValueError(f"paper_enob: {v_out.shape[-1]} codes per record but {v_in.shape[-1]} target samples")
    p_sig = (v_out**2).sum(-1)
    p_err = np.maximum(((v_out - v_in) ** 2).sum(-1), 1e-300)
    snr = 10 * np.log10(p_sig / p_err)
    enob = (snr - 1.76) / 6.02
    if np.ndim(snr) == 0:
        return {"enob": float(enob), "snr_db": float(snr)}
    return {"enob": enob, "snr_db": snr}


def ramp_dnl_inl(codes: np.ndarray, n_bits: int) -> Dict[str, object]:
    """DNL / INL in LSB from the codes of a ramp uniform in the code domain (adctoolbox).

    Endpoint INL; the first and last codes (open-ended bins) are excluded.
    :return: dnl [codes], inl [transitions], their extremes and the number of missing codes
    """
    import adctoolbox

    r = adctoolbox.analyze_inl_from_ramp(np.asarray(codes, dtype=np.int64), num_bits=n_bits, create_plot=False)
    dnl, inl = np.asarray(r["dnl"], dtype=np.float64), np.asarray(r["inl"], dtype=np.float64)
    return {
        "dnl": dnl,
        "inl": inl,
        "code": np.asarray(r["code"]),
        "dnl_min": float(dnl.min()),
        "dnl_max": float(dnl.max()),
        "inl_min": float(inl.min()),
        "inl_max": float(inl.max()),
        "missing_codes": int(len(r["missing_codes"])),
    }


def transition_levels(codes: np.ndarray, n_bits: int) -> np.ndarray:
    """Transition levels ``T_k`` (k = 1 .. 2**n_bits - 1) in code-domain fractions ``[0, 1]``.

    For a ramp uniform in the code domain, ``T_k`` is the fraction of samples with a code below
    ``k`` (histogram method; robust to non-monotonic converters).
    """
    counts = np.bincount(np.asarray(codes, dtype=np.int64), minlength=2**n_bits)[: 2**n_bits]
    return np.cumsum(counts)[:-1] / len(codes)


def dnl_inl_from_transitions(levels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Endpoint DNL ``[2**n - 2]`` (inner codes) and INL ``[2**n - 1]`` (per transition) in LSB.

    The LSB is the mean inner code width (first to last transition), as in an endpoint ramp test.
    """
    levels = np.asarray(levels, dtype=np.float64)
    lsb = (levels[-1] - levels[0]) / max(1, len(levels) - 1)
    if lsb <= 0:
        return np.full(len(levels) - 1, -1.0), np.zeros(len(levels))
    dnl = np.diff(levels) / lsb - 1
    inl = (levels - (levels[0] + lsb * np.arange(len(levels)))) / lsb
    return dnl, inl


def transition_inputs(levels: np.ndarray, transfer: str) -> np.ndarray:
    """Transition levels mapped from the code domain back to inputs ``a``."""
    return input_from_fraction(levels, transfer)

