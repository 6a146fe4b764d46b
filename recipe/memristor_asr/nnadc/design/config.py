"""Configurations of full NNADC converters (sub-ranging and pipelined), validated on construction.

Why validate here: a converter that cannot be built (a 4-bit pipelined stage, zero hidden units,
more than 16 bits, RRAM precision 0) should fail when the config is written, with the offending
parameter named, not halfway through a training run.
"""
from dataclasses import dataclass, field
from typing import Optional, Tuple

from memristor_asr.util.config_helpers import check_field_types

from ..circuit.rram import check_rram_bits
from ..circuit.smooth_code import default_smooth_bits
from ..circuit.vtc import VtcFamilyV1Config

__all__ = ["StageV1Config", "PipelinedAdcV1Config", "SubrangingAdcV1Config", "TRANSFERS", "MAX_TOTAL_BITS"]

TRANSFERS = ("linear", "log2")
MAX_TOTAL_BITS = 16


def _check_hidden(value: int, name: str) -> None:
    if value < 1:
        raise ValueError(f"{name}={value!r}: a block needs at least one hidden unit")
    if value > 64:
        raise ValueError(f"{name}={value}: more than 64 hidden units is outside the modelled crossbar sizes")


@dataclass(frozen=True)
class StageV1Config:
    """One stage: a sub-ADC and (except for a pipeline's last stage) its residue block.

    Attributes:
        n_bits: resolution of the stage's sub-ADC
        hidden: hidden units of the sub-ADC
        rram_bits: RRAM precision of the sub-ADC's crossbars
        residue_hidden: hidden units of the residue block
        residue_rram_bits: RRAM precision of the residue block; None: same as ``rram_bits``
        smooth_bits: sub-ADC output width; None: :func:`default_smooth_bits`
    """

    n_bits: int
    hidden: int = 12
    rram_bits: int = 3
    residue_hidden: int = 12
    residue_rram_bits: Optional[int] = None
    smooth_bits: Optional[int] = None

    def __post_init__(self):
        # the types hold for every use; the ranges depend on where the stage sits (``validate``)
        check_field_types(self, ValueError)

    def validate(self, where: str) -> None:
        if not 1 <= self.n_bits <= 6:
            raise ValueError(f"{where}.n_bits={self.n_bits!r}: a sub-ADC resolves 1..6 bits")
        _check_hidden(self.hidden, f"{where}.hidden")
        _check_hidden(self.residue_hidden, f"{where}.residue_hidden")
        check_rram_bits(self.rram_bits, f"{where}.rram_bits")
        if self.residue_rram_bits is not None:
            check_rram_bits(self.residue_rram_bits, f"{where}.residue_rram_bits")
        if self.smooth_bits is not None and not self.n_bits <= self.smooth_bits <= 16:
            raise ValueError(f"{where}.smooth_bits={self.smooth_bits}: needs n_bits <= smooth_bits <= 16")

    @property
    def out_bits(self) -> int:
        return self.smooth_bits if self.smooth_bits is not None else default_smooth_bits(self.n_bits)

    @property
    def res_bits(self) -> int:
        return self.rram_bits if self.residue_rram_bits is None else self.residue_rram_bits


