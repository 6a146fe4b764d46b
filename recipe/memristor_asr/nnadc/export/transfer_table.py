"""Code-transfer tables: a trained NNADC as a lookup that another simulator can apply.

Why a table: the crossbar simulation of the ASR pipeline only needs "which code does this
column voltage produce" per converter instance. A dense grid of input levels with the codes of
``M`` Monte-Carlo instances captures the converter's transfer errors (and their spread) without
the consumer knowing anything about NNADCs.

With ``calibration``, each instance's codes go through the foreground calibration a chip would
store in its digital combiner (:func:`~memristor_asr.nnadc.design.combiner.calibrate`, fitted on
that instance's own code-domain ramp), so the table is what a calibrated converter outputs.

File format (``.npz``): ``input_levels [n_points]`` (fractions of the converter's full-scale
input range, ascending, uniform), ``codes [M, n_points]`` (int32), ``n_bits``, ``transfer``,
``sigma``, ``seed``, ``calibration`` (method name, "" for the ideal combiner). To apply it, map
a value ``v`` in ``[lo, hi]`` to ``a = (v - lo) / (hi - lo)``, pick the instance ``m`` of the
column, and read ``codes[m, round(a * (n_points - 1))]`` (clip ``a`` to [0, 1] first:
out-of-range inputs saturate as a real converter does).
"""
from typing import Optional, Tuple

import numpy as np

from ..design.combiner import CALIBRATIONS, calibrate
from ..design.conversion_law import ideal_codes, target_fraction
from ..design.converter import NnadcConverter

__all__ = ["nnadc_transfer_table", "reference_transfer_table", "save_transfer_table", "write_transfer_table",
           "load_transfer_table", "apply_transfer_table"]


def nnadc_transfer_table(
    converter: NnadcConverter, n_points: int, seed: int, n_instances: int = 16, sigma: float = 0.05,
    calibration: Optional[str] = None, ramp_points_per_code: int = 16,
) -> Tuple[np.ndarray, np.ndarray]:
    """Tabulate ``converter`` at ``n_points`` uniform inputs for Monte-Carlo instances.

    :param calibration: None (the ideal shift-and-add combiner) or a method of
        :data:`~memristor_asr.nnadc.design.combiner.CALIBRATIONS`, fitted per instance on a ramp
        of ``ramp_points_per_code`` samples per code (as the Monte-Carlo evaluation does)
    :return: ``input_levels [n_points]`` in [0, 1] and ``codes [n_instances, n_points]``
    """
    if n_points < 2:
        raise ValueError(f"n_points={n_points}: need at least 2 table points")
    if calibration is not None and calibration not in CALIBRATIONS:
        raise ValueError(f"calibration={calibration!r}: expected None or one of {CALIBRATIONS}")
    levels = np.linspace(0.0, 1.0, n_points)
    inst = converter.instances(n_instances, sigma, seed)
    if calibration is None:
        return levels, converter.codes(levels, inst).astype(np.int32)
    a_ramp = converter.ramp_inputs(ramp_points_per_code)
    target = np.asarray(target_fraction(a_ramp, converter.transfer), dtype=np.float64) * 2**converter.n_bits - 0.5
    d_ramp = converter.digits(a_ramp, inst)
    (codes,) = calibrate(calibration, d_ramp, target, converter.layout, converter.digits(levels, inst))
    return levels, codes.astype(np.int32)


def reference_transfer_table(n_bits: int, n_points: int, n_instances: int = 16, offset_lsb: int = 0,
                             seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """An ideal uniform ``n_bits`` converter in the same table form, every instance with a static
    offset of ``+offset_lsb`` or ``-offset_lsb`` codes (half of the instances each, in seeded order;
    an odd count leaves one instance without offset).

    Why: the reference that tells how large a converter's static error may be before recognition
    suffers. The offsets have zero mean over the instances, so what they cost is not a common bias.

    :return: ``input_levels [n_points]`` in [0, 1] and ``codes [n_instances, n_points]``
    """
    if n_points < 2:
        raise ValueError(f"n_points={n_points}: need at least 2 table points")
    if n_instances < 1:
        raise ValueError(f"n_instances={n_instances}: must be >= 1")
    if offset_lsb < 0:
        raise ValueError(f"offset_lsb={offset_lsb}: give the magnitude (>= 0); the signs alternate over instances")
    levels = np.linspace(0.0, 1.0, n_points)
    signs = np.array([1, -1] * (n_instances // 2) + [0] * (n_instances % 2))
    np.random.default_rng(seed).shuffle(signs)
    codes = ideal_codes(levels, n_bits, "linear")[None, :] + offset_lsb * signs[:, None]
    return levels, np.clip(codes, 0, 2**n_bits - 1).astype(np.int32)


def write_transfer_table(path: str, input_levels: np.ndarray, codes: np.ndarray, n_bits: int, transfer: str,
                         sigma: float, seed: int, calibration: Optional[str] = None) -> None:
    """Write a table (format in the module docstring) atomically."""
    from memristor_asr.util.atomic import atomic_write

    with atomic_write(path, "wb") as f:
        np.savez(f, input_levels=input_levels, codes=codes, n_bits=n_bits, transfer=transfer, sigma=sigma, seed=seed,
                 calibration=calibration or "")


def save_transfer_table(path: str, converter: NnadcConverter, input_levels: np.ndarray, codes: np.ndarray,
                        seed: int, sigma: float, calibration: Optional[str] = None) -> None:
    """Write the table of ``converter`` (its ``n_bits`` and conversion law go into the file)."""
    write_transfer_table(path, input_levels, codes, converter.n_bits, converter.transfer, sigma, seed, calibration)


def load_transfer_table(path: str) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def apply_transfer_table(table: dict, a: np.ndarray, instance: np.ndarray) -> np.ndarray:
    """Codes for inputs ``a`` (fractions of full scale) read by converter ``instance`` (same shape or broadcast)."""
    levels, codes = table["input_levels"], table["codes"]
    idx = np.rint(np.clip(a, 0.0, 1.0) * (len(levels) - 1)).astype(np.int64)
    return codes[np.asarray(instance) % codes.shape[0], idx]
