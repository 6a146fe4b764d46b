"""ADC/DAC conversion counts and energy (memristor_asr.crossbar.energy) against an independent
reference: a real crossbar forward pass of a tiny Conformer whose converters count what they
convert (fused CPU path and torch path, a per-layer override, partial row tiles, a table ADC);
Walden energy doubling per bit; bad energy input named; both jobs through the real manager."""
import copy
import json
import math

import numpy as np
import pytest
import torch

from memristor_asr.crossbar import CrossbarConfigV2, TableAdcConfigV1, UniformAdcConfigV1, convert_to_crossbars
from memristor_asr.crossbar import crossbar_layers, fused_adc
from memristor_asr.crossbar.energy import (
    AdcEnergyConfigV1,
    AdcEnergyError,
    FOM_NNADC_8BIT_FJ,
    adc_enob,
    conversion_counts,
    crossbar_frame_rate,
    energy_per_conversion,
    energy_report,
)
from memristor_asr.model import ConformerCtcModelV1, FeatureConfigV1, FrontendConfigV1, demo_config, save_model
from memristor_asr.nnadc.export.transfer_table import reference_transfer_table, write_transfer_table
from memristor_asr.quant import QuantConfigV1, calibration

DIM, FF = 40, 72  # with 32-row tiles: 40 inputs = 32 + 8 rows, 72 inputs = 32 + 32 + 8 rows


def _tiny_model(seed=0, **overrides):
    torch.manual_seed(seed)
    cfg = demo_config(["<blank>", "a", "b", "c"], QuantConfigV1(weight_bits=4), num_blocks=1, dim=DIM, ff_dim=FF,
                      num_heads=2, conv_kernel_size=5,
                      frontend=FrontendConfigV1(kind="conv1d", channels=[32], kernel_size=5), **overrides)
    model = ConformerCtcModelV1(cfg)
    with calibration(model):
        model(0.1 * torch.randn(2, 16000), torch.tensor([16000, 12000]))
    return model.eval()


@pytest.fixture(scope="module")
def model():
    return _tiny_model()


@pytest.fixture(scope="module")
def table6(tmp_path_factory):
    """A 6-bit reference transfer table (no measured ENOB in it)."""
    path = str(tmp_path_factory.mktemp("table") / "t6.npz")
    levels, codes = reference_transfer_table(6, 1025, n_instances=4)
    write_transfer_table(path, levels, codes, 6, "linear", 0.0, 0)
    return path


def _hardware(table):
    return CrossbarConfigV2(
        read_noise="off", device_model="ideal", tile_rows=32, tile_cols=48,
        per_layer={"*.linear_pos": {"adc": UniformAdcConfigV1(2, 6), "tile_rows": 16},
                   "*.ff2.linear_out": {"adc": TableAdcConfigV1(table, range_bits=4)}})


def _count_conversions(model, hardware, seconds, monkeypatch):
    """Convert a copy to crossbars, forward one utterance, and count per layer what the ADCs and the
    DAC converted and how many rows the layer read. Counting wraps the converters themselves: the
    fused kernel (``fused_adc.adc_accumulate``, one call per row tile) and ``quantize_scaled_``."""
    xbar = convert_to_crossbars(copy.deepcopy(model), hardware, seed=0)
    layers = crossbar_layers(xbar)
    adc = {n: 0 for n in layers}
    dac = {n: 0 for n in layers}
    rows = {n: 0 for n in layers}
    paths = {"fused": 0, "torch": 0}
    current = [None]

    def pre_hook(name):
        def hook(module, inputs):
            current[0] = name
            rows[name] += inputs[0].numel() // module.in_features
        return hook

    real_accumulate = fused_adc.adc_accumulate

    def counting_accumulate(v, *args, **kwargs):
        adc[current[0]] += v.shape[0] * v.shape[1]  # [frames, planes x columns] of one row tile
        paths["fused"] += 1
        return real_accumulate(v, *args, **kwargs)

    monkeypatch.setattr(fused_adc, "adc_accumulate", counting_accumulate)
    for name, layer in layers.items():
        layer.register_forward_pre_hook(pre_hook(name))
        real_quantize, real_codes = layer.adc.quantize_scaled_, layer.dac.codes

        def quantize(v, per_tile=False, _name=name, _real=real_quantize):
            adc[_name] += v.numel()  # [row tiles, frames, planes x columns]
            paths["torch"] += 1
            return _real(v, per_tile)

        def codes(x, *args, _name=name, _real=real_codes):
            dac[_name] += x.numel()  # one code per input and row
            return _real(x, *args)

        layer.adc.quantize_scaled_ = quantize
        layer.dac.codes = codes
    n = int(seconds * 16000)
    with torch.no_grad():
        _, out_lens = xbar(0.1 * torch.randn(1, n), torch.tensor([n]))
    return int(out_lens[0]), layers, adc, dac, rows, paths


