"""Current-voltage law of a cell: ``I(U; r) = (1 - r) * P_low(U) + r * P_high(U)``.

Every cell shares the two polynomials; only its state ``r`` differs. Because ``I`` is linear in
``r``, a column's summed current is a matrix product of per-input polynomial values with the
state matrix (the fast path, :mod:`memristor_asr.crossbar.layer`).

Two models:
- ``synaptogen``: Synaptogen's fitted limiting-state polynomials (nonlinear and asymmetric in U).
  ``r_on`` / ``r_off`` are the states of the nominal (mean) cell, used when device variation is off.
- ``ideal``: linear conductances with ``r_on = 0``, ``r_off = 1`` and an on/off conductance
  difference of exactly ``1 / (c * v_read_max)``, so a (SET, RESET) pair read through the
  correction factor ``c`` returns exactly the input. This is the arithmetic limit in which a
  crossbar layer reproduces its QAT layer (tests, upper-bound experiments).
"""
from dataclasses import dataclass
from typing import Tuple

import torch

from memristor_asr.crossbar.params import I_HRS, I_LRS, SynaptogenParams, load_synaptogen_params

__all__ = ["IVModel", "horner", "synaptogen_iv", "ideal_iv", "make_iv"]


def horner(coeffs: Tuple[float, ...], u: torch.Tensor) -> torch.Tensor:
    """Evaluate a polynomial (coefficients highest degree first) elementwise."""
    y = torch.full_like(u, coeffs[0])
    for c in coeffs[1:]:
        y = y * u + c
    return y


@dataclass(frozen=True)
class IVModel:
    """A shared pair of I-V polynomials and the nominal states of SET and RESET cells.

    Attributes:
        name: "synaptogen" or "ideal"
        low, high: polynomial coefficients [A] (highest degree first, zero constant term) of
            the states r = 0 and r = 1
        r_on, r_off: nominal state of a SET (low-resistance) and a RESET (high-resistance) cell
    """

    name: str
    low: Tuple[float, ...]
    high: Tuple[float, ...]
    r_on: float
    r_off: float

    def __post_init__(self):
        for label, p in (("low", self.low), ("high", self.high)):
            if len(p) < 2 or p[-1] != 0.0:
                raise ValueError(f"IVModel {self.name}: polynomial {label} needs degree >= 1 and a zero constant term")

    # currents ---------------------------------------------------------------------------------
    def current(self, u: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """``I(U; r)`` [A], broadcasting ``u`` against ``r``."""
        return (1 - r) * horner(self.low, u) + r * horner(self.high, u)

    def low_current(self, u: torch.Tensor) -> torch.Tensor:
        """``P_low(U)`` [A]."""
        return horner(self.low, u)

    def diff_current(self, u: torch.Tensor) -> torch.Tensor:
        """``P_high(U) - P_low(U)`` [A]: the current's slope in ``r``."""
        return horner(_sub(self.high, self.low), u)

    # conductances I/U as polynomials of one degree less: exact at U = 0 --------------------
    def low_conductance(self, u: torch.Tensor) -> torch.Tensor:
        """``P_low(U) / U`` [S] (the limit ``P_low'(0)`` at U = 0)."""
        return horner(self.low[:-1], u)

    def diff_conductance(self, u: torch.Tensor) -> torch.Tensor:
        """``(P_high(U) - P_low(U)) / U`` [S]."""
        return horner(_sub(self.high, self.low)[:-1], u)


def _sub(a: Tuple[float, ...], b: Tuple[float, ...]) -> Tuple[float, ...]:
    n = max(len(a), len(b))
    a = (0.0,) * (n - len(a)) + tuple(a)
    b = (0.0,) * (n - len(b)) + tuple(b)
    return tuple(x - y for x, y in zip(a, b))


def synaptogen_iv(params: SynaptogenParams = None) -> IVModel:
    """Synaptogen's polynomials; nominal states from :meth:`SynaptogenParams.nominal_cycle`."""
    params = params or load_synaptogen_params()
    y = params.nominal_cycle()
    return IVModel("synaptogen", tuple(float(c) for c in params.llrs), tuple(float(c) for c in params.hhrs),
                   r_on=float(params.r_of_resistance(y[I_LRS])), r_off=float(params.r_of_resistance(y[I_HRS])))


def ideal_iv(correction_factor: float, v_read_max: float, params: SynaptogenParams = None) -> IVModel:
    """Linear cells: the off conductance is the nominal Synaptogen HRS, the on conductance exceeds
    it by ``1 / (correction_factor * v_read_max)`` (about the nominal LRS at the defaults)."""
    params = params or load_synaptogen_params()
    g_off = 1.0 / float(params.nominal_cycle()[I_HRS])
    g_on = g_off + 1.0 / (correction_factor * v_read_max)
    return IVModel("ideal", (g_on, 0.0), (g_off, 0.0), r_on=0.0, r_off=1.0)


def make_iv(device_model: str, correction_factor: float, v_read_max: float) -> IVModel:
    """The I-V model a converter configuration names."""
    if device_model == "synaptogen":
        return synaptogen_iv()
    if device_model == "ideal":
        return ideal_iv(correction_factor, v_read_max)
    raise ValueError(f"device_model must be 'synaptogen' or 'ideal', got {device_model!r}")
