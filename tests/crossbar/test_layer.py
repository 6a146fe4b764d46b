"""CrossbarLinearV1: ideal limit = QAT layer, fast path = per-cell reference (mean exactly,
noise statistically), DAC/ADC arithmetic, clipping counts, conversion errors."""
import pytest
import torch

from memristor_asr.crossbar import (
    CrossbarConfigV2, UniformAdcConfigV1, CrossbarConversionError, CrossbarLinearV1, DacV1, UniformAdcV1,
)
from memristor_asr.crossbar.programming import bit_planes
from memristor_asr.quant import QuantLinear
from quant_layers import calibrated_quant_linear

IDEAL = dict(dac_bits=None, adc=UniformAdcConfigV1(None, None), read_noise="off", device_model="ideal")
NO_ADC = dict(adc=UniformAdcConfigV1(None, None))


_qat_layer = calibrated_quant_linear


@pytest.mark.parametrize("bits,n_in,n_out,tile_rows,tile_cols,bias", [
    (4, 200, 70, 64, 32, True), (3, 128, 128, 128, 128, False), (8, 50, 9, 16, 4, True),
    (1.5, 130, 20, 128, 128, True), (2, 33, 17, 7, 5, True)])
def test_ideal_limit_equals_qat_output(bits, n_in, n_out, tile_rows, tile_cols, bias):
    q = _qat_layer(n_in, n_out, bits, bias)
    x = torch.randn(3, 11, n_in) * 2.5  # some inputs beyond the observed range: clipped alike
    xb = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(tile_rows=tile_rows, tile_cols=tile_cols, **IDEAL),
                                            seed=1, name="layer")
    with torch.no_grad():
        ref = q(x)
    y = xb(x)
    assert y.shape == ref.shape
    torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-5 * float(ref.abs().max()))


def test_bit_planes_recombine_to_integer_weights():
    levels = torch.randint(-7, 8, (13, 29), dtype=torch.int32)
    planes, sig = bit_planes(levels, 7)
    assert planes.shape == (3, 29, 13) and sig == [4, 2, 1]
    assert set(planes.unique().tolist()) <= {-1, 0, 1}
    recombined = sum(s * planes[b].to(torch.int32) for b, s in enumerate(sig)).T
    assert torch.equal(recombined, levels)


def test_fast_mean_equals_per_cell_reference_without_noise():
    q = _qat_layer(200, 40, 4)
    x = torch.randn(17, 200)
    xb = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(read_noise="off", tile_rows=64, **NO_ADC), 3, "layer")
    fast, ref = xb.column_currents(x), xb.column_currents_reference(x)
    assert fast.shape == ref.shape == (4, 17, 3 * 40)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-6 * float(ref.abs().max()))
    torch.testing.assert_close(xb(x), xb.forward_reference(x), rtol=1e-5, atol=1e-5)
    # with the default 4+4-bit ADC the digitised outputs agree except for float ties at rounding edges
    xb4 = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(read_noise="off", tile_rows=64), 3, "layer")
    same = torch.isclose(xb4(x), xb4.forward_reference(x), rtol=1e-5, atol=1e-6)
    assert same.float().mean() > 0.995


@pytest.mark.parametrize("noise", ["physical", "paper"])
def test_fast_noise_std_within_5_percent_of_reference(noise):
    q = _qat_layer(96, 8, 4, seed=2)
    cfg = CrossbarConfigV2(read_noise=noise, tile_rows=48, **NO_ADC)
    xb = CrossbarLinearV1.from_quant_linear(q, cfg, 5, "layer")
    x = torch.randn(1, 96)
    x[0, :10] = 0.0  # zero inputs: only Johnson noise (physical) / none (paper) from those rows
    reads = 20000
    fast = xb.column_currents(x.expand(reads, -1)).double()  # [2, reads, 24]
    ref = xb.column_currents_reference(x.expand(reads, -1), frames_per_chunk=2000).double()
    ratio = fast.std(1) / ref.std(1)
    assert ratio.min() > 0.95 and ratio.max() < 1.05, f"std ratio range {ratio.min():.3f} .. {ratio.max():.3f}"
    se = ref.std(1) / reads ** 0.5
    assert ((fast.mean(1) - ref.mean(1)).abs() < 5 * se).all()
    if noise == "physical":  # physical noise is small: ~1e-3 of a column current
        assert float((ref.std(1) / ref.mean(1).abs().clamp(min=1e-6)).median()) < 0.01



