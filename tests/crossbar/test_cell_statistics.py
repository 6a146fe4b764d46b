"""Single-pair statistics table and least-squares correction factor (library level)."""
import pytest

from memristor_asr.crossbar.stats import estimate_correction_factor, format_statistics_table, single_cell_statistics


def test_single_cell_statistics_table():
    phys = single_cell_statistics(4000, seed=3, read_noise="physical")
    paper = single_cell_statistics(4000, seed=3, read_noise="paper", half_voltage=phys["half_voltage"])
    rows = {r["operation"]: r for r in phys["rows"]}
    assert list(rows) == ["1.0x1", "0.1x1", "0.01x1", "1.0x0", "1.0x0.5"]
    # c = 8020 maps an (LRS, HRS) pair to about its input; device-to-device spread ~6 %
    assert rows["1.0x1"]["mean"] == pytest.approx(1.0, abs=0.03)
    assert rows["0.1x1"]["mean"] == pytest.approx(0.1, abs=0.005)
    assert rows["0.01x1"]["mean"] == pytest.approx(0.01, abs=0.0005)
    assert abs(rows["1.0x0"]["mean"]) < 0.005
    assert rows["1.0x0.5"]["mean"] == pytest.approx(0.5, abs=0.02)
    assert 0.03 < rows["1.0x1"]["std"] < 0.1 and rows["1.0x0.5"]["std"] > rows["1.0x1"]["std"]
    for r in rows.values():
        assert r["min"] <= r["mean"] <= r["max"]
    assert 0.8 < phys["half_voltage"] < 1.0
    # at small inputs the paper's noise dominates the spread; the physical noise does not
    p = {r["operation"]: r for r in paper["rows"]}
    assert p["0.01x1"]["std"] > 2 * rows["0.01x1"]["std"]
    assert p["1.0x1"]["std"] == pytest.approx(rows["1.0x1"]["std"], rel=0.15)
    text = format_statistics_table(phys)
    assert "1.0x0.5" in text and "partial RESET" in text


def test_correction_factor_near_8020_and_lower_gain_for_negative_inputs():
    res = estimate_correction_factor(4000, seed=2)
    assert 7700 < res["c"] < 8300
    gains = {round(p["input"], 1): p["gain_c"] for p in res["per_input"]}
    assert gains[-1.0] > 1.1 * gains[1.0]  # full-scale negative reads (-0.6 V): ~15 % less current
    assert res["c_symmetric"] > res["c"]
