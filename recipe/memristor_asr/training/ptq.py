"""Post-training quantization (the baseline QAT must beat): float weights, observers calibrated afterwards.

The float (or differently quantized) model's weights and biases are copied into a model whose
crossbar layers are :class:`QuantLinear` at the requested bits; then the weight and input
observers run over ``num_batches`` batches of training data in eval mode (no dropout, no
SpecAugment, no gradient, no weight update).
"""
import dataclasses
import logging
from typing import Optional

from memristor_asr.model.ctc_model import ConformerCtcModelV1
from memristor_asr.quant.config import QuantConfigV1, calibration, quant_linears
from memristor_asr.training.dataset import CtcDataset, collate, make_batches

__all__ = ["quantize_ptq"]

_log = logging.getLogger(__name__)


def quantize_ptq(model: ConformerCtcModelV1, quant: QuantConfigV1, calibration_data: CtcDataset,
                 num_batches: int = 10, max_batch_seconds: float = 60.0, seed: int = 0,
                 device: Optional[str] = None) -> ConformerCtcModelV1:
    """:return: a new model (eval mode) with ``quant`` applied and calibrated; ``model`` is unchanged"""
    if quant.is_float:
        raise ValueError("quantize_ptq: the quant config leaves every layer float; give weight_bits")
    if num_batches < 1:
        raise ValueError(f"quantize_ptq: num_batches must be >= 1, got {num_batches}")
    cfg = dataclasses.replace(model.cfg, quant=quant)
    qmodel = ConformerCtcModelV1(cfg)
    # weights only: observer buffers of a QAT source model describe other bit widths
    state = {k: v for k, v in model.state_dict().items() if "_quantizer." not in k}
    missing, unexpected = qmodel.load_state_dict(state, strict=False)
    bad_missing = [k for k in missing if "_quantizer." not in k]
    if bad_missing or unexpected:
        raise ValueError("quantize_ptq: model structure mismatch "
                         f"(missing {bad_missing[:5]}, unexpected {unexpected[:5]})")
    device = device or next(model.parameters()).device
    qmodel.to(device)
    batches = make_batches(calibration_data.items, max_batch_seconds, seed=seed)[:num_batches]
    with calibration(qmodel):
        for batch in batches:
            audios = [a for a in (calibration_data.load(calibration_data.items[i]) for i in batch) if a is not None]
            if not audios:
                continue
            audio, lens, _, _ = collate(audios, [[1]] * len(audios))
            qmodel(audio.to(device), lens.to(device))
    unobserved = [n for n, m in quant_linears(qmodel).items() if not m.input_quantizer.observed]
    if unobserved:
        raise RuntimeError(f"quantize_ptq: calibration left input quantizers unobserved: {unobserved[:5]}")
    _log.info("PTQ: %d crossbar layers quantized (%s), calibrated on %d batches",
              len(quant_linears(qmodel)), quant, len(batches))
    return qmodel.eval()
