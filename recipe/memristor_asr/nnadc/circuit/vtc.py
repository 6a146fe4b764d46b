"""CMOS inverter voltage transfer characteristics (VTCs): the activation of every NNADC neuron.

Why parametric: the paper draws each hidden neuron's activation from a family of SPICE-simulated
inverter curves over process corners, supply and temperature, so the trained network tolerates
any of them. We have no foundry models, so the family is a smooth inverting curve with three
physical knobs that move over the corners:

    Vout(Vin) = VDD / 2 * (1 - tanh(g * (Vin - Vm) / (VDD_nom / 2)))

- ``g``: small-signal gain at the switching point (V/V); lower at fast corners and at high
  temperature (mobility), higher at slow corners;
- ``Vm``: switching threshold, ``VDD / 2`` shifted by the N/P strength ratio of skewed corners
  (``sf`` up, ``fs`` down) and by a temperature coefficient;
- output swing ``0 .. VDD``.

All signals in the library are *centred* voltages ``u = V / (VDD_nom / 2) - 1`` (so a rail-to-
rail signal spans ``[-1, 1]``). In those units the curve is

    h(z) = c - a * tanh(g * (z - vm)),   a = VDD / VDD_nom,  c = a - 1,
    vm = (VDD - VDD_nom) / VDD_nom + dVm / (VDD_nom / 2).
"""
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch

__all__ = ["VtcFamilyV1Config", "VtcParams", "nominal_vtc", "curve_or_nominal", "corner_vtc", "sample_vtc", "apply_vtc",
           "CORNERS"]

#: process corner -> (switching-threshold shift in volts, gain factor)
CORNERS: Dict[str, Tuple[float, float]] = {
    "tt": (0.0, 1.0),
    "ff": (0.0, 0.85),
    "ss": (0.0, 1.15),
    "sf": (+0.03, 1.0),
    "fs": (-0.03, 1.0),
}


@dataclass(frozen=True)
class VtcFamilyV1Config:
    """The inverter curve family.

    Attributes:
        gain: small-signal gain at the switching point at tt, nominal VDD, 27 degC (V/V)
        vdd_nominal: nominal supply (V)
        vdd_range: supply range sampled during training (V)
        temp_range: temperature range sampled during training (degC)
        temp_nominal: nominal temperature (degC)
        vm_temp_coeff: switching-threshold drift (V per degC)
        gain_temp_exponent: gain scales as (T_nominal / T)^exponent with T in kelvin
        corners: process corners drawn uniformly during training
    """

    gain: float = 8.0
    vdd_nominal: float = 1.5
    vdd_range: Tuple[float, float] = (1.47, 1.53)
    temp_range: Tuple[float, float] = (-40.0, 80.0)
    temp_nominal: float = 27.0
    vm_temp_coeff: float = -0.3e-3
    gain_temp_exponent: float = 0.5
    corners: Tuple[str, ...] = ("ss", "tt", "ff", "sf", "fs")

    def __post_init__(self):
        if self.gain <= 0:
            raise ValueError(f"VtcFamilyV1Config.gain={self.gain}: must be positive")
        for c in self.corners:
            if c not in CORNERS:
                raise ValueError(f"VtcFamilyV1Config.corners: unknown corner {c!r} (known: {sorted(CORNERS)})")


@dataclass
class VtcParams:
    """Curve parameters in centred units; each tensor broadcasts against the pre-activation."""

    gain: torch.Tensor
    vm: torch.Tensor
    amp: torch.Tensor
    center: torch.Tensor


def _params(cfg: VtcFamilyV1Config, dvm_v, gain_factor, vdd, temp) -> VtcParams:
    half = cfg.vdd_nominal / 2
    t_k = temp + 273.15
    t0_k = cfg.temp_nominal + 273.15
    gain = cfg.gain * gain_factor * (t0_k / t_k) ** cfg.gain_temp_exponent
    dvm = dvm_v + cfg.vm_temp_coeff * (temp - cfg.temp_nominal)
    amp = vdd / cfg.vdd_nominal
    vm = (vdd - cfg.vdd_nominal) / cfg.vdd_nominal + dvm / half
    return VtcParams(gain=gain, vm=vm, amp=amp, center=amp - 1.0)


def nominal_vtc(cfg: VtcFamilyV1Config) -> VtcParams:
    """tt corner, nominal supply and temperature (scalars as 0-d tensors)."""
    return corner_vtc(cfg, "tt", cfg.vdd_nominal, cfg.temp_nominal)


def curve_or_nominal(vtc: Optional[VtcParams], cfg: VtcFamilyV1Config) -> VtcParams:
    """The curves of a forward pass: ``vtc`` where they were drawn (PVT-aware training, corners), else the
    family's nominal curve, the default of every block."""
    return vtc if vtc is not None else nominal_vtc(cfg)


def corner_vtc(cfg: VtcFamilyV1Config, corner: str, vdd: float, temp: float) -> VtcParams:
    """One fixed corner / supply / temperature for every neuron."""
    if corner not in CORNERS:
        raise ValueError(f"corner={corner!r}: unknown (known: {sorted(CORNERS)})")
    dvm, gf = CORNERS[corner]
    t = lambda v: torch.tensor(float(v))  # noqa: E731
    return _params(cfg, t(dvm), t(gf), t(vdd), t(temp))


def sample_vtc(cfg: VtcFamilyV1Config, shape, generator: Optional[torch.Generator] = None) -> VtcParams:
    """Independent draws of corner, supply and temperature, one per element of ``shape``.

    Used in training with shape ``[B, H]``: every hidden neuron of every example sees its own
    curve, so the weights cannot rely on one particular inverter.
    """
    corner_idx = torch.randint(len(cfg.corners), shape, generator=generator)
    table = torch.tensor([CORNERS[c] for c in cfg.corners])  # [C, 2]
    dvm, gf = table[corner_idx, 0], table[corner_idx, 1]
    u = torch.rand((2,) + tuple(shape), generator=generator)
    vdd = cfg.vdd_range[0] + (cfg.vdd_range[1] - cfg.vdd_range[0]) * u[0]
    temp = cfg.temp_range[0] + (cfg.temp_range[1] - cfg.temp_range[0]) * u[1]
    return _params(cfg, dvm, gf, vdd, temp)


def apply_vtc(z: torch.Tensor, p: VtcParams) -> torch.Tensor:
    """Inverter output (centred units) for pre-activation ``z`` (centred units)."""
    return p.center - p.amp * torch.tanh(p.gain * (z - p.vm))

