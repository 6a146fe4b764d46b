"""Kept for unpickling old job.save files (names moved to :mod:`.training.config` / :mod:`.training.pipelined`)."""
from .training.config import ConverterTrainV1Config  # noqa: F401
from .training.pipelined import train_pipelined  # noqa: F401

__all__ = ["ConverterTrainV1Config", "train_pipelined"]
