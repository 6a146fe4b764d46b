"""Circuit cross-check: a trained 1-bit stage as an ngspice netlist against the behavioural model."""
import numpy as np
import pytest

from memristor_asr.nnadc import (
    BlockTrainV1Config,
    ConverterTrainV1Config,
    PipelinedAdcV1Config,
    StageV1Config,
    train_pipelined,
)
from memristor_asr.nnadc.export.netlist import (
    SpiceInverterV1Config,
    behavioural_stage,
    ngspice_available,
    simulate_inverter,
    simulate_stage,
    stage_netlist,
)

pytestmark = pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")


@pytest.fixture(scope="module")
def stage():
    fast = BlockTrainV1Config(iterations=400, batch_size=1024, log_every=400, pvt_aware=False)
    conv = train_pipelined(
        PipelinedAdcV1Config(stages=(StageV1Config(1, hidden=4, residue_hidden=6),), final=StageV1Config(1, hidden=2)),
        ConverterTrainV1Config(comparator=fast, residue=fast, pool_size=1 << 12),
    )
    return conv.sub_adcs[0], conv.residues[0]


def test_netlist_lists_one_resistor_per_programmed_cell(stage):
    sub, res = stage
    net = stage_netlist(sub, res, SpiceInverterV1Config(), "x.txt")
    n_cells = int((sub.k1 != 0).sum() + (sub.k2 != 0).sum() + (res.k1 != 0).sum() + (res.k2 != 0).sum())
    n_res = sum(1 for line in net.splitlines() if line.startswith("R") and "_load" not in line)
    assert n_res == n_cells
    n_pmos = sum(1 for line in net.splitlines() if line.startswith("M") and " pch " in line)
    assert n_pmos == sub.cfg.n_hidden + res.cfg.n_hidden


def test_spice_transfer_curve_matches_behavioural_model(stage):
    sub, res = stage
    cfg = SpiceInverterV1Config()
    vin, vout = simulate_inverter(cfg)
    half = cfg.vdd / 2
    spice = simulate_stage(sub, res, cfg, n_points=601)
    # behavioural model with the SPICE inverter curve: the crossbar mapping must agree closely
    beh = behavioural_stage(sub, res, spice["x"], vtc=(vin / half - 1, vout / half - 1))
    assert np.abs(spice["sub_out"] - beh["sub_out"]).max() < 2e-3
    assert (spice["d"] != beh["d"]).sum() <= 1  # at most the sweep point on the threshold
    ok = spice["d"] == beh["d"]
    assert np.abs(spice["residue"] - beh["residue"])[ok].max() < 2e-3
    # the comparator decides where the behavioural model with the tanh family decides, within the
    # gain mismatch between the fitted family and this inverter (a few percent of full scale)
    tanh = behavioural_stage(sub, res, spice["x"])
    thr_spice = spice["x"][np.flatnonzero(np.diff(spice["d"]))]
    thr_tanh = tanh["x"][np.flatnonzero(np.diff(tanh["d"]))]
    assert len(thr_spice) == len(thr_tanh) == 1 and abs(thr_spice[0] - thr_tanh[0]) < 0.05
