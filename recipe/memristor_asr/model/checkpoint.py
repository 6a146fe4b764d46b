"""Model checkpoints: config + weights in one file, loadable without any other input.

A checkpoint is a ``torch.save`` dict with at least ``"format"`` (:data:`CHECKPOINT_FORMAT`),
``"model_config"`` (:func:`config_to_dict` of the model config) and ``"model"`` (the state dict);
training checkpoints add optimizer and progress state under other keys, which
:func:`load_model` ignores.
"""
import os
from typing import Optional, Tuple

import torch

from memristor_asr.model.config import ConformerCtcConfigV1, config_from_dict, config_to_dict
from memristor_asr.model.ctc_model import ConformerCtcModelV1
from memristor_asr.util.atomic import atomic_save_torch

__all__ = ["CHECKPOINT_FORMAT", "save_model", "load_model", "model_checkpoint_dict"]

CHECKPOINT_FORMAT = "memristor_asr.ConformerCtcModelV1"


def model_checkpoint_dict(model: ConformerCtcModelV1) -> dict:
    return {"format": CHECKPOINT_FORMAT, "model_config": config_to_dict(model.cfg),
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


def save_model(model: ConformerCtcModelV1, path: str, **extra) -> None:
    """Write a model-only checkpoint atomically (``extra`` entries are stored alongside)."""
    d = model_checkpoint_dict(model)
    d.update(extra)
    atomic_save_torch(d, path)


def load_model(checkpoint_path: str, device: Optional[str] = None) -> Tuple[ConformerCtcModelV1, ConformerCtcConfigV1]:
    """Rebuild a model from a checkpoint (model-only or training checkpoint).

    :return: (model in eval mode on ``device`` (default cpu), its config)
    """
    path = os.fspath(checkpoint_path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: checkpoint does not exist")
    d = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(d, dict) or d.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint")
    cfg = config_from_dict(d["model_config"])
    model = ConformerCtcModelV1(cfg)
    model.load_state_dict(d["model"])
    model.eval()
    return model.to(device or "cpu"), cfg
