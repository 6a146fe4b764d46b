"""Log-mel features (80 bins, 25 ms window, 10 ms shift) and their normalisation statistics.

The extractor is i6_models' ``LogMelFeatureExtractionV1`` (log10 mel power, librosa mel filters,
Hann window, no torchaudio), configured by :class:`LogMelFeatureConfig`; training, statistics and
caching all call :func:`extract_log_mel` / :class:`LogMelExtractor`, so features agree
everywhere. Normalisation statistics are per-bin mean and standard deviation over all frames of
the training data, stored as JSON ``{"mean": [F], "std": [F], "num_frames": N, "config": {...}}``
(:func:`compute_normalization_stats`, :func:`read_normalization_stats`).
"""
import dataclasses
import json
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from memristor_asr.data.audio import load_audio
from memristor_asr.data.manifest import Utterance
from memristor_asr.data.progress import ProgressLog
from memristor_asr.util.atomic import atomic_write

__all__ = [
    "LogMelFeatureConfig",
    "LogMelExtractor",
    "extract_log_mel",
    "num_frames",
    "compute_normalization_stats",
    "write_normalization_stats",
    "read_normalization_stats",
    "normalize_features",
    "CACHE_DTYPES",
    "log_mel_feature_cache",
]


@dataclasses.dataclass(frozen=True)
class LogMelFeatureConfig:
    """Log-mel front end. Hashed into job ids; the defaults are the project's features.

    Attributes:
        sample_rate: audio sample rate in Hz (audio at another rate is an error, not resampled)
        win_size: analysis window in seconds (25 ms)
        hop_size: frame shift in seconds (10 ms)
        num_filters: mel bins
        f_min: lowest mel filter edge in Hz
        f_max: highest mel filter edge in Hz
        min_amp: floor before log10
        center: pad so that frame t is centred at t * hop (False: frames start at t * hop)
        n_fft: FFT size; None = window length in samples (400)
    """

    sample_rate: int = 16000
    win_size: float = 0.025
    hop_size: float = 0.010
    num_filters: int = 80
    f_min: int = 60
    f_max: int = 7600
    min_amp: float = 1e-10
    center: bool = False
    n_fft: Optional[int] = None

    def to_i6(self):
        from i6_models.primitives.feature_extraction import LogMelFeatureExtractionV1Config

        return LogMelFeatureExtractionV1Config(
            sample_rate=self.sample_rate, win_size=self.win_size, hop_size=self.hop_size, f_min=self.f_min,
            f_max=self.f_max, min_amp=self.min_amp, num_filters=self.num_filters, center=self.center, n_fft=self.n_fft)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def num_frames(num_samples: int, cfg: LogMelFeatureConfig) -> int:
    """Frames produced for ``num_samples`` samples (0 when shorter than one window)."""
    hop = int(cfg.hop_size * cfg.sample_rate)
    n_fft = cfg.n_fft or int(cfg.win_size * cfg.sample_rate)
    if cfg.center:
        return num_samples // hop + 1
    return max(0, (num_samples - n_fft) // hop + 1)


class LogMelExtractor(torch.nn.Module):
    """Batched log-mel extraction: ``forward(audio [B, N], lengths [B]) -> ([B, T, F], frames [B])``."""

    def __init__(self, cfg: LogMelFeatureConfig = LogMelFeatureConfig()):
        super().__init__()
        from i6_models.primitives.feature_extraction import LogMelFeatureExtractionV1

        self.cfg = cfg
        self.impl = LogMelFeatureExtractionV1(cfg.to_i6())

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        n_fft = self.impl.n_fft
        if not self.cfg.center and audio.shape[1] < n_fft:
            audio = torch.nn.functional.pad(audio, (0, n_fft - audio.shape[1]))  # [B, n_fft]
        feats, frames = self.impl(audio, lengths)  # [B, T, F], [B]
        frames = torch.clamp(frames, min=0)
        return feats, frames


_EXTRACTORS: Dict[LogMelFeatureConfig, LogMelExtractor] = {}


def extract_log_mel(audio, cfg: LogMelFeatureConfig = LogMelFeatureConfig()) -> torch.Tensor:
    """Features of one utterance.

    :param audio: samples [N] (numpy or torch, float in [-1, 1]) at ``cfg.sample_rate``
    :return: float32 tensor [T, F], T = :func:`num_frames` (N)
    """
    if cfg not in _EXTRACTORS:
        _EXTRACTORS[cfg] = LogMelExtractor(cfg)
    x = torch.as_tensor(np.asarray(audio, dtype=np.float32)).reshape(1, -1)  # [1, N]
    if x.shape[1] == 0:
        raise ValueError("extract_log_mel: empty audio")
    with torch.no_grad():
        feats, frames = _EXTRACTORS[cfg](x, torch.tensor([x.shape[1]]))  # [1, T, F], [1]
    return feats[0, : int(frames[0])].contiguous()  # [T, F]


def compute_normalization_stats(utterances: Sequence[Utterance], cfg: LogMelFeatureConfig = LogMelFeatureConfig(),
                                max_utterances: Optional[int] = None, sink=None) -> dict:
    """Per-bin mean/std over all frames of ``utterances`` (float64 accumulation).

    :param max_utterances: use only the first N (None: all)
    """
    utts = list(utterances)[:max_utterances] if max_utterances else list(utterances)
    if not utts:
        raise ValueError("compute_normalization_stats: no utterances")
    s1 = np.zeros(cfg.num_filters, dtype=np.float64)
    s2 = np.zeros(cfg.num_filters, dtype=np.float64)
    n = 0
    progress = ProgressLog(len(utts), "feature statistics", sink=sink)
    for u in utts:
        feats = extract_log_mel(load_audio(u.audio, cfg.sample_rate, where=f"utterance {u.id!r}"), cfg).double().numpy()
        if feats.shape[0] == 0:
            raise ValueError(f"utterance {u.id!r} ({u.audio}): shorter than one analysis window")
        s1 += feats.sum(axis=0)
        s2 += (feats ** 2).sum(axis=0)
        n += feats.shape[0]
        progress.step()
    mean = s1 / n
    var = np.maximum(s2 / n - mean ** 2, 0.0)
    std = np.sqrt(var)
    if not np.all(np.isfinite(mean)) or not np.all(std > 0):
        raise ValueError("compute_normalization_stats: non-finite mean or zero variance in some bin")
    return {"mean": mean.tolist(), "std": std.tolist(), "num_frames": int(n), "num_utterances": len(utts),
            "config": cfg.as_dict()}


#: storage types of :func:`log_mel_feature_cache` (float16 halves the size)
CACHE_DTYPES = ("float16", "float32")


def log_mel_feature_cache(utterances: Sequence[Utterance], cfg: LogMelFeatureConfig = LogMelFeatureConfig(),
                          dtype: str = "float16", sink=None) -> dict:
    """Features of every utterance, for repeated experiments on the same data without re-extraction.

    :param dtype: storage type, one of :data:`CACHE_DTYPES`
    :param sink: receives the progress lines (rate, ETA)
    :return: ``{"config": cfg.as_dict(), "features": {utterance id: Tensor [T, F]}}`` (``torch.save``-able)
    """
    if dtype not in CACHE_DTYPES:
        raise ValueError(f"log_mel_feature_cache: dtype must be one of {CACHE_DTYPES}, got {dtype!r}")
    utts = list(utterances)
    progress = ProgressLog(len(utts), "feature cache", sink=sink)
    feats = {}
    for u in utts:
        audio = load_audio(u.audio, cfg.sample_rate, where=f"utterance {u.id!r}")
        feats[u.id] = extract_log_mel(audio, cfg).to(getattr(torch, dtype))  # [T, F]
        progress.step()
    return {"config": cfg.as_dict(), "features": feats}


def write_normalization_stats(path: str, stats: dict) -> None:
    with atomic_write(path) as f:
        json.dump(stats, f, indent=1)


def read_normalization_stats(path: str, cfg: Optional[LogMelFeatureConfig] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """(mean [F], std [F]) as float32 tensors; checks the stored config against ``cfg`` if given."""
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    for k in ("mean", "std", "num_frames"):
        if k not in d:
            raise ValueError(f"{path}: normalisation statistics lack {k!r}")
    if cfg is not None and d.get("config") != cfg.as_dict():
        raise ValueError(f"{path}: statistics were computed with {d.get('config')}, not {cfg.as_dict()}")
    mean, std = torch.tensor(d["mean"], dtype=torch.float32), torch.tensor(d["std"], dtype=torch.float32)
    if mean.shape != std.shape or not torch.all(std > 0):
        raise ValueError(f"{path}: mean/std shapes differ or std has non-positive entries")
    return mean, std


def normalize_features(feats: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """(feats - mean) / std, broadcast over the last axis (features [..., F])."""
    return (feats - mean) / std  # [..., F]
