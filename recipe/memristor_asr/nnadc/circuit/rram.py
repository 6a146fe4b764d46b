"""RRAM weight constraints: ``A_R``-bit conductance levels and the passive-column budget.

Why these two: a weight is the conductance difference of a cell pair (upper / lower sub-array)
divided by the column's total conductance, so (1) a cell programmed to one of ``2**A_R`` levels
gives signed integer weight levels ``k in [-L, L]``, ``L = 2**A_R - 1``, times a per-column step
``s = G_step / G_column``, and (2) a passive divider cannot amplify: the summed magnitudes of a
column (bias row included) stay below one, the rest of the column conductance being a load to
the mid rail. The step ``s`` is free per column (it is set by that load), so it is chosen to
minimise the column's rounding error over the candidates ``max|w| / m``, ``m = ceil(L/2) .. L``
(the largest weight sits on one of the upper levels): with 3-bit cells a 2:1 weight ratio is then
exactly ``6:3`` instead of being forced to ``7:4``.

Training keeps float "latent" weights; the forward pass uses their quantized value with a
straight-through gradient, and the latent first layer is projected back onto the L1 ball every
few hundred iterations (nnadc.md).
"""
from typing import Optional, Tuple

import torch

__all__ = ["check_rram_bits", "quantize_columns", "column_levels", "project_columns_l1", "fit_columns_to_budget"]


def check_rram_bits(bits: int, name: str = "rram_bits") -> int:
    """Validate an RRAM precision (1..7 bits, the range the paper explores)."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 7:
        raise ValueError(f"{name}={bits!r}: RRAM precision must be an integer number of bits in 1..7")
    return bits


def _scale(w: torch.Tensor, levels: int) -> torch.Tensor:
    """Per-column step minimising the squared rounding error (see module docstring)."""
    w = w.detach()
    top = w.abs().amax(dim=0).clamp_min(1e-12)  # [cols]
    m = torch.arange((levels + 1) // 2, levels + 1, dtype=w.dtype, device=w.device)  # [C]
    s = top[None, :] / m[:, None]  # [C, cols]
    err = ((torch.round(w[None] / s[:, None, :]) * s[:, None, :] - w[None]) ** 2).sum(1)  # [C, cols]
    best = err.argmin(dim=0)  # [cols]
    return s.gather(0, best[None, :]).squeeze(0)


def quantize_columns(w: torch.Tensor, bits: int, max_l1: Optional[float] = None) -> torch.Tensor:
    """Quantize ``w [rows, cols]`` column-wise to ``A_R``-bit levels (straight-through gradient).

    :param w: latent weights, rows = inputs (+ bias row), cols = neurons
    :param bits: RRAM precision ``A_R``
    :param max_l1: if given, a column whose quantized L1 norm exceeds it is scaled down to it
        (a larger mid-rail load, i.e. a larger step ``s``; the integer levels stay)
    :return: quantized weights, same shape
    """
    levels = 2**bits - 1
    s = _scale(w, levels)  # [cols]
    wq = torch.round(w.detach() / s).clamp(-levels, levels) * s  # [rows, cols]
    wq = w + (wq - w.detach())  # straight-through
    if max_l1 is not None:
        l1 = wq.abs().sum(dim=0)  # [cols]
        wq = wq * torch.where(l1 > max_l1, max_l1 / l1.clamp_min(1e-12), torch.ones_like(l1))
    return wq


@torch.no_grad()
def column_levels(w: torch.Tensor, bits: int, max_l1: Optional[float] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Hardware view of :func:`quantize_columns`: integer levels ``K [rows, cols]`` and steps ``s [cols]``.

    ``K * s`` equals ``quantize_columns(w, bits, max_l1)``.
    """
    levels = 2**bits - 1
    s = _scale(w, levels)
    k = torch.round(w / s).clamp(-levels, levels)
    if max_l1 is not None:
        l1 = (k.abs() * s).sum(dim=0)
        s = torch.where(l1 > max_l1, max_l1 / k.abs().sum(dim=0).clamp_min(1), s)
    return k.to(torch.int64), s


@torch.no_grad()
def project_columns_l1(w: torch.Tensor, radius: float) -> None:
    """In place: project each column of ``w`` onto ``{v : sum|v| <= radius}`` (Euclidean projection).

    Sort-based algorithm of Duchi et al. (2008): soft-threshold the magnitudes by the smallest
    ``theta`` that brings the column inside the ball; columns already inside are untouched.
    """
    a = w.abs()  # [rows, cols]
    inside = a.sum(dim=0) <= radius
    if bool(inside.all()):
        return
    mu, _ = torch.sort(a, dim=0, descending=True)
    cssv = mu.cumsum(dim=0) - radius  # [rows, cols]
    idx = torch.arange(1, w.shape[0] + 1, dtype=w.dtype, device=w.device)[:, None]
    cond = mu - cssv / idx > 0
    rho = cond.to(torch.int64).cumsum(dim=0).argmax(dim=0)  # last index where cond holds
    theta = cssv.gather(0, rho[None, :]).squeeze(0) / (rho + 1).to(w.dtype)  # [cols]
    theta = torch.where(inside, torch.zeros_like(theta), theta.clamp_min(0))
    w.copy_(torch.sign(w) * (a - theta).clamp_min(0))


def fit_columns_to_budget(w: torch.Tensor, radius: float) -> torch.Tensor:
    """Columns scaled down onto ``{v : sum|v| <= radius}`` (differentiable; float weights under the
    budget, e.g. a float warm-up or the float phase of the staged schedule)."""
    return w * torch.clamp(radius / w.abs().sum(0).clamp_min(1e-12), max=1.0)
