"""Read disturb: the candidates, the counts and the switching against a per-cell brute force on
independently rebuilt Synaptogen cells (each tile's cells equal ``Cells(size, seed)`` under the
same pulses, so the reference does not reuse the code under test)."""
import pytest
import torch

from memristor_asr.crossbar import CrossbarConfigV2, CrossbarLinearV1
from memristor_asr.crossbar.cells import Cells
from memristor_asr.crossbar.config import CrossbarConfigError
from memristor_asr.crossbar.diagnostics import clipping_report, reset_statistics
from memristor_asr.crossbar.params import load_synaptogen_params
from memristor_asr.crossbar.programming import bit_planes, derive_seed
from memristor_asr.crossbar.read_disturb import SAFE_FRACTION
from quant_layers import calibrated_quant_linear

SEED = 11


def _qat_layer(n_in, n_out, bits=3, seed=0):
    return calibrated_quant_linear(n_in, n_out, bits=bits, bias=False, seed=seed)


def _reference_cells(q, cfg, name="layer"):
    """Per-cell state of the programmed layer, rebuilt tile by tile: [P, in, out] tensors for the
    positive and negative cell of each pair: (in_lrs, u_set, reset threshold)."""
    levels, _ = q.integer_weight()
    planes, _ = bit_planes(levels, int(q.weight_quantizer.q_max))
    n_planes, n_in, n_out = planes.shape
    out = {k: torch.zeros(2, n_planes, n_in, n_out) for k in ("in_lrs", "u_set", "thr")}
    params = load_synaptogen_params(var_order=cfg.var_order)
    for b in range(n_planes):
        for j, r0 in enumerate(range(0, n_in, cfg.tile_rows)):
            r1 = min(r0 + cfg.tile_rows, n_in)
            for k, c0 in enumerate(range(0, n_out, cfg.tile_cols)):
                c1 = min(c0 + cfg.tile_cols, n_out)
                v = planes[b, r0:r1, c0:c1]
                cells = Cells.from_segments([2 * v.numel()], [derive_seed(SEED, name, b, j, k)], params=params)
                cells.apply_voltage(cfg.reset_voltage)
                cells.apply_voltage(torch.where(torch.cat([(v == 1).flatten(), (v == -1).flatten()]),
                                                cfg.set_voltage, 0.0))
                n = v.numel()
                for key, t in (("in_lrs", cells.in_lrs.float()), ("u_set", cells.u_set),
                               ("thr", cells.u_reset_threshold)):
                    out[key][0, b, r0:r1, c0:c1] = t[:n].view(v.shape)
                    out[key][1, b, r0:r1, c0:c1] = t[n:].view(v.shape)
    return out


def _brute_force_crossings(ref, codes, levels, v_read):
    """Cell reads crossing a threshold, summed over frames: SET (HRS, U <= U_SET), RESET (LRS, U > thr)."""
    volts = codes.double() / levels * v_read  # [N, in]
    u = volts[:, None, None, :, None]  # [N, pol, P, in, out]
    lrs = ref["in_lrs"].bool()[None]
    set_x = (~lrs & (u <= ref["u_set"].double()[None])).sum()
    reset_x = (lrs & (u > ref["thr"].double()[None])).sum()
    return int(set_x), int(reset_x)


def _inputs(q, n, seed, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, q.in_features, generator=g) * scale


