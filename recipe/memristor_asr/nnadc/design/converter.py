"""A trained NNADC: its programmed blocks, the signal flow between them, and Monte-Carlo instances.

Why one class for both architectures: sub-ranging and pipelined converters differ only in what a
block after the first receives (the analog input plus the coarse code, or the previous stage's
residue plus its own code); everything downstream (digital combiner, metrics, transfer tables,
netlists) works on the per-stage digits this class produces.
"""
import dataclasses
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch

from ..circuit.block import BlockHardware, CrossbarMlpV1Config
from ..circuit.smooth_code import binary_levels
from ..circuit.vtc import VtcFamilyV1Config, VtcParams, sample_vtc
from .combiner import ideal_combine
from .config import DigitLayout, PipelinedAdcV1Config, StageV1Config, SubrangingAdcV1Config
from .conversion_law import input_from_fraction, input_voltage

__all__ = ["NnadcConverter", "InstanceSet", "StageSignals", "save_converter", "load_converter"]


@dataclass
class StageSignals:
    """What one stage of a set of chips does to a chunk of inputs (tensors over ``[M, T, ...]``).

    Attributes:
        input: the stage's analog input ``[M, T, 1]`` (the converter input, or the previous residue)
        bits: its comparator outputs as logic voltages ``[M, T, S]``
        digit: its decoded digit ``[M, T]``
        residue: pipelined, non-final stages: the residue block's output ``[M, T, 1]``; else None
    """

    input: torch.Tensor
    bits: torch.Tensor
    digit: torch.Tensor
    residue: Optional[torch.Tensor] = None


@dataclass
class InstanceSet:
    """Monte-Carlo instances of every block: ``weights[b] = (W1 [M, ...], W2 [M, ...])``.

    ``vtc[b]``, if set, gives every inverter of block ``b`` of every chip its own curve from the
    corner family (params ``[M, 1, H]``); None: every inverter on the nominal (tt) curve.
    """

    weights: List[Tuple[torch.Tensor, torch.Tensor]]
    n: int
    sigma: float
    seed: int
    vtc: Optional[List[VtcParams]] = None

    def subset(self, start: int, stop: int) -> "InstanceSet":
        """Instances ``start .. stop - 1`` (to bound memory when evaluating many)."""
        stop = min(stop, self.n)
        vtc = None
        if self.vtc is not None:
            vtc = [VtcParams(p.gain[start:stop], p.vm[start:stop], p.amp[start:stop], p.center[start:stop])
                   for p in self.vtc]
        return InstanceSet([(w1[start:stop], w2[start:stop]) for w1, w2 in self.weights], stop - start, self.sigma,
                           self.seed, vtc)


