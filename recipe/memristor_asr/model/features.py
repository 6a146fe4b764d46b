"""Normalised log-mel features from raw waveforms, inside the model (digital, never on crossbars).

Keeping feature extraction in the model means a checkpoint alone turns audio into
log-probabilities: the normalisation statistics are buffers of the model.
"""
from typing import Tuple

import torch
from i6_models.primitives.feature_extraction import LogMelFeatureExtractionV1, LogMelFeatureExtractionV1Config

from memristor_asr.model.config import FeatureConfigV1

__all__ = ["LogMelFeaturesV1", "lengths_to_mask"]


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """:return: bool [B, max_len], True inside each sequence"""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class LogMelFeaturesV1(torch.nn.Module):
    """Waveform [B, N] -> normalised log10-mel features [B, T, F]; frames beyond a sequence's end are 0."""

    def __init__(self, cfg: FeatureConfigV1):
        super().__init__()
        self.cfg = cfg
        self.logmel = LogMelFeatureExtractionV1(LogMelFeatureExtractionV1Config(
            sample_rate=cfg.sample_rate, win_size=cfg.win_size, hop_size=cfg.hop_size, f_min=cfg.f_min,
            f_max=cfg.f_max, min_amp=cfg.min_amp, num_filters=cfg.num_filters, center=cfg.center))
        mean = torch.zeros(cfg.num_filters) if cfg.mean is None else torch.tensor(cfg.mean, dtype=torch.float32)
        std = torch.ones(cfg.num_filters) if cfg.std is None else torch.tensor(cfg.std, dtype=torch.float32)
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    @property
    def min_samples(self) -> int:
        """Shortest waveform that yields one frame."""
        return 1 if self.cfg.center else self.logmel.n_fft

    @torch.no_grad()
    def raw(self, audio: torch.Tensor, audio_lens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Unnormalised log-mel: [B, T, F] and frame counts [B] (used to estimate normalisation statistics)."""
        if audio.dim() != 2:
            raise ValueError(f"expected audio [B, N], got shape {tuple(audio.shape)}")
        short = (audio_lens < self.min_samples).nonzero().flatten().tolist()
        if short:
            raise ValueError(f"audio of batch item(s) {short} shorter than one analysis window "
                             f"({self.min_samples} samples)")
        feats, lens = self.logmel(audio.float(), audio_lens)  # [B, T, F], [B]
        lens = lens.long()
        if not torch.isfinite(feats).all():
            raise FloatingPointError("non-finite log-mel features (NaN/inf in the audio?)")
        return feats, lens

    def forward(self, audio: torch.Tensor, audio_lens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """:param audio: [B, N] float waveform at ``sample_rate`` :param audio_lens: [B] samples
        :return: features [B, T, F] (normalised, zero beyond each length) and frame counts [B]"""
        feats, lens = self.raw(audio, audio_lens)
        feats = (feats - self.mean) / self.std  # [B, T, F]
        feats = feats.masked_fill(~lengths_to_mask(lens, feats.shape[1])[:, :, None], 0.0)
        return feats, lens
