"""The torch Cells against the synaptogen package: same procedures on many cells, compared
statistically (means within 5 standard errors of the difference, spreads within 5 %)."""
import math

import numpy as np
import pytest
import torch

import synaptogen.synaptogen as sg
from memristor_asr.crossbar import Cells, load_synaptogen_params

N = 20000


def _syn(n, seed):
    sg.rng.bit_generator.state = np.random.PCG64(seed).state
    return sg.CellArrayCPU(n)


def _compare(name, ref, ours, std_rtol=0.05):
    ref = np.asarray(ref, dtype=np.float64)
    ours = ours.double().cpu().numpy() if isinstance(ours, torch.Tensor) else np.asarray(ours, dtype=np.float64)
    se = math.sqrt(ref.var() / ref.size + ours.var() / ours.size)
    assert abs(ref.mean() - ours.mean()) <= 5 * se + 1e-12 * abs(ref.mean()), \
        f"{name}: mean {ours.mean():.6g} vs synaptogen {ref.mean():.6g} (se {se:.3g})"
    assert ours.std() == pytest.approx(ref.std(), rel=std_rtol), f"{name}: std {ours.std():.6g} vs {ref.std():.6g}"


def _syn_resistance(cells):
    u0 = np.float32(cells.params.U0)
    return u0 / sg.I(cells, u0)


def test_fresh_cells_match():
    a, b = _syn(N, 1), Cells(N, seed=1)
    _compare("log10 HRS", np.log10(sg.HRS(a)), b.hrs.log10())
    _compare("U_SET", sg.US(a), b.u_set)
    _compare("U_RESET", sg.UR(a), b.u_reset)
    _compare("LRS", sg.LRS(a), b.lrs)
    _compare("fresh resistance", np.log10(_syn_resistance(a)), b.resistance().log10())


def test_set_reset_resistances_and_cycle_to_cycle_process():
    a, b = _syn(N, 2), Cells(N, seed=2)
    sg.applyVoltage(a, -2.0)
    b.apply_voltage(-2.0)
    _compare("LRS after SET", _syn_resistance(a), b.resistance())
    hrs_a, hrs_b = [], []
    for _ in range(12):  # 12 SET/RESET cycles: HRS of each cycle
        sg.applyVoltage(a, 2.0)
        b.apply_voltage(2.0)
        hrs_a.append(np.log10(_syn_resistance(a)))
        hrs_b.append(b.resistance().log10().numpy())
        sg.applyVoltage(a, -2.0)
        b.apply_voltage(-2.0)
    _compare("log10 HRS, cycle 12", hrs_a[-1], hrs_b[-1])
    _compare("LRS, cycle 13", _syn_resistance(a), b.resistance())
    assert int(b.cycle.min()) == int(b.cycle.max()) == 12 == int(a.n.max())

    # cycle-to-cycle correlation of log HRS (the VAR process): lag 1 and lag 5
    def lag_corr(h, lag):
        h = np.stack(h)
        return np.mean([np.corrcoef(h[t], h[t + lag])[0, 1] for t in range(len(h) - lag)])

    for lag in (1, 5):
        ra, rb = lag_corr(hrs_a, lag), lag_corr(hrs_b, lag)
        assert abs(ra - rb) < 0.03, f"lag-{lag} correlation of log HRS: {rb:.3f} vs synaptogen {ra:.3f}"
    # device-to-device part: per-cell means over cycles spread like synaptogen's
    _compare("per-cell mean log HRS", np.mean(hrs_a, 0), np.mean(hrs_b, 0))


def _sweep_threshold(apply, state, volts):
    """First voltage of the sweep at which ``state()`` turns true, per cell (nan: never)."""
    first = None
    for u in volts:
        apply(float(u))
        s = np.asarray(state())
        if first is None:
            first = np.full(s.shape, np.nan)
        first[np.isnan(first) & s] = u
    return first


def test_switching_thresholds_by_sweep():
    a, b = _syn(N, 3), Cells(N, seed=3)
    down = np.round(np.arange(-0.2, -1.81, -0.01), 3)
    ta = _sweep_threshold(lambda u: sg.applyVoltage(a, u), lambda: a.inLRS.copy(), down)
    tb = _sweep_threshold(lambda u: b.apply_voltage(u), lambda: b.in_lrs.numpy(), down)
    assert not np.isnan(ta).any() and not np.isnan(tb).any()
    _compare("SET threshold (sweep)", ta, tb)
    up = np.round(np.arange(0.2, 1.5, 0.01), 3)
    ra0, rb0 = a.r.copy(), b.r.clone().numpy()
    ta = _sweep_threshold(lambda u: sg.applyVoltage(a, u), lambda: a.r != ra0, up)
    tb = _sweep_threshold(lambda u: b.apply_voltage(u), lambda: b.r.numpy() != rb0, up)
    _compare("RESET threshold (sweep)", ta, tb)
    _compare("state after sweep to 1.49 V", a.r, b.r)