@dataclass
class NnadcConverter:
    """A trained converter.

    Attributes:
        kind: "pipelined" or "subranging"
        cfg: the converter config
        sub_adcs: one comparator block per stage (sub-ranging: coarse sub-ADC, mixed-ADC)
        residues: pipelined only: one residue block per non-final stage
        train_log: per-block training records (name, seconds, final loss)
    """

    kind: str
    cfg: object
    sub_adcs: List[BlockHardware]
    residues: List[BlockHardware]
    train_log: List[dict] = dataclasses.field(default_factory=list)

    @property
    def stage_bits(self) -> Tuple[int, ...]:
        return tuple(self.cfg.stage_bits)

    @property
    def n_bits(self) -> int:
        return int(self.cfg.n_bits)

    @property
    def layout(self) -> DigitLayout:
        """Per-stage resolutions and redundancy: what the combiners take (:class:`.config.DigitLayout`)."""
        return self.cfg.layout

    @property
    def transfer(self) -> str:
        return self.cfg.transfer

    @property
    def blocks(self) -> List[BlockHardware]:
        """All blocks in a fixed order (the order Monte-Carlo draws are made in)."""
        return list(self.sub_adcs) + list(self.residues)

    def instances(self, n: int, sigma: float, seed: int, vtc_draws: bool = False) -> InstanceSet:
        """Draw ``n`` instances with lognormal resistance variation ``sigma`` (seeded).

        :param vtc_draws: also draw every inverter's curve from the corner family (independent
            per inverter and chip, as in PVT-aware training); the conductance draws are the
            same with or without it
        """
        gen = torch.Generator().manual_seed(int(seed))
        inst = InstanceSet([b.instances(n, sigma, gen) for b in self.blocks], n, sigma, seed)
        if vtc_draws:
            g = torch.Generator().manual_seed(int(seed) + 1)
            inst.vtc = [sample_vtc(b.cfg.vtc, (n, 1, b.cfg.n_hidden), g) for b in self.blocks]
        return inst

    @torch.no_grad()
    def digits(
        self,
        a: np.ndarray,
        inst: InstanceSet,
        vtc: Optional[VtcParams] = None,
        max_elems: int = 1 << 22,
    ) -> np.ndarray:
        """Per-stage digits for inputs ``a [T]`` (fractions of full scale): ``[M, T, n_stages]`` int16."""
        a = np.asarray(a, dtype=np.float64)
        x_all = input_voltage(a)
        m = inst.n
        width = max(max(b.cfg.n_hidden, b.cfg.n_out) for b in self.blocks)
        tc = max(256, max_elems // max(1, m * width))
        out = np.empty((m, len(a), len(self.stage_bits)), dtype=np.int16)
        for t0 in range(0, len(a), tc):
            x = x_all[t0 : t0 + tc]
            stages = self.trace(x, inst, vtc)
            out[:, t0 : t0 + tc] = torch.stack([st.digit for st in stages], dim=-1).to(torch.int16).numpy()
        return out

    def trace(self, x: torch.Tensor, inst: InstanceSet, vtc: Optional[VtcParams] = None) -> List[StageSignals]:
        """The signal flow through every stage for centred inputs ``x [T]`` on the chips of ``inst``.

        :param vtc: one inverter curve for every block (ignored where ``inst`` draws its own curves)
        """
        m = inst.n
        n_blocks = len(self.blocks)
        vt = list(inst.vtc) if inst.vtc is not None else [vtc] * n_blocks  # per block, in self.blocks order
        v = x[None, :, None].expand(m, -1, 1)  # [M, T, 1]
        n_sub = len(self.sub_adcs)
        stages = []
        if self.kind == "pipelined":
            for i, sub in enumerate(self.sub_adcs):
                bits, d = sub.decide(v, *inst.weights[i], vt[i])
                st = StageSignals(v, bits, d)
                if i < len(self.residues):
                    u = torch.cat([v, bits], dim=-1)  # [M, T, 1 + S]
                    st.residue = v = self.residues[i].run(u, *inst.weights[n_sub + i], vt[n_sub + i])  # [M, T, 1]
                stages.append(st)
        else:
            bits, d1 = self.sub_adcs[0].decide(v, *inst.weights[0], vt[0])
            stages.append(StageSignals(v, bits, d1))
            if self.cfg.coarse_code == "binary":
                bits = binary_levels(d1, self.cfg.coarse.n_bits)
            bits2, d2 = self.sub_adcs[1].decide(torch.cat([v, bits], dim=-1), *inst.weights[1], vt[1])
            stages.append(StageSignals(v, bits2, d2))
        return stages

    def codes(self, a: np.ndarray, inst: InstanceSet, vtc: Optional[VtcParams] = None) -> np.ndarray:
        """Output codes with the ideal (shift-and-add) combiner: ``[M, T]`` int64."""
        return ideal_combine(self.digits(a, inst, vtc), self.layout)

    def ramp_inputs(self, points_per_code: int) -> np.ndarray:
        """A ramp uniform in the code domain (``y``), mapped back to inputs ``a``."""
        n = points_per_code * 2**self.n_bits
        y = (np.arange(n) + 0.5) / n
        return input_from_fraction(y, self.transfer)

    # -- serialisation ------------------------------------------------------------------------
    def to_state(self) -> dict:
        return {
            "format": "nnadc-converter-v1",
            "kind": self.kind,
            "cfg": _cfg_to_dict(self.cfg),
            "sub_adcs": [_hw_to_dict(b) for b in self.sub_adcs],
            "residues": [_hw_to_dict(b) for b in self.residues],
            "train_log": self.train_log,
        }

    @staticmethod
    def from_state(state: dict) -> "NnadcConverter":
        if state.get("format") != "nnadc-converter-v1":
            raise ValueError(f"not an NNADC converter file (format={state.get('format')!r})")
        return NnadcConverter(
            kind=state["kind"],
            cfg=_cfg_from_dict(state["kind"], state["cfg"]),
            sub_adcs=[_hw_from_dict(d) for d in state["sub_adcs"]],
            residues=[_hw_from_dict(d) for d in state["residues"]],
            train_log=list(state.get("train_log", [])),
        )


def _hw_to_dict(b: BlockHardware) -> dict:
    extra = {"thermometer": True} if b.thermometer else {}  # written only where set: old files stay as they were
    return {"cfg": dataclasses.asdict(b.cfg), "digit_bits": b.digit_bits, **extra, **b.state_dict()}


def _hw_from_dict(d: dict) -> BlockHardware:
    c = dict(d["cfg"])
    c["vtc"] = _vtc_from_dict(c["vtc"])
    return BlockHardware(CrossbarMlpV1Config(**c), d["k1"], d["s1"], d["k2"], d["s2"], d["out_scale"], d["digit_bits"],
                         bool(d.get("thermometer", False)))


def _vtc_from_dict(d: dict) -> VtcFamilyV1Config:
    d = dict(d)
    d["vdd_range"] = tuple(d["vdd_range"])
    d["temp_range"] = tuple(d["temp_range"])
    d["corners"] = tuple(d["corners"])
    return VtcFamilyV1Config(**d)


def _cfg_to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def _cfg_from_dict(kind: str, d: dict):
    d = dict(d)
    d["vtc"] = _vtc_from_dict(d["vtc"])
    if kind == "pipelined":
        d["stages"] = tuple(StageV1Config(**s) for s in d["stages"])
        d["final"] = StageV1Config(**d["final"])
        return PipelinedAdcV1Config(**d)
    if kind == "subranging":
        d["coarse"] = StageV1Config(**d["coarse"])
        return SubrangingAdcV1Config(**d)
    raise ValueError(f"kind={kind!r}: expected 'pipelined' or 'subranging'")


def save_converter(conv: NnadcConverter, path: str) -> None:
    """Write a converter atomically (a torch file holding plain dicts and tensors)."""
    from memristor_asr.util.atomic import atomic_save_torch

    atomic_save_torch(conv.to_state(), path)


def load_converter(path: str) -> NnadcConverter:
    return NnadcConverter.from_state(torch.load(path, weights_only=False))

