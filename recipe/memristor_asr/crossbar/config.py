"""The hardware description: one object describing the simulated crossbar hardware.

Every hardware assumption of a crossbar simulation lives in :class:`CrossbarConfigV2` (fields in
physical units; the column converter is a typed object, ``adc``, from
:mod:`memristor_asr.crossbar.adc`), hashed into Sisyphus job ids as its field dict. Per-layer
overrides are ``fnmatch`` patterns on the module's qualified name (e.g. ``"*.linear_pos"`` for
the rel-pos positional projection); every matching override applies in order, so the last one
wins. :class:`CrossbarConfigV1` (flat ADC fields and a string ``adc_kind``) stays loadable: its
job ids are unchanged, and :func:`layer_hardware` turns either version into the resolved V2
description of one layer.
"""
import dataclasses
import fnmatch
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Iterable, Optional, Tuple, Union

from memristor_asr.util.config_helpers import check_field_types, check_min, check_patterns_match, hash_state
from memristor_asr.crossbar.faults import check_fault_rates
from memristor_asr.crossbar.adc import AdcConfig, AdcConfigError, TableAdcConfigV1, UniformAdcConfigV1

__all__ = ["CrossbarConfigV2", "CrossbarConfigV1", "CrossbarConfigError", "layer_hardware"]

#: what ``per_layer`` holds after construction: ``((pattern, ((field, value), ...)), ...)``
LayerOverrides = Tuple[Tuple[str, Tuple[Tuple[str, Any], ...]], ...]
#: what ``per_layer`` accepts: that form, ``{pattern: {field: value}}`` or pairs with a dict of
#: fields; the constructor normalises every form to :data:`LayerOverrides`
Overrides = Union[Dict[str, Dict[str, Any]], Tuple[Tuple[str, Union[Dict[str, Any], Tuple[Tuple[str, Any], ...]]], ...]]


class CrossbarConfigError(ValueError):
    """An invalid hardware setting; the message names the parameter (and layer)."""


#: the kinds of CrossbarConfigV1.adc_kind (V2 holds a typed ADC object instead)
V1_ADC_KINDS = ("uniform", "nnadc_table")


