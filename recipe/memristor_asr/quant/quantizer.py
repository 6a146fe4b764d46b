"""Symmetric per-tensor fake quantizers with straight-through gradients (spec section 5).

Both quantizers map ``x`` to ``s * clamp(round(x / s), -q_max, q_max)`` with zero point 0 and
``q_max = 2^(B-1) - 1`` (ternary, ``B = 1.5``: ``q_max = 1``). The forward pass uses
``torch.fake_quantize_per_tensor_affine``, whose backward is the straight-through estimator:
the gradient passes unchanged where ``x / s`` lies inside the clipping range and is 0 outside.
``torch.ao.quantization`` is deliberately not used (deprecated for removal).

Observers:
- :class:`WeightQuantizer`: min/max of the current weight tensor, recorded at every forward in
  training mode (and while calibrating), so ``scale = absmax(W) / q_max`` follows the weights
  as they train; in eval mode the recorded scale is frozen (a never-observed quantizer observes
  once, so a freshly loaded float layer still quantizes sensibly).
- :class:`ActivationQuantizer`: running absolute maximum of its input, updated in training mode
  and while calibrating (post-training quantization), frozen in eval mode. The running value is
  the plain mean of the per-batch absmax over the first ``1 / momentum`` batches and an
  exponential moving average with ``momentum`` afterwards, so neither the first batch nor a
  single outlier batch decides the range.
"""
import logging
import math
from typing import Tuple

import torch

__all__ = [
    "ALLOWED_WEIGHT_BITS",
    "QuantBitsError",
    "check_weight_bits",
    "check_activation_bits",
    "q_max_for_bits",
    "WeightQuantizer",
    "ActivationQuantizer",
]

#: Weight bit widths QAT supports: 8 ... 2 and ternary (1.5 = levels -1, 0, 1).
_log = logging.getLogger(__name__)

ALLOWED_WEIGHT_BITS = (8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.5)


class QuantBitsError(ValueError):
    """An unsupported bit width; the message names the layer or parameter."""


def check_weight_bits(bits, where: str = "weight_bits") -> float:
    """Validate a weight bit width and return it as float; raise :class:`QuantBitsError` otherwise."""
    if isinstance(bits, bool) or not isinstance(bits, (int, float)) or float(bits) not in ALLOWED_WEIGHT_BITS:
        allowed = ", ".join(f"{b:g}" for b in ALLOWED_WEIGHT_BITS)
        raise QuantBitsError(f"{where}: unsupported weight bit width {bits!r}; allowed: {allowed} (1.5 = ternary)")
    return float(bits)


def check_activation_bits(bits, where: str = "activation_bits") -> int:
    """Activation bits: an integer 2 ... 16 (the spec's DAC default is 8)."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 16:
        raise QuantBitsError(f"{where}: unsupported activation bit width {bits!r}; expected an integer 2 ... 16")
    return bits


def q_max_for_bits(bits: float) -> int:
    """Largest integer level of a symmetric B-bit grid: 2^(B-1) - 1, ternary (1.5) -> 1."""
    if bits == 1.5:
        return 1
    return 2 ** (int(bits) - 1) - 1


_EPS = 1e-12  # floor for scales, so an all-zero tensor does not divide by zero


class _SymmetricQuantizer(torch.nn.Module):
    """Shared fake-quantization step; subclasses decide how ``scale`` is observed."""

    def __init__(self, bits: float, q_max: int):
        super().__init__()
        self.bits = bits
        self.q_max = q_max
        self.calibrating = False  # set by memristor_asr.quant.calibration(): observe in eval mode
        self.register_buffer("scale", torch.tensor(1.0))
        self.register_buffer("_observed", torch.tensor(False))
        self.register_buffer("_zero_point", torch.tensor(0, dtype=torch.int32), persistent=False)

    @property
    def observed(self) -> bool:
        return bool(self._observed)

    def _should_observe(self) -> bool:
        return self.training or self.calibrating or not self.observed

    def fake_quantize(self, x: torch.Tensor) -> torch.Tensor:
        """``s * clamp(round(x / s), -q_max, q_max)`` with a straight-through gradient."""
        scale = self.scale.to(torch.float32)
        if x.dtype != torch.float32:  # the op needs float32 input; keep autocast-free behaviour simple
            return torch.fake_quantize_per_tensor_affine(
                x.float(), scale, self._zero_point, -self.q_max, self.q_max).to(x.dtype)
        return torch.fake_quantize_per_tensor_affine(x, scale, self._zero_point, -self.q_max, self.q_max)

    def extra_repr(self) -> str:
        return f"bits={self.bits:g}, q_max={self.q_max}, scale={float(self.scale):.4g}"


class WeightQuantizer(_SymmetricQuantizer):
    """Per-tensor symmetric weight fake quantizer with a min/max observer.

    Attributes: ``bits`` (float; 8 ... 2 or 1.5), ``q_max`` (int), ``scale`` (0-dim tensor,
    ``absmax(W) / q_max``), ``observed`` (bool).
    """

    def __init__(self, bits: float, where: str = "weight_bits"):
        bits = check_weight_bits(bits, where)
        super().__init__(bits, q_max_for_bits(bits))
        self.register_buffer("min_val", torch.tensor(0.0))
        self.register_buffer("max_val", torch.tensor(0.0))

    @torch.no_grad()
    def observe(self, w: torch.Tensor) -> None:
        lo, hi = torch.aminmax(w)
        self.min_val.copy_(lo)
        self.max_val.copy_(hi)
        absmax = torch.maximum(self.min_val.abs(), self.max_val.abs())
        self.scale.copy_(torch.clamp(absmax / self.q_max, min=_EPS))
        self._observed.fill_(True)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        if self._should_observe():
            self.observe(w.detach())
        return self.fake_quantize(w)

    @torch.no_grad()
    def integer(self, w: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Integer levels in ``[-q_max, q_max]`` (int32) and the scale, so ``levels * scale`` is the
        weight the forward pass uses."""
        if not self.observed:
            self.observe(w)
        levels = torch.clamp(torch.round(w.float() / self.scale), -self.q_max, self.q_max).to(torch.int32)
        return levels, self.scale.detach().clone()


