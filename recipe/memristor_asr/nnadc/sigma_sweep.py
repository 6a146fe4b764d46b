"""Kept for unpickling old job.save files (names moved to :mod:`.evaluation.sigma_sweep`)."""
from .evaluation.sigma_sweep import SigmaSweepV1Config, enob_vs_sigma, max_sigma_meeting, sigma_sweep_table

__all__ = ["SigmaSweepV1Config", "enob_vs_sigma", "max_sigma_meeting", "sigma_sweep_table"]
