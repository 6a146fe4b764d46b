"""One-cycle learning-rate schedule as a pure function of the step (nothing to checkpoint).

Piecewise linear over the run: ``peak * initial_factor`` -> ``peak`` over the first
``warmup_fraction``, back down to ``peak * initial_factor`` over the next equal span, then
annealed to ``final_lr`` (the shape of the RWTH Conformer-CTC recipes the paper uses).
"""
from dataclasses import dataclass

__all__ = ["OneCycleConfigV1", "one_cycle_lr"]


@dataclass
class OneCycleConfigV1:
    """
    Attributes:
        peak_lr: highest learning rate (paper: 5e-4)
        initial_factor: start (and end of the second ramp) as a fraction of the peak
        warmup_fraction: fraction of all steps spent rising to the peak (the fall takes as long)
        final_lr: learning rate at the very last step
    """

    peak_lr: float = 5e-4
    initial_factor: float = 0.1
    warmup_fraction: float = 0.45
    final_lr: float = 1e-6

    def __post_init__(self):
        if not self.peak_lr > 0 or not 0 < self.initial_factor <= 1 or not 0 < self.warmup_fraction <= 0.5:
            raise ValueError(f"OneCycleConfigV1: invalid schedule {self}")


def one_cycle_lr(step: int, total_steps: int, cfg: OneCycleConfigV1) -> float:
    """Learning rate for 0-based ``step`` out of ``total_steps``."""
    x = step / max(total_steps - 1, 1)  # 0 ... 1
    lo, hi, w = cfg.peak_lr * cfg.initial_factor, cfg.peak_lr, cfg.warmup_fraction
    if x <= w:
        return lo + (hi - lo) * x / w
    if x <= 2 * w:
        return hi + (lo - hi) * (x - w) / w
    rest = 1.0 - 2 * w
    return lo + (cfg.final_lr - lo) * ((x - 2 * w) / rest if rest > 0 else 1.0)
