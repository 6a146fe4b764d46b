"""Statistics of WERs over device draws (the paper's Table 3: average, std, min, max over 10 draws)."""
import math
from dataclasses import dataclass, field
from typing import List, Sequence

__all__ = ["WerStatistics", "aggregate_wers", "wer_statistics_markdown"]


@dataclass
class WerStatistics:
    """Attributes:
        mean, std, min, max: over the draws, in percent
        values: the per-draw WERs in draw order
        ddof: delta degrees of freedom of ``std`` (0: population, 1: sample)
    """

    mean: float
    std: float
    min: float
    max: float
    values: List[float] = field(default_factory=list)
    ddof: int = 0

    @property
    def count(self) -> int:
        return len(self.values)


def aggregate_wers(values: Sequence[float], ddof: int = 0) -> WerStatistics:
    """Mean, standard deviation, minimum and maximum of per-draw WERs.

    :param values: one WER per draw (finite numbers)
    :param ddof: 0 = population std (numpy's default), 1 = sample std (needs two or more draws)
    """
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("aggregate_wers: no WER values given")
    bad = [i for i, v in enumerate(vals) if not math.isfinite(v)]
    if bad:
        raise ValueError(f"aggregate_wers: non-finite WER at draw index(es) {bad}: {[vals[i] for i in bad]}")
    if ddof not in (0, 1):
        raise ValueError(f"aggregate_wers: ddof must be 0 or 1, got {ddof}")
    if len(vals) - ddof <= 0:
        raise ValueError(f"aggregate_wers: {len(vals)} value(s) are not enough for ddof={ddof}")
    mean = math.fsum(vals) / len(vals)
    var = math.fsum((v - mean) ** 2 for v in vals) / (len(vals) - ddof)
    return WerStatistics(mean=mean, std=math.sqrt(var), min=min(vals), max=max(vals), values=vals, ddof=ddof)


def wer_statistics_markdown(s: WerStatistics) -> str:
    """Two markdown tables: the statistics over the draws (two decimals, percent), then each draw's WER."""
    lines = [f"| draws | WER avg | std (ddof={s.ddof}) | min | max |", "|---|---|---|---|---|",
             f"| {s.count} | {s.mean:.2f} | {s.std:.2f} | {s.min:.2f} | {s.max:.2f} |", "",
             "| draw | WER |", "|---|---|"]
    lines += [f"| {i} | {v:.2f} |" for i, v in enumerate(s.values)]
    return "\n".join(lines) + "\n"
