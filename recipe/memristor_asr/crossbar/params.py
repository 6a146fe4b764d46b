"""Synaptogen's fitted device parameters, read from the installed ``synaptogen==0.2.0`` package.

The package's ``default_params.json`` is the only thing we take from it at run time (its numpy
model is used as the reference in tests). Field meanings follow Hennen et al. (IEEE TED 2024):
two I-V polynomials (``LLRS``, ``HHRS``), a device-to-device Gaussian mixture (``wk``, ``μDtD``,
``LDtD``), a cycle-to-cycle vector autoregressive process (``VAR_0qq``) and per-feature output
polynomials ``γ``; the four features of a cycle are ``[log10 HRS, U_SET, LRS, U_RESET]``.
"""
import importlib.util
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np

__all__ = ["SynaptogenParams", "load_synaptogen_params", "default_params_path", "I_HRS", "I_USET", "I_LRS", "I_URESET"]

#: feature indices of a cycle vector ``y``
I_HRS, I_USET, I_LRS, I_URESET = 0, 1, 2, 3


def default_params_path() -> str:
    """Path of ``default_params.json`` inside the installed ``synaptogen`` package."""
    spec = importlib.util.find_spec("synaptogen")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("package 'synaptogen' (==0.2.0) is not installed; it provides the device parameters")
    path = os.path.join(list(spec.submodule_search_locations)[0], "default_params.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: synaptogen's default_params.json is missing")
    return path


@dataclass(frozen=True)
class SynaptogenParams:
    """Fitted Synaptogen parameters as float64 numpy arrays (converted to torch where used).

    Attributes:
        u_max: voltage at which a RESET is complete (full HRS) [V]
        u0: voltage at which resistance is defined, R = U0 / I(U0) [V]
        eta: curvature exponent of the partial-RESET transition
        var_order: order p of the cycle-to-cycle VAR process
        llrs, hhrs: I-V polynomials [A] of the limiting low/high states, highest degree first,
            zero constant term
        g_llrs, g_hhrs: their conductances at U0, P(U0) / U0 [S]
        gamma: [4, deg+1] per-feature output polynomials, highest degree first
        wk: [K] mixture weights (normalised to sum 1)
        mu_dtd: [K, 8] mixture means of the per-cell (mu, sigma) vector
        l_dtd: [K, 8, 8] lower Cholesky factors of the mixture covariances
        var_eps: [4, 4] VAR coefficient of the innovation (current noise vector)
        var_hist: [4, 4p] VAR coefficients of the history, oldest cycle first
    """

    u_max: float
    u0: float
    eta: float
    var_order: int
    llrs: np.ndarray
    hhrs: np.ndarray
    g_llrs: float
    g_hhrs: float
    gamma: np.ndarray
    wk: np.ndarray
    mu_dtd: np.ndarray
    l_dtd: np.ndarray
    var_eps: np.ndarray
    var_hist: np.ndarray

    @property
    def n_features(self) -> int:
        return self.gamma.shape[0]

    def r_of_resistance(self, resistance):
        """State variable of a cell whose resistance at U0 is ``resistance`` (works on tensors too)."""
        return (self.g_llrs - 1.0 / resistance) / (self.g_llrs - self.g_hhrs)

    def nominal_cycle(self) -> np.ndarray:
        """Cycle vector ``[HRS, U_SET, LRS, U_RESET]`` of the mean cell: mixture-weighted mean
        device constants and a VAR state of zero. Used when device variation is switched off."""
        mu_sigma = (self.wk[:, None] * self.mu_dtd).sum(0)
        nf = self.n_features
        y = mu_sigma[:nf] + mu_sigma[nf:] * self.gamma[:, -1]
        y[I_HRS] = 10.0 ** y[I_HRS]
        return y


def _poly_at(coeffs: np.ndarray, u: float) -> float:
    return float(np.polyval(coeffs, u))


@lru_cache(maxsize=8)
def load_synaptogen_params(path: Optional[str] = None, var_order: int = 10) -> SynaptogenParams:
    """Read a Synaptogen parameter file (default: the installed package's ``default_params.json``).

    :param path: JSON parameter file
    :param var_order: order p of the VAR process; the smallest fitted order >= p is truncated to p
    """
    path = path or default_params_path()
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    try:
        gamma = np.asarray(d["γ"], dtype=np.float64)
        nf = gamma.shape[0]
        orders = sorted(int(k.split("_")[-1]) for k in d if k.startswith("VAR_"))
        usable = [q for q in orders if q >= var_order]
        if var_order < 1 or not usable:
            raise ValueError(f"var_order={var_order} not available (fitted orders {orders})")
        var = np.asarray(d[f"VAR_{usable[0]:03d}"], dtype=np.float64)[:, : (var_order + 1) * nf]
        wk = np.asarray(d["wk"], dtype=np.float64)
        k = wk.shape[0]
        # LDtD is stored as [2nf, K * 2nf]: row, then (component, column)
        l_dtd = np.asarray(d["LDtD"], dtype=np.float64).reshape(2 * nf, k, 2 * nf).transpose(1, 0, 2)
        mu_dtd = np.asarray(d["μDtD"], dtype=np.float64).T  # [K, 2nf]
        llrs = np.asarray(d["LLRS"], dtype=np.float64)
        hhrs = np.asarray(d["HHRS"], dtype=np.float64)
        u0 = float(d["U₀"])
        u_max = float(d["Umax"])
        eta = float(d["η"])
    except KeyError as e:
        raise ValueError(f"{path}: Synaptogen parameter {e} missing") from None
    for name, poly in (("LLRS", llrs), ("HHRS", hhrs)):
        if poly[-1] != 0.0:
            raise ValueError(f"{path}: polynomial {name} must have a zero constant term (I(0) = 0)")
    return SynaptogenParams(
        u_max=u_max, u0=u0, eta=eta, var_order=var_order, llrs=llrs, hhrs=hhrs,
        g_llrs=_poly_at(llrs, u0) / u0, g_hhrs=_poly_at(hhrs, u0) / u0, gamma=gamma,
        wk=wk / wk.sum(), mu_dtd=mu_dtd, l_dtd=l_dtd, var_eps=var[:, :nf], var_hist=var[:, nf:],
    )
