"""One circuit model: training, Monte-Carlo chips and the ngspice twin share the block physics;
the old module paths still resolve (old job.save files pickle config classes by them)."""
import importlib
import pickle

import numpy as np
import pytest
import torch

from memristor_asr.nnadc.circuit.block import CrossbarMlpV1, CrossbarMlpV1Config
from memristor_asr.nnadc.circuit.crossbar import block_forward, column_conductances
from memristor_asr.nnadc.circuit.smooth_code import decode_bits, read_comparators
from memristor_asr.nnadc.export.netlist import behavioural_stage


def _hw(n_in=2, n_out=1, analog_out=True, seed=0):
    cfg = CrossbarMlpV1Config(n_in=n_in, n_hidden=5, n_out=n_out, rram_bits=3, analog_out=analog_out)
    return CrossbarMlpV1(cfg, torch.Generator().manual_seed(seed)).hardware()


def test_one_chip_and_batched_chips_compute_the_same_block():
    hw = _hw()
    w1, w2 = hw.nominal_weights()
    u = torch.rand(40, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    from memristor_asr.nnadc.circuit.vtc import nominal_vtc

    one, _ = block_forward(u, w1, w2, nominal_vtc(hw.cfg.vtc))
    batched = hw.run(u[None].expand(3, -1, -1), *hw.instances(3, 0.0))
    torch.testing.assert_close(batched, one[None].expand(3, -1, -1), rtol=0, atol=1e-6)


def test_conductances_give_the_programmed_weights_and_the_column_total():
    hw = _hw()
    sign, g, load = column_conductances(hw.k1.double(), hw.s1.double())
    total = g.sum(0) + load
    torch.testing.assert_close(total, 1.0 / hw.s1.double())  # column total 1 / s (units of G_step)
    torch.testing.assert_close(sign * g / total, hw.nominal_weights(torch.float64)[0])


def test_ngspice_twin_is_the_behavioural_block():
    sub, res = _hw(n_in=1, n_out=1, analog_out=False), _hw(n_in=2, seed=1)
    sub.digit_bits = 1
    x = np.linspace(-1, 1, 101)
    beh = behavioural_stage(sub, res, x)
    xt = torch.as_tensor(x, dtype=torch.float32)[None, :, None]
    out = sub.run(xt, *sub.instances(1, 0.0))[0, :, 0]
    bits, d = sub.decide(xt, *sub.instances(1, 0.0))
    np.testing.assert_allclose(beh["sub_out"], out.numpy(), atol=1e-5)
    r = res.run(torch.cat([xt, bits], -1), *res.instances(1, 0.0))[0, :, 0]
    ok = beh["d"] == d[0].numpy()
    assert ok.sum() >= len(x) - 1
    np.testing.assert_allclose(beh["residue"][ok], r.numpy()[ok], atol=1e-5)


def test_comparator_read_decodes_like_the_numpy_decoder():
    out = torch.randn(7, 30, 6, generator=torch.Generator().manual_seed(2))
    volts, levels = read_comparators(out, 4)
    assert set(volts.unique().tolist()) <= {-1.0, 1.0}
    assert (levels.numpy() == decode_bits((out > 0).numpy(), 4, 6)).all()
    assert torch.equal(decode_bits(out > 0, 4, 6), levels)
    with pytest.raises(ValueError, match="smooth_bits=5"):
        decode_bits(out > 0, 4, 5)


def test_trace_gives_the_digits_of_the_converter(tiny_pipeline):
    conv = tiny_pipeline
    a = np.linspace(0, 1, 300)
    inst = conv.instances(3, 0.05, 4)
    stages = conv.trace(torch.as_tensor(2 * a - 1, dtype=torch.float32), inst)
    assert [st.residue is None for st in stages] == [False, False, True]
    assert (np.stack([st.digit.numpy() for st in stages], -1) == conv.digits(a, inst)).all()
    assert torch.equal(stages[1].input, stages[0].residue)


OLD_PATHS = {
    "converter_config": ("design.config", ["StageV1Config", "PipelinedAdcV1Config", "SubrangingAdcV1Config"]),
    "evaluate": ("evaluation.monte_carlo", ["EvalV1Config", "evaluate_converter", "block_errors"]),
    "pipelined": ("training.config", ["ConverterTrainV1Config"]),
    "sigma_sweep": ("evaluation.sigma_sweep", ["SigmaSweepV1Config", "enob_vs_sigma"]),
    "sweep": ("evaluation.block_sweep", ["BlockSweepV1Config", "sweep_blocks"]),
    "train": ("training.config", ["BlockTrainV1Config"]),
    "vtc": ("circuit.vtc", ["VtcFamilyV1Config"]),
}


@pytest.mark.parametrize("old", sorted(OLD_PATHS))
def test_old_module_paths_reexport_the_moved_names(old):
    new, names = OLD_PATHS[old]
    o = importlib.import_module(f"memristor_asr.nnadc.{old}")
    n = importlib.import_module(f"memristor_asr.nnadc.{new}")
    for name in names:
        assert getattr(o, name) is getattr(n, name)


def test_pickles_with_the_old_module_paths_load():
    """A job.save written before the regrouping names the classes by their old modules."""
    from memristor_asr.nnadc import BlockTrainV1Config, ConverterTrainV1Config, EvalV1Config

    cfg = ConverterTrainV1Config(comparator=BlockTrainV1Config(iterations=7), residue_swing=0.5)
    data = pickle.dumps((cfg, EvalV1Config(n_instances=3)), protocol=0)
    old = (data.replace(b"memristor_asr.nnadc.training.config\nConverterTrainV1Config",
                        b"memristor_asr.nnadc.pipelined\nConverterTrainV1Config")
           .replace(b"memristor_asr.nnadc.training.config\nBlockTrainV1Config",
                    b"memristor_asr.nnadc.train\nBlockTrainV1Config")
           .replace(b"memristor_asr.nnadc.evaluation.monte_carlo\nEvalV1Config",
                    b"memristor_asr.nnadc.evaluate\nEvalV1Config"))
    assert b"nnadc.pipelined\n" in old and b"nnadc.train\n" in old and b"nnadc.evaluate\n" in old
    assert pickle.loads(old) == (cfg, EvalV1Config(n_instances=3))