@dataclass(frozen=True)
class PipelinedAdcV1Config:
    """A pipeline of 1-, 2- or 3-bit stages (sub-ADC + residue) and a final sub-ADC.

    Attributes:
        stages: the residue stages in signal order (each 1..3 bits)
        final: the last stage, a sub-ADC only (its residue fields are unused)
        transfer: "linear" (code ~ a) or "log2" (code ~ log2(1 + a)), a in [0, 1]
        vtc: inverter family of every block
        beta: column budget margin of every crossbar (sum|w| <= 1 / beta)
    """

    stages: Tuple[StageV1Config, ...]
    final: StageV1Config
    transfer: str = "linear"
    vtc: VtcFamilyV1Config = field(default_factory=VtcFamilyV1Config)
    beta: float = 1.05

    def __post_init__(self):
        check_field_types(self, ValueError)
        if not self.stages:
            raise ValueError("stages: a pipelined converter needs at least one residue stage")
        for i, st in enumerate(self.stages):
            if st.n_bits not in (1, 2, 3):
                raise ValueError(f"stages[{i}].n_bits={st.n_bits!r}: pipelined stages resolve 1, 2 or 3 bits")
            st.validate(f"stages[{i}]")
        self.final.validate("final")
        if self.n_bits > MAX_TOTAL_BITS:
            raise ValueError(f"total bits = {self.n_bits} (sum of stages[*].n_bits + final.n_bits): "
                             f"at most {MAX_TOTAL_BITS}")
        if self.transfer not in TRANSFERS:
            raise ValueError(f"transfer={self.transfer!r}: expected one of {TRANSFERS}")
        if not self.beta > 1:
            raise ValueError(f"beta={self.beta}: needs beta > 1")

    @property
    def stage_bits(self) -> Tuple[int, ...]:
        return tuple(s.n_bits for s in self.stages) + (self.final.n_bits,)

    @property
    def n_bits(self) -> int:
        return sum(self.stage_bits)


@dataclass(frozen=True)
class SubrangingAdcV1Config:
    """A coarse sub-ADC followed by a mixed-ADC that resolves the fine bits.

    Attributes:
        coarse: the first stage (its residue fields are unused)
        fine_bits: resolution of the mixed-ADC
        fine_hidden: hidden units of the mixed-ADC
        fine_rram_bits: RRAM precision of the mixed-ADC; None: same as ``coarse.rram_bits``
        fine_smooth_bits: mixed-ADC output width; None: :func:`default_smooth_bits`
        coarse_code: how the coarse decision reaches the mixed-ADC: "binary" (the decoded coarse
            digit as N1 logic levels, so a threshold shift per coarse interval is an affine
            function of the inputs) or "smooth" (the raw smooth-code comparator outputs)
        transfer: "linear" or "log2"
        vtc: inverter family of every block
        beta: column budget margin
    """

    coarse: StageV1Config
    fine_bits: int
    fine_hidden: int = 12
    fine_rram_bits: Optional[int] = None
    fine_smooth_bits: Optional[int] = None
    coarse_code: str = "binary"
    transfer: str = "linear"
    vtc: VtcFamilyV1Config = field(default_factory=VtcFamilyV1Config)
    beta: float = 1.05

    def __post_init__(self):
        check_field_types(self, ValueError)
        self.coarse.validate("coarse")
        if self.coarse_code not in ("binary", "smooth"):
            raise ValueError(f"coarse_code={self.coarse_code!r}: expected 'binary' or 'smooth'")
        fine = StageV1Config(
            n_bits=self.fine_bits,
            hidden=self.fine_hidden,
            rram_bits=self.fine_rram_bits if self.fine_rram_bits is not None else self.coarse.rram_bits,
            smooth_bits=self.fine_smooth_bits,
        )
        try:
            fine.validate("fine")
        except ValueError as e:
            raise ValueError(str(e).replace("fine.n_bits", "fine_bits").replace("fine.hidden", "fine_hidden")
                             .replace("fine.rram_bits", "fine_rram_bits")
                             .replace("fine.smooth_bits", "fine_smooth_bits")) from None
        if self.n_bits > MAX_TOTAL_BITS:
            raise ValueError(f"total bits = {self.n_bits} (coarse.n_bits + fine_bits): at most {MAX_TOTAL_BITS}")
        if self.transfer not in TRANSFERS:
            raise ValueError(f"transfer={self.transfer!r}: expected one of {TRANSFERS}")
        if not self.beta > 1:
            raise ValueError(f"beta={self.beta}: needs beta > 1")

    @property
    def fine(self) -> StageV1Config:
        return StageV1Config(
            n_bits=self.fine_bits,
            hidden=self.fine_hidden,
            rram_bits=self.fine_rram_bits if self.fine_rram_bits is not None else self.coarse.rram_bits,
            smooth_bits=self.fine_smooth_bits,
        )

    @property
    def stage_bits(self) -> Tuple[int, ...]:
        return (self.coarse.n_bits, self.fine_bits)

    @property
    def n_bits(self) -> int:
        return self.coarse.n_bits + self.fine_bits
