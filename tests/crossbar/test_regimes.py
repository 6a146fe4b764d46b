"""Hardware regimes: "physical" is the default config, "synaptogenml" cycles every bitline array
with random scalar pulses before programming (cells in later VAR cycles, LRS/HRS statistics
still Synaptogen's) and uses the paper's read noise."""
import dataclasses
import math

import numpy as np
import pytest
import torch

import synaptogen.synaptogen as sg
from memristor_asr.crossbar import Cells, CrossbarConfigError, CrossbarConfigV1, synaptogen_iv
from memristor_asr.crossbar.programming import bit_planes, program_planes
from memristor_asr.crossbar.regimes import (REGIMES, HardwareRegimeV1, apply_regime, get_regime, program_options,
                                            synaptogenml_draw_cycles)


def test_physical_regime_is_the_default_config_and_hash():
    cfg = apply_regime(CrossbarConfigV1(), "physical")
    assert cfg == CrossbarConfigV1()
    assert cfg.__sis_state__() == CrossbarConfigV1().__sis_state__()


def test_unknown_regime_lists_known_ones_and_regimes_validate():
    with pytest.raises(CrossbarConfigError, match="unknown hardware regime 'synaptogen'.*physical, synaptogenml"):
        apply_regime(CrossbarConfigV1(), "synaptogen")
    with pytest.raises(CrossbarConfigError, match="unknown field 'read_nois'"):
        HardwareRegimeV1("x", "typo", fields=(("read_nois", "paper"),), sources=(("read_nois", "?"),))
    with pytest.raises(CrossbarConfigError, match="no source"):
        HardwareRegimeV1("x", "undocumented", fields=(("read_noise", "paper"),))
    assert get_regime(REGIMES["physical"]) is REGIMES["physical"]


def test_synaptogenml_regime_fields():
    base = CrossbarConfigV1(adc_precision_bits=8, adc_range_bits=10, per_layer={"*.pos": {"adc_range_bits": 7}})
    has_field = "cycling_granularity" in {f.name for f in dataclasses.fields(CrossbarConfigV1)}
    if has_field:
        cfg = apply_regime(base, "synaptogenml")
        assert cfg.cycling_granularity == "array" and program_options("synaptogenml") == {}
    else:  # until the integrator adds the field: a clear error, or the keyword for program_planes
        with pytest.raises(CrossbarConfigError, match="cycling_granularity.*default 'cell'"):
            apply_regime(base, "synaptogenml")
        cfg = apply_regime(base, "synaptogenml", strict=False)
        assert program_options("synaptogenml") == {"cycling_granularity": "array"}
    assert (cfg.read_noise, cfg.cycles_before_programming, cfg.cycling_voltage) == ("paper", 15, 2.0)
    assert (cfg.set_voltage, cfg.reset_voltage, cfg.correction_factor, cfg.tile_rows) == (-2.0, 2.0, 8020.0, 128)
    assert (cfg.adc_precision_bits, cfg.adc_range_bits) == (8, 10) and cfg.per_layer  # ADC left to the user
    assert program_options("physical") == {}
    assert [synaptogenml_draw_cycles(k) for k in (1, 10)] == [15, 150]


def _cycle_like_synaptogenml(cells, pulses):
    for _ in range(pulses):
        cells.apply_voltage(cells.group_uniform(-2.0, 2.0, groups_per_segment=2))
    cells.apply_voltage(2.0)


def test_synaptogenml_cycling_puts_cells_in_later_cycles():
    sizes = [2 * 64 * 64] * 8  # 8 tiles of 64 x 64 pairs
    cells = Cells.from_segments(sizes, list(range(8)))
    _cycle_like_synaptogenml(cells, 15)
    cyc = cells.cycle.view(16, -1).float()  # per bitline array
    assert float(cyc.mean()) > 2  # pulses below U_SET and above U_RESET alternate: several cycles
    # one voltage per array: cells of an array switch together (most have the array's count)
    mode = cyc.mode(dim=1).values
    assert float((cyc == mode.unsqueeze(1)).float().mean()) > 0.8
    assert bool(cells.in_hrs.all())  # the full RESET after cycling


def _compare(name, ref, ours, std_rtol=0.06):
    ref = np.asarray(ref, dtype=np.float64)
    ours = ours.double().numpy()
    se = math.sqrt(ref.var() / ref.size + ours.var() / ours.size)
    assert abs(ref.mean() - ours.mean()) <= 5 * se, f"{name}: mean {ours.mean():.6g} vs synaptogen {ref.mean():.6g}"
    assert ours.std() == pytest.approx(ref.std(), rel=std_rtol), f"{name}: std {ours.std():.6g} vs {ref.std():.6g}"


