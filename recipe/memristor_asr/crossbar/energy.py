"""ADC and DAC conversions of a crossbar model per second of audio, and the ADC energy they cost.

Why: moving ADC bits from precision to range is motivated by converter energy, so a bit split
needs a price. The counts follow from shapes alone (no cell is programmed):

- **ADC**: every row tile of every bit plane has one converter per output column, read once per
  layer input row: ``planes x row tiles x out_features`` conversions per row. Column tiles do not
  change the count (each tile column still has its own converter).
- **DAC**: assumed one conversion per row input per physical tile (plane, row tile, column tile)
  and layer input row, i.e. every tile drives its own rows: ``planes x column tiles x in_features``
  per row. The simulation computes each input's DAC code once (``DacV1.codes``); a chip that
  shares one DAC per input across tiles converts ``in_features`` times per row instead.
- **Rows per frame** are measured on the model: one forward of the QAT model at three audio
  lengths, counting the rows each crossbar layer receives, fitted as ``rows = a * frames + b``
  (exact; a non-linear count is an error). Most layers get ``a = 1, b = 0``; the relative-position
  projection ``linear_pos`` reads the ``2T - 1`` relative positions of a ``T``-frame utterance
  (``a = 2, b = -1``). Counts are for an utterance decoded alone: padding in a batch adds reads
  that are not counted.
- **Frames per second** at the crossbar layers (after the frontend's subsampling) is the slope of
  the model's own ``output_lengths`` over a long span of audio.

Energy per conversion is the Walden figure of merit: ``E = FoM x 2^ENOB``. ENOB is ``p + r`` for
a uniform ADC (``2^(p+r)`` levels, per layer with the hardware's per-layer overrides), and for a
table ADC (an NNADC's code-transfer table) the table's measured ENOB when it carries one (an
``enob`` entry), else its bit count; the output says which. The default FoM is Cao et al.'s
8-bit NNADC (:data:`FOM_NNADC_8BIT_FJ`); a DAC energy is reported only when one is given.
"""
import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import torch

from memristor_asr.crossbar.adc import AdcConfig, TableAdcConfigV1, UniformAdcConfigV1
from memristor_asr.crossbar.config import Hardware, layer_hardware
from memristor_asr.crossbar.programming import _tile_grid, n_planes_for

__all__ = ["AdcEnergyConfigV1", "AdcEnergyError", "LayerConversions", "ENERGY_UNITS", "FOM_NNADC_8BIT_FJ",
           "FOM_NNADC_8BIT_SOURCE", "FOM_NNADC_14BIT_FJ", "FOM_NNADC_14BIT_SOURCE", "adc_enob",
           "energy_per_conversion", "crossbar_frame_rate", "crossbar_rows_per_frame", "layer_conversions",
           "conversion_counts", "energy_report"]

#: Walden FoM of Cao et al.'s 8-bit NNADC (eight 1-bit pipelined stages, 3-bit RRAM) at 1 GS/s
FOM_NNADC_8BIT_FJ = 97.7
FOM_NNADC_8BIT_SOURCE = ("Cao, Ke, Chakrabarti, Zhang, 'Evaluating Neural Network-Inspired Analog-to-Digital "
                         "Conversion with Low-Precision RRAM', IEEE TCAD 2020 (arXiv 1911.12815), Table II: 8-bit "
                         "NNADC at 1 GS/s, 97.7 fJ/conv-step")
#: Walden FoM of Cao et al.'s 14-bit pipelined NNADC (12.5 ENOB)
FOM_NNADC_14BIT_FJ = 11.6
FOM_NNADC_14BIT_SOURCE = ("Cao et al., IEEE TCAD 2020 (arXiv 1911.12815), Table II: 14-bit pipelined NNADC, "
                          "11.6 fJ/conv-step")

