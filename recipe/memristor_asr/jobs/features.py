"""Jobs: log-mel feature normalisation statistics and an optional feature cache.

Thin wrappers over :mod:`memristor_asr.data.features` (80 log-mel bins, 25 ms / 10 ms).

- :class:`ComputeFeatureStatsJob`: ``out_stats`` (JSON ``{"mean": [80], "std": [80],
  "num_frames": N, "num_utterances": U, "config": {...}}``, the ``feature_stats`` input of
  the training job).
- :class:`CacheLogMelFeaturesJob`: ``out_features`` (``torch.save`` dict ``{"config": {...},
  "features": {utt id: Tensor [T, F]}}``, float16 by default to halve the size).
"""
__all__ = ["ComputeFeatureStatsJob", "CacheLogMelFeaturesJob"]

from typing import Optional

from sisyphus import Job, Task, tk

from memristor_asr.data.features import CACHE_DTYPES, LogMelFeatureConfig
from memristor_asr.jobs.common import prepare_task

#: one core, one intra-op thread: on a shared 2-core machine torch's default thread pool made
#: extraction about 50x slower than one thread (measured)
_RQMT_CPU = 1


class ComputeFeatureStatsJob(Job):
    """Per-bin mean/std of log-mel features over a (training) corpus.

    :param manifest: training corpus
    :param config: feature settings (must match the model's)
    :param max_utterances: use the first N utterances only (None: all)
    """

    def __init__(self, manifest: tk.Path, config: LogMelFeatureConfig = LogMelFeatureConfig(),
                 max_utterances: Optional[int] = None):
        self.manifest = manifest
        self.config = config
        self.max_utterances = max_utterances
        self.out_stats = self.output_path("feature_stats.json")

    def tasks(self):
        yield Task("run", rqmt={"cpu": _RQMT_CPU, "mem": 2, "time": 1})

    def run(self):
        from memristor_asr.data.features import compute_normalization_stats, write_normalization_stats
        from memristor_asr.data.manifest import read_manifest

        prepare_task(_RQMT_CPU)
        utts = read_manifest(self.manifest.get_path())
        stats = compute_normalization_stats(utts, self.config, self.max_utterances,
                                            sink=lambda line: print(line, flush=True))
        write_normalization_stats(self.out_stats.get_path(), stats)
        print(f"feature statistics from {stats['num_frames']} frames of {stats['num_utterances']} utterances")


class CacheLogMelFeaturesJob(Job):
    """Log-mel features of every utterance in one file (for repeated experiments on the same data).

    :param manifest: corpus
    :param config: feature settings
    :param dtype: ``float16`` or ``float32``
    """

    def __init__(self, manifest: tk.Path, config: LogMelFeatureConfig = LogMelFeatureConfig(), dtype: str = "float16"):
        if dtype not in CACHE_DTYPES:
            raise ValueError(f"CacheLogMelFeaturesJob: dtype must be one of {CACHE_DTYPES}, got {dtype!r}")
        self.manifest = manifest
        self.config = config
        self.dtype = dtype
        self.out_features = self.output_path("features.pt")

    def tasks(self):
        yield Task("run", rqmt={"cpu": _RQMT_CPU, "mem": 4, "time": 1})

    def run(self):
        from memristor_asr.data.features import log_mel_feature_cache
        from memristor_asr.data.manifest import read_manifest
        from memristor_asr.util.atomic import atomic_save_torch

        prepare_task(_RQMT_CPU)
        utts = read_manifest(self.manifest.get_path())
        cache = log_mel_feature_cache(utts, self.config, self.dtype, sink=lambda line: print(line, flush=True))
        atomic_save_torch(cache, self.out_features.get_path())
