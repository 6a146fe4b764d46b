"""Quantization-aware training modules (library): fake quantizers, QuantLinear, per-layer bits."""
from memristor_asr.quant.config import (
    QuantConfigV1,
    calibration,
    make_linear,
    quant_linears,
    reset_activation_observers,
)
from memristor_asr.quant.linear import QuantLinear
from memristor_asr.quant.quantizer import (
    ALLOWED_WEIGHT_BITS,
    ActivationQuantizer,
    QuantBitsError,
    WeightQuantizer,
    check_activation_bits,
    check_weight_bits,
    q_max_for_bits,
)

__all__ = [
    "QuantLinear",
    "WeightQuantizer",
    "ActivationQuantizer",
    "QuantConfigV1",
    "QuantBitsError",
    "ALLOWED_WEIGHT_BITS",
    "check_weight_bits",
    "check_activation_bits",
    "q_max_for_bits",
    "make_linear",
    "quant_linears",
    "calibration",
    "reset_activation_observers",
]
