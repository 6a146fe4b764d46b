"""The column ADC: its typed configuration and the quantizer. The one place where outputs are
quantized.

An ADC receives a tile column's summed current [A], multiplies it by the correction factor
``c`` (so one full-scale (LRS, HRS) pair reads about 1) and quantizes. The hardware description
(:class:`~memristor_asr.crossbar.config.CrossbarConfigV2`) holds one ADC *configuration* (a
frozen dataclass, hashed into job ids); each layer builds its converter from it with
``adc_config.build(correction_factor)``:

- :class:`UniformAdcConfigV1` -> :class:`UniformAdcV1`: precision bits p (step 2^-p full-scale
  pairs) and range bits r (clipping at +-2^(r-1) pairs), SynaptogenML's ``fake_quantize`` ADC.
- :class:`TableAdcConfigV1` -> ``memristor_asr.nnadc.export.crossbar_adc.NnadcTableAdcV1``: a converter
  given by a code-transfer table with Monte-Carlo instances (a trained NNADC, or a reference
  table); its own bit count sets the step, so it has no precision field.

Interface of a built converter (what the crossbar layer calls): ``input_scale`` (codes per
ampere), ``output_step`` (full-scale pairs per code), ``max_code``, ``clip_value``,
``correction_factor``, ``quantize_scaled_(v, per_tile=False)`` (in place on
``v = I * input_scale``, returns the clipped count, per row tile with ``per_tile``) and
``__call__(current) -> (values in full-scale pairs, clipped)`` (:class:`ColumnConverter`). The
layer folds ``input_scale`` into its DAC level tables and multiplies by ``output_step`` once after summing planes and
tiles; by linearity that equals calling the converter on every column current.
"""
from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

import torch

from memristor_asr.util.config_helpers import check_field_types, check_min

__all__ = ["UniformAdcConfigV1", "TableAdcConfigV1", "AdcConfig", "ADC_CONFIG_TYPES", "ColumnConverter", "UniformAdcV1",
           "AdcConfigError"]


class AdcConfigError(ValueError):
    """An invalid ADC setting; the message names the parameter."""


@dataclass(frozen=True)
class UniformAdcConfigV1:
    """A uniform ADC.

    Attributes:
        precision_bits: step 2^-p in units of one full-scale cell pair; None = no rounding
        range_bits: clipping at +-2^(r-1) full-scale cell pairs; None = no clipping
    """

    precision_bits: Optional[int] = 4
    range_bits: Optional[int] = 4

    def __post_init__(self):
        check_field_types(self, AdcConfigError)
        check_min(self, "precision_bits", 0, AdcConfigError)
        check_min(self, "range_bits", 0, AdcConfigError)
        if self.precision_bits == 0 and self.range_bits == 0:
            raise AdcConfigError("UniformAdcConfigV1: range_bits=0 with precision_bits=0 leaves the ADC a single "
                                 "level (0); use at least one bit")

    def build(self, correction_factor: float) -> "UniformAdcV1":
        return UniformAdcV1(self.precision_bits, self.range_bits, correction_factor)

    def describe(self) -> str:
        if self.precision_bits is None and self.range_bits is None:
            return "ideal"
        return f"uniform p={self.precision_bits} r={self.range_bits}"


@dataclass(frozen=True)
class TableAdcConfigV1:
    """A converter given by a code-transfer table (``memristor_asr.nnadc.save_transfer_table``:
    its bit count, transfer law and Monte-Carlo instances); physical ADC (row tile, column) uses
    instance ``(tile * columns + column + instance_offset) % instances``.

    Attributes:
        table: the ``.npz`` table (a path, or a Sisyphus ``tk.Path`` made by a job)
        range_bits: the table's full-scale input spans +-2^(r-1) full-scale cell pairs
        instance_offset: shifts the assignment of table instances to physical ADCs
    """

    table: Any
    range_bits: int = 4
    instance_offset: int = 0

    def __post_init__(self):
        if self.table is None or (isinstance(self.table, str) and not self.table):
            raise AdcConfigError("TableAdcConfigV1.table: give the code-transfer table (.npz)")
        check_field_types(self, AdcConfigError)
        check_min(self, "range_bits", 1, AdcConfigError)
        check_min(self, "instance_offset", 0, AdcConfigError)

    def build(self, correction_factor: float):
        from memristor_asr.nnadc.export.crossbar_adc import NnadcTableAdcV1  # the table's decoding lives with the NNADC

        return NnadcTableAdcV1(str(self.table), self.range_bits, correction_factor, self.instance_offset)

    def describe(self) -> str:
        name = str(self.table).replace("\\", "/").rsplit("/", 1)[-1]
        return f"table {name} r={self.range_bits}" + (f" offset={self.instance_offset}" if self.instance_offset else "")


