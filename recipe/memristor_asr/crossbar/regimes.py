"""Named hardware regimes: presets of the hardware fields that :class:`CrossbarConfigV2` and
:class:`CrossbarConfigV1` share (never the ADC: a regime is the device and its programming).

- ``"physical"``: the project's default hardware (physically correct read noise, no cycling
  before programming). Applying it returns a config equal to its input's defaults, so existing
  job ids (which hash the config's fields) stay valid.
- ``"synaptogenml"``: every SynaptogenML behaviour that changes results, so the papers' numbers
  (produced with SynaptogenML's torch path) can be reproduced. Facts read from the
  rwth-i6/SynaptogenML sources (no code taken from there):

  * read noise ``4 kB T BW |I| / (|U| + 1e-12) + 2 e |I| BW`` with ``BW = 1e-8`` and
    ``e = exp(1)`` (``synaptogen_ml/memristor_modules/memristor.py``, ``MemristorArray.__init__``
    and ``compute_noise``): ``read_noise="paper"``;
  * before programming, ``num_cycles_init * 15`` pulses, each ``np.random.uniform(-2.0, 2.0)``,
    one scalar per pulse for a whole cell array, drawn separately for the positive and the
    negative array of every tile (``synaptogen_ml/memristor_modules/linear.py``,
    ``TiledMemristorLinear.init_from_linear_quant``; the same sequence in
    ``synaptogen_ml/programming.py``, ``program_pair``): ``cycles_before_programming = 15``
    (``num_cycles_init = 1``), ``cycling_voltage = 2.0``, ``cycling_granularity = "array"``.
    The TED-LIUM experiment configs of the paper (rwth-i6/i6_experiments, users/hilmes) loop
    ``for num_cycle in range(1, 11)`` with ``num_cycles=num_cycle``: draw k (1..10) was cycled
    with ``15 k`` pulses; :func:`synaptogenml_draw_cycles` gives that count;
  * then ``applyVoltage(2.0)`` on every cell (full RESET: 2.0 V >= Umax = 1.46 V) and
    ``applyVoltage(weights * -2.0)`` (SET with -2 V on the cells of a 1, 0 V elsewhere), no
    partial-RESET programming, no write-verify unless ``CycleCorrectionSettings`` are given
    (the paper configs pass ``correction_settings=None``): ``reset_voltage = 2.0``,
    ``set_voltage = -2.0``;
  * tiles of 128 x 128 (``memristor_inputs=128, memristor_outputs=128`` in the i6 configs; the
    padding to full tiles adds zero-input rows and dropped columns, which change nothing),
    DAC ``fake_quantize`` with step ``2^-(bits-1)`` in ``[-1, 1]`` times ``hardware_input_vmax
    = 0.6``, ADC step ``2^-p`` clipped to ``+-2^(r-1)`` per tile before the digital sum,
    ``hardware_output_current_scaling = 8020`` (``memristor.py``, ``DacAdcHardwareSettings`` and
    ``DacAdcPair``; ``linear.py``, ``forward``): the project's defaults, set explicitly;
  * Synaptogen cell model with the VAR order 10 (``synaptogen_ml/synaptogen.py``,
    ``load_params(p=10)``): ``var_order = 10``.

  Not reproduced (documented in the report of the change that added this module): the
  SynaptogenML port's fresh cells are not flagged as being in HRS and their reset threshold
  aliases the cycle vector until the array's first VAR draw (``synaptogen.py``,
  ``CellArray.__init__``/``applyVoltage``; see the module docstring of
  :mod:`memristor_asr.crossbar.cells`), which can delay a cell's first RESET during cycling;
  and its read noise is drawn once per (time, input, output) and broadcast over the batch
  (``randn_broadcast`` with ``broadcast_noise_dims=1`` in ``memristor.py``), a read-path
  behaviour of ``layer.py``.

A regime field in :data:`PENDING_FIELDS` (``cycling_granularity``, default "cell") is set like
any other once the config class has it; with a config class that lacks it,
:func:`apply_regime` names it in an error unless ``strict=False``, and :func:`program_options`
gives the keyword arguments of :func:`memristor_asr.crossbar.programming.program_planes` that
implement it.
"""
import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Tuple, Union

