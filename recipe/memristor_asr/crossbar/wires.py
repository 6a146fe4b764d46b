"""Wire resistance (IR drop) in whole-model simulation: a static per-cell attenuation.

With wire resistance a cell does not see its drive voltage: the word line drops voltage towards
its far end, and the bit line rises above the converter's virtual ground towards its far end
(geometry and the exact solver: :mod:`~memristor_asr.crossbar.wire_network`). For linear cells
of conductance ``G`` the first-order (in the wire resistance) column current is

    c_j = sum_i V_i G_ij (1 - delta_ij),   delta = r_row * G @ Kc + r_col * K @ G,

with ``Kc[j, m] = min(j, m) + 1`` (word-line segments shared by the driver paths of cells ``j``
and ``m``) and ``K[i, m] = R - max(i, m)`` (bit-line segments shared on the way to the converter).
``delta`` depends only on the programmed states, not on the inputs. The first-order form goes
negative once ``delta`` approaches 1 (about 1 ohm per segment in a 128 x 128 array of
Synaptogen cells); its resummation ``1 / (1 + delta)`` is what this module uses: against the
exact network it stays within about 1 % (mean) and 4-5 % (worst column) of a column's total
current up to 3 ohm per segment, where ignoring IR drop errs by 10-13 % (mean) and 40-50 % (worst);
``tests/crossbar/test_wire_resistance.py`` bounds it at 0.1 and 1 ohm (figures: ``docs/experiment.md``).

Nonlinear cells: ``G`` is the secant conductance ``I(V; r) / V`` at half the full-scale read
voltage (mean of both polarities), and each cell's own nonlinear current is attenuated,
``I_ij ~= I(V_i; r_ij) a_ij``. Since ``I`` is linear in ``r``, a differential pair's column
current becomes two matrix products, as in the fast path without wires:

    I_pos - I_neg = sum_i P_low(V_i) (a_pos - a_neg)_ij + D(V_i) (r_pos a_pos - r_neg a_neg)_ij.

Read noise is left as it is (a cell's fluctuation current is not attenuated to first order by
the near-ground bit line). A partial row tile is an array of its real rows only.
"""
from typing import List, Tuple

import torch

from memristor_asr.crossbar.iv import IVModel

__all__ = ["wire_coupling", "secant_conductance", "attenuation", "WiredStates", "attenuated_states"]


def wire_coupling(rows: int, cols: int, device=None, dtype=torch.float64) -> Tuple[torch.Tensor, torch.Tensor]:
    """(K [rows, rows], Kc [cols, cols]): shared bit-line / word-line segments of two cells."""
    i = torch.arange(rows, device=device)
    j = torch.arange(cols, device=device)
    k = (rows - torch.maximum(i[:, None], i[None, :])).to(dtype)
    kc = (torch.minimum(j[:, None], j[None, :]) + 1).to(dtype)
    return k, kc


def secant_conductance(iv: IVModel, r: torch.Tensor, v: float) -> torch.Tensor:
    """``(I(v; r) / v + I(-v; r) / (-v)) / 2`` [S]: the conductance the attenuation linearises at."""
    pos = iv.current(torch.tensor(v, dtype=r.dtype, device=r.device), r) / v
    neg = iv.current(torch.tensor(-v, dtype=r.dtype, device=r.device), r) / -v
    return 0.5 * (pos + neg)


def _delta(g: torch.Tensor, r_row: float, r_col: float, col_tiles: List[Tuple[int, int]]) -> torch.Tensor:
    """``delta = r_row * G @ Kc + r_col * K @ G`` of arrays side by side (columns cut into word-line
    segments by ``col_tiles``), through cumulative sums instead of the dense K, Kc:
    ``(G Kc)_ij = sum_{s <= j} sum_{m >= s} G_im`` and ``(K G)_ij = sum_{k >= i} sum_{m <= k} G_mj``."""
    bl = torch.flip(torch.cumsum(torch.flip(torch.cumsum(g, 0), (0,)), 0), (0,))  # K @ G
    delta = bl.mul_(r_col)
    if r_row:
        for c0, c1 in col_tiles:
            seg = g[:, c0:c1]
            wl = torch.cumsum(torch.flip(torch.cumsum(torch.flip(seg, (1,)), 1), (1,)), 1)  # G @ Kc
            delta[:, c0:c1].add_(wl, alpha=r_row)
    return delta


