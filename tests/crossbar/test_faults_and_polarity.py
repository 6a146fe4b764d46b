"""Beyond the papers (issue #18): stuck cells at a seeded rate, and a per-polarity correction
factor, both off by default with the existing job ids."""
import math

import pytest
import torch

from memristor_asr.crossbar import CrossbarConfigV2, CrossbarLinearV1, UniformAdcConfigV1
from memristor_asr.crossbar.config import CrossbarConfigError
from memristor_asr.crossbar.diagnostics import clipping_report
from memristor_asr.crossbar.stats import LSQ_CORRECTION_FACTOR_NEGATIVE, estimate_correction_factor
from quant_layers import calibrated_quant_linear

IDEAL = dict(dac_bits=None, adc=UniformAdcConfigV1(None, None), read_noise="off", device_model="ideal")


_qat_layer = calibrated_quant_linear


def _within_binomial(count, n, p, sigmas=5.0):
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p)) + 1


@pytest.mark.parametrize("lrs,hrs", [(0.01, 0.0), (0.0, 0.05), (0.001, 0.01)])
def test_stuck_cell_counts_follow_the_set_rates(lrs, hrs):
    q = _qat_layer(300, 128)  # 4-bit: 3 planes; 300 rows = 2 full tiles + a partial one
    cfg = CrossbarConfigV2(stuck_lrs_rate=lrs, stuck_hrs_rate=hrs, read_noise="off")
    xb = CrossbarLinearV1.from_quant_linear(q, cfg, seed=1, name="layer")
    n = 2 * 3 * 300 * 128
    assert xb.stuck.cells == n
    assert _within_binomial(xb.stuck.lrs, n, lrs) and _within_binomial(xb.stuck.hrs, n, hrs)
    # the faults reach the clipping report (the diagnostic of a draw)
    xb(torch.randn(4, 300))
    rep = clipping_report(torch.nn.ModuleDict({"layer": xb}))
    assert rep["layer"]["stuck_cells"]["lrs"] == xb.stuck.lrs
    assert rep["layer"]["stuck_cells"]["fraction"] == pytest.approx((xb.stuck.lrs + xb.stuck.hrs) / n)
    # seeded: the same draw gives the same faults, another draw others
    again = CrossbarLinearV1.from_quant_linear(q, cfg, seed=1, name="layer")
    other = CrossbarLinearV1.from_quant_linear(q, cfg, seed=2, name="layer")
    assert torch.equal(again.r_diff, xb.r_diff)
    assert not torch.equal(other.r_diff, xb.r_diff)


@pytest.mark.parametrize("field", ["stuck_lrs_rate", "stuck_hrs_rate"])
def test_every_cell_stuck_cancels_each_differential_pair(field):
    """All cells at one state: each pair reads zero, so the layer outputs its bias alone."""
    q = _qat_layer(40, 9)
    xb = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(**IDEAL, **{field: 1.0}), seed=3, name="layer")
    y = xb(torch.randn(5, 40))
    torch.testing.assert_close(y, q.bias.detach().expand(5, 9), rtol=0, atol=1e-6)


def test_fault_free_defaults_are_bit_identical_and_not_hashed():
    q = _qat_layer(150, 20)
    x = torch.randn(6, 150)
    base = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(), seed=4, name="layer")
    off = CrossbarConfigV2(stuck_lrs_rate=0.0, stuck_hrs_rate=0.0, correction_factor_negative=None)
    zero = CrossbarLinearV1.from_quant_linear(q, off, seed=4, name="layer")
    assert torch.equal(base.r_diff, zero.r_diff) and torch.equal(base(x), zero(x))
    state = CrossbarConfigV2().__sis_state__()
    assert not {"stuck_lrs_rate", "stuck_hrs_rate", "correction_factor_negative"} & set(state)
    assert "stuck_lrs_rate" in CrossbarConfigV2(stuck_lrs_rate=0.01).__sis_state__()


@pytest.mark.parametrize("kwargs,names", [
    ({"stuck_lrs_rate": 1.5}, "stuck_lrs_rate"), ({"stuck_hrs_rate": -0.1}, "stuck_hrs_rate"),
    ({"stuck_lrs_rate": 0.6, "stuck_hrs_rate": 0.6}, "stuck_lrs_rate + stuck_hrs_rate"),
    ({"correction_factor_negative": -3.0}, "correction_factor_negative"),
    ({"correction_factor_negative": float("nan")}, "correction_factor_negative")])
def test_bad_fault_rates_and_negative_factor_are_named(kwargs, names):
    with pytest.raises(CrossbarConfigError, match=names.replace("+", r"\+")):
        CrossbarConfigV2(**kwargs)
    with pytest.raises(CrossbarConfigError, match="blocks.0.ff"):
        CrossbarConfigV2(per_layer={"*.ff": kwargs}).for_layer("blocks.0.ff")


def test_negative_inputs_scaled_by_the_negative_factor():
    """Ideal cells read both polarities alike; c_negative = 2 c doubles what negative inputs add."""
    q = _qat_layer(64, 8)
    base = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(**IDEAL), seed=5, name="layer")
    c = CrossbarConfigV2().correction_factor
    pol = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(**IDEAL, correction_factor_negative=2 * c),
                                             seed=5, name="layer")
    b = q.bias.detach()
    neg, pos = -torch.rand(7, 64), torch.rand(7, 64)
    torch.testing.assert_close(pol(neg) - b, 2 * (base(neg) - b), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pol(pos), base(pos), rtol=1e-6, atol=1e-6)


def test_per_polarity_factor_fast_path_equals_per_cell_reference():
    q = _qat_layer(200, 30)
    cfg = CrossbarConfigV2(read_noise="off", tile_rows=64, adc=UniformAdcConfigV1(None, None),
                           correction_factor_negative=LSQ_CORRECTION_FACTOR_NEGATIVE)
    xb = CrossbarLinearV1.from_quant_linear(q, cfg, seed=6, name="layer")
    x = torch.randn(9, 200)
    fast, ref = xb.column_currents(x), xb.column_currents_reference(x)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-6 * float(ref.abs().max()))


@pytest.mark.slow
def test_negative_factor_constant_is_the_least_squares_estimate():
    """The constant the graph uses is what EstimateCorrectionFactorJob's defaults measure, and it
    fits negative inputs better than the positive inputs' c."""
    r = estimate_correction_factor()
    assert r["c_negative"] == pytest.approx(LSQ_CORRECTION_FACTOR_NEGATIVE, rel=1e-3)
    neg = [p for p in r["per_input"] if p["input"] < 0]

    def sq_err(c):
        return sum((p["input"] - c * p["mean_current"]) ** 2 for p in neg)

    assert sq_err(r["c_negative"]) < 0.2 * sq_err(r["c"])
