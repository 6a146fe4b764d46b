"""Kept for unpickling old job.save files (names moved to :mod:`.training.config` / :mod:`.training.block`)."""
from .training.block import train_block
from .training.config import BlockTrainV1Config

__all__ = ["BlockTrainV1Config", "train_block"]
