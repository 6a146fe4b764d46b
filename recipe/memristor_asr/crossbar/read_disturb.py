"""Read disturb: read pulses that cross a cell's own switching threshold.

A read is a voltage pulse like a programming one. Synaptogen cells SET at ``U <= U_SET`` and
RESET at ``U >`` their reset threshold, both drawn per cell and cycle from the package's fitted
distributions, and those reach into the read range: about 11 % of cycles have ``U_SET`` above
-0.6 V (0.04 % above -0.5 V), and about 0.06 % of LRS cells a reset threshold below +0.6 V. A
negative read of ``-v_read_max`` on such an HRS cell switches it to LRS: the pair's weight bit
flips in that plane.

What is simulated:
- **Counting (always, a diagnostic).** Programming records the cells a read within the DAC range
  could switch (:class:`DisturbCandidates`); every forward pass adds its DAC codes to a per-row
  histogram. The report counts the cell reads whose voltage crosses the cell's threshold, as if
  no cell ever switched (the exposure), the cells crossed at least once, and the same count for
  lower read voltages (the codes scale with ``v_read_max``), hence the largest read voltage that
  keeps the disturbing fraction below 0.1 %.
- **Switching (option ``CrossbarConfigV2.apply_read_disturb``).** Before each forward call, every
  candidate HRS cell whose threshold the call's most negative read on its row crosses is SET to
  its cycle's LRS, for the rest of the run (so a switch takes effect at the start of the call in
  which its first disturbing read happens: with per-utterance calls, at most one utterance early).
  RESET disturb is counted, not applied: a partial RESET needs the cell's RESET-curve state, and
  at the default read voltage it concerns ~0.06 % of LRS cells against ~11 % of HRS cells for SET.

A cell read is one cell under a non-zero read voltage (a row at code 0 reads nothing).
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch

__all__ = ["DisturbCandidates", "ReadDisturbMonitor", "collect_candidates", "pool_reports", "SAFE_FRACTION"]

#: the disturbing fraction of cell reads under which a read voltage counts as safe
SAFE_FRACTION = 1e-3


@dataclass
class DisturbCandidates:
    """The cells of one layer that a read up to ``v_read_max`` could switch, after programming.

    Attributes:
        v_read_max: the read voltage the candidates were selected at [V]
        set_index: [m] flat index into the layer's ``r_diff`` / ``r_sum`` (row tile, tile row, column)
        set_row: [m] the cell's input row (global)
        set_sign: [m] +1 for the pair's positive cell, -1 for its negative cell
        set_threshold: [m] U_SET [V] (negative, >= -v_read_max)
        set_r: [m] the state a SET writes (the cycle's LRS)
        set_r_programmed: [m] the state after programming (to drop cells that faults overwrote)
        reset_row: [k] input row of each LRS cell with a reset threshold < v_read_max
        reset_threshold: [k] that threshold [V]
        hrs_cells, lrs_cells: cells of the layer in each state after programming
    """

    v_read_max: float
    set_index: torch.Tensor
    set_row: torch.Tensor
    set_sign: torch.Tensor
    set_threshold: torch.Tensor
    set_r: torch.Tensor
    set_r_programmed: torch.Tensor
    reset_row: torch.Tensor
    reset_threshold: torch.Tensor
    hrs_cells: int = 0
    lrs_cells: int = 0

    @staticmethod
    def concat(parts: List["DisturbCandidates"], v_read_max: float) -> "DisturbCandidates":
        def cat(name):
            return torch.cat([getattr(p, name) for p in parts]) if parts else torch.zeros(0)
        return DisturbCandidates(v_read_max, *(cat(n) for n in (
            "set_index", "set_row", "set_sign", "set_threshold", "set_r", "set_r_programmed", "reset_row",
            "reset_threshold")), hrs_cells=sum(p.hrs_cells for p in parts), lrs_cells=sum(p.lrs_cells for p in parts))

    def drop_overwritten(self, r_diff: torch.Tensor, r_sum: torch.Tensor) -> None:
        """Forget SET candidates whose state changed after programming (stuck-cell faults)."""
        r = self._state(r_diff, r_sum)
        keep = (r - self.set_r_programmed).abs() <= 1e-6 * self.set_r_programmed.abs().clamp_min(1e-12)
        for name in ("set_index", "set_row", "set_sign", "set_threshold", "set_r", "set_r_programmed"):
            setattr(self, name, getattr(self, name)[keep])

    def _state(self, r_diff: torch.Tensor, r_sum: torch.Tensor) -> torch.Tensor:
        d, s = r_diff.reshape(-1)[self.set_index], r_sum.reshape(-1)[self.set_index]
        return 0.5 * (s + self.set_sign * d)


def collect_candidates(in_lrs: torch.Tensor, u_set: torch.Tensor, u_reset_threshold: torch.Tensor,
                       r: torch.Tensor, r_lrs: torch.Tensor, tiles: List[tuple], v_read_max: float,
                       tile_rows: int, n_cols: int) -> DisturbCandidates:
    """Candidates of one programmed chunk of tiles.

    :param in_lrs, u_set, u_reset_threshold, r, r_lrs: [cells] state after programming, the
        cycle's SET threshold, the reset threshold, the state and the state of the cycle's LRS
    :param tiles: per tile of the chunk, in cell order: ``(offset, rows, cols, r0, c0, j, col0)``,
        its cells being (positive rows x cols, then negative rows x cols), ``r0`` its first input
        row, ``j`` its row tile, ``col0`` its first column in the ``P * out`` axis
    :param tile_rows, n_cols: shape of the layer's ``r_diff`` per row tile (rows, ``P * out``)
    """
    dev = r.device
    offsets = torch.tensor([t[0] for t in tiles], device=dev)

    def locate(idx):
        t = torch.searchsorted(offsets, idx, right=True) - 1
        meta = torch.tensor([t_[1:] for t_ in tiles], device=dev)[t]  # [m, 6]
        rows, cols, r0, c0, j, col0 = meta.unbind(1)
        local = idx - offsets[t]
        n = rows * cols
        negative = local >= n
        local = local - negative.long() * n
        tr, tc = local // cols, local % cols
        flat = (j * tile_rows + tr) * n_cols + col0 + tc
        return flat, r0 + tr, 1.0 - 2.0 * negative.float()

    set_idx = (~in_lrs & (u_set >= -v_read_max)).nonzero().squeeze(1)
    reset_idx = (in_lrs & (u_reset_threshold < v_read_max)).nonzero().squeeze(1)
    flat, row, sign = locate(set_idx)
    _, reset_row, _ = locate(reset_idx)
    n_lrs = int(in_lrs.sum())
    return DisturbCandidates(v_read_max, flat, row, sign, u_set[set_idx].clone(), r_lrs[set_idx].clone(),
                             r[set_idx].clone(), reset_row, u_reset_threshold[reset_idx].clone(),
                             hrs_cells=int(in_lrs.numel()) - n_lrs, lrs_cells=n_lrs)


class ReadDisturbMonitor:
    """Per layer: the DAC-code histogram of its reads and, with ``apply``, the switching.

    :param cand: the layer's candidates
    :param in_features: input rows
    :param cells_per_row: cells one input row drives (2 x planes x columns)
    :param apply: SET the crossed candidates (see the module docstring)
    """

    def __init__(self, cand: DisturbCandidates, in_features: int, cells_per_row: int, apply: bool = False):
        self.cand, self.in_features, self.cells_per_row, self.apply = cand, in_features, cells_per_row, apply
        self.levels: Optional[int] = None
        self.hist: Optional[torch.Tensor] = None  # [in, 2 levels + 1] reads per row and code
        self.switched = torch.zeros(len(cand.set_index), dtype=torch.bool, device=cand.set_index.device)

    def reset(self) -> None:
        self.hist = None

    def observe(self, codes: torch.Tensor, levels: int, r_diff: torch.Tensor, r_sum: torch.Tensor) -> None:
        """Count the reads of one forward call ``codes [N, in]`` and, with ``apply``, SET the
        candidates they cross (in place on ``r_diff`` / ``r_sum``) before the call reads."""
        if self.levels is not None and levels != self.levels:
            raise ValueError(f"ReadDisturbMonitor: DAC levels changed from {self.levels} to {levels}")
        self.levels = levels
        width = 2 * levels + 1
        rows = torch.arange(self.in_features, device=codes.device)
        counts = torch.bincount((rows * width + codes + levels).reshape(-1), minlength=self.in_features * width)
        counts = counts.view(self.in_features, width)
        self.hist = counts if self.hist is None else self.hist + counts
        if self.apply and len(self.cand.set_index):
            self._switch(codes.min(0).values, levels, r_diff, r_sum)

    def _switch(self, most_negative: torch.Tensor, levels: int, r_diff: torch.Tensor, r_sum: torch.Tensor) -> None:
        c = self.cand
        v = most_negative[c.set_row].float() / levels * c.v_read_max  # [m] the call's lowest read voltage per cell
        hit = (v <= c.set_threshold) & ~self.switched
        if not bool(hit.any()):
            return
        idx = hit.nonzero().squeeze(1)
        flat, sign = c.set_index[idx], c.set_sign[idx]
        old = c._state(r_diff, r_sum)[idx]
        delta = c.set_r[idx] - old
        r_diff.view(-1).index_add_(0, flat, sign * delta)
        r_sum.view(-1).index_add_(0, flat, delta)
        self.switched[idx] = True

    def _first_code(self, threshold: torch.Tensor, v: float, negative: bool) -> torch.Tensor:
        """Smallest |code| whose read at full scale ``v`` crosses each threshold (> levels: none)."""
        L = self.levels
        if negative:  # U <= U_SET, U = -k v / L
            k = torch.ceil(-threshold.double() * L / v - 1e-9)
        else:  # U > threshold, U = k v / L
            k = torch.floor(threshold.double() * L / v + 1e-9) + 1
        return k.clamp(min=1, max=L + 1).long()

    def _crossing_reads(self, v: float) -> Dict[str, float]:
        """Disturbing cell reads at full-scale read voltage ``v`` (<= the candidates' own), from the histogram."""
        L, h, c = self.levels, self.hist.double(), self.cand
        # at_*[row, k]: reads of the row at code -k' / +k' for any k' >= k (k = 0..L; L + 1 holds 0)
        at_neg = torch.zeros(self.in_features, L + 2, dtype=h.dtype, device=h.device)
        at_pos = torch.zeros_like(at_neg)
        mag_neg = torch.flip(h[:, :L + 1], [1])  # column k: code -k, k = 0..L
        mag_pos = h[:, L:]  # column k: code +k
        at_neg[:, :L + 1] = torch.flip(torch.cumsum(torch.flip(mag_neg, [1]), 1), [1])
        at_pos[:, :L + 1] = torch.flip(torch.cumsum(torch.flip(mag_pos, [1]), 1), [1])
        k_set = self._first_code(c.set_threshold, v, True)
        k_reset = self._first_code(c.reset_threshold, v, False)
        per_set = at_neg[c.set_row, k_set]
        per_reset = at_pos[c.reset_row, k_reset]
        return {"set": float(per_set.sum()), "reset": float(per_reset.sum()),
                "cells_crossed": int((per_set > 0).sum()) + int((per_reset > 0).sum())}

    def report(self, scan_step: float = 0.01) -> Optional[Dict[str, object]]:
        """The diagnostic since the last reset (None before any read)."""
        if self.hist is None:
            return None
        L, v0 = self.levels, self.cand.v_read_max
        nonzero = float(self.hist.sum() - self.hist[:, L].sum())
        cell_reads = nonzero * self.cells_per_row
        now = self._crossing_reads(v0)
        scan_v = [round(v0 - i * scan_step, 6) for i in range(int(math.floor((v0 - 0.3) / scan_step + 1e-9)) + 1)]
        scan = [self._crossing_reads(v) for v in scan_v]
        out = {
            "v_read_max": v0, "cell_reads": cell_reads,
            "set_candidates": len(self.cand.set_index), "reset_candidates": len(self.cand.reset_threshold),
            "hrs_cells": self.cand.hrs_cells, "lrs_cells": self.cand.lrs_cells,
            "set_reads": now["set"], "reset_reads": now["reset"],
            "fraction": (now["set"] + now["reset"]) / cell_reads if cell_reads else 0.0,
            "cells_crossed": now["cells_crossed"],
            "cells_switched": int(self.switched.sum()) if self.apply else None,
            "scan": {"v_read_max": scan_v, "disturbing_reads": [s["set"] + s["reset"] for s in scan]},
        }
        out["max_safe_v_read"] = safe_voltage(scan_v, out["scan"]["disturbing_reads"], cell_reads)
        return out


def safe_voltage(volts: List[float], disturbing: List[float], cell_reads: float) -> Optional[float]:
    """The largest scanned read voltage whose disturbing fraction stays below :data:`SAFE_FRACTION`
    (None: none of them)."""
    ok = [v for v, d in zip(volts, disturbing) if cell_reads and d / cell_reads < SAFE_FRACTION]
    return max(ok) if ok else None


def pool_reports(reports: List[Dict[str, object]]) -> Optional[Dict[str, object]]:
    """All layers together (the scans must share their voltages)."""
    reports = [r for r in reports if r]
    if not reports:
        return None
    cell_reads = sum(r["cell_reads"] for r in reports)
    volts = reports[0]["scan"]["v_read_max"]
    if any(r["scan"]["v_read_max"] != volts for r in reports):
        return {"cell_reads": cell_reads, "note": "layers use different read voltages: not pooled"}
    disturbing = [sum(r["scan"]["disturbing_reads"][i] for r in reports) for i in range(len(volts))]
    set_reads, reset_reads = sum(r["set_reads"] for r in reports), sum(r["reset_reads"] for r in reports)
    switched = [r["cells_switched"] for r in reports]
    return {"v_read_max": volts[0], "cell_reads": cell_reads, "set_reads": set_reads, "reset_reads": reset_reads,
            "fraction": (set_reads + reset_reads) / cell_reads if cell_reads else 0.0,
            "cells_crossed": sum(r["cells_crossed"] for r in reports),
            "cells_switched": None if any(s is None for s in switched) else sum(switched),
            "max_safe_v_read": safe_voltage(volts, disturbing, cell_reads),
            "scan": {"v_read_max": volts, "disturbing_reads": disturbing}}
