"""Whole-model conversion: every QuantLinear replaced, per-layer ADC overrides, bit-reproducible
draws independent of memory chunking, the legacy V1 description giving the same draw as V2,
clipping report and pre-ADC histogram PNG."""
import torch
import pytest

from memristor_asr.crossbar import (
    CrossbarConfigV1, CrossbarConfigV2, CrossbarLinearV1, UniformAdcConfigV1, clipping_report, convert_to_crossbars,
    crossbar_layers, enable_pre_adc_histograms, plot_pre_adc_histograms, pre_adc_histograms, seed_read_noise,
)
from memristor_asr.quant import QuantLinear, calibration


class Block(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ff = QuantLinear(d, 2 * d, weight_bits=3, name="ff")
        self.out = QuantLinear(2 * d, d, weight_bits=3, name="out")
        self.linear_pos = QuantLinear(d, d, bias=False, weight_bits=3, name="linear_pos")
        self.norm = torch.nn.LayerNorm(d)

    def forward(self, x, pos):
        return self.norm(x + self.out(torch.relu(self.ff(x)))) + self.linear_pos(pos)


class Tiny(torch.nn.Module):
    def __init__(self, d=48):
        super().__init__()
        self.blocks = torch.nn.ModuleList([Block(d) for _ in range(2)])
        self.head = torch.nn.Linear(d, 5)  # stays digital

    def forward(self, x):
        pos = torch.linspace(-20, 20, x.shape[-2]).unsqueeze(-1).expand(x.shape[-2], x.shape[-1])  # wide values
        for b in self.blocks:
            x = b(x, pos)
        return self.head(x)


def _model(seed=0):
    torch.manual_seed(seed)
    m = Tiny()
    with calibration(m):
        m(torch.randn(4, 30, 48))
    return m


def test_converts_every_quant_linear_and_keeps_digital_parts():
    m = _model()
    x = torch.randn(2, 30, 48)
    convert_to_crossbars(m, CrossbarConfigV1(read_noise="off", tile_rows=32), seed=1)
    layers = crossbar_layers(m)
    assert sorted(layers) == sorted(f"blocks.{i}.{n}" for i in range(2) for n in ("ff", "out", "linear_pos"))
    assert not any(isinstance(mod, QuantLinear) for mod in m.modules())
    assert isinstance(m.head, torch.nn.Linear) and not m.training
    assert m(x).shape == (2, 30, 5)


def test_ideal_conversion_reproduces_the_qat_model():
    m = _model()
    x = torch.randn(2, 30, 48)
    with torch.no_grad():
        ref = m.eval()(x)
    ideal = CrossbarConfigV2(dac_bits=None, adc=UniformAdcConfigV1(None, None), read_noise="off",
                             device_model="ideal")
    convert_to_crossbars(m, ideal, seed=1)
    torch.testing.assert_close(m(x), ref, rtol=1e-4, atol=1e-4)


def test_draws_are_bit_reproducible_and_independent_of_chunking():
    x = torch.randn(2, 30, 48)
    cfg = CrossbarConfigV2(read_noise="paper", cycles_before_programming=2, tile_rows=32, tile_cols=40)
    a = convert_to_crossbars(_model(), cfg, seed=7)
    b = convert_to_crossbars(_model(), cfg, seed=7, max_cells_per_chunk=1000)  # one tile per chunk
    c = convert_to_crossbars(_model(), cfg, seed=8)
    for name, la in crossbar_layers(a).items():
        assert torch.equal(la.r_diff, crossbar_layers(b)[name].r_diff)
        assert torch.equal(la.r_sum, crossbar_layers(b)[name].r_sum)
        assert not torch.equal(la.r_diff, crossbar_layers(c)[name].r_diff)
    seed_read_noise(a, 7, "utt1")
    seed_read_noise(b, 7, "utt1")
    ya, yb = a(x), b(x)
    assert torch.equal(ya, yb)
    seed_read_noise(a, 7, "utt1")
    assert torch.equal(a(x), ya)


def test_per_layer_adc_override_reduces_positional_clipping_and_histograms(tmp_path):
    m = _model()
    x = torch.randn(2, 30, 48)
    base = CrossbarConfigV2(read_noise="off", adc=UniformAdcConfigV1(4, 4))
    convert_to_crossbars(m, base, seed=1)
    m(x)
    rep = clipping_report(m)
    # positional inputs are equal across features: their column sums add up coherently and clip
    assert rep["blocks.0.linear_pos"]["fraction"] > 0.005 and rep["blocks.0.ff"]["fraction"] == 0.0
    assert rep["__total__"]["outputs"] == sum(v["outputs"] for k, v in rep.items() if k != "__total__")

    m2 = _model()
    override = CrossbarConfigV2(read_noise="off", per_layer={"*.linear_pos": {"adc": UniformAdcConfigV1(4, 8)}})
    convert_to_crossbars(m2, override, seed=1)
    assert crossbar_layers(m2)["blocks.1.linear_pos"].cfg.adc == UniformAdcConfigV1(4, 8)
    assert crossbar_layers(m2)["blocks.1.ff"].cfg.adc == UniformAdcConfigV1(4, 4)
    enable_pre_adc_histograms(m2)
    m2(x)
    rep2 = clipping_report(m2)
    assert rep2["blocks.0.linear_pos"]["fraction"] == 0.0
    assert rep2["blocks.0.ff"]["fraction"] == rep["blocks.0.ff"]["fraction"]
    hists = pre_adc_histograms(m2)
    h = hists["blocks.0.linear_pos"]
    assert sum(h["counts"]) + h["underflow"] + h["overflow"] == rep2["blocks.0.linear_pos"]["outputs"]
    assert h["clip_value"] == 128.0
    png = tmp_path / "hist.png"
    plot_pre_adc_histograms(hists, str(png), title="test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_legacy_v1_description_gives_the_same_draw_as_v2():
    """A CrossbarConfigV1 (flat ADC fields, per-layer ADC override) programs and reads exactly like
    the equivalent V2 description: same states, same noisy outputs, same clipping counts."""
    x = torch.randn(2, 30, 48)
    v1 = CrossbarConfigV1(read_noise="physical", adc_precision_bits=3, adc_range_bits=3, tile_rows=32,
                          per_layer={"*.linear_pos": {"adc_range_bits": 6}})
    v2 = CrossbarConfigV2(read_noise="physical", adc=UniformAdcConfigV1(3, 3), tile_rows=32,
                          per_layer={"*.linear_pos": {"adc": UniformAdcConfigV1(3, 6)}})
    a, b = convert_to_crossbars(_model(), v1, seed=5), convert_to_crossbars(_model(), v2, seed=5)
    for name, la in crossbar_layers(a).items():
        lb = crossbar_layers(b)[name]
        assert la.cfg == lb.cfg and torch.equal(la.r_diff, lb.r_diff) and torch.equal(la.r_sum, lb.r_sum)
    seed_read_noise(a, 5, "u")
    seed_read_noise(b, 5, "u")
    assert torch.equal(a(x), b(x))
    ra, rb = clipping_report(a), clipping_report(b)
    assert ra == rb and ra["blocks.0.linear_pos"]["adc"] == "uniform p=3 r=6"


def test_pattern_typo_and_model_without_quant_layers_are_errors():
    with pytest.raises(ValueError, match="matches no crossbar layer"):
        convert_to_crossbars(_model(), CrossbarConfigV1(per_layer={"*.linear_pso": {"adc_range_bits": 8}}), seed=1)
    with pytest.raises(ValueError, match="no QuantLinear"):
        convert_to_crossbars(torch.nn.Sequential(torch.nn.Linear(3, 3)), CrossbarConfigV1(), seed=1)


def test_bare_quant_linear_is_returned_converted():
    q = QuantLinear(20, 6, weight_bits=4)
    with calibration(q):
        q(torch.randn(8, 20))
    xb = convert_to_crossbars(q, CrossbarConfigV1(), seed=3)
    assert isinstance(xb, CrossbarLinearV1) and xb(torch.randn(4, 20)).shape == (4, 6)


def test_cycling_before_programming_keeps_programmed_states_sane():
    plain = convert_to_crossbars(_model(), CrossbarConfigV1(), seed=4)
    cycled = convert_to_crossbars(_model(), CrossbarConfigV1(cycles_before_programming=5), seed=4)
    a, b = crossbar_layers(plain)["blocks.0.ff"], crossbar_layers(cycled)["blocks.0.ff"]
    assert not torch.equal(a.r_diff, b.r_diff)
    for layer in (a, b):  # (LRS, HRS) pairs: r_pos - r_neg about -0.69 with ~0.04 spread
        d = layer.r_diff[layer.r_diff < -0.3]
        assert -0.75 < float(d.mean()) < -0.62 and float(d.std()) < 0.08
    assert float(b.r_diff[b.r_diff < -0.3].mean()) == pytest.approx(float(a.r_diff[a.r_diff < -0.3].mean()), abs=0.02)


def test_strided_histogram_bins_every_kth_frame_across_batches():
    """The job bins every 8th frame: over several batches of odd lengths, exactly the frames
    0, k, 2k, ... of the concatenated stream are binned, with their values."""
    from memristor_asr.crossbar import PreAdcHistogram

    torch.manual_seed(0)
    frames = [torch.randn(2, n, 6) * 20 for n in (5, 7, 3, 9)]  # [row tiles, frames, columns]
    sampled = PreAdcHistogram(-8, 8, 64, frame_stride=3)
    for f in frames:
        sampled.update(f, scale=0.5)
    stream = torch.cat(frames, dim=1)
    exact = PreAdcHistogram(-8, 8, 64)
    exact.update(stream[:, ::3] * 0.5)
    assert torch.equal(sampled.counts, exact.counts)
    assert (sampled.underflow, sampled.overflow) == (exact.underflow, exact.overflow)
    total = sampled.counts.sum() + sampled.underflow + sampled.overflow
    assert total == 2 * len(range(0, stream.shape[1], 3)) * 6
    assert exact.underflow > 0 and exact.overflow > 0  # the range test is exercised
    with pytest.raises(ValueError, match="frame_stride"):
        PreAdcHistogram(frame_stride=0)


def test_a_checkpoint_that_cannot_go_on_crossbars_is_named(tmp_path):
    """A float checkpoint, or a QAT checkpoint that never saw data, given to a simulation: one
    error naming the checkpoint file and what is wrong."""
    from memristor_asr.crossbar import CrossbarConversionError, load_crossbar_model
    from memristor_asr.model import ConformerCtcModelV1, demo_config, save_model
    from memristor_asr.quant import QuantConfigV1

    vocab = ["<blank>", "a", "b"]
    float_ckpt, qat_ckpt = str(tmp_path / "float.pt"), str(tmp_path / "qat_untrained.pt")
    save_model(ConformerCtcModelV1(demo_config(vocab, QuantConfigV1())), float_ckpt)
    save_model(ConformerCtcModelV1(demo_config(vocab, QuantConfigV1(weight_bits=4))), qat_ckpt)
    with pytest.raises(ValueError, match=r"checkpoint .*float\.pt: .*no QuantLinear.*needs a QAT checkpoint"):
        load_crossbar_model(float_ckpt, CrossbarConfigV2(), seed=1)
    with pytest.raises(CrossbarConversionError, match=r"checkpoint .*qat_untrained\.pt: layer 'blocks\.0\.[a-z0-9_.]+'"
                                                      r": its input quantizer never observed data"):
        load_crossbar_model(qat_ckpt, CrossbarConfigV2(), seed=1)
    with pytest.raises(FileNotFoundError, match="missing.pt: checkpoint does not exist"):
        load_crossbar_model(str(tmp_path / "missing.pt"), CrossbarConfigV2(), seed=1)