from memristor_asr.crossbar.config import SHARED_FIELDS, CrossbarConfigError, Hardware
from memristor_asr.util.config_helpers import check_field_types, check_value_type

__all__ = ["HardwareRegimeV1", "REGIMES", "get_regime", "apply_regime", "program_options", "synaptogenml_draw_cycles",
           "PENDING_FIELDS"]

#: fields a regime may set that the config classes do not have yet, with the default that
#: reproduces today's behaviour (for ``HASH_EXCLUDE_DEFAULTS``) and the program_planes keyword
PENDING_FIELDS: Dict[str, Tuple[Any, str]] = {
    "cycling_granularity": ("cell", "cycling_granularity"),
}


@dataclass(frozen=True)
class HardwareRegimeV1:
    """A named preset of converter-configuration fields.

    Attributes:
        name: registry key
        description: one line: what the regime is for
        fields: ``((field, value), ...)`` set on a hardware description
        sources: ``((field, where the behaviour comes from), ...)``, one entry per field
    """

    name: str
    description: str
    fields: Tuple[Tuple[str, Any], ...] = ()
    sources: Tuple[Tuple[str, str], ...] = ()

    def __post_init__(self):
        check_field_types(self, CrossbarConfigError)
        known = set(SHARED_FIELDS)
        names = [k for k, _ in self.fields]
        for k in names:
            if k not in known and k not in PENDING_FIELDS:
                raise CrossbarConfigError(f"HardwareRegimeV1 {self.name!r}: unknown field {k!r} "
                                          f"(known: {', '.join(sorted(known | set(PENDING_FIELDS)))})")
        if len(set(names)) != len(names):
            raise CrossbarConfigError(f"HardwareRegimeV1 {self.name!r}: a field is set twice: {names}")
        undocumented = set(names) - {k for k, _ in self.sources}
        if undocumented:
            raise CrossbarConfigError(f"HardwareRegimeV1 {self.name!r}: no source given for {sorted(undocumented)}")

    def as_dict(self) -> Dict[str, Any]:
        return dict(self.fields)


_SML = "rwth-i6/SynaptogenML "
REGIMES: Dict[str, HardwareRegimeV1] = {
    "physical": HardwareRegimeV1(
        name="physical",
        description="the project's default hardware: physical read noise, no cycling before programming",
        fields=(),
        sources=(),
    ),
    "synaptogenml": HardwareRegimeV1(
        name="synaptogenml",
        description="SynaptogenML's torch path, as used for the papers' WERs (paper read noise, "
                    "15 random-voltage pulses per bitline array before programming)",
        fields=(
            ("read_noise", "paper"),
            ("cycles_before_programming", 15),
            ("cycling_voltage", 2.0),
            ("cycling_granularity", "array"),
            ("reset_voltage", 2.0),
            ("set_voltage", -2.0),
            ("correction_factor", 8020.0),
            ("v_read_max", 0.6),
            ("dac_bits", 8),
            ("tile_rows", 128),
            ("tile_cols", 128),
            ("var_order", 10),
        ),
        sources=(
            ("read_noise", _SML + "synaptogen_ml/memristor_modules/memristor.py: MemristorArray (BW = 1e-8, "
                                  "e = np.exp(1)), compute_noise"),
            ("cycles_before_programming", _SML + "synaptogen_ml/memristor_modules/linear.py: TiledMemristorLinear"
             ".init_from_linear_quant, range(num_cycles_init * 15), num_cycles_init=1"),
            ("cycling_voltage", _SML + "synaptogen_ml/memristor_modules/linear.py: np.random.uniform(-2.0, 2.0)"),
            ("cycling_granularity", _SML + "synaptogen_ml/memristor_modules/linear.py: one scalar voltage per "
                                           "CellArrayCPU (positive and negative array drawn separately)"),
            ("reset_voltage", _SML + "synaptogen_ml/memristor_modules/linear.py: applyVoltage(2.0)"),
            ("set_voltage", _SML + "synaptogen_ml/memristor_modules/linear.py: applyVoltage(weights * -2.0)"),
            ("correction_factor", "i6_experiments configs: DacAdcHardwareSettings(hardware_output_current_scaling="
                                  "8020.0); " + _SML + "synaptogen_ml/memristor_modules/memristor.py: DacAdcPair.adc"),
            ("v_read_max", "i6_experiments configs: hardware_input_vmax=0.6; " + _SML
             + "synaptogen_ml/memristor_modules/memristor.py: DacAdcPair.dac"),
            ("dac_bits", "i6_experiments configs: input_bits=8 (= activation bits)"),
            ("tile_rows", "i6_experiments configs: TiledMemristorLinear(memristor_inputs=128)"),
            ("tile_cols", "i6_experiments configs: TiledMemristorLinear(memristor_outputs=128)"),
            ("var_order", _SML + "synaptogen_ml/synaptogen.py: load_params(p=10)"),
        ),
    ),
}