def test_cycled_states_match_synaptogen_statistics():
    """Same scalar pulse sequence on a synaptogen CellArrayCPU and on our cells (one array)."""
    n = 20000
    volts = np.random.default_rng(3).uniform(-2.0, 2.0, 30).astype(np.float32)
    sg.rng.bit_generator.state = np.random.PCG64(4).state
    a, b = sg.CellArrayCPU(n), Cells(n, seed=4)
    for v in volts:
        sg.applyVoltage(a, float(v))
        b.apply_voltage(float(v))
    sg.applyVoltage(a, 2.0)
    b.apply_voltage(2.0)
    u0 = np.float32(a.params.U0)
    _compare("log10 HRS after cycling + RESET", np.log10(u0 / sg.I(a, u0)), b.resistance().log10())
    sg.applyVoltage(a, -2.0)
    b.apply_voltage(-2.0)
    _compare("LRS after cycling + SET", u0 / sg.I(a, u0), b.resistance())
    assert float(b.cycle.float().mean()) > 3


def test_synaptogenml_programming_differs_from_physical_as_expected():
    g = torch.Generator().manual_seed(0)
    planes, _ = bit_planes(torch.randint(-7, 8, (96, 160), generator=g), 7)
    iv = synaptogen_iv()
    phys = program_planes(planes, apply_regime(CrossbarConfigV1(), "physical"), iv, seed=9, layer_name="l")
    cfg = apply_regime(CrossbarConfigV1(), "synaptogenml", strict=False)
    sml = program_planes(planes, cfg, iv, seed=9, layer_name="l", **program_options("synaptogenml"))
    assert not torch.equal(phys.r_diff, sml.r_diff)
    for st in (phys, sml):  # (LRS, HRS) pairs: r_pos - r_neg about -0.69 with a small spread
        d = st.r_diff[st.r_diff < -0.3]
        assert -0.75 < float(d.mean()) < -0.62 and float(d.std()) < 0.08
    dp, ds = phys.r_diff[phys.r_diff < -0.3], sml.r_diff[sml.r_diff < -0.3]
    assert float(ds.mean()) == pytest.approx(float(dp.mean()), abs=0.02)


def test_counter_based_cycle_innovations_are_independent_standard_normal():
    """The innovations of counter-based cycle draws (recovered from the VAR step): standard normal,
    uncorrelated between features, neighbouring cells, segments and successive cycles."""
    n = 40000
    c = Cells.from_segments([n // 2, n // 2], [21, 22])
    var_eps = torch.as_tensor(c.params.var_eps, dtype=torch.float64)
    var_hist = torch.as_tensor(c.params.var_hist, dtype=torch.float64)
    eps = []
    for _ in range(3):
        c.apply_voltage(-2.0)
        before = c.hist.double().clone()
        c.apply_voltage(2.0)
        x = c.hist[:, -4:].double()
        eps.append(torch.linalg.solve(var_eps, (x - before @ var_hist.T).T).T)  # [n, 4]
    assert int(c.cycle.min()) == 3
    e = torch.cat(eps, 1)  # [n, 12]: 3 cycles x 4 features
    tol = 5 / math.sqrt(n)
    assert float(e.mean(0).abs().max()) < tol
    assert float((e.std(0) - 1).abs().max()) < 2 * tol
    assert float(((e ** 4).mean(0) - 3).abs().max()) < 0.15  # Gaussian kurtosis
    cc = torch.corrcoef(e.T)  # features and cycles
    assert float(cc.fill_diagonal_(0).abs().max()) < tol
    for a, b in ((e[:-1], e[1:]), (e[: n // 2], e[n // 2:])):  # neighbours, and the two segments
        corr = ((a - a.mean(0)) * (b - b.mean(0))).mean(0) / (a.std(0) * b.std(0))
        assert float(corr.abs().max()) < tol


def test_regimes_apply_to_v2_and_leave_its_adc_alone():
    from memristor_asr.crossbar import CrossbarConfigV2, UniformAdcConfigV1

    base = CrossbarConfigV2(adc=UniformAdcConfigV1(2, 6), per_layer={"*.pos": {"adc": UniformAdcConfigV1(4, 8)}})
    sml = apply_regime(base, "synaptogenml")
    assert sml.adc == base.adc and sml.per_layer == base.per_layer
    assert (sml.read_noise, sml.cycles_before_programming, sml.cycling_granularity) == ("paper", 15, "array")
    assert apply_regime(CrossbarConfigV2(), "physical") == CrossbarConfigV2()


def test_a_regime_of_the_wrong_type_names_class_and_field():
    with pytest.raises(CrossbarConfigError, match=r"^HardwareRegimeV1\.fields must be Tuple\[Tuple\[str, Any\], "
                                                  r"\.\.\.\], got \[\('read_noise', 'paper'\)\] \(list\)$"):
        HardwareRegimeV1("x", "a list", fields=[("read_noise", "paper")], sources=(("read_noise", "?"),))
    with pytest.raises(CrossbarConfigError, match=r"^HardwareRegimeV1\.sources must be .*: item 1 of item 0 of "
                                                  r"tuple is not an instance of str$"):
        HardwareRegimeV1("x", "no text", fields=(("read_noise", "paper"),), sources=(("read_noise", None),))
    with pytest.raises(ValueError, match=r"draw_index must be int, got True \(bool\)"):
        synaptogenml_draw_cycles(True)
