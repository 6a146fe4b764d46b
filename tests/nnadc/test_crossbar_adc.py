"""The NNADC table as a crossbar column ADC: an ideal table behaves like a uniform ADC."""
import numpy as np
import pytest
import torch

from memristor_asr.nnadc.design.conversion_law import ideal_codes
from memristor_asr.nnadc.export.crossbar_adc import NnadcTableAdcV1


def _table(tmp_path, n_bits=6, instances=3, transfer="linear", corrupt=False):
    levels = np.linspace(0, 1, 2049)
    codes = np.stack([ideal_codes(levels, n_bits, transfer)] * instances).astype(np.int32)
    if corrupt:
        codes[1] = np.clip(codes[1] + 1, 0, 2**n_bits - 1)  # instance 1 reads one code high
    path = tmp_path / "t.npz"
    np.savez(path, input_levels=levels, codes=codes, n_bits=n_bits, transfer=transfer, sigma=0.0, seed=0)
    return str(path)


def test_ideal_table_matches_a_uniform_adc(tmp_path):
    adc = NnadcTableAdcV1(_table(tmp_path), range_bits=2, correction_factor=2.0)
    current = torch.linspace(-1.9, 1.9, 1001)[None, :] * torch.ones(4, 1)  # +-1.9 full-scale pairs, r=2 -> +-2
    values, clipped = adc(current.clone() / 2.0)
    step = 4 / 2**6
    assert int(clipped) == 0
    assert (values - current).abs().max() <= step / 2 * (1 + 1e-4) + 4 / 2048  # mid-rise, plus the table grid
    assert abs(float((values - current).mean())) < step / 10  # no offset
    over, clipped = adc(torch.tensor([[3.0, -3.0, 0.0]]) / 2.0)
    assert int(clipped) == 2
    assert over[0, 0] == pytest.approx(2 - step / 2) and over[0, 1] == pytest.approx(-2 + step / 2)


def test_each_column_is_one_instance(tmp_path):
    adc = NnadcTableAdcV1(_table(tmp_path, corrupt=True), range_bits=1, correction_factor=1.0)
    v = torch.zeros(2, 5, 6)  # [row tiles, N, columns]
    out = v.clone()
    adc.quantize_scaled_(out)
    # tile 0: columns 0..5 -> instances 0,1,2,0,1,2; instance 1 is one code high
    assert torch.equal(out[0, 0] - out[0, 0, 0], torch.tensor([0.0, 1, 0, 0, 1, 0]))
    # tile 1 continues the count: instances 0,1,2,0,1,2 shifted by 6 -> same pattern
    assert torch.equal(out[1, 0] - out[1, 0, 0], torch.tensor([0.0, 1, 0, 0, 1, 0]))


def test_log_table_decodes_to_linear_values(tmp_path):
    adc = NnadcTableAdcV1(_table(tmp_path, n_bits=8, transfer="log2"), range_bits=1, correction_factor=1.0)
    x = torch.linspace(-0.45, 0.45, 301)[None]
    y, _ = adc(x.clone())
    # log quantization: fine steps near the bottom of the range, coarse near the top, error < 1 % of range
    assert (y - x).abs().max() < 0.01


def test_table_adc_config_builds_the_table_converter(tmp_path):
    """The typed hardware description reaches this converter in one step:
    TableAdcConfigV1(table, range_bits, instance_offset).build(c)."""
    from memristor_asr.crossbar import CrossbarConfigV2, TableAdcConfigV1

    path = _table(tmp_path)
    cfg = CrossbarConfigV2(adc=TableAdcConfigV1(path, range_bits=2, instance_offset=1), correction_factor=2.0)
    adc = cfg.adc.build(cfg.correction_factor)
    assert isinstance(adc, NnadcTableAdcV1) and adc.n_bits == 6 and adc.instance_offset == 1
    assert adc.correction_factor == 2.0 and adc.clip_value == 2.0
    ref = NnadcTableAdcV1(path, 2, 2.0, 1)
    x = torch.linspace(-1e-3, 1e-3, 77)[None].repeat(2, 1)
    assert torch.equal(adc(x.clone())[0], ref(x.clone())[0])


def test_reference_table_offsets_are_static_and_zero_mean(tmp_path):
    from memristor_asr.nnadc.export.transfer_table import reference_transfer_table, write_transfer_table

    levels, ideal = reference_transfer_table(6, 1025, n_instances=4)
    assert (ideal == ideal_codes(levels, 6, "linear")[None]).all()
    levels, codes = reference_transfer_table(6, 1025, n_instances=4, offset_lsb=2, seed=5)
    inner = slice(100, -100)  # away from the ends, where an offset clips
    diff = codes[:, inner] - ideal[:, inner]
    assert (diff == diff[:, :1]).all()  # one static offset per instance
    assert sorted(diff[:, 0].tolist()) == [-2, -2, 2, 2]
    assert (reference_transfer_table(6, 1025, 4, 2, seed=5)[1] == codes).all()
    assert reference_transfer_table(6, 1025, 5, 2)[1][:, 512].tolist().count(ideal[0, 512]) == 1  # odd: one unshifted
    # through the column ADC: at zero input, the +2 instances read two steps high, the -2 ones two low
    path = str(tmp_path / "ref.npz")
    write_transfer_table(path, levels, codes, 6, "linear", 0.0, 5)
    adc = NnadcTableAdcV1(path, range_bits=2, correction_factor=1.0)
    out, _ = adc(torch.full((1, 4), 1e-3))
    step = 4 / 2**6
    assert torch.allclose(out[0] - step / 2, torch.as_tensor(diff[:, 0], dtype=torch.float32) * step)
    with pytest.raises(ValueError, match="offset_lsb=-1"):
        reference_transfer_table(6, 1025, offset_lsb=-1)


def test_calibrated_table_is_closer_to_the_ideal_codes_and_recorded(tiny_pipeline, tmp_path):
    """The per-instance LUT calibration (fitted on each instance's own ramp) brings the table's codes
    closer to the ideal converter's than the shift-and-add combiner does, on the same instances."""
    from memristor_asr.nnadc.design.conversion_law import ideal_codes
    from memristor_asr.nnadc.export.transfer_table import load_transfer_table, nnadc_transfer_table, save_transfer_table

    conv = tiny_pipeline
    levels, raw = nnadc_transfer_table(conv, 257, seed=3, n_instances=6, sigma=0.1)
    _, cal = nnadc_transfer_table(conv, 257, seed=3, n_instances=6, sigma=0.1, calibration="lut")
    ideal = ideal_codes(levels, conv.n_bits, conv.transfer)[None, :]
    err_raw = np.sqrt(np.mean((raw - ideal) ** 2))
    err_cal = np.sqrt(np.mean((cal - ideal) ** 2))
    assert err_cal < err_raw
    assert cal.dtype == np.int32 and cal.min() >= 0 and cal.max() < 2**conv.n_bits
    path = str(tmp_path / "t.npz")
    save_transfer_table(path, conv, levels, cal, seed=3, sigma=0.1, calibration="lut")
    assert str(load_transfer_table(path)["calibration"]) == "lut"
    with pytest.raises(ValueError, match="calibration"):
        nnadc_transfer_table(conv, 17, seed=3, calibration="spline")
