"""Design-space exploration of single blocks: quality vs RRAM precision vs hidden size.

Why per block: the paper sizes each block separately before composing converters; a sub-ADC is
judged by the ENOB of its decoded levels (median over Monte-Carlo instances), a residue block by
its MSE against the ideal residue on 2048 uniform points (full-range units).
"""
import logging
import time
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np
import torch

from ..circuit.block import BlockHardware
from ..circuit.smooth_code import default_smooth_bits, encode_levels, logic_levels, read_comparators
from ..circuit.vtc import VtcFamilyV1Config
from ..design.config import StageV1Config
from ..design.conversion_law import ideal_digits, ideal_residue, input_voltage
from ..training.config import BlockTrainV1Config
from ..training.stages import stratified_pool, train_comparator_block, train_residue_block
from .metrics import sine_inputs, sndr_enob

__all__ = ["BlockSweepV1Config", "sweep_blocks", "sub_adc_enob", "residue_mse"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlockSweepV1Config:
    """A grid of block designs.

    Attributes:
        kind: "sub_adc" (1 x H x S, judged by ENOB) or "residue" (1-bit stage residue, judged by MSE)
        n_bits: sub-ADC resolution (for "residue": the stage resolution, 1..3)
        rram_bits: RRAM precisions to try
        hidden: hidden sizes to try
        train: block training settings
        n_instances, sigma: Monte-Carlo evaluation
        pool_size: training pool
        vtc, beta: hardware
    """

    kind: str
    n_bits: int
    rram_bits: Tuple[int, ...] = (2, 3, 4, 5, 6)
    hidden: Tuple[int, ...] = (4, 8, 12)
    train: BlockTrainV1Config = field(default_factory=lambda: BlockTrainV1Config(iterations=4000))
    n_instances: int = 20
    sigma: float = 0.05
    pool_size: int = 1 << 15
    vtc: VtcFamilyV1Config = field(default_factory=VtcFamilyV1Config)
    beta: float = 1.05

    def __post_init__(self):
        if self.kind not in ("sub_adc", "residue"):
            raise ValueError(f"kind={self.kind!r}: expected 'sub_adc' or 'residue'")
        StageV1Config(n_bits=self.n_bits).validate("n_bits")
        for b in self.rram_bits:
            StageV1Config(n_bits=1, rram_bits=b).validate("rram_bits")
        for h in self.hidden:
            StageV1Config(n_bits=1, hidden=h).validate("hidden")


def sub_adc_enob(hw: BlockHardware, n_bits: int, n_instances: int, sigma: float, seed: int = 1) -> List[float]:
    """ENOB of a stand-alone sub-ADC for each Monte-Carlo instance (decoded smooth code as the output)."""
    a, _ = sine_inputs(n_bits, "linear")
    x = input_voltage(a)
    w1, w2 = hw.instances(n_instances, sigma, torch.Generator().manual_seed(int(seed)))
    _, levels = read_comparators(hw.run(x[None, :, None].expand(n_instances, -1, 1), w1, w2), n_bits)  # [M, T]
    levels = levels.numpy()
    return [sndr_enob(levels[m])["enob"] for m in range(n_instances)]


def residue_mse(hw: BlockHardware, n_bits: int, smooth_bits: int, n_instances: int, sigma: float, seed: int = 1,
                n_points: int = 2048) -> List[float]:
    """MSE (full-range units) of a residue block fed an ideal sub-ADC code, per Monte-Carlo instance."""
    a = (np.arange(n_points) + 0.5) / n_points
    d = ideal_digits(a, n_bits)
    ideal = ideal_residue(a, d, n_bits)
    bits = logic_levels(torch.as_tensor(encode_levels(d, n_bits, smooth_bits)))
    u = torch.cat([input_voltage(a)[:, None], bits], dim=1)  # [T, 1 + S]
    gen = torch.Generator().manual_seed(seed)
    w1, w2 = hw.instances(n_instances, sigma, gen)
    out = hw.run(u[None].expand(n_instances, -1, -1), w1, w2)[..., 0] / hw.out_scale[0]  # [M, T]
    return ((out.double() - torch.as_tensor(ideal)) ** 2).mean(1).tolist()


def sweep_blocks(cfg: BlockSweepV1Config) -> List[Dict]:
    """Train and evaluate every (rram_bits, hidden) pair; one result dict per point."""
    a = stratified_pool(cfg.pool_size, cfg.train.seed)
    x = input_voltage(a)[:, None]
    s = default_smooth_bits(cfg.n_bits)
    d = ideal_digits(a, cfg.n_bits)
    results = []
    grid = [(b, h) for b in cfg.rram_bits for h in cfg.hidden]
    t0 = time.time()
    for i, (bits, hidden) in enumerate(grid):
        name = f"{cfg.kind}.{cfg.n_bits}b.rram{bits}.h{hidden}"
        if cfg.kind == "sub_adc":
            hw, _, _, rec = train_comparator_block(x, d, cfg.n_bits, s, hidden, bits, cfg.vtc, cfg.beta, cfg.train,
                                                   name)
            vals = sub_adc_enob(hw, cfg.n_bits, cfg.n_instances, cfg.sigma)
            nominal = sub_adc_enob(hw, cfg.n_bits, 1, 0.0)[0]
            res = {"metric": "enob", "nominal": nominal, "median": float(np.median(vals)),
                   "p10": float(np.percentile(vals, 10)), "p90": float(np.percentile(vals, 90))}
        else:
            bits_in = logic_levels(torch.as_tensor(encode_levels(d.numpy(), cfg.n_bits, s)))
            target = ideal_residue(a, d.double(), cfg.n_bits).to(torch.float32)
            hw, _, rec = train_residue_block(torch.cat([x, bits_in], 1), target, hidden, bits, cfg.vtc, cfg.beta,
                                             cfg.train, name)
            vals = residue_mse(hw, cfg.n_bits, s, cfg.n_instances, cfg.sigma)
            nominal = residue_mse(hw, cfg.n_bits, s, 1, 0.0)[0]
            res = {"metric": "mse", "nominal": nominal, "median": float(np.median(vals)),
                   "p10": float(np.percentile(vals, 10)), "p90": float(np.percentile(vals, 90))}
        results.append({"kind": cfg.kind, "n_bits": cfg.n_bits, "rram_bits": bits, "hidden": hidden,
                        "train_seconds": rec["seconds"], **res})
        el = time.time() - t0
        log.info("%s: %s median %.4g (%d/%d, %.0f s, ETA %.0f s)", name, res["metric"], res["median"], i + 1, len(grid),
                 el, el / (i + 1) * (len(grid) - i - 1))
    return results