#: the ADC configurations a hardware description may hold
ADC_CONFIG_TYPES = (UniformAdcConfigV1, TableAdcConfigV1)
AdcConfig = Union[UniformAdcConfigV1, TableAdcConfigV1]


class ColumnConverter:
    """What every built converter shares: reading column currents through ``quantize_scaled_``
    (subclasses set ``input_scale`` and ``output_step`` and implement ``quantize_scaled_``)."""

    input_scale: float
    output_step: float

    def quantize_scaled_(self, v: torch.Tensor, per_tile: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, current: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """:param current: column currents [A] :return: (values in full-scale pairs, clipped count)"""
        v = current * self.input_scale
        clipped = self.quantize_scaled_(v)
        return v.mul_(self.output_step), clipped


class UniformAdcV1(ColumnConverter):
    """Uniform ADC with ``precision_bits`` p and ``range_bits`` r: ``v = I * c`` is rounded to
    steps of ``2^-p`` and clipped to ``+-2^(r-1)`` (levels ``-2^(p+r-1) ... 2^(p+r-1)``, as
    SynaptogenML's ``fake_quantize`` ADC). An output is *clipped* when its rounded value lies
    outside that range. None for p means no rounding, None for r no clipping.

    Built by :meth:`UniformAdcConfigV1.build`; the interface is in the module docstring.

    :param precision_bits: p or None
    :param range_bits: r or None
    :param correction_factor: c [1/A]
    """

    def __init__(self, precision_bits: Optional[int], range_bits: Optional[int], correction_factor: float):
        self.precision_bits = precision_bits
        self.range_bits = range_bits
        self.correction_factor = float(correction_factor)
        self.output_step = 1.0 if precision_bits is None else 2.0 ** -precision_bits
        self.input_scale = self.correction_factor / self.output_step
        self.max_code = None if range_bits is None else 2.0 ** (range_bits - 1) / self.output_step

    @property
    def is_ideal(self) -> bool:
        return self.precision_bits is None and self.range_bits is None

    @property
    def clip_value(self) -> Optional[float]:
        """Largest output magnitude, in full-scale pairs (None: unbounded)."""
        return None if self.range_bits is None else 2.0 ** (self.range_bits - 1)

    def quantize_scaled_(self, v: torch.Tensor, per_tile: bool = False) -> torch.Tensor:
        """Quantize ``v = I * input_scale`` in place to integer codes; returns the number of
        clipped outputs (0-dim int64 tensor; with ``per_tile`` one count per index of ``v``'s
        first dimension, the row tile)."""
        if self.precision_bits is not None:
            v.round_()
        dims = tuple(range(1, v.dim())) if per_tile else None
        none = torch.zeros(v.shape[:1] if per_tile else (), dtype=torch.int64, device=v.device)
        if self.max_code is None:
            return none
        lo, hi = torch.aminmax(v)  # one read pass; counting only when something is out of range
        if lo >= -self.max_code and hi <= self.max_code:
            return none
        # two comparisons instead of |v| > max: abs() would allocate a full-size temporary
        clipped = torch.count_nonzero(v > self.max_code, dim=dims) + torch.count_nonzero(v < -self.max_code, dim=dims)
        v.clamp_(-self.max_code, self.max_code)
        return clipped

    def __repr__(self) -> str:
        return f"UniformAdcV1(p={self.precision_bits}, r={self.range_bits}, c={self.correction_factor:g})"
