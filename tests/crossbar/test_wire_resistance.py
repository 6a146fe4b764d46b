"""Wire resistance (IR drop, issue #18): the exact network solver against ngspice and closed
forms, the fast attenuation against the exact solver, and the layer's paths against each other."""
import numpy as np
import pytest
import torch

from memristor_asr.crossbar import CrossbarConfigV2, CrossbarLinearV1, UniformAdcConfigV1
from memristor_asr.crossbar.config import CrossbarConfigError
from memristor_asr.crossbar.diagnostics import clipping_report
from memristor_asr.crossbar.iv import ideal_iv, synaptogen_iv
from memristor_asr.crossbar.wire_network import ngspice_available, solve_array, solve_array_ngspice
from memristor_asr.crossbar.wires import attenuation
from quant_layers import calibrated_quant_linear

IV = synaptogen_iv()


def _states(rows, cols, p_lrs, seed):
    rng = np.random.default_rng(seed)
    return np.where(rng.random((rows, cols)) < p_lrs, IV.r_on, IV.r_off)


def _inputs(rows, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.6, 0.6, rows) * (rng.random(rows) < 0.8)


_qat_layer = calibrated_quant_linear


# ------------------------------------------------------------------------------ exact solver
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed (setup.sh installs it)")
def test_exact_solver_matches_ngspice_on_nonlinear_cells():
    r = _states(6, 5, 0.4, seed=0)
    v = _inputs(6, seed=1)
    ours = solve_array(v, r, IV, r_row=2.0, r_col=3.0).column_currents
    spice = solve_array_ngspice(v, r, IV, r_row=2.0, r_col=3.0)
    np.testing.assert_allclose(ours, spice, rtol=1e-6, atol=1e-12)
    # the wires matter at these resistances, so agreement is not the ideal sum twice
    ideal = IV.current(torch.tensor(v)[:, None], torch.tensor(r)).sum(0).numpy()
    assert np.max(np.abs(ideal - spice)) > 100 * np.max(np.abs(ours - spice))


def test_exact_solver_closed_forms():
    # one linear cell: V / (R_cell + r_row + r_col)
    lin = ideal_iv(8020.0, 0.6)
    g = lin.low[0]  # r = 0 is the on state of the ideal model
    cur = solve_array([0.5], np.zeros((1, 1)), lin, r_row=100.0, r_col=50.0).column_currents[0]
    assert cur == pytest.approx(0.5 / (1 / g + 150.0), rel=1e-10)
    # vanishing wire resistance: the ideal crossbar sum
    r, v = _states(8, 7, 0.3, seed=2), _inputs(8, seed=3)
    ideal = IV.current(torch.tensor(v)[:, None], torch.tensor(r)).sum(0).numpy()
    np.testing.assert_allclose(solve_array(v, r, IV, 1e-6, 1e-6).column_currents, ideal, rtol=1e-6)
    with pytest.raises(ValueError, match="r_row"):
        solve_array(v, r, IV, r_row=-1.0, r_col=1.0)


# ------------------------------------------------------------------------------ fast approximation
@pytest.mark.slow
@pytest.mark.parametrize("ohm,mean_bound,max_bound", [(0.1, 0.005, 0.01), (1.0, 0.02, 0.05)])
def test_attenuation_error_against_exact_network_is_bounded(ohm, mean_bound, max_bound):
    """128 x 128 array, 25 % LRS cells, random inputs: per column, the error in units of the
    column's total |current|; the approximation is at least 3x better than ignoring the wires."""
    r = _states(128, 128, 0.25, seed=4)
    a = attenuation(torch.tensor(r), IV, ohm, ohm, v_lin=0.3).numpy()
    errs, naive = [], []
    for seed in (5, 6):
        v = _inputs(128, seed)
        exact = solve_array(v, r, IV, ohm, ohm).column_currents
        cells = IV.current(torch.tensor(v)[:, None], torch.tensor(r)).numpy()
        scale = np.abs(cells).sum(0)
        errs.append(np.abs((cells * a).sum(0) - exact) / scale)
        naive.append(np.abs(cells.sum(0) - exact) / scale)
    errs, naive = np.concatenate(errs), np.concatenate(naive)
    assert errs.mean() < mean_bound and errs.max() < max_bound, (errs.mean(), errs.max())
    assert errs.mean() * 3 < naive.mean()


