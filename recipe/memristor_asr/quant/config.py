"""Which layers are quantized at which bit width: one global setting plus per-layer overrides.

Layer names are the qualified module names of the model (``module.named_modules()``), e.g.
``conformer.blocks.3.mhsa.linear_pos``. Overrides are ``fnmatch`` patterns; the **last** matching
pattern wins, so a general rule comes first and exceptions after it. ``None`` as bits means
"float": the layer is a plain ``torch.nn.Linear`` (not quantized, not put onto crossbars).
"""
import contextlib
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, Optional, Sequence, Tuple, Union

import torch

from memristor_asr.quant.linear import QuantLinear
from memristor_asr.util.config_helpers import check_field_types, check_patterns_match, last_match
from memristor_asr.quant.quantizer import (
    ActivationQuantizer,
    QuantBitsError,
    WeightQuantizer,
    check_activation_bits,
    check_weight_bits,
)

__all__ = ["QuantConfigV1", "make_linear", "quant_linears", "calibration", "reset_activation_observers"]

LayerBits = Union[Dict[str, Optional[float]], Sequence[Tuple[str, Optional[float]]]]


@dataclass
class QuantConfigV1:
    """Quantization of the crossbar layers.

    Attributes:
        weight_bits: bits of every crossbar layer's weights (8 ... 2, or 1.5 = ternary);
            None = float model (no layer quantized unless an override says so)
        activation_bits: bits of the input quantizer of every quantized layer (8 in the paper)
        activation_momentum: EMA weight of the input quantizers' running-absmax observer
        layer_bits: per-layer overrides, ``((fnmatch pattern, bits or None), ...)`` or a dict;
            the last matching pattern wins; None leaves the layer float
    """

    weight_bits: Optional[float] = None
    activation_bits: int = 8
    activation_momentum: float = 0.01
    layer_bits: LayerBits = ()

    def __post_init__(self):
        self.validate()

    def overrides(self) -> Tuple[Tuple[str, Optional[float]], ...]:
        items = self.layer_bits.items() if isinstance(self.layer_bits, dict) else self.layer_bits
        return tuple((str(p), b) for p, b in items)

    def validate(self) -> None:
        check_field_types(self, QuantBitsError)
        if self.weight_bits is not None:
            check_weight_bits(self.weight_bits, "QuantConfigV1.weight_bits")
        check_activation_bits(self.activation_bits, "QuantConfigV1.activation_bits")
        if not 0 < self.activation_momentum <= 1:
            raise QuantBitsError(
                f"QuantConfigV1.activation_momentum must be in (0, 1], got {self.activation_momentum!r}")
        for pattern, bits in self.overrides():
            if bits is not None:
                check_weight_bits(bits, f"QuantConfigV1.layer_bits[{pattern!r}]")

    @property
    def is_float(self) -> bool:
        """True if no layer can be quantized under this config."""
        return self.weight_bits is None and all(b is None for _, b in self.overrides())

    def bits_for(self, name: str) -> Optional[float]:
        """Weight bits for the layer ``name`` (None = float)."""
        bits = last_match(self.overrides(), name, self.weight_bits)
        return None if bits is None else float(bits)

    def check_patterns_match(self, layer_names: Iterable[str]) -> None:
        """Raise if an override pattern matches none of ``layer_names`` (a typo would otherwise be silent)."""
        check_patterns_match("QuantConfigV1.layer_bits", (p for p, _ in self.overrides()), layer_names,
                             QuantBitsError)


def make_linear(name: str, in_features: int, out_features: int, bias: bool,
                cfg: Optional[QuantConfigV1]) -> torch.nn.Module:
    """A crossbar-candidate linear layer: :class:`QuantLinear` at the configured bits, or a plain
    ``torch.nn.Linear`` if ``cfg`` is None or leaves ``name`` float."""
    bits = None if cfg is None else cfg.bits_for(name)
    if bits is None:
        return torch.nn.Linear(in_features, out_features, bias=bias)
    return QuantLinear(in_features, out_features, bias=bias, weight_bits=bits, activation_bits=cfg.activation_bits,
                       activation_momentum=cfg.activation_momentum, name=name)


def quant_linears(model: torch.nn.Module) -> Dict[str, QuantLinear]:
    """All :class:`QuantLinear` layers of ``model`` by qualified name (module order)."""
    return {n: m for n, m in model.named_modules() if isinstance(m, QuantLinear)}


def _quantizers(model: torch.nn.Module):
    return [m for m in model.modules() if isinstance(m, (WeightQuantizer, ActivationQuantizer))]


def reset_activation_observers(model: torch.nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, ActivationQuantizer):
            m.reset_observer()


@contextlib.contextmanager
def calibration(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Post-training calibration: eval mode (no dropout), no gradients, but every quantizer's
    observer updates. Restores the previous mode afterwards."""
    was_training = model.training
    quantizers = _quantizers(model)
    model.eval()
    for q in quantizers:
        q.calibrating = True
    try:
        with torch.no_grad():
            yield model
    finally:
        for q in quantizers:
            q.calibrating = False
        model.train(was_training)
