"""The reference layer of the crossbar tests, written once: a ``QuantLinear`` whose observers saw
inputs of N(0, 2^2) and are frozen (eval), so a reference forward cannot move its scales."""
import torch

from memristor_asr.quant import QuantLinear, calibration


def calibrated_quant_linear(n_in: int, n_out: int, bits: int = 4, bias: bool = True, seed: int = 0,
                            name: str = "layer") -> QuantLinear:
    torch.manual_seed(seed)
    q = QuantLinear(n_in, n_out, bias=bias, weight_bits=bits, name=name)
    with calibration(q):
        q(torch.randn(256, n_in) * 2)
    return q.eval()