def test_candidates_are_the_cells_a_full_scale_read_would_switch():
    q = _qat_layer(150, 140)  # two row tiles, two column tiles, 2 planes
    cfg = CrossbarConfigV2()
    layer = CrossbarLinearV1.from_quant_linear(q, cfg, seed=SEED, name="layer")
    ref = _reference_cells(q, cfg)
    c = layer.read_disturb.cand
    lrs = ref["in_lrs"].bool()
    expected_set = (~lrs & (ref["u_set"] >= -cfg.v_read_max))
    expected_reset = (lrs & (ref["thr"] < cfg.v_read_max))
    assert len(c.set_index) == int(expected_set.sum()) > 0
    assert len(c.reset_threshold) == int(expected_reset.sum())
    assert c.hrs_cells == int((~lrs).sum()) and c.lrs_cells == int(lrs.sum())
    # each candidate's (row, plane-column, polarity) and threshold match the rebuilt cell
    n_out = q.out_features
    tile_row = (c.set_index // layer.r_diff.shape[2]) % layer.r_diff.shape[1]
    col = c.set_index % layer.r_diff.shape[2]
    assert torch.equal(tile_row, c.set_row % cfg.tile_rows)
    pol = (c.set_sign < 0).long()
    thr = ref["u_set"][pol, col // n_out, c.set_row, col % n_out]
    assert torch.equal(thr, c.set_threshold)
    assert bool(expected_set[pol, col // n_out, c.set_row, col % n_out].all())
    # the package's fitted distribution: ~11 % of cycles have U_SET above -0.6 V
    assert 0.08 < len(c.set_index) / c.hrs_cells < 0.15


@pytest.mark.parametrize("v_read", [0.6, 0.55])
def test_counts_equal_a_per_cell_brute_force(v_read):
    q = _qat_layer(150, 140)
    cfg = CrossbarConfigV2(v_read_max=v_read)
    layer = CrossbarLinearV1.from_quant_linear(q, cfg, seed=SEED, name="layer")
    ref = _reference_cells(q, cfg)
    x1, x2 = _inputs(q, 5, 1), _inputs(q, 3, 2)
    layer(x1)
    layer(x2)
    codes = torch.cat([layer.dac.codes(x, layer.act_scale, layer.act_q_max)[0] for x in (x1, x2)])
    levels = layer.dac.codes(x1, layer.act_scale, layer.act_q_max)[1]
    s, r = _brute_force_crossings(ref, codes, levels, v_read)
    rep = layer.read_disturb_stats()
    assert s > 0
    assert rep["set_reads"] == s and rep["reset_reads"] == r
    assert rep["cell_reads"] == int((codes != 0).sum()) * 2 * layer.r_diff.shape[2]
    # the scan: counts at a lower read voltage equal the brute force at that voltage
    volts = rep["scan"]["v_read_max"]
    i = volts.index(0.45)
    s45, r45 = _brute_force_crossings(ref, codes, levels, 0.45)
    assert rep["scan"]["disturbing_reads"][i] == s45 + r45
    # the safe voltage is the largest scanned one under 0.1 %
    frac = [d / rep["cell_reads"] for d in rep["scan"]["disturbing_reads"]]
    safe = rep["max_safe_v_read"]
    assert safe is not None and frac[volts.index(safe)] < SAFE_FRACTION
    assert all(f >= SAFE_FRACTION for v, f in zip(volts, frac) if v > safe)
    # pooled total and reset
    total = clipping_report(torch.nn.Sequential(layer))["__total__"]["read_disturb"]
    assert total["set_reads"] == s and total["max_safe_v_read"] == safe
    reset_statistics(torch.nn.Sequential(layer))
    assert layer.read_disturb_stats() is None


def test_counting_does_not_change_results_and_applying_switches_the_crossed_cells():
    q = _qat_layer(150, 140)
    base = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(), seed=SEED, name="layer")
    applied = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(apply_read_disturb=True), seed=SEED, name="layer")
    assert torch.equal(base.r_diff, applied.r_diff)
    # a full-scale negative read on every row crosses every SET candidate
    x = torch.full((2, q.in_features), -10.0)
    r_before = base.r_diff.clone()
    y0, y1 = base(x), applied(x)
    assert torch.equal(base.r_diff, r_before)  # counting only
    c = applied.read_disturb.cand
    assert int(applied.read_disturb.switched.sum()) == len(c.set_index) > 0
    assert applied.read_disturb_stats()["cells_switched"] == len(c.set_index)
    assert torch.allclose(c._state(applied.r_diff, applied.r_sum), c.set_r)
    # every other cell is untouched
    changed = (applied.r_diff != r_before).reshape(-1)
    assert set(changed.nonzero().squeeze(1).tolist()) <= set(c.set_index.tolist())
    assert not torch.equal(y0, y1)
    # switched cells stay switched, and a positive read switches nothing more
    r_after = applied.r_diff.clone()
    applied(-x)
    assert torch.equal(applied.r_diff, r_after)


def test_small_reads_switch_nothing():
    q = _qat_layer(60, 30)
    layer = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(apply_read_disturb=True), seed=SEED, name="layer")
    r = layer.r_diff.clone()
    layer(_inputs(q, 4, 3, scale=0.01))  # |U| far below every threshold
    assert torch.equal(layer.r_diff, r)
    assert layer.read_disturb_stats()["set_reads"] == 0


def test_option_hash_and_bad_input():
    assert "apply_read_disturb" not in CrossbarConfigV2().__sis_state__()
    assert "apply_read_disturb" in CrossbarConfigV2(apply_read_disturb=True).__sis_state__()
    assert "read disturb" in CrossbarConfigV2(apply_read_disturb=True).describe()
    with pytest.raises(CrossbarConfigError, match="apply_read_disturb"):
        CrossbarConfigV2(apply_read_disturb=True, wordline_resistance=1.0)
    with pytest.raises(CrossbarConfigError, match=r"CrossbarConfigV2.v_read_max.*programming"):
        CrossbarConfigV2(v_read_max=2.5)
    cfg = CrossbarConfigV2(per_layer={"*.linear_pos": {"v_read_max": 3.0}})
    with pytest.raises(CrossbarConfigError, match=r"layer 'enc.0.linear_pos'.*v_read_max"):
        cfg.for_layer("enc.0.linear_pos")


def test_ideal_devices_have_no_candidates():
    q = _qat_layer(40, 20)
    layer = CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(device_model="ideal"), seed=SEED, name="layer")
    assert layer.read_disturb is None and layer.read_disturb_stats() is None
    assert "read_disturb" not in clipping_report(torch.nn.Sequential(layer))["__total__"]
