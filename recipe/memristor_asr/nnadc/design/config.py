"""Configurations of full NNADC converters (sub-ranging and pipelined), validated on construction.

Why validate here: a converter that cannot be built (a 4-bit pipelined stage, zero hidden units,
more than 16 bits, RRAM precision 0) should fail when the config is written, with the offending
parameter named, not halfway through a training run.
"""
from dataclasses import dataclass, field
from typing import Optional, Tuple

from memristor_asr.util.config_helpers import check_field_types, hash_state

from ..circuit.rram import check_rram_bits
from ..circuit.smooth_code import default_smooth_bits
from ..circuit.vtc import VtcFamilyV1Config

__all__ = ["StageV1Config", "PipelinedAdcV1Config", "SubrangingAdcV1Config", "DigitLayout", "digit_layout", "TRANSFERS",
           "MAX_TOTAL_BITS", "REDUNDANT_SMOOTH_BITS"]

TRANSFERS = ("linear", "log2")
MAX_TOTAL_BITS = 16
#: comparator outputs of a redundant (1.5-bit) stage: a 2-bit thermometer code of its 3 levels (00, 01, 11)
REDUNDANT_SMOOTH_BITS = 2


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
        smooth_bits: sub-ADC output width; None: :func:`default_smooth_bits` (a redundant stage: 2)
        redundant: a pipelined residue stage with ``n_bits == 1`` only: a "1.5-bit" stage whose
            sub-ADC decides ``d`` in {0, 1, 2} (thresholds at 3/8 and 5/8 of its range, a 2-bit
            thermometer code) and whose residue is ``2 r - d / 2``; it resolves 1 bit, its digit
            weighs half of a plain stage's (:class:`DigitLayout`), so a threshold error up to 1/8
            of the range keeps the residue in range and the digital combiner corrects it
    """

    n_bits: int
    hidden: int = 12
    rram_bits: int = 3
    residue_hidden: int = 12
    residue_rram_bits: Optional[int] = None
    smooth_bits: Optional[int] = None
    redundant: bool = False

    def __post_init__(self):
        # the types hold for every use; the ranges depend on where the stage sits (``validate``)
        check_field_types(self, ValueError)

    def __sis_state__(self) -> dict:
        """Hashed state: fields added later are left out at their default (job ids stay stable)."""
        return hash_state(self, {"redundant": False})

    def validate(self, where: str) -> None:
        if not 1 <= self.n_bits <= 6:
            raise ValueError(f"{where}.n_bits={self.n_bits!r}: a sub-ADC resolves 1..6 bits")
        _check_hidden(self.hidden, f"{where}.hidden")
        _check_hidden(self.residue_hidden, f"{where}.residue_hidden")
        check_rram_bits(self.rram_bits, f"{where}.rram_bits")
        if self.residue_rram_bits is not None:
            check_rram_bits(self.residue_rram_bits, f"{where}.residue_rram_bits")
        if self.redundant:
            if self.n_bits != 1:
                raise ValueError(f"{where}.redundant=True: a redundant (1.5-bit) stage needs n_bits=1, "
                                 f"got n_bits={self.n_bits}")
            if self.smooth_bits is not None and self.smooth_bits != REDUNDANT_SMOOTH_BITS:
                raise ValueError(f"{where}.smooth_bits={self.smooth_bits}: a redundant stage's sub-ADC has "
                                 f"{REDUNDANT_SMOOTH_BITS} outputs (thermometer code)")
        elif self.smooth_bits is not None and not self.n_bits <= self.smooth_bits <= 16:
            raise ValueError(f"{where}.smooth_bits={self.smooth_bits}: needs n_bits <= smooth_bits <= 16")

    def no_redundancy(self, where: str) -> None:
        """Raise if the stage is redundant where that is not allowed (``where`` names the place)."""
        if self.redundant:
            raise ValueError(f"{where}.redundant=True: only residue stages of a pipelined converter can be "
                             f"redundant (1.5-bit)")

    @property
    def n_levels(self) -> int:
        """Levels of the sub-ADC's digit: 3 for a redundant stage, else ``2**n_bits``."""
        return 3 if self.redundant else 2**self.n_bits

    @property
    def out_bits(self) -> int:
        if self.redundant:
            return REDUNDANT_SMOOTH_BITS
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
        self.final.no_redundancy("final")
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

    @property
    def layout(self) -> "DigitLayout":
        return DigitLayout(self.stage_bits, tuple(s.redundant for s in self.stages) + (False,))


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
        self.coarse.no_redundancy("coarse")
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

    @property
    def layout(self) -> "DigitLayout":
        return DigitLayout(self.stage_bits)


@dataclass(frozen=True)
class DigitLayout:
    """What the digital combiner needs to know about the stages: per stage its resolution and whether
    it is redundant, and from these each digit's levels and weight.

    A plain stage ``i`` resolving ``N_i`` bits with ``B_i`` bits resolved after it has ``2**N_i`` levels of
    weight ``2**B_i`` LSB; a redundant (1.5-bit) stage resolves 1 bit, has 3 levels and weighs
    ``2**(B_i - 1)`` LSB. The output code is the sum of the weighted digits, clipped to ``[0, 2**N - 1]``
    (the digital error correction; without redundant stages the sum is always in range).

    Attributes:
        bits: per-stage resolution (``N = sum(bits)``)
        redundant: per stage; empty: none
    """

    bits: Tuple[int, ...]
    redundant: Tuple[bool, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "bits", tuple(int(b) for b in self.bits))
        red = tuple(bool(r) for r in self.redundant) or (False,) * len(self.bits)
        object.__setattr__(self, "redundant", red)
        if len(red) != len(self.bits):
            raise ValueError(f"DigitLayout: {len(red)} redundancy flags for {len(self.bits)} stages")
        for i, (b, r) in enumerate(zip(self.bits, red)):
            if r and (b != 1 or i == len(self.bits) - 1):
                raise ValueError(f"DigitLayout: stage {i} redundant with {b} bits: only 1-bit stages before the "
                                 f"last can be redundant")

    def __len__(self) -> int:
        return len(self.bits)

    @property
    def n_bits(self) -> int:
        return sum(self.bits)

    @property
    def any_redundant(self) -> bool:
        return any(self.redundant)

    @property
    def levels(self) -> Tuple[int, ...]:
        """Digit levels per stage: 3 (redundant) or ``2**N_i``."""
        return tuple(3 if r else 2**b for b, r in zip(self.bits, self.redundant))

    @property
    def shifts(self) -> Tuple[int, ...]:
        """log2 of each digit's weight in LSB: ``B_i`` (bits after stage ``i``), one less if redundant."""
        n, pos, out = self.n_bits, 0, []
        for b, r in zip(self.bits, self.redundant):
            pos += b
            out.append(n - pos - int(r))
        return tuple(out)


def digit_layout(stages) -> DigitLayout:
    """A :class:`DigitLayout`, a converter config (its ``layout``) or a plain sequence of per-stage bits
    (no redundant stage: the historical ``stage_bits`` argument) -> :class:`DigitLayout`."""
    if isinstance(stages, DigitLayout):
        return stages
    if hasattr(stages, "layout"):
        return stages.layout
    return DigitLayout(tuple(stages))
