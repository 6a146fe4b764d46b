"""Kept for unpickling old job.save files (names moved to :mod:`.training.config` / :mod:`.training.pipelined`)."""
from .training.config import ConverterTrainV1Config
from .training.pipelined import train_pipelined

__all__ = ["ConverterTrainV1Config", "train_pipelined"]
