"""CTC training of the QAT Conformer (library): data, SpecAugment, loop, one training run from data, PTQ,
log-prob computation."""
from memristor_asr.training.curve import plot_learning_curve
from memristor_asr.training.dataset import (
    AudioError,
    CtcDataset,
    CtcItem,
    build_ctc_dataset,
    collate,
    load_audio,
    make_batches,
)
from memristor_asr.training.feature_stats import compute_feature_stats, load_feature_stats
from memristor_asr.training.logprobs import compute_logprobs
from memristor_asr.training.lr_schedule import OneCycleConfigV1, one_cycle_lr
from memristor_asr.training.ptq import quantize_ptq
from memristor_asr.training.qat_training import TrainingRun, train_conformer_ctc
from memristor_asr.training.specaugment import SpecAugConfigV1, spec_augment
from memristor_asr.training.trainer import (
    TrainConfigV1,
    TrainResult,
    evaluate_loss,
    find_latest_checkpoint,
    train,
    train_config_from_dict,
)

__all__ = [
    "AudioError", "CtcDataset", "CtcItem", "build_ctc_dataset", "collate", "load_audio", "make_batches",
    "compute_feature_stats", "load_feature_stats", "compute_logprobs", "OneCycleConfigV1", "one_cycle_lr",
    "quantize_ptq", "SpecAugConfigV1", "spec_augment", "TrainConfigV1", "TrainResult", "evaluate_loss",
    "find_latest_checkpoint", "train", "train_config_from_dict", "plot_learning_curve", "TrainingRun",
    "train_conformer_ctc",
]
