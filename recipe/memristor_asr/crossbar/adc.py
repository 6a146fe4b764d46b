"""The ADC: column currents to digital values. The one place where outputs are quantized.

An ADC receives a tile column's summed current [A], multiplies it by the correction factor
``c`` (so one full-scale (LRS, HRS) pair reads about 1) and quantizes. Kinds are registered in
:data:`ADC_KINDS` as factories ``cfg -> adc``; a new converter (e.g. a neural-network ADC) adds
its own kind with :func:`register_adc_kind` and is selected with ``CrossbarConfigV1.adc_kind``
(its settings in ``CrossbarConfigV1.adc_options``). Kinds living in other packages are listed in
:data:`ADC_KIND_PROVIDERS` (``"module:function"`` that registers them), so any process (a
Sisyphus worker, a graph config) can use them without importing that package first. An ADC is a callable
``current [...] -> (values [...], number of clipped outputs as a 0-dim int64 tensor)`` with an
attribute ``correction_factor``.
"""
from typing import Callable, Dict, Optional, Tuple

import torch

__all__ = ["UniformAdcV1", "ADC_KINDS", "ADC_KIND_PROVIDERS", "register_adc_kind", "adc_kind_available", "make_adc"]


class UniformAdcV1:
    """Uniform ADC with ``precision_bits`` p and ``range_bits`` r: ``v = I * c`` is rounded to
    steps of ``2^-p`` and clipped to ``+-2^(r-1)`` (levels ``-2^(p+r-1) ... 2^(p+r-1)``, as
    SynaptogenML's ``fake_quantize`` ADC). An output is *clipped* when its rounded value lies
    outside that range. None for p means no rounding, None for r no clipping.

    Interface every ADC kind provides (the crossbar layer's fast path uses it):
    ``input_scale`` (codes per ampere), ``output_step`` (full-scale pairs per code),
    ``quantize_scaled_(v, per_tile=False)`` (in place on ``v = I * input_scale``, returns the clipped
    count, per row tile with ``per_tile``),
    ``correction_factor`` and ``__call__(current) -> (values in full-scale pairs, clipped)``.

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

    def __call__(self, current: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """:param current: column currents [A] :return: (values in full-scale pairs, clipped count)"""
        v = current * self.input_scale
        clipped = self.quantize_scaled_(v)
        return v.mul_(self.output_step), clipped

    def __repr__(self) -> str:
        return f"UniformAdcV1(p={self.precision_bits}, r={self.range_bits}, c={self.correction_factor:g})"


#: ADC factories by ``CrossbarConfigV1.adc_kind``; each takes the (per-layer) config
ADC_KINDS: Dict[str, Callable] = {
    "uniform": lambda cfg: UniformAdcV1(cfg.adc_precision_bits, cfg.adc_range_bits, cfg.correction_factor),
}


#: kinds registered on first use by calling ``module:function`` (keeps this package import-free)
ADC_KIND_PROVIDERS: Dict[str, str] = {
    "nnadc_table": "memristor_asr.nnadc.crossbar_adc:register_nnadc_adc_kind",
}


def register_adc_kind(name: str, factory: Callable) -> None:
    """Make ``adc_kind=name`` available; ``factory(cfg)`` returns the ADC of a layer."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"ADC kind name must be a non-empty string, got {name!r}")
    ADC_KINDS[name] = factory


def adc_kind_available(name: str) -> bool:
    """True if ``name`` is registered, registering it from :data:`ADC_KIND_PROVIDERS` if needed."""
    if name not in ADC_KINDS and name in ADC_KIND_PROVIDERS:
        import importlib

        module, func = ADC_KIND_PROVIDERS[name].split(":")
        getattr(importlib.import_module(module), func)()
    return name in ADC_KINDS


def make_adc(cfg) -> Callable:
    """The ADC a (per-layer) :class:`~memristor_asr.crossbar.config.CrossbarConfigV1` describes."""
    if not adc_kind_available(cfg.adc_kind):
        raise ValueError(f"adc_kind must be one of {sorted(set(ADC_KINDS) | set(ADC_KIND_PROVIDERS))}, "
                         f"got {cfg.adc_kind!r}")
    return ADC_KINDS[cfg.adc_kind](cfg)