@dataclass
class _HardwareFields:
    """The fields and behaviour both versions share (everything but the ADC).

    Attributes:
        dac_bits: DAC resolution: inputs (in units of the layer's full-scale activation) are
            rounded to steps of 2^-(bits-1) and clipped to [-1, 1]; None = ideal DAC, which
            reproduces the layer's own QAT activation grid exactly
        v_read_max: read voltage of a full-scale input [V]
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

    #: fields added after a version was first used, with their default: left out of the
    #: Sisyphus hash while they hold that default, so existing job ids stay valid
    HASH_EXCLUDE_DEFAULTS: ClassVar[Dict[str, Any]] = {}

    def __post_init__(self):
        self.per_layer = self._normalise_overrides(self.per_layer)
        self.validate()

    # --------------------------------------------------------------------------------- hashing
    def __sis_state__(self) -> Dict[str, Any]:
        return hash_state(self, self.HASH_EXCLUDE_DEFAULTS)

    # --------------------------------------------------------------------------------- overrides
    @classmethod
    def _normalise_overrides(cls, per_layer: Overrides) -> LayerOverrides:
        items = per_layer.items() if isinstance(per_layer, dict) else per_layer
        out = []
        allowed = {f.name for f in dataclasses.fields(cls)} - {"per_layer"}
        for item in items:
            if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)):
                raise CrossbarConfigError(
                    f"{cls.__name__}.per_layer: expected (pattern, overrides) pairs, got {item!r}")
            pattern, ov = item
            try:
                ov = tuple((str(k), v) for k, v in (ov.items() if isinstance(ov, dict) else ov))
            except (TypeError, ValueError):  # not iterable, or items that are no (field, value) pairs
                raise CrossbarConfigError(f"{cls.__name__}.per_layer[{pattern!r}]: expected {{field: value}} or "
                                          f"((field, value), ...), got {ov!r}") from None
            for k, _ in ov:
                if k not in allowed:
                    raise CrossbarConfigError(f"{cls.__name__}.per_layer[{pattern!r}]: unknown field {k!r} "
                                              f"(known: {', '.join(sorted(allowed))})")
            out.append((pattern, ov))
        return tuple(out)

    def for_layer(self, name: str):
        """The configuration of layer ``name``: this one with every matching override applied
        (in order), validated with the layer named in errors; ``per_layer`` of the result is empty."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "per_layer"}
        for pattern, ov in self.per_layer:
            if fnmatch.fnmatchcase(name, pattern):
                values.update(dict(ov))
        try:
            return type(self)(**values)
        except CrossbarConfigError as e:
            raise CrossbarConfigError(f"layer {name!r}: {e}") from None

    def check_patterns_match(self, layer_names: Iterable[str]) -> None:
        """Raise if an override pattern matches no layer (a typo would otherwise be silent); the
        message names the pattern and the layer names nearest to it."""
        check_patterns_match(f"{type(self).__name__}.per_layer", (p for p, _ in self.per_layer), layer_names,
                             CrossbarConfigError)

    # --------------------------------------------------------------------------------- validation
    def validate(self) -> None:
        """Every field's type (its annotation; the ADC too), then the values' ranges; errors name
        ``ClassName.field``."""
        check_field_types(self, CrossbarConfigError)
        name = type(self).__name__
        for field, minimum in (("dac_bits", 1), ("tile_rows", 1), ("tile_cols", 1), ("cycles_before_programming", 0),
                               ("var_order", 1)):
            check_min(self, field, minimum, CrossbarConfigError)
        for field in ("v_read_max", "correction_factor", "cycling_voltage", "reset_voltage"):
            v = getattr(self, field)
            if not (v > 0 and math.isfinite(v)):
                raise CrossbarConfigError(f"{name}.{field} must be a positive finite number, got {v!r}")
        if not self.set_voltage < 0:
            raise CrossbarConfigError(f"{name}.set_voltage must be negative (SET happens at U <= U_SET < 0), "
                                      f"got {self.set_voltage!r}")
        if self.v_read_max >= min(self.reset_voltage, -self.set_voltage):
            raise CrossbarConfigError(
                f"{name}.v_read_max = {self.v_read_max!r} V reaches the programming pulses (SET "
                f"{self.set_voltage!r} V, RESET {self.reset_voltage!r} V): a read would program every cell")
        if self.read_noise not in ("physical", "paper", "off"):
            raise CrossbarConfigError(
                f"{name}.read_noise must be 'physical', 'paper' or 'off', got {self.read_noise!r}")
        if self.cycling_granularity not in ("cell", "array"):
            raise CrossbarConfigError(
                f"{name}.cycling_granularity must be 'cell' or 'array', got {self.cycling_granularity!r}")
        if self.device_model not in ("synaptogen", "ideal"):
            raise CrossbarConfigError(f"{name}.device_model must be 'synaptogen' or 'ideal', got {self.device_model!r}")

    def _describe(self, adc: str) -> str:
        return (f"DAC {self.dac_bits or 'ideal'} bit, ADC {adc}, tiles {self.tile_rows}x{self.tile_cols}, "
                f"noise {self.read_noise}, device {self.device_model}{'' if self.device_variation else ' (nominal)'}, "
                f"{self.cycles_before_programming} cycles"
                + (f" per {self.cycling_granularity}" if self.cycles_before_programming else "")
                + (f", {len(self.per_layer)} layer overrides" if self.per_layer else ""))


#: the fields both versions share (regimes may set these)
SHARED_FIELDS = tuple(f.name for f in dataclasses.fields(_HardwareFields) if f.name != "per_layer")


