"""Small trainings: a sub-ADC learns its code, a tiny pipeline converts, the SPICE netlist agrees."""
import numpy as np
import pytest
import torch

from memristor_asr.nnadc import (
    BlockTrainV1Config,
    ConverterTrainV1Config,
    EvalV1Config,
    PipelinedAdcV1Config,
    StageV1Config,
    SubrangingAdcV1Config,
    evaluate_converter,
    load_converter,
    nnadc_transfer_table,
    save_converter,
    train_pipelined,
    train_subranging,
)
from memristor_asr.nnadc.circuit.block import CrossbarMlpV1, CrossbarMlpV1Config
from memristor_asr.nnadc.training.stages import stratified_pool, train_comparator_block
from memristor_asr.nnadc.evaluation.block_sweep import sub_adc_enob
from memristor_asr.nnadc.export.transfer_table import apply_transfer_table, load_transfer_table, save_transfer_table
from memristor_asr.nnadc.circuit.vtc import VtcFamilyV1Config

FAST = BlockTrainV1Config(iterations=300, batch_size=1024, log_every=300, pvt_aware=False)


def test_three_bit_sub_adc_trains_to_about_three_bits():
    a = stratified_pool(1 << 13, 0)
    levels = torch.floor(a * 8).long()
    hw, _, got, rec = train_comparator_block(
        (2 * a - 1).float()[:, None], levels, 3, 4, 8, 5, VtcFamilyV1Config(), 1.05,
        BlockTrainV1Config(iterations=1500, batch_size=2048, log_every=1500, pvt_aware=False), "t",
    )
    enob = sub_adc_enob(hw, 3, n_instances=1, sigma=0.0)[0]
    assert enob > 2.6, rec
    assert rec["level_error_rate"] < 0.1
    # Monte-Carlo instances differ from each other but stay near the nominal chip
    mc = sub_adc_enob(hw, 3, n_instances=8, sigma=0.05)
    assert np.median(mc) > 2.4


def test_hardware_weights_obey_budget_precision_and_match_training():
    cfg = CrossbarMlpV1Config(n_in=2, n_hidden=5, n_out=3, rram_bits=3)
    blk = CrossbarMlpV1(cfg, torch.Generator().manual_seed(0))
    with torch.no_grad():
        blk.w1.mul_(3.0)  # push the latent weights outside the budget
    hw = blk.hardware()
    w1, w2 = hw.instances(1, 0.0)
    assert (w1[0].abs().sum(0) <= 1 / cfg.beta + 1e-6).all() and (w2[0].abs().sum(0) <= 1 / cfg.beta + 1e-6).all()
    assert hw.k1.abs().max() <= 7 and hw.k2.abs().max() <= 7
    u = torch.rand(64, 2) * 2 - 1
    out_train, _ = blk(u)
    out_hw = hw.run(u[None], w1, w2)[0]
    assert torch.allclose(out_hw, out_train * hw.out_scale, atol=1e-5)
    # variation changes the weights by a few percent, not more
    w1v, _ = hw.instances(50, 0.05, torch.Generator().manual_seed(1))
    rel = ((w1v - w1) / w1.abs().clamp_min(1e-9))[:, w1[0] != 0]
    assert 0.01 < float(rel.abs().median()) < 0.1


def test_tiny_pipeline_converts_and_round_trips(tiny_pipeline, tmp_path):
    conv = tiny_pipeline
    assert conv.n_bits == 3 and len(conv.residues) == 2
    metrics, curves = evaluate_converter(conv, EvalV1Config(n_instances=4, chunk=2, corners=("ff",)))
    assert metrics["nominal"]["ideal"]["enob"] > 2.0
    assert len(metrics["mc"]["ideal"]["enob"]) == 4 and "ff" in metrics["corners_enob"]
    assert curves["nominal_transitions"].shape == (7,)
    save_converter(conv, str(tmp_path / "c.pt"))
    back = load_converter(str(tmp_path / "c.pt"))
    a = np.linspace(0, 1, 500)
    assert (back.codes(a, back.instances(3, 0.05, 7)) == conv.codes(a, conv.instances(3, 0.05, 7))).all()


def test_transfer_table(tiny_pipeline, tmp_path):
    levels, codes = nnadc_transfer_table(tiny_pipeline, n_points=257, seed=3, n_instances=5)
    assert levels.shape == (257,) and codes.shape == (5, 257)
    assert codes.min() >= 0 and codes.max() <= 7
    # seeded: same seed, same table; instances differ from each other somewhere
    assert (nnadc_transfer_table(tiny_pipeline, 257, 3, 5)[1] == codes).all()
    save_transfer_table(str(tmp_path / "t.npz"), tiny_pipeline, levels, codes, seed=3, sigma=0.05)
    t = load_transfer_table(str(tmp_path / "t.npz"))
    got = apply_transfer_table(t, np.array([0.0, 0.5, 1.0, 2.0]), np.array([0, 1, 2, 3]))
    assert got.tolist() == [codes[0, 0], codes[1, 128], codes[2, -1], codes[3, -1]]  # 2.0 saturates