def test_counted_conversions_equal_the_formula(model, table6, monkeypatch):
    hw = _hardware(table6)
    fps, counts = conversion_counts(model, hw)
    by_name = {c.name: c for c in counts}
    frames, layers, adc, dac, rows, paths = _count_conversions(model, hw, 1.3, monkeypatch)
    assert paths["fused"] > 0 and paths["torch"] > 0  # both converter paths were counted
    assert sorted(by_name) == sorted(layers)
    for name, c in by_name.items():
        # the layer really read rows = a * frames + b (linear_pos: the 2T-1 relative positions)
        expected_rows = 2 * frames - 1 if name.endswith("linear_pos") else frames
        assert rows[name] == expected_rows == c.rows_per_frame * frames + c.extra_rows_per_utterance, name
        # counted ADC conversions = the formula, and the formula = a hand count from the shapes
        assert adc[name] == c.adc_per_row * expected_rows, name
        tile_rows = 16 if name.endswith("linear_pos") else 32
        assert c.adc_per_row == 3 * math.ceil(c.in_features / tile_rows) * c.out_features, name  # 4 bit: 3 planes
        # DAC: the simulation computes one code per input; every (plane, column tile) drives its own rows
        assert dac[name] * c.planes * math.ceil(c.out_features / 48) == c.dac_per_row * expected_rows, name
    pos, ff_out = by_name["blocks.0.mhsa.linear_pos"], by_name["blocks.0.ff1.linear_out"]
    assert (pos.row_tiles, pos.adc_bits, pos.rows_per_frame) == (3, 8.0, 2.0)  # override: 16-row tiles, 2+6
    assert (ff_out.in_features, ff_out.row_tiles) == (FF, 3)  # 32 + 32 + 8: a partial last tile
    assert by_name["blocks.0.ff1.linear_ff"].row_tiles == 2  # 40 inputs: 32 + 8
    table = by_name["blocks.0.ff2.linear_out"]
    assert table.adc_bits == 6.0 and "bit count" in table.adc_bits_source and table.adc.startswith("table")
    assert by_name["blocks.0.ff1.linear_ff"].adc_bits == 8.0 and "precision + range" in pos.adc_bits_source
    # per second of audio: the per-frame counts at the model's frame rate
    rep = energy_report(model, hw)
    assert rep["frames_per_second"] == fps == 25.0
    total = sum(c.adc_per_row * c.rows_per_frame for c in counts) * fps
    assert rep["total"]["adc_conversions_per_second"] == pytest.approx(total)
    e_pos = rep["layers"]["blocks.0.mhsa.linear_pos"]
    assert e_pos["adc_energy_per_second_j"] == pytest.approx(
        pos.adc_per_row * 2 * 25.0 * FOM_NNADC_8BIT_FJ * 1e-15 * 2 ** 8)
    assert rep["total"]["dac_energy_per_second_j"] is None and e_pos["dac_energy_per_conversion_j"] is None
    assert "Cao" in rep["energy_model"]["fom_source"]


def test_frame_rate_follows_the_model_config():
    assert crossbar_frame_rate(_tiny_model()) == 25.0  # 10 ms hop, 4x subsampling
    slow = _tiny_model(features=FeatureConfigV1(hop_size=0.02))
    assert crossbar_frame_rate(slow) == pytest.approx(1 / slow.cfg.frame_shift) == pytest.approx(12.5)


def test_energy_doubles_per_bit_and_counts_do_not_change(model):
    assert energy_per_conversion(9, AdcEnergyConfigV1()) == 2 * energy_per_conversion(8, AdcEnergyConfigV1())
    reps = {pr: energy_report(model, CrossbarConfigV2(adc=UniformAdcConfigV1(*pr))) for pr in [(4, 4), (4, 5), (5, 4)]}
    e = {pr: r["total"]["adc_energy_per_second_j"] for pr, r in reps.items()}
    assert e[(4, 5)] == pytest.approx(2 * e[(4, 4)]) and e[(5, 4)] == pytest.approx(e[(4, 5)])
    n = {r["total"]["adc_conversions_per_second"] for r in reps.values()}
    assert len(n) == 1
    pj = AdcEnergyConfigV1(fom=0.0977, fom_unit="pJ", fom_source="same figure in pJ")
    assert energy_report(model, CrossbarConfigV2(adc=UniformAdcConfigV1(4, 4)), pj)["total"][
        "adc_energy_per_second_j"] == pytest.approx(e[(4, 4)])
    dac = AdcEnergyConfigV1(dac_energy=2.0, dac_energy_source="a test figure")
    r = energy_report(model, CrossbarConfigV2(), dac)["total"]
    assert r["dac_energy_per_second_j"] == pytest.approx(2e-15 * r["dac_conversions_per_second"])


