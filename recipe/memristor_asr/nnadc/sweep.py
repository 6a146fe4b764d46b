"""Kept for unpickling old job.save files (names moved to :mod:`.evaluation.block_sweep`)."""
from .evaluation.block_sweep import BlockSweepV1Config, sweep_blocks, sub_adc_enob, residue_mse

__all__ = ["BlockSweepV1Config", "sweep_blocks", "sub_adc_enob", "residue_mse"]
