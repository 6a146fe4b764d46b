"""Training the three kinds of blocks on a pool: sub-ADC, mixed-ADC (same code path) and residue.

Why these helpers return hardware: collaborative training feeds every later block with what the
*programmed* earlier blocks produce (quantized, normalised, nominal inverter), so each helper
trains, converts to :class:`BlockHardware` and returns it together with the block's nominal
outputs on the pool.
"""
import time
from typing import Tuple

import torch

from .block import BlockHardware, CrossbarMlpV1, CrossbarMlpV1Config
from .smooth_code import decode_table, encode_levels
from .train import BlockTrainV1Config, train_block
from .vtc import VtcFamilyV1Config

__all__ = ["stratified_pool", "train_comparator_block", "train_residue_block", "run_nominal"]


def stratified_pool(n: int, seed: int) -> torch.Tensor:
    """``n`` inputs ``a`` in [0, 1), one uniform draw per equal-width stratum (dense everywhere)."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.arange(n, dtype=torch.float64) + torch.rand(n, generator=gen, dtype=torch.float64)) / n


@torch.no_grad()
def run_nominal(hw: BlockHardware, u: torch.Tensor) -> torch.Tensor:
    """Nominal (no variation, tt inverter) outputs of a programmed block: ``u [P, n_in] -> [P, n_out]``."""
    w1, w2 = hw.instances(1, 0.0)
    out = [hw.run(u[None, i : i + 65536], w1, w2)[0] for i in range(0, u.shape[0], 65536)]
    return torch.cat(out, dim=0)


def train_comparator_block(
    u: torch.Tensor,
    levels: torch.Tensor,
    n_bits: int,
    smooth_bits: int,
    hidden: int,
    rram_bits: int,
    vtc: VtcFamilyV1Config,
    beta: float,
    train_cfg: BlockTrainV1Config,
    name: str,
) -> Tuple[BlockHardware, torch.Tensor, torch.Tensor, dict]:
    """Train a sub-ADC / mixed-ADC: ``u [P, n_in]`` -> smooth code of ``levels [P]``.

    :return: hardware, nominal output bits as +-1 volts ``[P, S]``, nominal levels ``[P]``, log record
    """
    cfg = CrossbarMlpV1Config(n_in=u.shape[1], n_hidden=hidden, n_out=smooth_bits, rram_bits=rram_bits, beta=beta, vtc=vtc)
    block = CrossbarMlpV1(cfg, torch.Generator().manual_seed(train_cfg.seed))
    target = torch.as_tensor(encode_levels(levels.numpy(), n_bits, smooth_bits), dtype=torch.float32)
    t0 = time.time()
    hist = train_block(block, u, target, train_cfg, loss="bce", name=name)
    seconds = time.time() - t0
    hw = block.hardware()
    hw.digit_bits = n_bits
    out = run_nominal(hw, u)  # [P, S]
    bits = out > 0
    word = (bits.to(torch.int64) << torch.arange(smooth_bits)).sum(-1)
    got = torch.as_tensor(decode_table(n_bits, smooth_bits))[word]
    record = {
        "name": name,
        "kind": "comparator",
        "seconds": seconds,
        "final_loss": hist["loss"][-1],
        "level_error_rate": float((got != levels).double().mean()),
    }
    return hw, bits.to(torch.float32) * 2 - 1, got, record


def train_residue_block(
    u: torch.Tensor,
    target: torch.Tensor,
    hidden: int,
    rram_bits: int,
    vtc: VtcFamilyV1Config,
    beta: float,
    train_cfg: BlockTrainV1Config,
    name: str,
    swing: float = 1.0,
) -> Tuple[BlockHardware, torch.Tensor, dict]:
    """Train a residue block: ``u [P, 1 + S]`` -> ``target [P]`` (full-range units).

    :param swing: the block learns ``swing * target``: a passive output column can never reach
        the rails (``|out| <= 1 / beta``) and needs headroom to be linear, so the residue is
        delivered at a reduced swing; ``out_scale`` includes it (``voltage / out_scale`` is the
        residue in full-range units), and the next stage learns on the real voltage
    :return: hardware, nominal (normalised) residue voltages ``[P]``, log record with the MSE
        of the trained output against the target in full-range units
    """
    if not 0 < swing <= 1:
        raise ValueError(f"{name}: swing={swing}: must be in (0, 1]")
    cfg = CrossbarMlpV1Config(n_in=u.shape[1], n_hidden=hidden, n_out=1, rram_bits=rram_bits, analog_out=True, beta=beta, vtc=vtc)
    block = CrossbarMlpV1(cfg, torch.Generator().manual_seed(train_cfg.seed + 1))
    t0 = time.time()
    hist = train_block(block, u, swing * target[:, None], train_cfg, loss="mse", name=name)
    seconds = time.time() - t0
    hw = block.hardware()
    hw.out_scale = hw.out_scale * swing
    out = run_nominal(hw, u)[:, 0]  # [P]
    mse = float(torch.mean((out / hw.out_scale[0] - target) ** 2))
    record = {"name": name, "kind": "residue", "seconds": seconds, "final_loss": hist["loss"][-1], "mse": mse,
              "out_scale": float(hw.out_scale[0]), "swing": swing}
    return hw, out, record

