"""One training run of the (QAT) Conformer-CTC model from loaded data: the model configuration of a
profile, the input normalisation (read or estimated), the training loop, and the run's summary.

What ``TrainQatConformerJob`` computes, callable from a notebook without Sisyphus.
"""
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import torch

from memristor_asr.model.config import ConformerCtcConfigV1, demo_config, paper_config
from memristor_asr.quant.config import QuantConfigV1
from memristor_asr.training.dataset import CtcDataset
from memristor_asr.training.feature_stats import compute_feature_stats, load_feature_stats
from memristor_asr.training.trainer import TrainConfigV1, TrainResult, train

__all__ = ["PROFILES", "TrainingRun", "train_conformer_ctc"]

#: model profiles by name (see :mod:`memristor_asr.model.config`)
PROFILES = {"demo": demo_config, "paper": paper_config}


@dataclass
class TrainingRun:
    """Attributes:
        result: the trained model (eval mode) and its per-epoch history
        model_config: the model's configuration, feature normalisation filled in
        stats: JSON-ready summary: history, skipped utterances (counts and report), training
            utterances and hours, where the feature statistics came from, parameter count
    """

    result: TrainResult
    model_config: ConformerCtcConfigV1
    stats: Dict[str, Any]


def train_conformer_ctc(train_data: CtcDataset, dev_data: Optional[CtcDataset], checkpoint_dir: str,
                        profile: str = "demo", quant: QuantConfigV1 = QuantConfigV1(),
                        train_config: Optional[TrainConfigV1] = None,
                        model_overrides: Optional[Dict[str, Any]] = None, feature_stats: Optional[str] = None,
                        stats_utterances: int = 500, init_weights: Optional[Dict[str, torch.Tensor]] = None,
                        on_epoch_end: Optional[Callable[[List[Dict]], None]] = None) -> TrainingRun:
    """Train (or resume training in ``checkpoint_dir``) a Conformer-CTC model on ``train_data``.

    :param train_data: training utterances; the model vocabulary is ``train_data.vocab``
    :param dev_data: optional held-out utterances; their CTC loss is logged per epoch
    :param checkpoint_dir: per-epoch checkpoints (:func:`memristor_asr.training.train` resumes from them)
    :param profile: "demo" or "paper"
    :param quant: which crossbar layers get how many bits (``QuantConfigV1()``: float model)
    :param train_config: training settings (None: ``TrainConfigV1()``)
    :param model_overrides: keyword overrides of the profile (e.g. ``{"pos_encoding": "abs"}``)
    :param feature_stats: JSON file with "mean"/"std" per mel band; None estimates them from up to
        ``stats_utterances`` training utterances (seeded by the training seed)
    :param init_weights: state dict to start from (QAT fine-tuning of a float model)
    :param on_epoch_end: callback ``f(history)`` after each epoch's checkpoint
    """
    if profile not in PROFILES:
        raise ValueError(f"train_conformer_ctc: profile must be one of {sorted(PROFILES)}, got {profile!r}")
    cfg = train_config if train_config is not None else TrainConfigV1()
    model_cfg = PROFILES[profile](train_data.vocab, quant, **(model_overrides or {}))
    if feature_stats is not None:
        feature_stats = os.fspath(feature_stats)
        mean, std = load_feature_stats(feature_stats, model_cfg.features.num_filters, model_cfg.features)
        stats_source = feature_stats
    else:
        mean, std = compute_feature_stats(model_cfg.features, train_data, stats_utterances, seed=cfg.seed)
        stats_source = f"estimated from up to {stats_utterances} training utterances"
    model_cfg.features.mean, model_cfg.features.std = mean, std

    result = train(model_cfg, cfg, train_data, dev_data, checkpoint_dir, on_epoch_end=on_epoch_end,
                   init_weights=init_weights)
    datasets = [train_data] + ([dev_data] if dev_data else [])
    stats = {"history": result.history,
             "skipped": {"train": dict(train_data.skipped), "dev": dict(dev_data.skipped) if dev_data else {}},
             "skip_report": [d.skip_report() for d in datasets],
             "train_utterances": len(train_data), "train_hours": train_data.total_duration / 3600,
             "feature_stats": stats_source, "num_parameters": sum(p.numel() for p in result.model.parameters())}
    return TrainingRun(result, model_cfg, stats)
