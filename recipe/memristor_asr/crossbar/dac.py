"""The DAC: digital layer inputs to read voltages.

A crossbar layer's input ``x`` is first expressed in units of the layer's full-scale activation,
``u = x * input_factor`` with ``input_factor = 1 / (s_a * q_max)`` (the QAT input quantizer's
scale and largest level), then quantized to the DAC's grid and scaled to ``+- v_read_max``.
"""
from typing import Optional, Tuple

import torch

from memristor_asr.util.config_helpers import check_value_type

__all__ = ["DacV1"]


class DacV1:
    """Uniform DAC with ``bits`` bits: step ``2^-(bits-1)``, clipped to [-1, 1] (the endpoint
    levels +-1 included, as in SynaptogenML), times ``v_read_max``.

    ``bits=None`` is the ideal DAC: it reproduces the layer's QAT activation grid
    ``clamp(round(x / s_a), -q_max, q_max) / q_max`` exactly, i.e. the crossbar sees the very
    activations the quantization-aware model was trained with.

    :param bits: DAC resolution or None
    :param v_read_max: full-scale read voltage [V]
    """

    def __init__(self, bits: Optional[int], v_read_max: float):
        check_value_type("DacV1.bits (dac_bits)", bits, Optional[int], ValueError)
        if bits is not None and bits < 1:
            raise ValueError(f"DacV1.bits (dac_bits) must be >= 1 or None, got {bits!r}")
        self.bits = bits
        self.v_read_max = float(v_read_max)

    def codes(self, x: torch.Tensor, act_scale: float, act_q_max: int) -> Tuple[torch.Tensor, int]:
        """Integer DAC codes of the inputs: ``u = codes / levels``.

        :param x: [..., in] layer input
        :param act_scale: the layer's input-quantizer scale s_a
        :param act_q_max: the input quantizer's largest level (127 at 8 bits)
        :return: (codes [..., in] int64 in [-levels, levels], levels)"""
        x = x.float()
        if self.bits is None:
            # the QAT quantizer's own arithmetic, so the ideal DAC reproduces its grid bit for bit
            fq = torch.fake_quantize_per_tensor_affine(x, act_scale, 0, -act_q_max, act_q_max)
            return torch.round(fq / act_scale).long(), int(act_q_max)
        levels = 2 ** (self.bits - 1)
        return torch.clamp(torch.round(x * (levels / (act_scale * act_q_max))), -levels, levels).long(), levels

    def __call__(self, x: torch.Tensor, act_scale: float, act_q_max: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """:return: (u, volts): normalised inputs in [-1, 1] and read voltages [V], both [..., in]"""
        codes, levels = self.codes(x, act_scale, act_q_max)
        u = codes.float() / levels
        return u, u * self.v_read_max

    def __repr__(self) -> str:
        return f"DacV1(bits={self.bits}, v_read_max={self.v_read_max})"
