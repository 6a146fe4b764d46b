"""Requests that cannot be built fail on construction, naming the parameter."""
import re

import pytest

from memristor_asr.nnadc import (
    BlockSweepV1Config,
    BlockTrainV1Config,
    ConverterTrainV1Config,
    CrossbarMlpV1Config,
    PipelinedAdcV1Config,
    StageV1Config,
    SubrangingAdcV1Config,
)


def one_bit(**kw):
    return StageV1Config(n_bits=1, **kw)


def test_four_bit_pipelined_stage():
    with pytest.raises(ValueError, match=r"stages\[1\]\.n_bits=4"):
        PipelinedAdcV1Config(stages=(one_bit(), StageV1Config(n_bits=4)), final=one_bit())


def test_zero_hidden_units():
    with pytest.raises(ValueError, match=r"stages\[0\]\.hidden=0"):
        PipelinedAdcV1Config(stages=(one_bit(hidden=0),), final=one_bit())
    with pytest.raises(ValueError, match=r"stages\[0\]\.residue_hidden=0"):
        PipelinedAdcV1Config(stages=(one_bit(residue_hidden=0),), final=one_bit())
    with pytest.raises(ValueError, match="fine_hidden=0"):
        SubrangingAdcV1Config(coarse=StageV1Config(3), fine_bits=2, fine_hidden=0)
    with pytest.raises(ValueError, match="n_hidden=0"):
        CrossbarMlpV1Config(n_in=1, n_hidden=0, n_out=1, rram_bits=3)


def test_total_bits_above_sixteen():
    with pytest.raises(ValueError, match="total bits = 17"):
        PipelinedAdcV1Config(stages=(one_bit(),) * 14, final=StageV1Config(3))
    with pytest.raises(ValueError, match="fine_bits=11"):  # each sub-ranging step is a sub-ADC (<= 6 bits)
        SubrangingAdcV1Config(coarse=StageV1Config(6), fine_bits=11)


def test_rram_precision_zero():
    with pytest.raises(ValueError, match=r"stages\[0\]\.rram_bits=0"):
        PipelinedAdcV1Config(stages=(one_bit(rram_bits=0),), final=one_bit())
    with pytest.raises(ValueError, match="residue_rram_bits=0"):
        PipelinedAdcV1Config(stages=(one_bit(residue_rram_bits=0),), final=one_bit())
    with pytest.raises(ValueError, match="fine_rram_bits=0"):
        SubrangingAdcV1Config(coarse=StageV1Config(3), fine_bits=2, fine_rram_bits=0)
    with pytest.raises(ValueError, match="rram_bits=0"):
        BlockSweepV1Config(kind="sub_adc", n_bits=3, rram_bits=(3, 0))


def test_other_bad_requests():
    with pytest.raises(ValueError, match="transfer"):
        PipelinedAdcV1Config(stages=(one_bit(),), final=one_bit(), transfer="sqrt")
    with pytest.raises(ValueError, match="stages"):
        PipelinedAdcV1Config(stages=(), final=one_bit())
    with pytest.raises(ValueError, match="beta"):
        CrossbarMlpV1Config(n_in=1, n_hidden=2, n_out=1, rram_bits=3, beta=1.0)


def test_valid_paper_designs_build():
    cfg = PipelinedAdcV1Config(stages=(one_bit(),) * 9 + (StageV1Config(2),), final=StageV1Config(3))
    assert cfg.n_bits == 14 and cfg.stage_bits == (1,) * 9 + (2, 3)
    assert SubrangingAdcV1Config(coarse=StageV1Config(5, rram_bits=4), fine_bits=3).n_bits == 8


def test_training_target_mode_and_stable_hash():
    from memristor_asr.nnadc import ConverterTrainV1Config

    with pytest.raises(ValueError, match="targets='global'"):
        ConverterTrainV1Config(targets="global")
    # the option added later does not enter the hashed state at its default
    assert "targets" not in ConverterTrainV1Config().__sis_state__()
    assert ConverterTrainV1Config(targets="local").__sis_state__()["targets"] == "local"


@pytest.mark.parametrize("make,message", [
    (lambda: StageV1Config(n_bits=2.0), "StageV1Config.n_bits must be int, got 2.0 (float)"),
    (lambda: one_bit(hidden=True), "StageV1Config.hidden must be int, got True (bool)"),
    (lambda: one_bit(residue_rram_bits="3"), "StageV1Config.residue_rram_bits must be int or None, got '3' (str)"),
    (lambda: PipelinedAdcV1Config(stages=[one_bit()], final=one_bit()),
     "PipelinedAdcV1Config.stages must be Tuple[StageV1Config, ...], got [StageV1Config(n_bits=1"),
    (lambda: PipelinedAdcV1Config(stages=(one_bit(), 2), final=one_bit()),
     "PipelinedAdcV1Config.stages must be Tuple[StageV1Config, ...], got (StageV1Config(n_bits=1"),
    (lambda: SubrangingAdcV1Config(coarse=StageV1Config(3), fine_bits=2.0),
     "SubrangingAdcV1Config.fine_bits must be int, got 2.0 (float)"),
    (lambda: SubrangingAdcV1Config(coarse=StageV1Config(3), fine_bits=2, beta="1.05"),
     "SubrangingAdcV1Config.beta must be float, got '1.05' (str)")])
def test_a_design_of_the_wrong_type_names_class_and_field(make, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        make()


@pytest.mark.parametrize("make,message", [
    (lambda: BlockTrainV1Config(iterations=2e4), "BlockTrainV1Config.iterations must be int, got 20000.0 (float)"),
    (lambda: BlockTrainV1Config(pvt_aware=0), "BlockTrainV1Config.pvt_aware must be bool, got 0 (int)"),
    (lambda: ConverterTrainV1Config(residue={"iterations": 10}),
     "ConverterTrainV1Config.residue must be BlockTrainV1Config, got {'iterations': 10} (dict)"),
    (lambda: ConverterTrainV1Config(pool_size=True), "ConverterTrainV1Config.pool_size must be int, got True (bool)")])
def test_training_settings_of_the_wrong_type_name_class_and_field(make, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        make()
    BlockTrainV1Config(lr_start=1, train_sigma=0)  # an int is a float
