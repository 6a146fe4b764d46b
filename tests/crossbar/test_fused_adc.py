"""The fused CPU kernel (noise + ADC + recombination in one pass): its counter-based normal
draws follow the normal law and are independent; the fused forward equals the torch path
(noise off) and has its noise statistics (noise on); results do not depend on threads."""
import numpy as np
import pytest
import torch
from scipy import stats

from memristor_asr.crossbar import CrossbarConfigV2, UniformAdcConfigV1, CrossbarLinearV1, fused_adc
from memristor_asr.crossbar.diagnostics import PreAdcHistogram
from quant_layers import calibrated_quant_linear

pytestmark = pytest.mark.skipif(not fused_adc.available(), reason="fused kernel needs numba")

NO_ADC = dict(adc=UniformAdcConfigV1(None, None))


_qat_layer = calibrated_quant_linear


def _torch_path(xb, x):
    """The layer's torch path (what CUDA and table ADCs run) on CPU."""
    return xb._digitize_and_combine(xb._column_codes(x))


def test_normal_draws_follow_the_normal_law():
    z = fused_adc.normal_noise(2024, 400, 2501).astype(np.float64)  # odd width: the unpaired last column
    flat = z.ravel()
    n = flat.size
    assert abs(flat.mean()) < 5 / n ** 0.5
    assert abs(flat.std() - 1) < 5 / (2 * n) ** 0.5
    assert abs(stats.skew(flat)) < 5 * (6 / n) ** 0.5 and abs(stats.kurtosis(flat)) < 5 * (24 / n) ** 0.5
    assert stats.kstest(flat, "norm").pvalue > 1e-3
    for k in (2.0, 3.0, 4.0):  # tails: the fraction beyond k sigma
        want = 2 * stats.norm.sf(k)
        got = float(np.mean(np.abs(flat) > k))
        assert abs(got - want) < 5 * (want / n) ** 0.5 + 1e-6, (k, got, want)
    assert np.abs(flat).max() < 5.8  # 24-bit uniforms: Box-Muller radius stops at 5.77


def test_normal_draws_are_independent_across_columns_rows_pairs_and_keys():
    z = fused_adc.normal_noise(7, 600, 2000).astype(np.float64)
    bound = 5 / z.size ** 0.5 * 1.5
    half = z.shape[1] // 2
    pairs = {"adjacent columns": (z[:, :-1], z[:, 1:]), "adjacent rows": (z[:-1], z[1:]),
             "Box-Muller partners": (z[:, :half], z[:, half:]),
             "partners squared": (z[:, :half] ** 2, z[:, half:] ** 2),
             "other key": (z, fused_adc.normal_noise(8, 600, 2000).astype(np.float64))}
    for what, (a, b) in pairs.items():
        r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
        assert abs(r) < bound, f"{what}: correlation {r:.2e}"
    assert np.array_equal(fused_adc.normal_noise(7, 600, 2000), fused_adc.normal_noise(7, 600, 2000))


def test_fused_forward_equals_torch_path_without_noise():
    q = _qat_layer(300, 50, 4)  # 300 rows: 128 + 128 + 44 (a short last tile)
    x = torch.randn(40, 300) * 2
    for adc in ({}, NO_ADC, dict(adc=UniformAdcConfigV1(3, 2))):
        xb = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(read_noise="off", **adc), 3, "layer")
        assert xb.uses_fused_path(x.device)
        fused = xb(x)
        n_fused = xb.clipping_stats()
        xb.reset_statistics()
        ref = _torch_path(xb, x)
        n_ref = xb.clipping_stats()
        if adc == NO_ADC:
            torch.testing.assert_close(fused, ref, rtol=1e-5, atol=1e-5 * float(ref.abs().max()))
        else:  # integer codes: equal except for float ties at rounding edges
            assert torch.isclose(fused, ref, rtol=1e-5, atol=1e-6).float().mean() > 0.995
            assert n_fused["outputs"] == n_ref["outputs"]
            assert abs(n_fused["clipped"] - n_ref["clipped"]) <= 0.005 * n_ref["outputs"]
    assert n_ref["clipped"] > 0  # the 2-bit range clips


