"""QAT Conformer-CTC acoustic model (library): config, modules, checkpoint loading."""
from memristor_asr.model.config import (
    ConformerCtcConfigV1,
    FeatureConfigV1,
    FrontendConfigV1,
    config_from_dict,
    config_to_dict,
    demo_config,
    paper_config,
)
from memristor_asr.model.ctc_model import ConformerCtcModelV1
from memristor_asr.model.checkpoint import CHECKPOINT_FORMAT, load_model, save_model

__all__ = [
    "ConformerCtcConfigV1",
    "FeatureConfigV1",
    "FrontendConfigV1",
    "ConformerCtcModelV1",
    "demo_config",
    "paper_config",
    "config_to_dict",
    "config_from_dict",
    "load_model",
    "save_model",
    "CHECKPOINT_FORMAT",
]