#: energy units accepted by :class:`AdcEnergyConfigV1` (the FoM is per conversion step)
ENERGY_UNITS = {"J": 1.0, "mJ": 1e-3, "uJ": 1e-6, "nJ": 1e-9, "pJ": 1e-12, "fJ": 1e-15, "aJ": 1e-18}

#: audio lengths [s] of the forward passes that measure rows per frame (three: linearity is checked)
_PROBE_SECONDS = (0.25, 0.5, 0.75)
#: span of audio [s] over which the frame rate is the slope of ``output_lengths`` (error < 1 frame / span)
_RATE_SPAN_SECONDS = 1000


class AdcEnergyError(ValueError):
    """Bad energy-model input, or a layer whose conversions cannot be priced; the message names the
    parameter or layer."""


def _finite_positive(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise AdcEnergyError(f"{where} must be a positive finite number, got {value!r}")
    return float(value)


def _unit(where: str, unit) -> float:
    if unit not in ENERGY_UNITS:
        raise AdcEnergyError(f"{where}: unknown unit {unit!r}; known: {', '.join(ENERGY_UNITS)}")
    return ENERGY_UNITS[unit]


@dataclass(frozen=True)
class AdcEnergyConfigV1:
    """The converter energy model.

    Default FoM: Cao et al.'s 8-bit NNADC (97.7 fJ/conv-step, Table II), because the study's
    converters have 8 (4+4) to 16 bits and the Walden FoM depends on resolution: the 14-bit
    design's 11.6 fJ/conv-step (:data:`FOM_NNADC_14BIT_FJ`) is the better figure near 12-14 bits
    and would make 8-bit converters look about 8x cheaper than the 8-bit design measured.

    Attributes:
        fom: Walden figure of merit, energy per conversion step (``E = fom x 2^ENOB``), in ``fom_unit``
        fom_unit: unit of ``fom`` per conversion step, one of :data:`ENERGY_UNITS` ("fJ" = fJ/conv-step)
        fom_source: where the FoM comes from (goes into every report)
        dac_energy: energy of one DAC conversion (one row input into one tile), in ``dac_energy_unit``,
            independent of the DAC's bits; None = not reported (only DAC conversions are counted:
            no sourced per-conversion figure was found for the crossbars' row DACs)
        dac_energy_unit: unit of ``dac_energy``, one of :data:`ENERGY_UNITS`
        dac_energy_source: where ``dac_energy`` comes from (required with a ``dac_energy``)
    """

    fom: float = FOM_NNADC_8BIT_FJ
    fom_unit: str = "fJ"
    fom_source: str = FOM_NNADC_8BIT_SOURCE
    dac_energy: Optional[float] = None
    dac_energy_unit: str = "fJ"
    dac_energy_source: str = ""

    def __post_init__(self):
        _finite_positive("AdcEnergyConfigV1.fom", self.fom)
        _unit("AdcEnergyConfigV1.fom_unit", self.fom_unit)
        _unit("AdcEnergyConfigV1.dac_energy_unit", self.dac_energy_unit)
        if not isinstance(self.fom_source, str) or not self.fom_source.strip():
            raise AdcEnergyError("AdcEnergyConfigV1.fom_source: say where the FoM comes from")
        if self.dac_energy is not None:
            _finite_positive("AdcEnergyConfigV1.dac_energy", self.dac_energy)
            if not isinstance(self.dac_energy_source, str) or not self.dac_energy_source.strip():
                raise AdcEnergyError("AdcEnergyConfigV1.dac_energy_source: say where the DAC energy comes from")

    @property
    def fom_joules(self) -> float:
        """The FoM in J per conversion step."""
        return self.fom * ENERGY_UNITS[self.fom_unit]

    @property
    def dac_energy_joules(self) -> Optional[float]:
        """Energy of one DAC conversion [J], or None (not reported)."""
        return None if self.dac_energy is None else self.dac_energy * ENERGY_UNITS[self.dac_energy_unit]


def energy_per_conversion(enob: float, energy: AdcEnergyConfigV1) -> float:
    """Walden: ``FoM x 2^ENOB`` [J] (one more effective bit doubles it)."""
    return energy.fom_joules * 2.0 ** float(enob)


def adc_enob(adc: AdcConfig, where: str = "adc") -> Tuple[float, str]:
    """The ENOB the energy of one conversion is priced at, and where it comes from.

    :param adc: a layer's resolved ADC configuration
    :param where: names the layer in errors
    :return: (ENOB, source text)
    """
    if isinstance(adc, UniformAdcConfigV1):
        if adc.precision_bits is None or adc.range_bits is None:
            raise AdcEnergyError(f"{where}: ADC {adc.describe()!r} has unbounded resolution (precision_bits="
                                 f"{adc.precision_bits}, range_bits={adc.range_bits}); no energy per conversion")
        return float(adc.precision_bits + adc.range_bits), "uniform ADC: precision + range bits"
    if isinstance(adc, TableAdcConfigV1):
        from memristor_asr.nnadc.export.transfer_table import load_transfer_table

        try:
            table = load_transfer_table(str(adc.table))
        except (OSError, ValueError) as e:
            raise AdcEnergyError(f"{where}: cannot read the ADC table {str(adc.table)!r}: {e}") from None
        if "enob" in table:
            enob = float(table["enob"])
            if not math.isfinite(enob) or enob <= 0:
                raise AdcEnergyError(f"{where}: table {str(adc.table)!r} has an invalid enob {enob!r}")
            return enob, "table ADC: the table's measured ENOB"
        if "n_bits" not in table:
            raise AdcEnergyError(f"{where}: table {str(adc.table)!r} has neither 'enob' nor 'n_bits'")
        return float(int(table["n_bits"])), "table ADC: its bit count (the table carries no measured ENOB)"
    raise AdcEnergyError(f"{where}: unknown ADC configuration {type(adc).__name__}")


# ------------------------------------------------------------------------------------ model side
def _quant_linears(model: torch.nn.Module) -> Dict[str, torch.nn.Module]:
    from memristor_asr.quant import QuantLinear

    layers = {n: m for n, m in model.named_modules() if isinstance(m, QuantLinear)}
    if not layers:
        raise AdcEnergyError("the model has no QuantLinear layer (a float model puts nothing on crossbars)")
    return layers


def crossbar_frame_rate(model: torch.nn.Module) -> float:
    """Frames per second of audio at the crossbar layers: the slope of the model's
    ``output_lengths`` (feature hop and frontend subsampling) over a long span."""
    sr = int(model.cfg.features.sample_rate)
    lens = torch.tensor([_RATE_SPAN_SECONDS * sr, 2 * _RATE_SPAN_SECONDS * sr], dtype=torch.int64)
    frames = model.output_lengths(lens)
    return float(frames[1] - frames[0]) / _RATE_SPAN_SECONDS


@torch.no_grad()
def crossbar_rows_per_frame(model: torch.nn.Module) -> Dict[str, Tuple[float, float]]:
    """Per crossbar layer ``(a, b)`` with ``rows = a * frames + b`` for one utterance, measured by
    forwarding random audio of three lengths through a copy of the model (the model itself, its
    quantizer observers included, is left as it was; the copy observes its inputs as in
    calibration, so an untrained model needs no calibration first).

    :return: {layer name: (rows per frame, extra rows per utterance)}
    """
    from memristor_asr.quant import calibration

    probe = copy.deepcopy(model)
    layers = _quant_linears(probe)
    counts = {n: 0 for n in layers}

    def hook(name):
        def count(module, inputs, output):
            counts[name] += inputs[0].numel() // module.in_features
        return count

    for n, m in layers.items():
        m.register_forward_hook(hook(n))  # on the throwaway copy only
    sr = int(probe.cfg.features.sample_rate)
    gen = torch.Generator().manual_seed(0)
    frames, rows = [], []
    with calibration(probe):
        for seconds in _PROBE_SECONDS:
            n = int(seconds * sr)
            for k in counts:
                counts[k] = 0
            _, out_lens = probe(0.1 * torch.randn(1, n, generator=gen), torch.tensor([n]))
            frames.append(int(out_lens[0]))
            rows.append(dict(counts))
    (t0, t1, t2) = frames
    if len({t0, t1, t2}) < 3:
        raise AdcEnergyError(f"crossbar_rows_per_frame: probe lengths {_PROBE_SECONDS} s gave frames {frames}; "
                             f"need three different frame counts")
    out = {}
    for name in layers:
        r0, r1, r2 = (r[name] for r in rows)
        a = (r1 - r0) / (t1 - t0)
        b = r0 - a * t0
        if abs(a * t2 + b - r2) > 1e-9 * max(1, r2):
            raise AdcEnergyError(f"layer {name!r}: rows per utterance {(r0, r1, r2)} are not linear in frames "
                                 f"{frames}; conversions per second of audio are undefined")
        out[name] = (a, b)
    return out


@dataclass(frozen=True)
class LayerConversions:
    """Conversions of one crossbar layer (a result, not a configuration).

    Attributes:
        name: qualified module name
        in_features, out_features: the layer's shape (rows = inputs, columns = outputs)
        weight_bits: the QAT weight bits; ``planes`` binary planes (``n_planes_for(q_max)``)
        planes: bit planes (one crossbar per plane and tile)
        row_tiles, column_tiles: tiles of ``tile_rows x tile_cols`` (the layer's resolved hardware)
        rows_per_frame, extra_rows_per_utterance: ``rows = a * frames + b`` for one utterance
        adc: the layer's ADC (``describe()``); ``adc_bits`` its ENOB, ``adc_bits_source`` where from
        dac_bits: DAC resolution (None = ideal DAC: the layer's QAT activation grid, ``act_bits``)
        act_bits: the layer's input-quantizer bits
        adc_per_row: ADC conversions per layer input row (``planes x row_tiles x out_features``)
        dac_per_row: DAC conversions per layer input row (``planes x column_tiles x in_features``)
    """

    name: str
    in_features: int
    out_features: int
    weight_bits: float
    planes: int
    row_tiles: int
    column_tiles: int
    rows_per_frame: float
    extra_rows_per_utterance: float
    adc: str
    adc_bits: float
    adc_bits_source: str
    dac_bits: Optional[int]
    act_bits: int
    adc_per_row: int
    dac_per_row: int

    def adc_per_second(self, frames_per_second: float) -> float:
        return self.adc_per_row * self.rows_per_frame * frames_per_second

    def dac_per_second(self, frames_per_second: float) -> float:
        return self.dac_per_row * self.rows_per_frame * frames_per_second


def layer_conversions(name: str, layer: torch.nn.Module, hardware: Hardware,
                      rows: Tuple[float, float] = (1.0, 0.0)) -> LayerConversions:
    """Counts of one QuantLinear under ``hardware`` (per-layer overrides resolved by
    :func:`~memristor_asr.crossbar.config.layer_hardware`).

    :param rows: (rows per frame, extra rows per utterance) of this layer
    """
    cfg = layer_hardware(hardware, name)
    planes = n_planes_for(int(layer.weight_quantizer.q_max))
    row_tiles = len(_tile_grid(layer.in_features, cfg.tile_rows))
    col_tiles = len(_tile_grid(layer.out_features, cfg.tile_cols))
    bits, source = adc_enob(cfg.adc, where=f"layer {name!r}")
    return LayerConversions(
        name=name, in_features=layer.in_features, out_features=layer.out_features,
        weight_bits=float(layer.weight_quantizer.bits), planes=planes, row_tiles=row_tiles, column_tiles=col_tiles,
        rows_per_frame=float(rows[0]), extra_rows_per_utterance=float(rows[1]), adc=cfg.adc.describe(),
        adc_bits=bits, adc_bits_source=source, dac_bits=cfg.dac_bits, act_bits=int(layer.input_quantizer.bits),
        adc_per_row=planes * row_tiles * layer.out_features, dac_per_row=planes * col_tiles * layer.in_features)


def conversion_counts(model: torch.nn.Module, hardware: Hardware) -> Tuple[float, List[LayerConversions]]:
    """Frames per second at the crossbar layers and the conversions of every crossbar layer.

    :param model: a QAT ``ConformerCtcModelV1`` (trained or not: only shapes matter)
    :param hardware: ``CrossbarConfigV2`` (or V1); override patterns must match a layer
    """
    layers = _quant_linears(model)
    hardware.check_patterns_match(layers.keys())
    rows = crossbar_rows_per_frame(model)
    return crossbar_frame_rate(model), [layer_conversions(n, m, hardware, rows[n]) for n, m in layers.items()]


def energy_report(model: torch.nn.Module, hardware: Hardware,
                  energy: AdcEnergyConfigV1 = AdcEnergyConfigV1()) -> Dict[str, Any]:
    """Conversions and energy per second of audio, per layer and in total (JSON-ready).

    Energies per second of audio are in J/s = W (the average power of real-time recognition);
    DAC energies are None unless ``energy.dac_energy`` is given.
    """
    fps, layers = conversion_counts(model, hardware)
    dac_j = energy.dac_energy_joules
    per_layer, adc_w, dac_w, n_adc, n_dac = {}, 0.0, 0.0, 0.0, 0.0
    for lc in layers:
        e_adc = energy_per_conversion(lc.adc_bits, energy)
        a, d = lc.adc_per_second(fps), lc.dac_per_second(fps)
        entry = dataclasses.asdict(lc)
        entry.pop("name")
        entry.update({
            "adc_conversions_per_frame": lc.adc_per_row * lc.rows_per_frame,
            "adc_conversions_per_second": a,
            "adc_energy_per_conversion_j": e_adc,
            "adc_energy_per_second_j": a * e_adc,
            "dac_conversions_per_frame": lc.dac_per_row * lc.rows_per_frame,
            "dac_conversions_per_second": d,
            "dac_energy_per_conversion_j": dac_j,
            "dac_energy_per_second_j": None if dac_j is None else d * dac_j,
        })
        per_layer[lc.name] = entry
        n_adc, n_dac, adc_w = n_adc + a, n_dac + d, adc_w + a * e_adc
        dac_w = dac_w + (0.0 if dac_j is None else d * dac_j)
    return {
        "hardware": hardware.describe(),
        "frames_per_second": fps,
        "energy_model": {
            "formula": "ADC: E = FoM x 2^ENOB per conversion (Walden); DAC: a fixed energy per conversion",
            "fom_j_per_conversion_step": energy.fom_joules, "fom": energy.fom, "fom_unit": energy.fom_unit,
            "fom_source": energy.fom_source,
            "dac_energy_per_conversion_j": dac_j,
            "dac_energy_source": (energy.dac_energy_source if dac_j is not None
                                  else "not reported (no DAC energy given)"),
            "counted": ["ADC: planes x row tiles x output columns per layer input row",
                        "DAC: planes x column tiles x input rows per layer input row (every tile drives its rows)",
                        "layer input rows per frame measured on the model (linear_pos: 2T-1 rows for T frames)"],
            "not_counted": ["digital tile/plane recombination, bias, the digital layers, memory traffic",
                            "cell read energy, wire losses, programming",
                            "reads of padded frames in batched decoding"],
        },
        "layers": per_layer,
        "total": {"layers": len(layers), "adc_conversions_per_second": n_adc, "adc_energy_per_second_j": adc_w,
                  "dac_conversions_per_second": n_dac, "dac_energy_per_second_j": None if dac_j is None else dac_w},
    }