def test_clipped_counts_per_row_tile_match_an_independent_count():
    """Per-tile clipping counts (the papers' layers have only full 128-row tiles) equal a count of
    the rounded pre-ADC values outside the range, in both paths; the short tile clips least."""
    q = _qat_layer(300, 50, 4)  # row tiles of 128, 128, 44
    x = torch.randn(64, 300) * 2
    cfg = CrossbarConfigV2(read_noise="off", adc=UniformAdcConfigV1(3, 3))
    xb = CrossbarLinearV1.from_quant_linear(q, cfg, 3, "layer")
    v = xb._column_codes(x).round()  # [tiles, N, P*out], before the ADC
    want = [int((v[j].abs() > xb.adc.max_code).sum()) for j in range(v.shape[0])]
    per_path = {}
    for path in ("torch", "fused"):
        xb.reset_statistics()
        xb(x) if path == "fused" else _torch_path(xb, x)
        st = xb.clipping_stats()
        assert [t["rows"] for t in st["tiles"]] == [128, 128, 44]
        assert sum(t["clipped"] for t in st["tiles"]) == st["clipped"]
        assert sum(t["outputs"] for t in st["tiles"]) == st["outputs"] == v.numel()
        full = st["full_tiles"]
        assert full["tiles"] == 2 and full["clipped"] == sum(t["clipped"] for t in st["tiles"][:2])
        assert full["fraction"] == pytest.approx(full["clipped"] / full["outputs"])
        per_path[path] = [t["clipped"] for t in st["tiles"]]
    assert per_path["torch"] == want
    for got, ref in zip(per_path["fused"], want):  # float ties at rounding edges may differ
        assert abs(got - ref) <= 0.005 * v[0].numel()
    assert want[2] < min(want[:2]) and want[0] > 0


@pytest.mark.parametrize("noise", ["physical", "paper"])
def test_fused_noise_statistics_equal_torch_path(noise):
    q = _qat_layer(160, 12, 4, seed=2)
    xb = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(read_noise=noise, **NO_ADC), 5, "layer")
    x = torch.randn(1, 160).expand(20000, -1)
    fused, ref = xb(x).double(), _torch_path(xb, x).double()
    ratio = fused.std(0) / ref.std(0)
    assert ratio.min() > 0.95 and ratio.max() < 1.05, f"std ratio {ratio.min():.3f} .. {ratio.max():.3f}"
    se = ref.std(0) / x.shape[0] ** 0.5
    assert ((fused.mean(0) - ref.mean(0)).abs() < 5 * se).all()


def test_fused_results_do_not_depend_on_thread_count():
    q = _qat_layer(256, 96, 4, seed=4)
    cfg = CrossbarConfigV2(read_noise="paper", adc=UniformAdcConfigV1(6, 4))
    x = torch.randn(333, 256)
    before = torch.get_num_threads()
    outs = []
    try:
        for threads in (1, 2, 1):
            torch.set_num_threads(threads)
            xb = CrossbarLinearV1.from_quant_linear(q, cfg, 11, "layer")
            xb.seed_read_noise(5)
            outs.append(torch.cat([xb(x), xb(x[:17])]))
    finally:
        torch.set_num_threads(before)
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


def test_fused_noise_is_seeded_advances_and_reseeds():
    q = _qat_layer(64, 16, 3)
    xb = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(read_noise="paper", **NO_ADC), 9, "layer")
    x = torch.randn(20, 64)
    xb.seed_read_noise(1)
    y1, y2 = xb(x), xb(x)
    assert not torch.equal(y1, y2)  # each call draws new noise
    xb.seed_read_noise(1)
    assert torch.equal(xb(x), y1) and torch.equal(xb(x), y2)
    xb.seed_read_noise(2)
    assert not torch.equal(xb(x), y1)


def test_fused_histogram_samples_the_same_frames_as_the_torch_path():
    q = _qat_layer(200, 30, 4, seed=6)
    xb = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(read_noise="off"), 2, "layer")
    x = torch.randn(45, 200)
    hists = []
    for run in (lambda: xb(x), lambda: _torch_path(xb, x)):
        xb.pre_adc_histogram = PreAdcHistogram(frame_stride=4)
        run()
        run()  # sampling continues across calls (45 frames: offsets 0 and 3)
        hists.append(xb.pre_adc_histogram)
    assert hists[0].counts.sum() == hists[1].counts.sum() > 0
    assert torch.equal(hists[0].counts, hists[1].counts)
