"""A crossbar column as a passive divider, and the three-layer block built from two of them.

Circuit (centred voltages, see :mod:`.vtc`): every input line is available in both polarities
and a weight is the conductance difference of the pair of cells on the two polarity rows,
divided by the column's total conductance. With the bias row (tied to VDD/GND) stored last, a
column computes

    z_j = sum_i W_ij u_i + b_j,      sum_i |W_ij| + |b_j| <= 1 / beta,

the remaining conductance being a load to the mid rail. A block is: input crossbar -> CMOS
inverters (the VTC is the activation) -> output crossbar. Its programmed form is integer levels
``k`` and a column step ``s`` (weight ``k * s``); in units of the level step ``G_step`` a column
holds cells ``|k|`` on the polarity rows ``sign(k)`` and a load ``1 / s - sum|k|``.

Every forward pass of a block (training, Monte-Carlo chips, the behavioural twin of the ngspice
netlist) is :func:`block_forward`; every column's conductances come from :func:`column_conductances`.
"""
from typing import Callable, Tuple, Union

import torch

from .vtc import VtcParams, apply_vtc

__all__ = ["crossbar_columns", "inverters", "block_forward", "column_load", "column_conductances"]


def crossbar_columns(u, w):
    """Column voltages of one crossbar, bias row last.

    :param u: inputs ``[..., rows - 1]`` (centred volts)
    :param w: weights ``[rows, cols]`` (one chip; torch tensor or numpy array) or ``[M, rows, cols]``
        (``M`` chips, ``u [M, T, rows - 1]``)
    :return: ``[..., cols]``
    """
    if w.ndim == 2:
        return u @ w[:-1] + w[-1]
    return torch.baddbmm(w[:, -1:, :], u, w[:, :-1, :])


def inverters(z, vtc: Union[VtcParams, Callable]):
    """The hidden layer's activation: a curve of the tanh family, or any tabulated curve ``vtc(z)``."""
    return apply_vtc(z, vtc) if isinstance(vtc, VtcParams) else vtc(z)


def block_forward(u, w1, w2, vtc: Union[VtcParams, Callable]) -> Tuple[torch.Tensor, torch.Tensor]:
    """The three layers of a block: ``u`` -> input crossbar -> inverters -> output crossbar.

    :param w1: first-layer weights ``[n_in + 1, H]`` or ``[M, n_in + 1, H]`` (see :func:`crossbar_columns`)
    :param w2: second-layer weights ``[H + 1, n_out]`` or ``[M, H + 1, n_out]``
    :param vtc: inverter curve params broadcasting to the hidden layer, or a callable
    :return: (outputs ``[..., n_out]``, hidden ``[..., H]``)
    """
    h = inverters(crossbar_columns(u, w1), vtc)
    return crossbar_columns(h, w2), h


def column_load(g: torch.Tensor, total) -> torch.Tensor:
    """Load conductance to the mid rail per column: the column total minus its cells ``g [rows, cols]`` (>= 0)."""
    return (total - g.sum(0)).clamp_min(0)


def column_conductances(k: torch.Tensor, s: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A programmed crossbar in units of the level step: (polarity ``sign(k)``, cell conductances
    ``|k|`` ``[rows, cols]``, loads ``1 / s - sum|k|`` ``[cols]``), in the dtype of ``k`` and ``s``."""
    g = k.abs()
    return torch.sign(k), g, column_load(g, 1.0 / s)
