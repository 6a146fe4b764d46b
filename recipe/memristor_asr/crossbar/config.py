"""The converter configuration: one object describing the simulated hardware.

Every hardware assumption of a crossbar simulation lives in :class:`CrossbarConfigV1` (fields in
physical units), hashed into Sisyphus job ids as its field dict. Per-layer overrides are
``fnmatch`` patterns on the module's qualified name (e.g. ``"*.linear_pos"`` for the rel-pos
positional projection); every matching override applies in order, so the last one wins.
"""
import dataclasses
import fnmatch
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Iterable, Optional, Tuple, Union

__all__ = ["CrossbarConfigV1", "CrossbarConfigError"]

Overrides = Union[Dict[str, Dict[str, Any]], Tuple[Tuple[str, Any], ...]]


class CrossbarConfigError(ValueError):
    """An invalid converter setting; the message names the parameter (and layer)."""


@dataclass
class CrossbarConfigV1:
    """Simulated memristor hardware for the crossbar layers.

    Attributes:
        dac_bits: DAC resolution: inputs (in units of the layer's full-scale activation) are
            rounded to steps of 2^-(bits-1) and clipped to [-1, 1]; None = ideal DAC, which
            reproduces the layer's own QAT activation grid exactly
        v_read_max: read voltage of a full-scale input [V]
        adc_precision_bits: ADC step 2^-p in units of one full-scale cell pair; None = no rounding
        adc_range_bits: ADC clipping at +-2^(r-1) full-scale cell pairs; None = no clipping
        adc_kind: ADC model: "uniform" or a kind registered in ``memristor_asr.crossbar.adc``
            (e.g. "nnadc_table", provided by ``memristor_asr.nnadc``)
        adc_options: extra settings of a non-uniform ADC kind, ``((name, value), ...)``
        correction_factor: current-to-value factor c [1/A]; a (LRS, HRS) pair at input x reads
            about x after multiplying its current by c
        tile_rows: crossbar tile height (inputs per tile); partial sums of row tiles are
            digitised separately and added digitally
        tile_cols: crossbar tile width (output columns per tile)
        read_noise: "physical" (Johnson + shot noise), "paper" (SynaptogenML's ~40x constants)
            or "off"; see :mod:`memristor_asr.crossbar.noise`
        device_model: "synaptogen" (fitted device) or "ideal" (linear cells matched to c)
        device_variation: False puts every synaptogen cell at the nominal (mean) cell's states
        cycles_before_programming: random-voltage pulses per cell before programming
        cycling_voltage: cycling pulses are uniform in [-cycling_voltage, +cycling_voltage] [V]
        cycling_granularity: "cell" (each cell its own random pulse voltage) or "array" (one voltage
            per pulse for each bitline array of a tile, as SynaptogenML cycles)
        set_voltage: programming SET pulse for cells that encode a 1 [V]
        reset_voltage: full RESET pulse applied to every cell before the SET [V]
        var_order: order of Synaptogen's cycle-to-cycle VAR process
        per_layer: overrides ``((pattern, {field: value, ...}), ...)`` or ``{pattern: {...}}``,
            matched with fnmatch against qualified module names, applied in order
    """

    dac_bits: Optional[int] = 8
    v_read_max: float = 0.6
    adc_precision_bits: Optional[int] = 4
    adc_range_bits: Optional[int] = 4
    adc_kind: str = "uniform"
    adc_options: Tuple[Tuple[str, Any], ...] = ()
    correction_factor: float = 8020.0
    tile_rows: int = 128
    tile_cols: int = 128
    read_noise: str = "physical"
    device_model: str = "synaptogen"
    device_variation: bool = True
    cycles_before_programming: int = 0
    cycling_voltage: float = 2.0
    cycling_granularity: str = "cell"
    set_voltage: float = -2.0
    reset_voltage: float = 2.0
    var_order: int = 10
    per_layer: Overrides = ()

    #: fields added after V1 was first used, with their default: left out of the Sisyphus hash
    #: while they hold that default, so existing job ids stay valid (add new fields here)
    HASH_EXCLUDE_DEFAULTS: ClassVar[Dict[str, Any]] = {"cycling_granularity": "cell"}

    def __post_init__(self):
        self.per_layer = self._normalise_overrides(self.per_layer)
        self.adc_options = tuple((str(k), v) for k, v in (self.adc_options.items() if isinstance(self.adc_options, dict)
                                                          else self.adc_options))
        self.validate()

    # --------------------------------------------------------------------------------- hashing
    def __sis_state__(self) -> Dict[str, Any]:
        state = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name, default in self.HASH_EXCLUDE_DEFAULTS.items():
            if state.get(name) == default:
                del state[name]
        return state

    # --------------------------------------------------------------------------------- overrides
    @staticmethod
    def _normalise_overrides(per_layer: Overrides) -> Tuple[Tuple[str, Tuple[Tuple[str, Any], ...]], ...]:
        items = per_layer.items() if isinstance(per_layer, dict) else per_layer
        out = []
        for item in items:
            if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)):
                raise CrossbarConfigError(f"CrossbarConfigV1.per_layer: expected (pattern, overrides) pairs, got {item!r}")
            pattern, ov = item
            ov = ov.items() if isinstance(ov, dict) else ov
            ov = tuple((str(k), v) for k, v in ov)
            allowed = {f.name for f in dataclasses.fields(CrossbarConfigV1)} - {"per_layer"}
            for k, _ in ov:
                if k not in allowed:
                    raise CrossbarConfigError(f"CrossbarConfigV1.per_layer[{pattern!r}]: unknown field {k!r} "
                                              f"(known: {', '.join(sorted(allowed))})")
            out.append((pattern, ov))
        return tuple(out)

    def for_layer(self, name: str) -> "CrossbarConfigV1":
        """The configuration of layer ``name``: this one with every matching override applied
        (in order), validated with the layer named in errors; ``per_layer`` of the result is empty."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "per_layer"}
        for pattern, ov in self.per_layer:
            if fnmatch.fnmatchcase(name, pattern):
                values.update(dict(ov))
        try:
            return CrossbarConfigV1(**values)
        except CrossbarConfigError as e:
            raise CrossbarConfigError(f"layer {name!r}: {e}") from None

    def check_patterns_match(self, layer_names: Iterable[str]) -> None:
        """Raise if an override pattern matches no layer (a typo would otherwise be silent)."""
        names = list(layer_names)
        for pattern, _ in self.per_layer:
            if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
                some = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
                raise CrossbarConfigError(f"CrossbarConfigV1.per_layer: pattern {pattern!r} matches no crossbar "
                                          f"layer (layers are e.g. {some})")

    # --------------------------------------------------------------------------------- validation
    def validate(self) -> None:
        def bits(name, value, minimum, allow_none=True):
            if value is None and allow_none:
                return
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise CrossbarConfigError(f"{name} must be an integer >= {minimum}"
                                          f"{' or None (ideal)' if allow_none else ''}, got {value!r}")

        bits("dac_bits", self.dac_bits, 1)
        bits("adc_precision_bits", self.adc_precision_bits, 0)
        bits("adc_range_bits", self.adc_range_bits, 0)
        if self.adc_precision_bits is not None and self.adc_range_bits is not None \
                and self.adc_precision_bits + self.adc_range_bits < 1:
            raise CrossbarConfigError("adc_range_bits=0 with adc_precision_bits=0 leaves the ADC a single level (0); "
                                      "use at least one bit")
        bits("tile_rows", self.tile_rows, 1, allow_none=False)
        bits("tile_cols", self.tile_cols, 1, allow_none=False)
        bits("cycles_before_programming", self.cycles_before_programming, 0, allow_none=False)
        bits("var_order", self.var_order, 1, allow_none=False)
        for name in ("v_read_max", "correction_factor", "cycling_voltage", "reset_voltage"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or v != v or v == float("inf"):
                raise CrossbarConfigError(f"{name} must be a positive finite number, got {v!r}")
        if isinstance(self.set_voltage, bool) or not isinstance(self.set_voltage, (int, float)) or not self.set_voltage < 0:
            raise CrossbarConfigError(f"set_voltage must be negative (SET happens at U <= U_SET < 0), got {self.set_voltage!r}")
        if self.read_noise not in ("physical", "paper", "off"):
            raise CrossbarConfigError(f"read_noise must be 'physical', 'paper' or 'off', got {self.read_noise!r}")
        if self.cycling_granularity not in ("cell", "array"):
            raise CrossbarConfigError(f"cycling_granularity must be 'cell' or 'array', got {self.cycling_granularity!r}")
        if self.device_model not in ("synaptogen", "ideal"):
            raise CrossbarConfigError(f"device_model must be 'synaptogen' or 'ideal', got {self.device_model!r}")
        if not isinstance(self.device_variation, bool):
            raise CrossbarConfigError(f"device_variation must be a bool, got {self.device_variation!r}")
        from memristor_asr.crossbar.adc import ADC_KIND_PROVIDERS, ADC_KINDS, adc_kind_available  # adc.py imports nothing from here

        if not isinstance(self.adc_kind, str) or not adc_kind_available(self.adc_kind):
            raise CrossbarConfigError(f"adc_kind must be one of {sorted(set(ADC_KINDS) | set(ADC_KIND_PROVIDERS))}, "
                                      f"got {self.adc_kind!r}")

    def describe(self) -> str:
        """One line for logs and plots."""
        adc = "ideal" if self.adc_precision_bits is None and self.adc_range_bits is None else \
            f"{self.adc_kind} p={self.adc_precision_bits} r={self.adc_range_bits}"
        return (f"DAC {self.dac_bits or 'ideal'} bit, ADC {adc}, tiles {self.tile_rows}x{self.tile_cols}, "
                f"noise {self.read_noise}, device {self.device_model}{'' if self.device_variation else ' (nominal)'}, "
                f"{self.cycles_before_programming} cycles"
                + (f" per {self.cycling_granularity}" if self.cycles_before_programming else "") + (f", {len(self.per_layer)} layer overrides" if self.per_layer else ""))
