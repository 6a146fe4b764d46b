"""Lognormal conductance variation: every resistance ``R <- R * exp(theta)``, ``theta ~ N(0, sigma)``.

Why one model for both uses: Monte-Carlo chips (:meth:`.block.BlockHardware.instances`) and the
noise of variation-aware training (``train_sigma`` of the "staged" schedule) must see the same
physics, so both draw their chips through :func:`lognormal_columns`: every cell's conductance and
every column's load is multiplied by ``exp(-theta)`` and the weights are renormalised by the new
column total. Hardware passes conductances in units of the level step (``|k|`` and ``1 / s -
sum|k|``); training passes column shares (``|w|`` and ``1 - sum|w|``); the weights are the same.
"""
from typing import Optional

import torch

__all__ = ["lognormal_columns", "multiplicative_weight_noise"]


def lognormal_columns(sign: torch.Tensor, g: torch.Tensor, load: torch.Tensor, sigma: float, n: int,
                      generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """``n`` chips of one crossbar (differentiable in ``g`` and ``load``).

    :param sign: polarity of every cell ``[rows, cols]``
    :param g: cell conductances ``[rows, cols]`` (any unit)
    :param load: load conductance of every column ``[cols]`` (same unit)
    :return: weights ``[n, rows, cols]``: ``sign * g' / (sum_rows g' + load')`` with ``g' = g exp(-theta)``,
        one ``theta`` per cell and one per column load (drawn in that order)
    """
    theta = sigma * torch.randn((n,) + tuple(g.shape), generator=generator)  # one per cell
    theta_load = sigma * torch.randn((n, g.shape[1]), generator=generator)  # one per column load
    gp = g * torch.exp(-theta)  # [n, rows, cols]
    total = gp.sum(1) + load * torch.exp(-theta_load)  # [n, cols]
    return sign * gp / total[:, None, :]


def multiplicative_weight_noise(w: torch.Tensor, sigma: float,
                                generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """``w * exp(N(0, sigma))`` per weight: the cruder noise of the "ste" schedule's ``train_sigma``
    (no renormalisation by the column total; kept for that schedule's results)."""
    return w * torch.exp(sigma * torch.randn(w.shape, generator=generator))
