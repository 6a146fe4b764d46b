"""From integer weights to programmed cell states: bit slicing, differential pairs, tiles.

- Bit slicing: an integer weight ``w`` in ``[-q_max, q_max]`` is split into ``P = bit_length(q_max)``
  binary planes of its magnitude (most significant first: significances ``2^(P-1) ... 1``), each
  carrying the sign: plane values are -1, 0, +1.
- Differential pairs: +1 = (LRS, HRS), -1 = (HRS, LRS), 0 = (HRS, HRS) on the (positive,
  negative) bitlines. Programming is binary: optional random-voltage cycling, a full RESET of
  every cell, then a SET pulse on the cells that encode a 1. Cycling pulses are uniform in
  ``[-cycling_voltage, cycling_voltage]``, either one voltage per cell and pulse
  (``cycling_granularity="cell"``, the default) or one per pulse for each bitline array of a tile
  (``"array"``: the positive and the negative array of a tile each get their own draw, as
  SynaptogenML's ``TiledMemristorLinear.init_from_linear_quant`` applies
  ``np.random.uniform(-2.0, 2.0)`` to a whole ``CellArrayCPU``).
- Tiles: each plane is cut into tiles of at most ``tile_rows x tile_cols`` pairs. A tile is one
  physical array and gets its own seed, derived from (draw seed, layer name, plane, tile row,
  tile column), so a draw is bit-reproducible whatever order or batch the tiles are simulated in.
  Tiles are simulated in chunks of at most ``max_cells_per_chunk`` cells to bound memory.

Stuck cells (``stuck_lrs_rate``, ``stuck_hrs_rate`` of the hardware description, off by
default) replace faulty cells' programmed states after programming (:mod:`~memristor_asr.crossbar.faults`).

Only what the fast path needs is kept: per plane and row tile ``r_pos - r_neg`` and
``r_pos + r_neg`` (float32), laid out ``[row tiles, tile_rows, P * out]`` (zero-padded rows).
"""
import hashlib
import logging
import time
from typing import List, Optional, Tuple

import torch

from memristor_asr.crossbar.cells import Cells
from memristor_asr.crossbar.config import CrossbarConfigV2
from memristor_asr.crossbar.faults import StuckCellCounts, inject_stuck_cells
from memristor_asr.crossbar.iv import IVModel
from memristor_asr.crossbar.params import load_synaptogen_params
from memristor_asr.crossbar.read_disturb import DisturbCandidates, collect_candidates

__all__ = ["derive_seed", "n_planes_for", "bit_planes", "ProgrammedStatesV1", "program_planes",
           "DEFAULT_MAX_CELLS_PER_CHUNK", "CYCLING_GRANULARITIES"]

_log = logging.getLogger(__name__)

DEFAULT_MAX_CELLS_PER_CHUNK = 1 << 20  # ~0.4 GB of transient cell state

#: how cycling pulses are drawn: one voltage per cell, or one per bitline array of a tile
CYCLING_GRANULARITIES = ("cell", "array")