@dataclass
class CrossbarConfigV2(_HardwareFields):
    """Simulated memristor hardware for the crossbar layers (fields of :class:`_HardwareFields`
    plus the column converter).

    Attributes:
        adc: the column ADC, a :class:`~memristor_asr.crossbar.adc.UniformAdcConfigV1` (default
            4 precision + 4 range bits) or :class:`~memristor_asr.crossbar.adc.TableAdcConfigV1`;
            a per-layer override replaces it whole (``{"*.linear_pos": {"adc": UniformAdcConfigV1(2, 6)}}``)
        stuck_lrs_rate: fraction of cells stuck at the low-resistance state, per cell and seeded
            (:mod:`~memristor_asr.crossbar.faults`; MemTorch and CrossSim inject such faults); 0 = off
        stuck_hrs_rate: fraction of cells stuck at the high-resistance state; 0 = off
        correction_factor_negative: c [1/A] for negative inputs (Synaptogen cells read negative
            voltages ~10-15 % low; ``crossbar.stats.LSQ_CORRECTION_FACTOR_NEGATIVE`` is the
            least-squares value); None = ``correction_factor`` for both polarities
        wordline_resistance: wire resistance per cell segment of a word line [ohm] (IR drop,
            :mod:`~memristor_asr.crossbar.wires`; aihwkit and CrossSim model it); 0 = ideal wires.
            About 1 ohm is typical of a scaled Cu line at a 100 nm cell pitch (effective
            resistivity ~4 uOhm cm with size effects, 50 x 100 nm cross-section: 0.8 ohm)
        bitline_resistance: the same per bit-line segment [ohm]; 0 = ideal wires
        apply_read_disturb: reads that cross a cell's own SET threshold switch it to LRS for the
            rest of the run (:mod:`~memristor_asr.crossbar.read_disturb`; Synaptogen's fitted U_SET:
            ~11 % of cycles above -0.6 V); the crossings are counted in the clipping report either way
    """

    adc: AdcConfig = UniformAdcConfigV1()
    stuck_lrs_rate: float = 0.0
    stuck_hrs_rate: float = 0.0
    correction_factor_negative: Optional[float] = None
    wordline_resistance: float = 0.0
    bitline_resistance: float = 0.0
    apply_read_disturb: bool = False

    #: options added after V2's first use (issue #18): out of the hash at their defaults
    HASH_EXCLUDE_DEFAULTS: ClassVar[Dict[str, Any]] = {
        "stuck_lrs_rate": 0.0, "stuck_hrs_rate": 0.0, "correction_factor_negative": None,
        "wordline_resistance": 0.0, "bitline_resistance": 0.0, "apply_read_disturb": False}

    def validate(self) -> None:
        super().validate()
        try:
            check_fault_rates(self.stuck_lrs_rate, self.stuck_hrs_rate, "CrossbarConfigV2")
        except ValueError as e:
            raise CrossbarConfigError(str(e)) from None
        c = self.correction_factor_negative
        if c is not None and not (c > 0 and math.isfinite(c)):
            raise CrossbarConfigError(
                f"CrossbarConfigV2.correction_factor_negative must be a positive finite number or None, got {c!r}")
        for field in ("wordline_resistance", "bitline_resistance"):
            v = getattr(self, field)
            if not (v >= 0 and math.isfinite(v)):
                raise CrossbarConfigError(f"CrossbarConfigV2.{field} must be a resistance >= 0 ohm per segment, "
                                          f"got {v!r}")
        if self.apply_read_disturb and self.has_wire_resistance:
            raise CrossbarConfigError("CrossbarConfigV2.apply_read_disturb: not supported together with wire "
                                      "resistance (the IR-drop states are computed once, after programming)")

    @property
    def has_wire_resistance(self) -> bool:
        return self.wordline_resistance > 0 or self.bitline_resistance > 0

    def describe(self) -> str:
        """One line for logs and plots."""
        extra = ""
        if self.stuck_lrs_rate or self.stuck_hrs_rate:
            extra += f", stuck cells {100 * self.stuck_lrs_rate:g} % LRS / {100 * self.stuck_hrs_rate:g} % HRS"
        if self.correction_factor_negative is not None:
            extra += f", c- {self.correction_factor_negative:g}/A"
        if self.apply_read_disturb:
            extra += ", read disturb applied"
        if self.has_wire_resistance:
            extra += f", wires {self.wordline_resistance:g}/{self.bitline_resistance:g} ohm (WL/BL)"
        return self._describe(self.adc.describe()) + extra


