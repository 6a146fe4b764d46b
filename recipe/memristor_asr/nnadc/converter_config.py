"""Kept for unpickling old job.save files (names moved to :mod:`.design.config`)."""
from .design.config import StageV1Config, PipelinedAdcV1Config, SubrangingAdcV1Config, TRANSFERS, MAX_TOTAL_BITS

__all__ = ["StageV1Config", "PipelinedAdcV1Config", "SubrangingAdcV1Config", "TRANSFERS", "MAX_TOTAL_BITS"]