@pytest.mark.parametrize("noise", ["physical", "paper"])
def test_noise_std_product_matches_fp64(noise):
    """The read-noise std product (fp32) against the same sum in float64."""
    q = _qat_layer(300, 40, 5, seed=3)
    cfg = CrossbarConfigV2(read_noise=noise, dac_bits=8)
    xb = CrossbarLinearV1.from_quant_linear(q, cfg, 7, "layer")
    x = torch.randn(64, 300) * 2
    codes, levels = xb.dac.codes(x, xb.act_scale, xb.act_q_max)
    _, c0_tab, c1_tab, _ = xb._level_tables(levels, x.device)
    idx = codes + levels
    std = xb._read_noise_std(c0_tab[idx], c1_tab[idx]).double()
    c0 = xb._blocks(c0_tab[idx]).double().transpose(0, 1)  # [nb, N, rows]
    c1 = xb._blocks(c1_tab[idx]).double().transpose(0, 1)
    want = (torch.bmm(c1, xb.r_sum.double()) + 2 * c0.sum(-1, keepdim=True)).sqrt()
    assert std.shape == want.shape == (3, 64, xb.n_planes * 40)  # 300 rows: 3 row tiles
    rel = (std / want - 1).abs()
    assert float(rel.max()) < 1e-4, f"relative std error max {float(rel.max()):.2e}"


def test_noise_is_seeded_and_reseedable():
    q = _qat_layer(64, 16, 3)
    cfg = CrossbarConfigV2(read_noise="paper")
    a = CrossbarLinearV1.from_quant_linear(q, cfg, 9, "layer")
    b = CrossbarLinearV1.from_quant_linear(q, cfg, 9, "layer")
    c = CrossbarLinearV1.from_quant_linear(q, cfg, 10, "layer")
    x = torch.randn(20, 64)
    assert torch.equal(a.r_diff, b.r_diff) and not torch.equal(a.r_diff, c.r_diff)
    ya = a(x)
    assert torch.equal(ya, b(x))
    assert not torch.equal(ya, a(x))  # the read-noise stream advances
    a.seed_read_noise(123)
    b.seed_read_noise(123)
    assert torch.equal(a(x), b(x))


def test_dac_grid_and_ideal_dac():
    dac = DacV1(3, 0.6)
    s_a, q_max = 0.01, 127
    x = torch.tensor([0.0, 0.3, 0.5, 1.27, 5.0, -5.0, -0.7])  # in units: u = x / 1.27
    codes, levels = dac.codes(x, s_a, q_max)
    assert levels == 4
    assert codes.tolist() == [0, 1, 2, 4, 4, -4, -2]
    u, v = dac(x, s_a, q_max)
    torch.testing.assert_close(v, u * 0.6)
    ideal = DacV1(None, 0.6)
    c, lev = ideal.codes(x, s_a, q_max)
    assert lev == 127 and c.tolist() == [0, 30, 50, 127, 127, -127, -70]


def test_uniform_adc_rounds_clips_and_counts():
    adc = UniformAdcV1(precision_bits=2, range_bits=2, correction_factor=1000.0)
    current = torch.tensor([0.0, 0.00011, 0.0013, 0.0025, -0.0031, 0.0021, 0.00214])
    v, clipped = adc(current)
    # x1000 -> [0, 0.11, 1.3, 2.5, -3.1, 2.1, 2.14]; step 0.25, limit +-2
    assert v.tolist() == pytest.approx([0.0, 0.0, 1.25, 2.0, -2.0, 2.0, 2.0])
    assert int(clipped) == 3  # 2.5, -3.1, 2.14 (-> 2.25) exceed 2; 2.1 rounds to 2.0: not clipped
    ideal = UniformAdcV1(None, None, 1000.0)
    v, clipped = ideal(current)
    torch.testing.assert_close(v, current * 1000.0)
    assert int(clipped) == 0