def derive_seed(*parts) -> int:
    """A 63-bit seed from any printable parts (draw seed, layer name, indices), stable across
    processes and platforms."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def n_planes_for(q_max: int) -> int:
    """Binary planes needed for magnitudes up to ``q_max`` (4-bit: 7 -> 3, ternary: 1 -> 1)."""
    if q_max < 1:
        raise ValueError(f"q_max must be >= 1, got {q_max}")
    return int(q_max).bit_length()


def bit_planes(levels: torch.Tensor, q_max: int) -> Tuple[torch.Tensor, List[int]]:
    """Split integer weights into signed binary planes.

    :param levels: [out, in] integers in [-q_max, q_max]
    :return: (planes [P, in, out] int8 in {-1, 0, 1} (input-major: rows are inputs),
        significances [2^(P-1), ..., 1])
    """
    n = n_planes_for(q_max)
    mag = levels.abs().to(torch.int64)
    sign = torch.sign(levels).to(torch.int8)
    planes = torch.stack([((mag >> b) & 1).to(torch.int8) * sign for b in range(n - 1, -1, -1)])  # [P, out, in]
    return planes.transpose(1, 2).contiguous(), [2 ** b for b in range(n - 1, -1, -1)]


class ProgrammedStatesV1:
    """Programmed crossbars of one layer, in the form the fast path reads.

    Attributes:
        r_diff: [row tiles, tile_rows, P * out] ``r_pos - r_neg`` (zero in padded rows)
        r_sum: same shape, ``r_pos + r_neg``
        rows: number of real rows of each row tile
        n_planes, out_features: to split the last axis ``P * out``
        stuck: cells stuck at LRS / HRS (all zero without fault injection)
        disturb: the cells a read could switch (:mod:`~memristor_asr.crossbar.read_disturb`), or
            None (ideal devices, or not asked for)
    """

    def __init__(self, r_diff: torch.Tensor, r_sum: torch.Tensor, rows: List[int], n_planes: int, out_features: int,
                 stuck: Optional[StuckCellCounts] = None, disturb: Optional[DisturbCandidates] = None):
        self.r_diff, self.r_sum, self.rows = r_diff, r_sum, rows
        self.n_planes, self.out_features = n_planes, out_features
        self.stuck = stuck if stuck is not None else StuckCellCounts(cells=2 * sum(rows) * n_planes * out_features)
        self.disturb = disturb


def _inject_faults(states: ProgrammedStatesV1, cfg: CrossbarConfigV2, iv: IVModel, seed: int,
                   layer_name: str) -> ProgrammedStatesV1:
    """Stuck cells, per plane and row tile, from the hardware's fault rates (no-op at 0)."""
    lrs, hrs = getattr(cfg, "stuck_lrs_rate", 0.0), getattr(cfg, "stuck_hrs_rate", 0.0)
    if not (lrs or hrs):
        return states
    n_out = states.out_features
    for b in range(states.n_planes):
        cols = slice(b * n_out, (b + 1) * n_out)
        for j, rows in enumerate(states.rows):
            d, s = states.r_diff[j, :rows, cols], states.r_sum[j, :rows, cols]
            r_pos, r_neg = (s + d) * 0.5, (s - d) * 0.5
            n = inject_stuck_cells(r_pos, r_neg, lrs, hrs, iv.r_on, iv.r_off,
                                   derive_seed(seed, layer_name, b, j, "stuck"))
            states.stuck.lrs += n.lrs
            states.stuck.hrs += n.hrs
            states.r_diff[j, :rows, cols] = r_pos - r_neg
            states.r_sum[j, :rows, cols] = r_pos + r_neg
    if states.disturb is not None:
        states.disturb.drop_overwritten(states.r_diff, states.r_sum)
    return states


def _tile_grid(n: int, size: int) -> List[Tuple[int, int]]:
    return [(s, min(s + size, n)) for s in range(0, n, size)]