@pytest.mark.parametrize("u_partial", [0.9, 1.1, 1.3])
def test_partial_reset(u_partial):
    a, b = _syn(N, 4), Cells(N, seed=4)
    sg.applyVoltage(a, -2.0)
    b.apply_voltage(-2.0)
    sg.applyVoltage(a, u_partial)
    b.apply_voltage(u_partial)
    _compare(f"resistance after partial RESET at {u_partial} V", np.log10(_syn_resistance(a)), b.resistance().log10())
    # a deeper partial reset continues from there
    sg.applyVoltage(a, u_partial + 0.1)
    b.apply_voltage(u_partial + 0.1)
    _compare("resistance after a second partial RESET", np.log10(_syn_resistance(a)), b.resistance().log10())


@pytest.mark.parametrize("volts", [0.6, 0.06, -0.6, 0.0])
def test_read_noise_matches_synaptogen(volts):
    n, reads = 2000, 300
    a, b = _syn(n, 5), Cells(n, seed=5)
    sg.applyVoltage(a, np.where(np.arange(n) % 2 == 0, -2.0, 0.0).astype(np.float32))  # half LRS, half HRS
    b.apply_voltage(torch.where(torch.arange(n) % 2 == 0, -2.0, 0.0))
    ia = np.stack([sg.Iread(a, volts).copy() for _ in range(reads)])  # [reads, n]
    ib = torch.stack([b.read(volts) for _ in range(reads)]).numpy()
    for part in (slice(0, None, 2), slice(1, None, 2)):  # LRS cells, HRS cells
        _compare(f"mean current at {volts} V", ia[:, part].mean(0), ib[:, part].mean(0))
        std_a, std_b = ia[:, part].std(0).mean(), ib[:, part].std(0).mean()
        assert std_b == pytest.approx(std_a, rel=0.03), f"per-cell read noise at {volts} V: {std_b:.4g} vs {std_a:.4g}"
    assert not np.array_equal(ib[0], ib[1]), "reads must be noisy"
    assert torch.equal(b.read_mean(volts), b.read_mean(volts))


def test_paper_noise_is_synaptogenml_formula_and_about_40x():
    n, reads = 1000, 400
    b = Cells(n, seed=6).apply_voltage(-2.0)
    i = b.read_mean(0.6).double().numpy()
    # SynaptogenML: 4 kB T BW |I| / (|U| + 1e-12) + 2 e |I| BW, with e = exp(1) and BW = 1e-8
    kbt, bw = 1.380649e-23 * 300, 1e-8
    expected = np.sqrt((4 * kbt * bw / (0.6 + 1e-12) + 2 * math.e * bw) * np.abs(i))
    got = torch.stack([b.read(0.6, noise="paper") for _ in range(reads)]).double().std(0).numpy()
    assert got.mean() == pytest.approx(expected.mean(), rel=0.03)
    phys = torch.stack([b.read(0.6, noise="physical") for _ in range(reads)]).double().std(0).numpy()
    assert 30 < got.mean() / phys.mean() < 50  # "about 40x too much per-cell noise"
    assert torch.equal(b.read(0.6, noise="off"), b.read_mean(0.6))


def test_reproducible_and_segments_equal_single_arrays():
    a = Cells(3000, seed=11).apply_voltage(-2.0).apply_voltage(1.0)
    b = Cells(3000, seed=11).apply_voltage(-2.0).apply_voltage(1.0)
    c = Cells(3000, seed=12).apply_voltage(-2.0).apply_voltage(1.0)
    assert torch.equal(a.r, b.r) and not torch.equal(a.r, c.r)
    seg = Cells.from_segments([1000, 3000, 500], [7, 11, 9])
    seg.apply_voltage(-2.0)
    seg.apply_voltage(1.0)
    assert torch.equal(seg.r[1000:4000], a.r)
    assert torch.equal(seg.r[:1000], Cells(1000, seed=7).apply_voltage(-2.0).apply_voltage(1.0).r)


def test_fresh_cell_ignores_reset_and_bad_voltages_rejected():
    c = Cells(100, seed=1)
    r0 = c.r.clone()
    c.apply_voltage(1.0).apply_voltage(2.0)
    assert torch.equal(c.r, r0) and int(c.cycle.sum()) == 0
    with pytest.raises(ValueError, match="one voltage per cell"):
        c.apply_voltage(np.zeros(7))
    assert load_synaptogen_params().u_max == pytest.approx(1.46)


@pytest.mark.cuda
def test_cuda_cells_match_statistics():
    a, b = Cells(N, seed=1), Cells(N, seed=1, device="cuda")
    b.apply_voltage(-2.0)
    a.apply_voltage(-2.0)
    assert b.r.device.type == "cuda"
    _compare("LRS on CUDA", a.resistance(), b.resistance().cpu())
