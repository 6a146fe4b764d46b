"""QAT fine-tuning starts from a trained float model's weights."""
import pytest
import torch

from memristor_asr.model import demo_config
from memristor_asr.model.ctc_model import ConformerCtcModelV1
from memristor_asr.quant.config import QuantConfigV1
from memristor_asr.training.trainer import load_initial_weights

VOCAB = ["<blank>", "AA", "B", "K"]


def test_float_weights_initialise_a_qat_model_and_its_observers_start_fresh():
    torch.manual_seed(0)
    float_model = ConformerCtcModelV1(demo_config(VOCAB))
    torch.manual_seed(1)
    qat = ConformerCtcModelV1(demo_config(VOCAB, QuantConfigV1(weight_bits=3)))
    state = float_model.state_dict()
    key = next(k for k, v in state.items() if v.dim() == 2 and "blocks.0" in k)
    assert not torch.equal(qat.state_dict()[key], state[key])
    load_initial_weights(qat, state)
    for k, v in state.items():
        assert torch.equal(qat.state_dict()[k], v), k


def test_weights_of_another_model_shape_are_refused():
    other = ConformerCtcModelV1(demo_config(VOCAB + ["Z"])).state_dict()
    model = ConformerCtcModelV1(demo_config(VOCAB))
    with pytest.raises((ValueError, RuntimeError)):
        load_initial_weights(model, other)
