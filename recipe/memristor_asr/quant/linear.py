"""``QuantLinear``: the linear layer the crossbar simulation receives.

Contract (the crossbar conversion codes against exactly this):
- ``in_features``, ``out_features``, ``weight`` Parameter [out, in], ``bias`` Parameter [out] or None
  (the bias stays float: it is added digitally after the crossbar);
- ``weight_quantizer``: :class:`WeightQuantizer` (``bits``, ``q_max``, ``scale`` = s_w);
- ``input_quantizer``: :class:`ActivationQuantizer` (``bits`` = 8, ``q_max`` = 127,
  ``scale`` = s_a, ``observed``);
- ``integer_weight() -> (int32 levels in [-q_max, q_max] of shape [out, in], s_w)``;
- ``forward(x) = F.linear(input_quantizer(x), weight_quantizer(weight), bias)``.
"""
import torch
import torch.nn.functional as F

from memristor_asr.quant.quantizer import ActivationQuantizer, WeightQuantizer

__all__ = ["QuantLinear"]


class QuantLinear(torch.nn.Module):
    """Linear layer with fake-quantized weights (B bits) and inputs (8 bits), trained with STE.

    :param in_features: input size
    :param out_features: output size
    :param bias: whether to add a (float) bias
    :param weight_bits: 8, 7, 6, 5, 4, 3, 2 or 1.5 (ternary)
    :param activation_bits: input quantizer bits (default 8)
    :param activation_momentum: EMA weight of the input's running absmax observer
    :param name: layer name used in error messages
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, weight_bits: float,
                 activation_bits: int = 8, activation_momentum: float = 0.01, name: str = "QuantLinear"):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        # same initialisation as torch.nn.Linear, so float and QAT models start alike
        ref = torch.nn.Linear(in_features, out_features, bias=bias)
        self.weight = torch.nn.Parameter(ref.weight.detach().clone())  # [out, in]
        self.bias = torch.nn.Parameter(ref.bias.detach().clone()) if bias else None  # [out]
        self.weight_quantizer = WeightQuantizer(weight_bits, where=f"{name}: weight_bits")
        self.input_quantizer = ActivationQuantizer(activation_bits, activation_momentum,
                                                   where=f"{name}: activation_bits")

    @classmethod
    def from_linear(cls, linear: torch.nn.Linear, **kwargs) -> "QuantLinear":
        """A QuantLinear holding a copy of ``linear``'s weight and bias (e.g. for PTQ)."""
        q = cls(linear.in_features, linear.out_features, bias=linear.bias is not None, **kwargs)
        with torch.no_grad():
            q.weight.copy_(linear.weight)
            if linear.bias is not None:
                q.bias.copy_(linear.bias)
        return q.to(linear.weight.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """:param x: [..., in_features] :return: [..., out_features]"""
        return F.linear(self.input_quantizer(x), self.weight_quantizer(self.weight), self.bias)

    def integer_weight(self):
        """:return: (levels, s_w): int32 [out, in] in [-q_max, q_max] and the 0-dim weight scale,
        with ``levels * s_w`` equal to the quantized weight used in ``forward``."""
        return self.weight_quantizer.integer(self.weight.detach())

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