class ActivationQuantizer(_SymmetricQuantizer):
    """Per-tensor symmetric activation fake quantizer with a running absolute-max observer.

    Attributes: ``bits`` (int, default 8), ``q_max`` (int, 127 at 8 bits), ``scale`` (0-dim
    tensor, ``running_absmax / q_max``), ``running_absmax``, ``observed`` (bool),
    ``momentum`` (EMA weight once more than ``1 / momentum`` batches were seen).
    """

    _warned = False  # warn once per process about eval-mode use before observation

    def __init__(self, bits: int = 8, momentum: float = 0.01, where: str = "activation_bits"):
        bits = check_activation_bits(bits, where)
        if not 0 < momentum <= 1 or not math.isfinite(momentum):
            raise QuantBitsError(f"{where}: activation observer momentum must be in (0, 1], got {momentum!r}")
        super().__init__(bits, 2 ** (bits - 1) - 1)
        self.momentum = float(momentum)
        self.register_buffer("running_absmax", torch.tensor(0.0))
        self.register_buffer("num_observations", torch.tensor(0, dtype=torch.int64))

    @torch.no_grad()
    def observe(self, x: torch.Tensor) -> bool:
        """Update the running absmax; False (range unchanged) if ``x`` holds NaN/inf."""
        lo, hi = torch.aminmax(x)  # one pass, no |x| temporary
        batch_absmax = torch.maximum(-lo, hi).float()
        if not torch.isfinite(batch_absmax):
            if self.calibrating:
                raise FloatingPointError(
                    "activation quantizer observed a non-finite input (NaN/inf in the activations)")
            return False  # training: keep the range (the caller passes the NaN on, so the loss shows it)
        n = int(self.num_observations)
        weight = max(self.momentum, 1.0 / (n + 1))
        self.running_absmax.mul_(1.0 - weight).add_(weight * batch_absmax)
        self.num_observations.add_(1)
        self.scale.copy_(torch.clamp(self.running_absmax / self.q_max, min=_EPS))
        self._observed.fill_(True)
        return True

    def reset_observer(self) -> None:
        """Forget the observed range (post-training calibration starts from scratch)."""
        self.running_absmax.zero_()
        self.num_observations.zero_()
        self.scale.fill_(1.0)
        self._observed.fill_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._should_observe():
            if not (self.training or self.calibrating) and not ActivationQuantizer._warned:
                ActivationQuantizer._warned = True
                _log.warning("activation quantizer used in eval mode before any observation: "
                             "taking its range from this batch (train or calibrate first)")
            if not self.observe(x.detach()):
                # fake quantization would clamp NaN/inf to finite levels and hide a diverged model
                return x
        return self.fake_quantize(x)