def test_layer_column_currents_follow_the_exact_arrays():
    """A layer of one row tile and one column tile per plane: each plane's differential column
    current (noise off, ideal DAC) against the exact solve of its positive and negative array."""
    q = _qat_layer(48, 24, bits=3)
    cfg = CrossbarConfigV2(dac_bits=None, read_noise="off", tile_rows=48, tile_cols=24,
                           wordline_resistance=1.0, bitline_resistance=1.0)
    xb = CrossbarLinearV1.from_quant_linear(q, cfg, seed=7, name="layer")
    plain = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(**{**cfg.__dict__, "wordline_resistance": 0.0,
                                                                     "bitline_resistance": 0.0}), seed=7, name="layer")
    x = torch.randn(3, 48) * 2
    got = xb.column_currents(x).double()  # [1, N, P*out]
    ideal = plain.column_currents(x).double()
    codes, levels = xb.dac.codes(x, xb.act_scale, xb.act_q_max)
    volts = (codes.double() / levels * cfg.v_read_max).numpy()
    worst_fast, worst_naive = 0.0, 0.0
    for b in range(xb.n_planes):
        r_pos, r_neg = (t.double().numpy() for t in xb.cell_states(b, 0))
        cols = slice(b * 24, (b + 1) * 24)
        for n in range(3):
            exact = (solve_array(volts[n], r_pos, IV, 1.0, 1.0).column_currents
                     - solve_array(volts[n], r_neg, IV, 1.0, 1.0).column_currents)
            scale = np.abs(IV.current(torch.tensor(volts[n])[:, None], torch.tensor(r_pos)).numpy()).sum(0)
            worst_fast = max(worst_fast, float(np.max(np.abs(got[0, n, cols].numpy() - exact) / scale)))
            worst_naive = max(worst_naive, float(np.max(np.abs(ideal[0, n, cols].numpy() - exact) / scale)))
    assert worst_fast < 0.02 and worst_fast * 3 < worst_naive, (worst_fast, worst_naive)


# ------------------------------------------------------------------------------ layer paths
def test_fast_fused_and_reference_paths_agree_with_wires():
    q = _qat_layer(150, 40)
    cfg = CrossbarConfigV2(read_noise="off", wordline_resistance=0.5, bitline_resistance=1.0)
    xb = CrossbarLinearV1.from_quant_linear(q, cfg, seed=2, name="layer")
    x = torch.randn(5, 150) * 2
    fused = xb(x)
    assert xb.uses_fused_path(x.device)
    torch_path = xb._digitize_and_combine(xb._column_codes(x.reshape(-1, 150)))
    reference = xb.forward_reference(x)
    torch.testing.assert_close(fused, torch_path, rtol=0, atol=1e-4)
    torch.testing.assert_close(reference, fused, rtol=0, atol=1e-4)
    # the wires change the outputs, and the IR-drop figures reach the clipping report
    plain = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(read_noise="off"), seed=2, name="layer")
    assert not torch.allclose(plain(x), fused, atol=1e-3)
    rep = clipping_report(torch.nn.ModuleDict({"layer": xb}))["layer"]["ir_drop"]
    assert 0 < rep["current_loss"] < 1 and rep["rms_error_lsb"] > 0
    assert "ir_drop" not in clipping_report(torch.nn.ModuleDict({"layer": plain}))["layer"]


def test_current_loss_grows_with_the_resistance():
    q = _qat_layer(128, 32)
    losses = []
    for ohm in (0.1, 1.0, 3.0):
        cfg = CrossbarConfigV2(read_noise="off", wordline_resistance=ohm, bitline_resistance=ohm)
        losses.append(CrossbarLinearV1.from_quant_linear(q, cfg, seed=1, name="layer").ir_drop_stats()["current_loss"])
    assert 0 < losses[0] < losses[1] < losses[2] < 1


def test_ideal_wires_are_bit_identical_and_not_hashed():
    q = _qat_layer(100, 20)
    x = torch.randn(4, 100)
    base = CrossbarConfigV2()
    zero = CrossbarConfigV2(wordline_resistance=0.0, bitline_resistance=0)
    assert base.__sis_state__() == zero.__sis_state__()
    assert not {"wordline_resistance", "bitline_resistance"} & set(base.__sis_state__())
    assert "bitline_resistance" in CrossbarConfigV2(bitline_resistance=1.0).__sis_state__()
    a = CrossbarLinearV1.from_quant_linear(q, base, seed=3, name="layer")
    b = CrossbarLinearV1.from_quant_linear(q, zero, seed=3, name="layer")
    assert b.wired_diff is None
    assert torch.equal(a(x), b(x))


@pytest.mark.parametrize("field", ["wordline_resistance", "bitline_resistance"])
def test_negative_or_infinite_resistance_is_rejected_by_name(field):
    with pytest.raises(CrossbarConfigError, match=f"CrossbarConfigV2.{field}"):
        CrossbarConfigV2(**{field: -0.5})
    with pytest.raises(CrossbarConfigError, match=field):
        CrossbarConfigV2(**{field: float("inf")})
    cfg = CrossbarConfigV2(per_layer={"*.linear_pos": {field: -1.0}})
    with pytest.raises(CrossbarConfigError, match=r"layer 'enc.0.linear_pos'.*" + field):
        cfg.for_layer("enc.0.linear_pos")


def test_adc_settings_unchanged_by_wire_options():
    cfg = CrossbarConfigV2(adc=UniformAdcConfigV1(2, 6), wordline_resistance=1.0)
    assert "wires 1/0 ohm" in cfg.describe()


def test_cumulative_sum_form_equals_the_coupling_matrices():
    from memristor_asr.crossbar.wires import _delta, wire_coupling

    g = torch.rand(20, 13, dtype=torch.float64)
    k, kc = wire_coupling(20, 13)
    torch.testing.assert_close(_delta(g, 0.3, 0.7, [(0, 13)]), 0.3 * g @ kc + 0.7 * k @ g)
    # two arrays side by side: each word line ends at its own array's edge
    two = _delta(g, 0.3, 0.7, [(0, 6), (6, 13)])
    torch.testing.assert_close(two[:, 6:], _delta(g[:, 6:], 0.3, 0.7, [(0, 7)]))
