"""Training the three kinds of blocks on a pool: sub-ADC, mixed-ADC (same code path) and residue.

Why these helpers return hardware: collaborative training feeds every later block with what the
*programmed* earlier blocks produce (quantized, normalised, nominal inverter), so each helper
trains, converts to :class:`BlockHardware` and returns it together with the block's nominal
outputs on the pool.
"""
import time
from typing import Tuple

import torch

from ..circuit.block import BlockHardware, CrossbarMlpV1, CrossbarMlpV1Config
from ..circuit.smooth_code import encode_levels, encode_thermometer, read_comparators
from ..circuit.vtc import VtcFamilyV1Config
from .block import train_block
from .config import BlockTrainV1Config

__all__ = ["stratified_pool", "train_comparator_block", "train_residue_block"]


def stratified_pool(n: int, seed: int) -> torch.Tensor:
    """``n`` inputs ``a`` in [0, 1), one uniform draw per equal-width stratum (dense everywhere)."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.arange(n, dtype=torch.float64) + torch.rand(n, generator=gen, dtype=torch.float64)) / n


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
    thermometer: bool = False,
) -> Tuple[BlockHardware, torch.Tensor, torch.Tensor, dict]:
    """Train a sub-ADC / mixed-ADC: ``u [P, n_in]`` -> smooth code of ``levels [P]``.

    :param thermometer: encode the ``smooth_bits + 1`` levels as a thermometer code instead (the sub-ADC
        of a redundant stage: 3 levels on 2 comparators); ``n_bits`` is then unused

    :return: hardware, nominal output bits as +-1 volts ``[P, S]``, nominal levels ``[P]``, log record
    """
    cfg = CrossbarMlpV1Config(n_in=u.shape[1], n_hidden=hidden, n_out=smooth_bits, rram_bits=rram_bits, beta=beta,
                              vtc=vtc)
    block = CrossbarMlpV1(cfg, torch.Generator().manual_seed(train_cfg.seed))
    if thermometer:
        target = torch.as_tensor(encode_thermometer(levels.numpy(), smooth_bits + 1), dtype=torch.float32)
    else:
        target = torch.as_tensor(encode_levels(levels.numpy(), n_bits, smooth_bits), dtype=torch.float32)
    t0 = time.time()
    hist = train_block(block, u, target, train_cfg, loss="bce", name=name)
    seconds = time.time() - t0
    hw = block.hardware()
    hw.digit_bits = n_bits
    hw.thermometer = thermometer
    bits, got = read_comparators(hw.run_nominal(u), n_bits, thermometer)  # [P, S] logic volts, [P] levels
    record = {
        "name": name,
        "kind": "comparator",
        "seconds": seconds,
        "final_loss": hist["loss"][-1],
        "level_error_rate": float((got != levels).double().mean()),
    }
    return hw, bits, got, record


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
    cfg = CrossbarMlpV1Config(n_in=u.shape[1], n_hidden=hidden, n_out=1, rram_bits=rram_bits, analog_out=True,
                              beta=beta, vtc=vtc)
    block = CrossbarMlpV1(cfg, torch.Generator().manual_seed(train_cfg.seed + 1))
    t0 = time.time()
    hist = train_block(block, u, swing * target[:, None], train_cfg, loss="mse", name=name)
    seconds = time.time() - t0
    hw = block.hardware()
    hw.out_scale = hw.out_scale * swing
    out = hw.run_nominal(u)[:, 0]  # [P]
    mse = float(torch.mean((out / hw.out_scale[0] - target) ** 2))
    record = {"name": name, "kind": "residue", "seconds": seconds, "final_loss": hist["loss"][-1], "mse": mse,
              "out_scale": float(hw.out_scale[0]), "swing": swing}
    return hw, out, record

