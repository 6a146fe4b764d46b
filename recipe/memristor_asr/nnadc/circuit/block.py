"""One NNADC building block: a three-layer network made of two RRAM crossbars and CMOS inverters.

Circuit model: :mod:`.crossbar` (every input line in both polarities: the analog input is driven
differentially, digital code bits come from comparators with both outputs). The first layer
feeds inverters whose VTC is the activation; the second layer is either read by comparators
(sub-ADC / mixed-ADC: each output is one smooth-code bit, ``z > 0``) or is itself the analog
result (residue block: the amplified residue, buffered into the next stage).

:class:`CrossbarMlpV1` is the trainable model (latent float weights, quantized in the forward
pass). :class:`BlockHardware` is what gets programmed: integer conductance levels and column
steps, from which Monte-Carlo instances with lognormal resistance variation (:mod:`.variation`)
are drawn.
"""
from dataclasses import dataclass, field
from typing import Optional, Tuple

import torch
from torch import nn

from .crossbar import block_forward, column_conductances
from .rram import check_rram_bits, column_levels, fit_columns_to_budget, project_columns_l1, quantize_columns
from .smooth_code import read_comparators
from .variation import lognormal_columns
from .vtc import VtcFamilyV1Config, VtcParams, curve_or_nominal

__all__ = ["CrossbarMlpV1Config", "CrossbarMlpV1", "BlockHardware"]


@dataclass(frozen=True)
class CrossbarMlpV1Config:
    """Size and hardware constraints of one block.

    Attributes:
        n_in: input lines (analog input + code bits), without the bias row
        n_hidden: hidden inverters
        n_out: outputs (smooth-code bits, or 1 for a residue)
        rram_bits: RRAM precision ``A_R`` of the first crossbar
        out_rram_bits: precision of the second crossbar; None: same as ``rram_bits``
        analog_out: True for a residue block (the output voltage is the result, so the second
            layer obeys the column budget during training); False for comparator outputs,
            whose second layer is normalised after training (sign-preserving)
        beta: column budget margin, ``sum|w| <= 1 / beta`` (beta > 1)
        vtc: inverter curve family
    """

    n_in: int
    n_hidden: int
    n_out: int
    rram_bits: int
    out_rram_bits: Optional[int] = None
    analog_out: bool = False
    beta: float = 1.05
    vtc: VtcFamilyV1Config = field(default_factory=VtcFamilyV1Config)

    def __post_init__(self):
        if isinstance(self.n_hidden, bool) or not isinstance(self.n_hidden, int) or self.n_hidden < 1:
            raise ValueError(f"n_hidden={self.n_hidden!r}: a block needs at least one hidden unit")
        if self.n_in < 1 or self.n_out < 1:
            raise ValueError(f"n_in={self.n_in}, n_out={self.n_out}: both must be >= 1")
        check_rram_bits(self.rram_bits, "rram_bits")
        if self.out_rram_bits is not None:
            check_rram_bits(self.out_rram_bits, "out_rram_bits")
        if not self.beta > 1:
            raise ValueError(f"beta={self.beta}: the column normalisation needs beta > 1")

    @property
    def bits2(self) -> int:
        return self.rram_bits if self.out_rram_bits is None else self.out_rram_bits

    @property
    def l1_max(self) -> float:
        return 1.0 / self.beta


