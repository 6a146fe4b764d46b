"""An NNADC as the column ADC of the crossbar simulation (built from
``memristor_asr.crossbar.adc.TableAdcConfigV1``).

Why a table-backed ADC: the crossbar layer only needs "column current -> digital value" per
physical converter. :class:`NnadcTableAdcV1` reads a code-transfer table
(:mod:`.transfer_table`, Monte-Carlo instances included) and implements the converter interface
of ``memristor_asr.crossbar.adc`` (``input_scale``, ``output_step``, ``max_code``,
``quantize_scaled_``, ``correction_factor``, ``__call__``).

Mapping: the converter's full-scale input spans the crossbar ADC range ``+-2**(r-1)`` full-scale
pairs (``r = range_bits``); the NNADC's own ``n_bits`` set the step, ``2**r / 2**n_bits``. Each
physical ADC (row tile x column) is one Monte-Carlo instance of the table,
``(tile * n_columns + column + instance_offset) % M``. A log-law table decodes codes through the
inverse law, so the layer still receives linear values.
"""
import numpy as np
import torch

from memristor_asr.crossbar.adc import ColumnConverter

from ..design.conversion_law import input_from_fraction
from .transfer_table import load_transfer_table

__all__ = ["NnadcTableAdcV1"]


class NnadcTableAdcV1(ColumnConverter):
    """Column ADC backed by an NNADC transfer table.

    :param table_path: ``.npz`` from :func:`memristor_asr.nnadc.save_transfer_table`
    :param range_bits: ADC range ``r``: inputs span ``+-2**(r-1)`` full-scale pairs
    :param correction_factor: c [1/A] (current to full-scale pairs)
    :param instance_offset: shifts the assignment of table instances to physical ADCs
    """

    def __init__(self, table_path: str, range_bits: int, correction_factor: float, instance_offset: int = 0):
        if range_bits is None:
            raise ValueError("range_bits: an NNADC has a finite input range; set range_bits")
        t = load_transfer_table(table_path)
        self.n_bits = int(t["n_bits"])
        self.transfer = str(t["transfer"])
        self.codes = torch.as_tensor(t["codes"].astype(np.int64))  # [M, P]
        self.n_points = self.codes.shape[1]
        self.range_bits = int(range_bits)
        self.correction_factor = float(correction_factor)
        self.instance_offset = int(instance_offset)
        half_range = 2.0 ** (self.range_bits - 1)
        self.output_step = 2 * half_range / 2**self.n_bits
        self.input_scale = self.correction_factor / self.output_step
        self.max_code = half_range / self.output_step  # = 2**(n_bits - 1)
        # decoded value (in codes, centred at 0) of every output code
        frac = input_from_fraction((np.arange(2**self.n_bits) + 0.5) / 2**self.n_bits, self.transfer)
        self.code_values = torch.as_tensor((frac - 0.5) * 2 * self.max_code, dtype=torch.float32)

    @property
    def is_ideal(self) -> bool:
        return False

    @property
    def clip_value(self) -> float:
        return 2.0 ** (self.range_bits - 1)

    def _instances(self, shape) -> torch.Tensor:
        cols = shape[-1]
        tiles = shape[0] if len(shape) == 3 else 1
        inst = ((torch.arange(tiles)[:, None] * cols + torch.arange(cols)[None, :] + self.instance_offset)
                % self.codes.shape[0])
        if len(shape) == 3:
            return inst[:, None, :]  # [tiles, 1, cols]
        return inst[0].view(*([1] * (len(shape) - 1)), cols)

    def quantize_scaled_(self, v: torch.Tensor, per_tile: bool = False) -> torch.Tensor:
        """In place: ``v = I * input_scale`` -> decoded code values; returns the clipped count
        (per index of the first dimension, the row tile, with ``per_tile``)."""
        clipped = torch.count_nonzero(v.abs() > self.max_code, dim=tuple(range(1, v.dim())) if per_tile else None)
        a = (v / (2 * self.max_code) + 0.5).clamp_(0.0, 1.0)
        idx = torch.round(a * (self.n_points - 1)).to(torch.int64)
        inst = self._instances(tuple(v.shape)).expand_as(idx)
        code = self.codes[inst, idx]
        v.copy_(self.code_values.to(v.device)[code])
        return clipped

    def __repr__(self) -> str:
        return (f"NnadcTableAdcV1(n_bits={self.n_bits}, {self.transfer}, r={self.range_bits}, "
                f"instances={self.codes.shape[0]})")

