"""SpecAugment on normalised log-mel features (training only), via i6_models' ``specaugment_v1_by_length``.

Masks fill with 0, which after normalisation is the per-band mean. Randomness comes from
torch's global generator, which the trainer seeds and checkpoints (so resumed training draws
the same masks).
"""
from dataclasses import dataclass

import torch
from i6_models.primitives.specaugment import specaugment_v1_by_length

__all__ = ["SpecAugConfigV1", "spec_augment"]


@dataclass
class SpecAugConfigV1:
    """
    Attributes:
        enabled: apply SpecAugment during training
        time_min_num_masks: minimum number of time masks per utterance
        time_max_mask_per_n_frames: at most one time mask per this many frames (of the longest utterance)
        time_mask_max_size: longest time mask in frames
        freq_min_num_masks: minimum number of frequency masks
        freq_max_num_masks: maximum number of frequency masks
        freq_mask_max_size: widest frequency mask in mel bands
    """

    enabled: bool = True
    time_min_num_masks: int = 2
    time_max_mask_per_n_frames: int = 25
    time_mask_max_size: int = 20
    freq_min_num_masks: int = 2
    freq_max_num_masks: int = 5
    freq_mask_max_size: int = 8


def spec_augment(feats: torch.Tensor, cfg: SpecAugConfigV1) -> torch.Tensor:
    """:param feats: [B, T, F] :return: masked copy [B, T, F]"""
    if not cfg.enabled:
        return feats
    return specaugment_v1_by_length(
        feats, time_min_num_masks=cfg.time_min_num_masks, time_max_mask_per_n_frames=cfg.time_max_mask_per_n_frames,
        time_mask_max_size=cfg.time_mask_max_size, freq_min_num_masks=cfg.freq_min_num_masks,
        freq_max_num_masks=cfg.freq_max_num_masks, freq_mask_max_size=cfg.freq_mask_max_size)
