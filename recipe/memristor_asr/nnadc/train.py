"""Kept for unpickling old job.save files (names moved to :mod:`.training.config` / :mod:`.training.block`)."""
from .training.block import train_block  # noqa: F401
from .training.config import BlockTrainV1Config  # noqa: F401

__all__ = ["BlockTrainV1Config", "train_block"]