def test_clipping_counted_per_layer():
    q = _qat_layer(128, 32, 4)
    x = torch.randn(40, 128) * 3
    wide_cfg = CrossbarConfigV2(read_noise="off", adc=UniformAdcConfigV1(4, 8))
    narrow_cfg = CrossbarConfigV2(read_noise="off", adc=UniformAdcConfigV1(4, 1))
    wide = CrossbarLinearV1.from_quant_linear(q, wide_cfg, 1, "layer")
    narrow = CrossbarLinearV1.from_quant_linear(q, narrow_cfg, 1, "layer")
    wide(x)
    narrow(x)
    sw, sn = wide.clipping_stats(), narrow.clipping_stats()
    assert sw["outputs"] == sn["outputs"] == 40 * 3 * 32
    # independent count: at r = 1 the limit is +-2^0 = 1 full-scale pair, i.e. 16 steps of 1/16
    pre = narrow.column_currents(x) * narrow.cfg.correction_factor
    expected = int((torch.round(pre * 16).abs() > 16).sum())
    assert sn["clipped"] == expected > 0 and sw["clipped"] == 0
    assert sn["fraction"] == pytest.approx(expected / sn["outputs"])
    narrow.reset_statistics()
    assert narrow.clipping_stats()["outputs"] == 0


def test_conversion_errors_name_the_layer():
    q = QuantLinear(16, 4, weight_bits=4, name="blk.ff")
    with pytest.raises(CrossbarConversionError, match="blk.ff.*never observed"):
        CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(), 1, "blk.ff")

    class Broken(torch.nn.Module):  # contract violation: levels off the grid
        def __init__(self):
            super().__init__()
            self.inner = _qat_layer(16, 4, 3)
            self.in_features, self.out_features = 16, 4
            self.input_quantizer, self.weight_quantizer = self.inner.input_quantizer, self.inner.weight_quantizer
            self.weight, self.bias = self.inner.weight, self.inner.bias

        def integer_weight(self):
            levels, s = self.inner.integer_weight()
            return levels * 5, s

    with pytest.raises(CrossbarConversionError, match="'odd'.*not on the 3-bit grid"):
        CrossbarLinearV1.from_quant_linear(Broken(), CrossbarConfigV2(), 1, "odd")


def test_nominal_cells_without_variation_are_deterministic():
    q = _qat_layer(64, 8, 3)
    cfg = CrossbarConfigV2(device_variation=False, read_noise="off", **NO_ADC)
    a = CrossbarLinearV1.from_quant_linear(q, cfg, 1, "layer")
    b = CrossbarLinearV1.from_quant_linear(q, cfg, 2, "layer")
    assert torch.equal(a.r_diff, b.r_diff)
    d = a.iv.r_on - a.iv.r_off
    allowed = torch.tensor([0.0, d, -d])
    assert all(float((allowed - v).abs().min()) < 1e-6 for v in a.r_diff.unique())
    assert 0.1 < a.iv.r_on < 0.2 and 0.8 < a.iv.r_off < 0.9  # nominal LRS ~4.5 kOhm, HRS ~76 kOhm


@pytest.mark.cuda
def test_cuda_layer_matches_reference():
    q = _qat_layer(100, 30, 4).cuda()
    xb = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(read_noise="off", **NO_ADC), 3, "layer")
    x = torch.randn(9, 100, device="cuda")
    assert xb.r_diff.is_cuda
    torch.testing.assert_close(xb.column_currents(x), xb.column_currents_reference(x), rtol=1e-4, atol=1e-9)