def get_regime(regime: Union[str, HardwareRegimeV1]) -> HardwareRegimeV1:
    """The regime named ``regime`` (or ``regime`` itself); unknown names list the known ones."""
    if isinstance(regime, HardwareRegimeV1):
        return regime
    if not isinstance(regime, str) or regime not in REGIMES:
        raise CrossbarConfigError(f"unknown hardware regime {regime!r} (known: {', '.join(sorted(REGIMES))})")
    return REGIMES[regime]


def apply_regime(cfg: Hardware, regime: Union[str, HardwareRegimeV1], strict: bool = True) -> Hardware:
    """``cfg`` with the regime's fields set (``dataclasses.replace``; per-layer overrides kept).

    :param strict: a regime field that the config class does not have yet (:data:`PENDING_FIELDS`)
        is an error naming it; with ``strict=False`` it is left out (pass
        :func:`program_options` to ``program_planes`` for it)
    """
    reg = get_regime(regime)
    have = {f.name for f in dataclasses.fields(cfg)}
    values = reg.as_dict()
    missing = sorted(k for k in values if k not in have)
    if missing and strict:
        raise CrossbarConfigError(
            f"hardware regime {reg.name!r} sets {missing}, which {type(cfg).__name__} does not have yet; add "
            f"{', '.join(f'{k} (default {PENDING_FIELDS[k][0]!r})' for k in missing)} to it with "
            f"HASH_EXCLUDE_DEFAULTS, or call apply_regime(..., strict=False) and pass "
            f"program_options({reg.name!r}) to program_planes")
    return dataclasses.replace(cfg, **{k: v for k, v in values.items() if k in have})


def program_options(regime: Union[str, HardwareRegimeV1]) -> Dict[str, Any]:
    """Keyword arguments of ``program_planes`` for the regime's fields that the config classes lack."""
    reg = get_regime(regime)
    have = set(SHARED_FIELDS)
    return {PENDING_FIELDS[k][1]: v for k, v in reg.fields if k in PENDING_FIELDS and k not in have}


def synaptogenml_draw_cycles(draw_index: int) -> int:
    """Cycling pulses SynaptogenML applied in the paper's draw ``draw_index`` (1..10):
    ``num_cycles_init = draw_index``, ``15 * num_cycles_init`` pulses."""
    check_value_type("synaptogenml_draw_cycles: draw_index", draw_index, int, ValueError)
    if draw_index < 0:
        raise ValueError(f"synaptogenml_draw_cycles: draw_index must be an integer >= 0, got {draw_index!r}")
    return 15 * draw_index
