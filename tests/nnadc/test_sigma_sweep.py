"""ENOB against the conductance variation: the sweep, the largest sigma meeting a target, table and plot."""
import math

import pytest

from memristor_asr.nnadc.evaluation.metrics import paper_enob, sine_inputs, sndr_enob
from memristor_asr.nnadc.evaluation.plots import plot_enob_vs_sigma
from memristor_asr.nnadc.evaluation.sigma_sweep import (
    SigmaSweepV1Config,
    enob_vs_sigma,
    max_sigma_meeting,
    sigma_sweep_table,
)


def test_max_sigma_meeting_interpolates_in_log_sigma():
    # crossing between 0.01 (7.0) and 0.1 (5.0): 6.0 is half way in log sigma
    s, how = max_sigma_meeting([0.0, 0.01, 0.1], [7.5, 7.0, 5.0], 6.0)
    assert how == "interpolated" and s == pytest.approx(math.sqrt(0.01 * 0.1))
    # next to the nominal chip the interpolation is linear in sigma
    s, how = max_sigma_meeting([0.0, 0.02], [8.0, 6.0], 7.5)
    assert how == "interpolated" and s == pytest.approx(0.005)
    # the first miss decides, even if a later (noisier) point is above the target again
    assert max_sigma_meeting([0.0, 0.01, 0.1], [8.0, 5.0, 8.0], 6.0)[0] == pytest.approx(0.01 * 2 / 3)
    assert max_sigma_meeting([0.0, 0.01], [5.0, 4.0], 6.0) == (None, "unreachable")
    assert max_sigma_meeting([0.0, 0.01], [9.0, 8.0], 6.0) == (0.01, "above_grid")
    with pytest.raises(ValueError, match="2 sigmas but 1"):
        max_sigma_meeting([0.0, 0.1], [5.0], 4.0)


def test_sweep_config_rejects_bad_grids():
    with pytest.raises(ValueError, match="strictly increasing"):
        SigmaSweepV1Config(sigmas=(0.0, 0.05, 0.01))
    with pytest.raises(ValueError, match="strictly increasing"):
        SigmaSweepV1Config(sigmas=(-0.01, 0.05))
    with pytest.raises(ValueError, match="at least one"):
        SigmaSweepV1Config(sigmas=())


def test_enob_falls_with_sigma_and_starts_at_the_nominal_chip(tiny_pipeline, tmp_path):
    conv = tiny_pipeline
    cfg = SigmaSweepV1Config(sigmas=(0.0, 1e-6, 0.3), n_instances=6, chunk=3, n_fft=4096, ramp_points_per_code=64)
    r = enob_vs_sigma(conv, cfg)
    nominal = sndr_enob(conv.codes(sine_inputs(conv.n_bits, "linear", 4096)[0], conv.instances(1, 0.0, 0))[0])["enob"]
    assert r["sigmas"] == [0.0, 1e-6, 0.3] and r["n_bits"] == 3
    ideal = r["ideal"]
    assert ideal["median"][0] == pytest.approx(nominal)
    # a vanishing variation leaves every chip on the nominal transfer (same draws, only scaled)
    assert ideal["p10"][1] == pytest.approx(nominal, abs=1e-6) and ideal["p90"][1] == pytest.approx(nominal, abs=1e-6)
    # 30 % resistance spread costs resolution, and the chips spread out
    assert ideal["median"][2] < nominal - 0.2
    assert ideal["p10"][2] <= ideal["median"][2] <= ideal["p90"][2] and ideal["p10"][2] < ideal["p90"][2]
    assert len(r["calibrated"]["median"]) == 3
    # both metrics for every combiner, and the variation floor at every sigma (issue 15)
    for comb in ("ideal", "calibrated", "calibrated_lut"):
        assert len(r[comb]["paper_median"]) == 3 and len(r[comb]["median"]) == 3
    nominal_paper = paper_enob(conv.codes(sine_inputs(conv.n_bits, "linear", 4096)[0], conv.instances(1, 0.0, 0))[0],
                               sine_inputs(conv.n_bits, "linear", 4096)[0], conv.n_bits)["enob"]
    assert ideal["paper_median"][0] == pytest.approx(nominal_paper)
    assert r["bound"]["enob"][0] == pytest.approx(3.0) and r["bound"]["enob"][2] < r["bound"]["enob"][1] <= 3.0

    table = sigma_sweep_table({"tiny": r}, {"tiny": 99.0})
    assert "| tiny | 99.0 |" in table and "not even nominal / not even nominal" in table
    assert f"{ideal['median'][0]:.2f}" in table
    assert "| design (ENOB (spectral)) |" in table and "| design (ENOB (paper Eq. 18)) |" in table
    assert "| tiny: bound |" in table and f"{ideal['paper_median'][0]:.2f}" in table
    lines = [line for line in table.splitlines() if line.startswith("|")]
    assert len({line.count("|") for line in lines[:4]}) == 1  # the spectral table's rows align
    png = tmp_path / "s.png"
    plot_enob_vs_sigma({"tiny": r}, {"tiny": 2.5}, str(png))
    assert png.stat().st_size > 5000