@torch.no_grad()
def program_planes(planes: torch.Tensor, cfg: CrossbarConfigV2, iv: IVModel, seed: int, layer_name: str,
                   device: Optional[torch.device] = None,
                   max_cells_per_chunk: int = DEFAULT_MAX_CELLS_PER_CHUNK,
                   cycling_granularity: Optional[str] = None,
                   disturb_v_read: Optional[float] = None) -> ProgrammedStatesV1:
    """Program every plane of one layer onto differential crossbar tiles.

    :param planes: [P, in, out] in {-1, 0, 1}
    :param cfg: the layer's resolved hardware description
    :param iv: the I-V model (its nominal states are used without device variation)
    :param seed: the draw seed; tile seeds derive from it and ``layer_name``
    :param device: where to simulate and store (default: the planes' device)
    :param cycling_granularity: "cell" or "array" (see the module docstring); None: the config's
        ``cycling_granularity`` if it has one, else "cell" (today's procedure)
    :param disturb_v_read: also record the cells a read up to this voltage could switch
        (``states.disturb``; Synaptogen cells with variation only)
    :return: the states the fast path needs
    """
    if cycling_granularity is None:
        cycling_granularity = getattr(cfg, "cycling_granularity", "cell")
    if cycling_granularity not in CYCLING_GRANULARITIES:
        raise ValueError(f"program_planes({layer_name!r}): cycling_granularity must be one of "
                         f"{CYCLING_GRANULARITIES}, got {cycling_granularity!r}")
    device = torch.device(device) if device is not None else planes.device
    n_planes, n_in, n_out = planes.shape
    row_tiles = _tile_grid(n_in, cfg.tile_rows)
    col_tiles = _tile_grid(n_out, cfg.tile_cols)
    r_diff = torch.zeros(len(row_tiles), cfg.tile_rows, n_planes * n_out, dtype=torch.float32, device=device)
    r_sum = torch.zeros_like(r_diff)
    planes = planes.to(device)

    if cfg.device_model == "ideal" or not cfg.device_variation:
        for b in range(n_planes):
            for j, (r0, r1) in enumerate(row_tiles):
                v = planes[b, r0:r1]  # [rows, out]
                r_pos = torch.where(v == 1, iv.r_on, iv.r_off)
                r_neg = torch.where(v == -1, iv.r_on, iv.r_off)
                r_diff[j, : r1 - r0, b * n_out:(b + 1) * n_out] = r_pos - r_neg
                r_sum[j, : r1 - r0, b * n_out:(b + 1) * n_out] = r_pos + r_neg
        return _inject_faults(ProgrammedStatesV1(r_diff, r_sum, [r1 - r0 for r0, r1 in row_tiles], n_planes, n_out),
                              cfg, iv, seed, layer_name)

    params = load_synaptogen_params(var_order=cfg.var_order)
    tiles = [(b, j, k) for b in range(n_planes) for j in range(len(row_tiles)) for k in range(len(col_tiles))]
    chunk: list = []
    chunk_cells = 0
    t0 = time.time()
    done = 0
    disturb: List[DisturbCandidates] = []

    def flush():
        nonlocal chunk, chunk_cells, done
        if not chunk:
            return
        sizes, seeds, masks = [], [], []
        for b, j, k in chunk:
            (r0, r1), (c0, c1) = row_tiles[j], col_tiles[k]
            v = planes[b, r0:r1, c0:c1]
            sizes.append(2 * v.numel())
            seeds.append(derive_seed(seed, layer_name, b, j, k))
            masks += [(v == 1).flatten(), (v == -1).flatten()]  # positive cells, then negative cells
        cells = Cells.from_segments(sizes, seeds, device=device, params=params)
        for _ in range(cfg.cycles_before_programming):
            if cycling_granularity == "cell":
                u = cells.uniform(-cfg.cycling_voltage, cfg.cycling_voltage)
            else:  # one pulse per bitline array: each tile segment is (positive cells, negative cells)
                u = cells.group_uniform(-cfg.cycling_voltage, cfg.cycling_voltage, groups_per_segment=2)
            cells.apply_voltage(u)
        cells.apply_voltage(cfg.reset_voltage)
        set_mask = torch.cat(masks)
        cells.apply_voltage(torch.where(set_mask, cfg.set_voltage, 0.0))
        r = cells.r
        if disturb_v_read is not None:
            disturb.append(_chunk_candidates(cells, chunk, row_tiles, col_tiles, n_out, n_planes, cfg.tile_rows,
                                             disturb_v_read))
        offset = 0
        for b, j, k in chunk:
            (r0, r1), (c0, c1) = row_tiles[j], col_tiles[k]
            n = (r1 - r0) * (c1 - c0)
            r_pos = r[offset:offset + n].view(r1 - r0, c1 - c0)
            r_neg = r[offset + n:offset + 2 * n].view(r1 - r0, c1 - c0)
            offset += 2 * n
            cols = slice(b * n_out + c0, b * n_out + c1)
            r_diff[j, : r1 - r0, cols] = r_pos - r_neg
            r_sum[j, : r1 - r0, cols] = r_pos + r_neg
        done += chunk_cells
        chunk, chunk_cells = [], 0

    for t in tiles:
        (r0, r1), (c0, c1) = row_tiles[t[1]], col_tiles[t[2]]
        n = 2 * (r1 - r0) * (c1 - c0)
        if chunk and chunk_cells + n > max_cells_per_chunk:
            flush()
        chunk.append(t)
        chunk_cells += n
    flush()
    _log.debug("programmed %s: %d cells in %.2f s", layer_name, done, time.time() - t0)
    cand = None if disturb_v_read is None else DisturbCandidates.concat(disturb, disturb_v_read)
    return _inject_faults(ProgrammedStatesV1(r_diff, r_sum, [r1 - r0 for r0, r1 in row_tiles], n_planes, n_out,
                                             disturb=cand), cfg, iv, seed, layer_name)


def _chunk_candidates(cells: Cells, chunk: list, row_tiles, col_tiles, n_out: int, n_planes: int, tile_rows: int,
                      v_read: float) -> DisturbCandidates:
    """Read-disturb candidates of one programmed chunk (cell order as in ``flush``)."""
    meta, offset = [], 0
    for b, j, k in chunk:
        (r0, r1), (c0, c1) = row_tiles[j], col_tiles[k]
        meta.append((offset, r1 - r0, c1 - c0, r0, c0, j, b * n_out + c0))
        offset += 2 * (r1 - r0) * (c1 - c0)
    return collect_candidates(cells.in_lrs, cells.u_set, cells.u_reset_threshold, cells.r, cells.lrs_state(), meta,
                              v_read, tile_rows, n_planes * n_out)
