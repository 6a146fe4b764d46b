"""Read noise of a cell: Johnson-Nyquist plus shot noise, ``var = 4 kB T BW |I/U| + 2 q |I| BW``.

Two parameter sets:
- ``physical`` (default): q = 1.602176634e-19 C, BW = 1e8 Hz, T = 300 K, as the Synaptogen
  package's ``Iread``. At U = 0 the Johnson term uses the cell's zero-bias conductance (thermal
  noise needs no bias), as Synaptogen does by reading at 1e-12 V.
- ``paper``: the constants of SynaptogenML's torch read path, used for the published WERs:
  Euler's number e = 2.718... in place of the elementary charge and BW = 1e-8 Hz, Johnson term
  ``4 kB T BW |I| / (|U| + 1e-12)``. Per-cell noise is about 40x the physical value at full-scale
  reads; select it to reproduce the paper's numbers, not as a device model. (SynaptogenML by
  default also reuses one noise draw across the batch axis; that is not reproduced: every read
  here draws its own noise.)
- ``off``: no read noise.

Reads are Gaussian; a column's noise is the sum of its cells' independent noises, so its
variance is the sum of the cells' variances (which is what the fast path computes).
"""
import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from memristor_asr.crossbar.iv import IVModel

__all__ = ["ReadNoiseV1", "READ_NOISE_KINDS", "read_noise_model", "cell_read", "column_variance_coefficients"]

KB_T_300K = 1.380649e-23 * 300.0  # [J]
ELEMENTARY_CHARGE = 1.602176634e-19  # [C]
_U_MIN = 1e-12  # [V] Synaptogen's substitute for a 0 V read; SynaptogenML's Johnson floor


@dataclass(frozen=True)
class ReadNoiseV1:
    """Constants of the read-noise formula.

    Attributes:
        name: "physical" or "paper"
        charge: charge quantum of the shot-noise term [C] (paper: e = 2.718..., a unit error)
        bandwidth: read bandwidth [Hz]
        kbt: thermal energy kB * T [J]
        paper_johnson: Johnson term as ``|I| / (|U| + 1e-12)`` (SynaptogenML) instead of the
            cell's conductance ``|I / U|`` (exact, Synaptogen)
    """

    name: str
    charge: float
    bandwidth: float
    kbt: float
    paper_johnson: bool

    @property
    def johnson_coef(self) -> float:
        return 4.0 * self.kbt * self.bandwidth

    @property
    def shot_coef(self) -> float:
        return 2.0 * self.charge * self.bandwidth


READ_NOISE_KINDS = {
    "physical": ReadNoiseV1("physical", ELEMENTARY_CHARGE, 1e8, KB_T_300K, paper_johnson=False),
    "paper": ReadNoiseV1("paper", math.e, 1e-8, KB_T_300K, paper_johnson=True),
    "off": None,
}


def read_noise_model(kind: str) -> Optional[ReadNoiseV1]:
    """``"physical"``, ``"paper"`` or ``"off"`` (None)."""
    if kind not in READ_NOISE_KINDS:
        raise ValueError(f"read_noise must be one of {sorted(READ_NOISE_KINDS)}, got {kind!r}")
    return READ_NOISE_KINDS[kind]


def cell_read(u: torch.Tensor, r: torch.Tensor, iv: IVModel, noise: Optional[ReadNoiseV1],
              generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Per-cell noisy read (the reference definition): currents [A] of cells in states ``r``
    at voltages ``u`` (broadcast), each with its own Gaussian noise draw."""
    if noise is None:
        return iv.current(u, r)
    if noise.paper_johnson:
        i = iv.current(u, r)
        var = (noise.johnson_coef / (u.abs() + _U_MIN) + noise.shot_coef) * i.abs()
    else:
        u = torch.where(u == 0, torch.full_like(u, _U_MIN), u)
        i = iv.current(u, r)
        var = noise.johnson_coef * (i / u).abs() + noise.shot_coef * i.abs()
    eps = torch.randn(i.shape, generator=generator, device=i.device, dtype=i.dtype)
    return i + eps * var.sqrt()


def column_variance_coefficients(u: torch.Tensor, iv: IVModel, noise: ReadNoiseV1) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-input coefficients of a cell's read variance as a linear function of its state:
    ``var(U, r) = c_const(U) + r * c_r(U)``.

    Exact whenever the cell's current has the sign of U (``I/U > 0``), which holds for every
    state Synaptogen produces except a few cells beyond about 3 MOhm read below 0.2 V, whose
    currents are then ~1e-9 of a full-scale read (their variance is taken as the small signed
    value instead of its magnitude).

    :param u: [..., in] read voltages
    :return: (c_const, c_r), each [..., in], in A^2
    """
    sign = torch.sign(u)
    if noise.paper_johnson:
        a = noise.johnson_coef / (u.abs() + _U_MIN) + noise.shot_coef
        return a * sign * iv.low_current(u), a * sign * iv.diff_current(u)
    kj, ks = noise.johnson_coef, noise.shot_coef
    c_const = kj * iv.low_conductance(u) + ks * sign * iv.low_current(u)
    c_r = kj * iv.diff_conductance(u) + ks * sign * iv.diff_current(u)
    return c_const, c_r