def test_subranging_trains_and_reaches_its_resolution_roughly():
    cfg = SubrangingAdcV1Config(coarse=StageV1Config(2, hidden=6, rram_bits=6), fine_bits=1, fine_hidden=8)
    comparator = BlockTrainV1Config(iterations=800, batch_size=1024, log_every=800, pvt_aware=False)
    conv = train_subranging(cfg, ConverterTrainV1Config(comparator=comparator, pool_size=1 << 12))
    metrics, _ = evaluate_converter(conv, EvalV1Config(n_instances=2, chunk=2, corners=()))
    assert metrics["nominal"]["ideal"]["enob"] > 2.3


def test_local_targets_train_a_pipeline_too():
    cfg = PipelinedAdcV1Config(stages=(StageV1Config(1, hidden=4, residue_hidden=6, rram_bits=4),),
                               final=StageV1Config(1, hidden=4, rram_bits=4))
    fast = BlockTrainV1Config(iterations=800, batch_size=1024, log_every=800, pvt_aware=False)
    conv = train_pipelined(cfg, ConverterTrainV1Config(comparator=fast, residue=fast, pool_size=1 << 12,
                                                       targets="local"))
    metrics, _ = evaluate_converter(conv, EvalV1Config(n_instances=2, chunk=2, corners=()))
    assert metrics["nominal"]["ideal"]["enob"] > 1.3


def test_vtc_draws_keep_conductances_and_move_inverters(tiny_pipeline):
    conv = tiny_pipeline
    plain, drawn = conv.instances(6, 0.05, 11), conv.instances(6, 0.05, 11, vtc_draws=True)
    for (a1, a2), (b1, b2) in zip(plain.weights, drawn.weights):
        assert torch.equal(a1, b1) and torch.equal(a2, b2)  # same conductance draws with or without curves
    assert plain.vtc is None and len(drawn.vtc) == len(conv.blocks)
    assert tuple(drawn.vtc[0].vm.shape) == (6, 1, conv.blocks[0].cfg.n_hidden)
    sub = drawn.subset(2, 4)
    assert torch.equal(sub.vtc[1].gain, drawn.vtc[1].gain[2:4])
    a = np.linspace(0, 1, 2000)
    nom, nom_v = conv.instances(6, 0.0, 11), conv.instances(6, 0.0, 11, vtc_draws=True)
    c0, c1 = conv.codes(a, nom), conv.codes(a, nom_v)
    assert (c0 == c0[:1]).all()  # no variation: every chip is the nominal chip
    assert (c1 != c0).any()  # per-inverter curves move some transitions
    assert (conv.codes(a, nom_v.subset(2, 4)) == c1[2:4]).all()  # chunked evaluation sees the same curves


def test_variation_breakdown_and_block_errors(tiny_pipeline):
    cfg = EvalV1Config(n_instances=4, chunk=2, corners=())
    metrics, _ = evaluate_converter(tiny_pipeline, cfg)
    b = metrics["variation_breakdown"]
    assert set(b) == {"nominal", "vtc_only", "conductance_only", "both"}
    assert b["nominal"] == pytest.approx(metrics["nominal"]["ideal"]["enob"])
    assert b["conductance_only"] == metrics["mc"]["ideal"]["enob_median"]
    for v in b.values():
        assert 0 < v < 3.5
    nom, mc = metrics["block_errors"]["nominal"], metrics["block_errors"]["mc"]
    assert len(nom["digit_error_rate"]) == 3 and len(nom["residue_rms_pct"]) == 2
    assert nom["digit_error_rate"][0] < 0.05  # the first 1-bit sub-ADC is nearly exact
    assert 0 < nom["residue_rms_pct"][0] < 50 and 0 < mc["residue_rms_pct"][0] < 50
    # the residue error is measured against the ideal residue of the block's own input: an exact
    # block (output replaced by the ideal residue) would score ~0; check on the first stage by hand
    conv = tiny_pipeline
    a = (np.arange(4096) + 0.5) / 4096
    x = torch.as_tensor(2 * a - 1, dtype=torch.float32)[None, :, None]
    inst = conv.instances(1, 0.0, 0)
    bits, d = conv.sub_adcs[0].decide(x, *inst.weights[0])
    residue = conv.residues[0]
    r = residue.run(torch.cat([x, bits], -1), *inst.weights[len(conv.sub_adcs)])[..., 0] / residue.out_scale[0]
    want = 2 * (2 * (x[..., 0] + 1) / 2 - d) - 1
    assert nom["residue_rms_pct"][0] == pytest.approx(float((r - want).pow(2).mean().sqrt()) / 2 * 100, rel=1e-4)