class CrossbarMlpV1(nn.Module):
    """Trainable block. ``forward(u) -> (out [B, n_out], hidden [B, n_hidden])``."""

    def __init__(self, cfg: CrossbarMlpV1Config, generator: Optional[torch.Generator] = None):
        super().__init__()
        self.cfg = cfg
        h = cfg.n_hidden
        # first layer: the analog input (row 0) gets weights of both signs and thresholds spread
        # over the input range, so every inverter starts somewhere useful
        w1 = torch.empty(cfg.n_in + 1, h)
        a = (0.3 + 0.3 * torch.rand(h, generator=generator)) * torch.where(
            torch.rand(h, generator=generator) < 0.5, -1.0, 1.0
        )
        t = torch.linspace(-0.9, 0.9, h) if h > 1 else torch.zeros(1)
        w1[0] = a
        w1[1:-1] = 0.2 * (torch.rand(cfg.n_in - 1, h, generator=generator) - 0.5)
        w1[-1] = -a * t
        project_columns_l1(w1, cfg.l1_max)
        self.w1 = nn.Parameter(w1)  # [n_in + 1, H]
        scale = 1.0 / (h + 1)
        self.w2 = nn.Parameter(scale * (2 * torch.rand(h + 1, cfg.n_out, generator=generator) - 1))  # [H + 1, n_out]

    #: False during a float warm-up phase of training (weights used unquantized, budget still held)
    quantize: bool = True

    def quantized_weights(self) -> Tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        if not self.quantize:
            return fit_columns_to_budget(self.w1, cfg.l1_max), self.w2
        w1 = quantize_columns(self.w1, cfg.rram_bits, cfg.l1_max)
        w2 = quantize_columns(self.w2, cfg.bits2, cfg.l1_max if cfg.analog_out else None)
        return w1, w2

    def forward(self, u: torch.Tensor, vtc: Optional[VtcParams] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """:param u: inputs [B, n_in] (centred volts); :param vtc: curve params broadcasting to [B, H]."""
        w1, w2 = self.quantized_weights()
        return block_forward(u, w1, w2, curve_or_nominal(vtc, self.cfg.vtc))  # [B, n_out], [B, H]

    @torch.no_grad()
    def project(self) -> None:
        """Column-budget projection of the latent weights (first layer; second layer if analog)."""
        project_columns_l1(self.w1, self.cfg.l1_max)
        if self.cfg.analog_out:
            project_columns_l1(self.w2, self.cfg.l1_max)

    @torch.no_grad()
    def hardware(self) -> "BlockHardware":
        """Programmed levels; a comparator-read second layer is normalised by ``beta * sum|W2|``."""
        cfg = self.cfg
        k1, s1 = column_levels(self.w1, cfg.rram_bits, cfg.l1_max)
        k2, s2 = column_levels(self.w2, cfg.bits2, cfg.l1_max if cfg.analog_out else None)
        s2_hw = 1.0 / (cfg.beta * k2.abs().sum(dim=0).clamp_min(1).to(s2.dtype))
        return BlockHardware(cfg=cfg, k1=k1, s1=s1.float(), k2=k2, s2=s2_hw.float(), out_scale=(s2_hw / s2).float())


@dataclass
class BlockHardware:
    """A programmed block: integer levels ``k`` and column steps ``s`` (weight = ``k * s``).

    In conductance terms (units of the level step ``G_step``): a cell at level ``|k|`` on the
    polarity row matching ``sign(k)``, the other cell of the pair off, and a load of
    ``1 / s - sum|k|`` to the mid rail, so the column total is ``1 / s``.

    Attributes:
        cfg: the block's config
        k1, s1: first layer levels [n_in + 1, H] and steps [H]
        k2, s2: second layer levels [H + 1, n_out] and steps [n_out]
        out_scale: hardware output / trained output per column [n_out] (the normalisation)
        digit_bits: for a comparator block, the resolution ``N`` its smooth code encodes
        thermometer: a comparator block whose outputs are a thermometer code (the sub-ADC of a redundant
            stage: ``n_out + 1`` levels, :func:`.smooth_code.thermometer_code`) instead of a smooth code
    """

    cfg: CrossbarMlpV1Config
    k1: torch.Tensor
    s1: torch.Tensor
    k2: torch.Tensor
    s2: torch.Tensor
    out_scale: torch.Tensor
    digit_bits: Optional[int] = None
    thermometer: bool = False

    def state_dict(self) -> dict:
        return {"k1": self.k1, "s1": self.s1, "k2": self.k2, "s2": self.s2, "out_scale": self.out_scale}

    def nominal_weights(self, dtype: torch.dtype = torch.float32) -> Tuple[torch.Tensor, torch.Tensor]:
        """Programmed weights ``k * s`` of both layers, ``[n_in + 1, H]`` and ``[H + 1, n_out]``."""
        return self.k1.to(dtype) * self.s1.to(dtype), self.k2.to(dtype) * self.s2.to(dtype)

    @staticmethod
    def perturb(k: torch.Tensor, s: torch.Tensor, sigma: float, m: int, gen: Optional[torch.Generator]) -> torch.Tensor:
        """Effective weights [M, rows, cols] of one crossbar after ``R <- R * exp(theta)``, ``theta ~ N(0, sigma)``."""
        kf = k.to(torch.float32)
        if sigma == 0:
            return (kf * s).expand(m, *k.shape).clone()
        return lognormal_columns(*column_conductances(kf, s), sigma, m, gen)

    def instances(
        self, n: int, sigma: float, generator: Optional[torch.Generator] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Monte-Carlo instances: weights ``W1 [n, n_in + 1, H]``, ``W2 [n, H + 1, n_out]``."""
        w1 = self.perturb(self.k1, self.s1, sigma, n, generator)
        w2 = self.perturb(self.k2, self.s2, sigma, n, generator)
        return w1, w2

    def run(self, u: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, vtc: Optional[VtcParams] = None) -> torch.Tensor:
        """Evaluate instances: ``u [M, T, n_in]`` -> outputs ``[M, T, n_out]`` (column voltages)."""
        return block_forward(u, w1, w2, curve_or_nominal(vtc, self.cfg.vtc))[0]

    @torch.no_grad()
    def run_nominal(self, u: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
        """Nominal chip (no variation, tt inverter): ``u [P, n_in] -> [P, n_out]``."""
        w1, w2 = self.instances(1, 0.0)
        return torch.cat([self.run(u[None, i : i + chunk], w1, w2)[0] for i in range(0, u.shape[0], chunk)], dim=0)

    def decide(self, u: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor,
               vtc: Optional[VtcParams] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Comparator block: ``u [M, T, n_in]`` -> (bits as +-1 volts ``[M, T, S]``, digit ``[M, T]``)."""
        return read_comparators(self.run(u, w1, w2, vtc), self.digit_bits, self.thermometer)
