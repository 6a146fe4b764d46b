"""Shared setup for the NNADC tests: recipe/ on the import path, one torch thread (shared CPU)."""
import pathlib
import sys

import pytest
import torch

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "recipe"
if str(RECIPE) not in sys.path:
    sys.path.insert(0, str(RECIPE))
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_pipeline():
    """A 3-bit pipelined converter (two 1-bit stages + a 1-bit sub-ADC, 4-bit RRAM), trained in seconds."""
    from memristor_asr.nnadc import (
        BlockTrainV1Config,
        ConverterTrainV1Config,
        PipelinedAdcV1Config,
        StageV1Config,
        train_pipelined,
    )

    fast = BlockTrainV1Config(iterations=300, batch_size=1024, log_every=300, pvt_aware=False)
    cfg = PipelinedAdcV1Config(stages=(StageV1Config(1, hidden=4, residue_hidden=6, rram_bits=4),) * 2,
                               final=StageV1Config(1, hidden=2, rram_bits=4))
    return train_pipelined(cfg, ConverterTrainV1Config(comparator=fast, residue=fast, pool_size=1 << 12))
