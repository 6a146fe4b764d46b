"""Kept for unpickling old job.save files (names moved to :mod:`.evaluation.monte_carlo`)."""
from .evaluation.monte_carlo import EvalV1Config, evaluate_converter, summarize, variation_breakdown, block_errors

__all__ = ["EvalV1Config", "evaluate_converter", "summarize", "variation_breakdown", "block_errors"]
