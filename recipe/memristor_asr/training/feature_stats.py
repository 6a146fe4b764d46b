"""Per-band mean/std of the (unnormalised) log-mel features, for the model's input normalisation.

Either read from a JSON file (``{"mean": [80 floats], "std": [80 floats], ...}``, as the data
features job writes) or estimated here from a seeded sample of training utterances with the
model's own feature extraction (so the statistics always match the features the model computes).
"""
import json
import logging
import math
import os
import random
from typing import List, Optional, Tuple

import torch

from memristor_asr.model.config import FeatureConfigV1
from memristor_asr.model.features import LogMelFeaturesV1
from memristor_asr.training.dataset import CtcDataset

__all__ = ["load_feature_stats", "compute_feature_stats", "to_log_mel_config"]

_log = logging.getLogger(__name__)


def to_log_mel_config(cfg: FeatureConfigV1):
    """The data package's ``LogMelFeatureConfig`` describing the same features as ``cfg``
    (both drive i6_models' ``LogMelFeatureExtractionV1``)."""
    from memristor_asr.data.features import LogMelFeatureConfig

    return LogMelFeatureConfig(sample_rate=cfg.sample_rate, win_size=cfg.win_size, hop_size=cfg.hop_size,
                               num_filters=cfg.num_filters, f_min=cfg.f_min, f_max=cfg.f_max, min_amp=cfg.min_amp,
                               center=cfg.center, n_fft=None)


def load_feature_stats(path: str, num_filters: int, cfg: Optional[FeatureConfigV1] = None
                       ) -> Tuple[List[float], List[float]]:
    """Read ``mean``/``std`` lists of ``num_filters`` finite floats (std > 0) from a JSON file.

    If the file records the feature ``config`` it was computed with (the data features job does,
    as ``memristor_asr.data.features.LogMelFeatureConfig``) and ``cfg`` is given, the two must agree.
    """
    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        try:
            d = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: feature statistics are not valid JSON ({e})") from None
    if cfg is not None and isinstance(d, dict) and "config" in d:
        ours = to_log_mel_config(cfg).as_dict()
        if d["config"] != ours:
            raise ValueError(f"{path}: statistics were computed with features {d['config']}, "
                             f"but the model extracts {ours}")
    out = []
    for key in ("mean", "std"):
        v = d.get(key) if isinstance(d, dict) else None
        if not isinstance(v, list) or len(v) != num_filters:
            raise ValueError(f"{path}: {key!r} must be a list of {num_filters} numbers")
        v = [float(x) for x in v]
        if not all(math.isfinite(x) for x in v):
            raise ValueError(f"{path}: {key!r} holds non-finite values")
        out.append(v)
    if min(out[1]) <= 0:
        raise ValueError(f"{path}: 'std' must be positive")
    return out[0], out[1]


@torch.no_grad()
def compute_feature_stats(cfg: FeatureConfigV1, data: CtcDataset, max_utterances: int = 500,
                          seed: int = 0) -> Tuple[List[float], List[float]]:
    """Mean and standard deviation per mel band over all frames of up to ``max_utterances``
    randomly chosen (seeded) utterances of ``data``."""
    extractor = LogMelFeaturesV1(FeatureConfigV1(**{**cfg.__dict__, "mean": None, "std": None}))
    items = list(data.items)
    random.Random(seed).shuffle(items)
    total = torch.zeros(cfg.num_filters, dtype=torch.float64)
    total_sq = torch.zeros(cfg.num_filters, dtype=torch.float64)
    frames = 0
    for it in items[:max_utterances]:
        audio = data.load(it)
        if audio is None:
            continue
        x = torch.from_numpy(audio)[None]  # [1, N]
        feats, _ = extractor.raw(x, torch.tensor([x.shape[1]]))  # [1, T, F]
        f = feats[0].double()
        total += f.sum(0)
        total_sq += (f * f).sum(0)
        frames += f.shape[0]
    if frames == 0:
        raise ValueError(f"{data.name}: no frames to estimate feature statistics from")
    mean = total / frames
    std = torch.sqrt(torch.clamp(total_sq / frames - mean * mean, min=1e-8))
    _log.info("feature statistics from %d frames of %d utterances", frames, min(len(items), max_utterances))
    return mean.tolist(), std.tolist()