def attenuation(r: torch.Tensor, iv: IVModel, r_row: float, r_col: float, v_lin: float) -> torch.Tensor:
    """Per-cell current factor ``1 / (1 + delta)`` of one array.

    :param r: [rows, cols] cell states of one bitline array (rows: word lines, driver at column 0;
        the converter after the last row)
    :param r_row, r_col: word-line / bit-line resistance per segment [ohm] (>= 0)
    :param v_lin: linearisation voltage [V]
    """
    g = secant_conductance(iv, r.double(), v_lin)
    return (1.0 / (1.0 + _delta(g, r_row, r_col, [(0, r.shape[1])]))).to(r.dtype)


class WiredStates:
    """The fast path's mean-current matrices with wire resistance, for one layer, and what the
    wires cost at a full-scale input on every row (the heaviest word and bit line load).

    Attributes:
        m_diff: [row tiles, tile_rows, P * out] ``r_pos a_pos - r_neg a_neg``
        low_diff: same shape, ``a_pos - a_neg``
        current_loss: fraction of the arrays' total current (both polarities) lost to the wires
        full_scale_error: [row tiles * P * out] error of each differential column current [A]
            against the wire-free array (rows of tiles concatenated)
    """

    def __init__(self, m_diff, low_diff, current_loss: float, full_scale_error: torch.Tensor):
        self.m_diff, self.low_diff = m_diff, low_diff
        self.current_loss, self.full_scale_error = current_loss, full_scale_error


def attenuated_states(r_diff: torch.Tensor, r_sum: torch.Tensor, rows: List[int], n_planes: int, n_out: int,
                      col_tiles: List[Tuple[int, int]], iv: IVModel, r_row: float, r_col: float,
                      v_lin: float, v_full: float) -> WiredStates:
    """Attenuate one layer's programmed arrays (every plane, row tile and column tile).

    :param r_diff, r_sum: [row tiles, tile_rows, P * out] programmed ``r_pos -+ r_neg``
    :param rows: real rows per row tile; ``col_tiles``: (first, end) output columns of each tile
    :param v_lin: linearisation voltage [V]; ``v_full``: the full-scale read voltage [V]
    """
    m_diff = torch.zeros_like(r_diff)
    low_diff = torch.zeros_like(r_diff)
    tiles = [(b * n_out + c0, b * n_out + c1) for b in range(n_planes) for c0, c1 in col_tiles]
    vt = torch.tensor(v_full, dtype=torch.float64)
    errors, lost, total = [], 0.0, 0.0
    for j, n in enumerate(rows):
        d, s = r_diff[j, :n].double(), r_sum[j, :n].double()
        r_pos, r_neg = (s + d) * 0.5, (s - d) * 0.5
        a_pos = 1.0 / (1.0 + _delta(secant_conductance(iv, r_pos, v_lin), r_row, r_col, tiles))
        a_neg = 1.0 / (1.0 + _delta(secant_conductance(iv, r_neg, v_lin), r_row, r_col, tiles))
        m_diff[j, :n] = (r_pos * a_pos - r_neg * a_neg).to(r_diff.dtype)
        low_diff[j, :n] = (a_pos - a_neg).to(r_diff.dtype)
        i_pos, i_neg = iv.current(vt, r_pos), iv.current(vt, r_neg)
        errors.append((i_pos * (a_pos - 1) - i_neg * (a_neg - 1)).sum(0))
        total += float((i_pos + i_neg).sum())
        lost += float((i_pos * (1 - a_pos) + i_neg * (1 - a_neg)).sum())
    return WiredStates(m_diff, low_diff, lost / total if total else 0.0, torch.cat(errors))