@dataclass
class CrossbarConfigV1(_HardwareFields):
    """The first hardware description: flat ADC fields (kept loadable, its job ids unchanged).

    Attributes:
        adc_precision_bits: ADC step 2^-p in units of one full-scale cell pair; None = no rounding
        adc_range_bits: ADC clipping at +-2^(r-1) full-scale cell pairs; None = no clipping
        adc_kind: "uniform" or "nnadc_table" (a code-transfer table, ``adc_options``
            ``(("table", path), ("instance_offset", k))``; the precision field is ignored there)
        adc_options: extra settings of a non-uniform ADC kind, ``((name, value), ...)``
    """

    adc_precision_bits: Optional[int] = 4
    adc_range_bits: Optional[int] = 4
    adc_kind: str = "uniform"
    adc_options: Tuple[Tuple[str, Any], ...] = ()

    HASH_EXCLUDE_DEFAULTS: ClassVar[Dict[str, Any]] = {"cycling_granularity": "cell"}

    def __post_init__(self):
        self.adc_options = tuple((str(k), v) for k, v in (self.adc_options.items() if isinstance(self.adc_options, dict)
                                                          else self.adc_options))
        super().__post_init__()

    def validate(self) -> None:
        super().validate()
        if self.adc_kind not in V1_ADC_KINDS:
            raise CrossbarConfigError(
                f"CrossbarConfigV1.adc_kind must be one of {list(V1_ADC_KINDS)}, got {self.adc_kind!r}")
        for name in ("adc_precision_bits", "adc_range_bits"):
            check_min(self, name, 0, CrossbarConfigError)
        if self.adc_precision_bits == 0 and self.adc_range_bits == 0:
            raise CrossbarConfigError("adc_range_bits=0 with adc_precision_bits=0 leaves the ADC a single level (0); "
                                      "use at least one bit")
        try:
            self.adc_config()
        except AdcConfigError as e:
            raise CrossbarConfigError(f"CrossbarConfigV1 ADC fields: {e}") from None

    def adc_config(self) -> AdcConfig:
        """The typed ADC these flat fields describe."""
        if self.adc_kind == "uniform":
            return UniformAdcConfigV1(self.adc_precision_bits, self.adc_range_bits)
        opts = dict(self.adc_options)
        if "table" not in opts:
            raise AdcConfigError("adc_kind='nnadc_table' needs adc_options (('table', <transfer_table.npz>),)")
        if self.adc_range_bits is None:
            raise AdcConfigError("adc_range_bits: an NNADC has a finite input range; set adc_range_bits")
        return TableAdcConfigV1(opts["table"], self.adc_range_bits, int(opts.get("instance_offset", 0)))

    def to_v2(self) -> CrossbarConfigV2:
        """The same hardware as a V2 description (per-layer ADC overrides need :func:`layer_hardware`)."""
        if any(k.startswith("adc_") for _, ov in self.per_layer for k, _ in ov):
            raise CrossbarConfigError("CrossbarConfigV1.to_v2: per-layer ADC overrides are resolved per layer; "
                                      "use layer_hardware(config, layer_name)")
        shared = {name: getattr(self, name) for name in SHARED_FIELDS}
        return CrossbarConfigV2(**shared, per_layer=self.per_layer, adc=self.adc_config())

    def describe(self) -> str:
        """One line for logs and plots."""
        adc = "ideal" if self.adc_precision_bits is None and self.adc_range_bits is None else \
            f"{self.adc_kind} p={self.adc_precision_bits} r={self.adc_range_bits}"
        return self._describe(adc)


Hardware = Union[CrossbarConfigV1, CrossbarConfigV2]


def layer_hardware(config: Hardware, name: str) -> CrossbarConfigV2:
    """The resolved V2 description of layer ``name`` (overrides applied, ``per_layer`` empty) of
    either version: what a crossbar layer is built from."""
    if isinstance(config, CrossbarConfigV1):
        return config.for_layer(name).to_v2()
    if isinstance(config, CrossbarConfigV2):
        return config.for_layer(name)
    raise CrossbarConfigError(f"hardware must be a CrossbarConfigV2 (or V1), got {type(config).__name__}")
