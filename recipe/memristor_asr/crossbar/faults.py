"""Stuck cells: a seeded fraction of the programmed cells that ignore programming.

Fabricated RRAM arrays have cells stuck in their low- or high-resistance state (forming
failures, over-SET filaments); MemTorch and CrossSim inject such faults, Synaptogen does not
model them. A stuck cell holds its state whatever pulse it gets, so here the programmed state
``r`` of each faulty cell (the I-V model's state variable: Synaptogen's resistance coordinate,
or the ideal model's conductance fraction) is replaced by the nominal LRS or HRS state (the I-V
model's ``r_on`` / ``r_off``) after programming. Every cell of the positive and the negative array
draws its own fault independently, with probability ``stuck_lrs_rate`` of sticking at LRS and
``stuck_hrs_rate`` at HRS. Faults are drawn per plane and row tile from a seed derived from
(draw seed, layer, plane, row tile), so they are reproducible and independent of how tiles are
batched.
"""
from dataclasses import dataclass

import torch

__all__ = ["StuckCellCounts", "inject_stuck_cells", "check_fault_rates"]


@dataclass
class StuckCellCounts:
    """Faults injected into one layer: cells stuck at LRS / HRS, out of ``cells`` (both arrays)."""

    lrs: int = 0
    hrs: int = 0
    cells: int = 0

    def add(self, other: "StuckCellCounts") -> None:
        self.lrs += other.lrs
        self.hrs += other.hrs
        self.cells += other.cells

    def as_dict(self) -> dict:
        frac = (self.lrs + self.hrs) / self.cells if self.cells else 0.0
        return {"lrs": self.lrs, "hrs": self.hrs, "cells": self.cells, "fraction": frac}


def check_fault_rates(stuck_lrs_rate: float, stuck_hrs_rate: float, where: str = "") -> None:
    """Raise ValueError unless both rates lie in [0, 1] and their sum does not exceed 1."""
    prefix = f"{where}: " if where else ""
    for name, rate in (("stuck_lrs_rate", stuck_lrs_rate), ("stuck_hrs_rate", stuck_hrs_rate)):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"{prefix}{name} must be a fraction of cells in [0, 1], got {rate!r}")
    if stuck_lrs_rate + stuck_hrs_rate > 1.0:
        raise ValueError(f"{prefix}stuck_lrs_rate + stuck_hrs_rate must not exceed 1, got "
                         f"{stuck_lrs_rate} + {stuck_hrs_rate}")


@torch.no_grad()
def inject_stuck_cells(r_pos: torch.Tensor, r_neg: torch.Tensor, stuck_lrs_rate: float, stuck_hrs_rate: float,
                       r_lrs: float, r_hrs: float, seed: int) -> StuckCellCounts:
    """Replace faulty cells of one tile block in place.

    :param r_pos, r_neg: [rows, cols] programmed states of the positive / negative array
    :param stuck_lrs_rate, stuck_hrs_rate: per-cell probabilities of a fault at LRS / HRS
    :param r_lrs, r_hrs: the states a stuck cell holds (units of ``r``)
    :param seed: the block's fault seed
    :return: how many cells stuck at each state
    """
    check_fault_rates(stuck_lrs_rate, stuck_hrs_rate)
    counts = StuckCellCounts(cells=r_pos.numel() + r_neg.numel())
    if stuck_lrs_rate == 0.0 and stuck_hrs_rate == 0.0:
        return counts
    gen = torch.Generator(device=r_pos.device).manual_seed(int(seed))
    for r in (r_pos, r_neg):
        u = torch.rand(r.shape, generator=gen, device=r.device)
        lrs = u < stuck_lrs_rate
        hrs = (u >= stuck_lrs_rate) & (u < stuck_lrs_rate + stuck_hrs_rate)
        r[lrs] = r_lrs
        r[hrs] = r_hrs
        counts.lrs += int(lrs.sum())
        counts.hrs += int(hrs.sum())
    return counts