def test_table_with_measured_enob(tmp_path):
    levels, codes = reference_transfer_table(6, 257, n_instances=2)
    path = str(tmp_path / "measured.npz")
    np.savez(path, input_levels=levels, codes=codes, n_bits=6, transfer="linear", sigma=0.05, seed=0, enob=5.4)
    bits, source = adc_enob(TableAdcConfigV1(path, range_bits=4))
    assert bits == 5.4 and "measured ENOB" in source


@pytest.mark.parametrize("kwargs,name", [
    ({"fom": -1.0}, "AdcEnergyConfigV1.fom"), ({"fom": float("nan")}, "AdcEnergyConfigV1.fom"),
    ({"fom": float("inf")}, "AdcEnergyConfigV1.fom"), ({"fom": 0.0}, "AdcEnergyConfigV1.fom"),
    ({"fom_unit": "kWh"}, "AdcEnergyConfigV1.fom_unit"), ({"dac_energy_unit": "eV"}, "dac_energy_unit"),
    ({"dac_energy": -3.0, "dac_energy_source": "x"}, "AdcEnergyConfigV1.dac_energy"),
    ({"dac_energy": 3.0}, "dac_energy_source"), ({"fom_source": ""}, "fom_source")])
def test_bad_energy_input_names_the_parameter(kwargs, name):
    with pytest.raises(AdcEnergyError, match=name):
        AdcEnergyConfigV1(**kwargs)


def test_unpriceable_layer_is_named(model):
    hw = CrossbarConfigV2(per_layer={"*.mhsa.out_proj": {"adc": UniformAdcConfigV1(None, 4)}})
    with pytest.raises(AdcEnergyError, match=r"blocks\.0\.mhsa\.out_proj.*unbounded"):
        energy_report(model, hw)
    with pytest.raises(ValueError, match="linear_poss"):
        energy_report(model, CrossbarConfigV2(per_layer={"*.linear_poss": {"dac_bits": 4}}))


GRAPH = """
from sisyphus import tk
from memristor_asr.crossbar import CrossbarConfigV2, UniformAdcConfigV1
from memristor_asr.jobs.energy import EstimateAdcEnergyJob, WerEnergyReportJob

def py():
    entries = []
    for (p, r), wer in [((4, 4), 30.0), ((8, 8), 12.0), ((2, 6), 35.0)]:
        job = EstimateAdcEnergyJob(tk.Path({ckpt!r}), CrossbarConfigV2(adc=UniformAdcConfigV1(p, r)))
        tk.register_output(f"energy_{{p}}_{{r}}.json", job.out_json)
        tk.register_output(f"energy_{{p}}_{{r}}", job.out_energy)
        entries.append({{"label": f"ADC {{p}}+{{r}}", "wer": wer, "energy": job.out_energy}})
    report = WerEnergyReportJob(entries, title="tiny")
    tk.register_output("wer_vs_energy.md", report.out_table_md)
    tk.register_output("wer_vs_energy.png", report.out_plot)
"""


@pytest.mark.slow
def test_energy_jobs_through_manager(model, tmp_path):
    from memristor_asr.model import load_model
    from sis_helpers import make_setup, run_manager

    ckpt = str(tmp_path / "model.pt")
    save_model(model, ckpt)
    setup = make_setup(tmp_path / "s", GRAPH.format(ckpt=ckpt))
    run_manager(setup, timeout=900)
    out = setup / "output"
    e44 = float((out / "energy_4_4").read_text())
    e88 = float((out / "energy_8_8").read_text())
    assert e88 == pytest.approx(2 ** 8 * e44)
    rep = json.loads((out / "energy_4_4.json").read_text())
    ref = energy_report(load_model(ckpt)[0], CrossbarConfigV2(adc=UniformAdcConfigV1(4, 4)))
    assert rep["total"] == pytest.approx(ref["total"]) and rep["total"]["adc_energy_per_second_j"] == e44
    assert rep["layers"]["blocks.0.mhsa.linear_pos"]["rows_per_frame"] == 2.0
    md = (out / "wer_vs_energy.md").read_text().splitlines()
    rows = [line for line in md if line.startswith("| ADC")]
    # sorted by energy (2+6 and 4+4 cost the same: WER breaks the tie); 2+6 is dominated by 4+4
    assert [r.split(" | ")[0] for r in rows] == ["| ADC 4+4", "| ADC 2+6", "| ADC 8+8"]
    assert rows[0].endswith("| yes |") and rows[1].endswith("|  |") and rows[2].endswith("| yes |")
    assert (out / "wer_vs_energy.png").read_bytes()[:4] == b"\x89PNG"
