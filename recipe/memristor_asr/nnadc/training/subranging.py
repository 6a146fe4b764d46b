"""Training a sub-ranging NNADC: coarse sub-ADC, then a mixed-ADC on its actual code.

Why the mixed-ADC sees the coarse code: it must place its fine thresholds inside whichever
coarse interval the first stage chose, so its inputs are the analog input and the coarse
sub-ADC's decision (by default its binary digit as logic levels, so that shifting a threshold by
one coarse interval is an affine function of the inputs; optionally the raw smooth code), and its targets are the fine
digits relative to the coarse digit actually decided (collaborative training):

    d2 = clip(floor(2**N2 * (2**N1 * y - d1)), 0, 2**N2 - 1)
"""
import dataclasses
import logging

import torch

from ..circuit.smooth_code import binary_levels
from ..design.config import SubrangingAdcV1Config
from ..design.conversion_law import ideal_digits, input_voltage, target_fraction
from ..design.converter import NnadcConverter
from .config import ConverterTrainV1Config
from .stages import stratified_pool, train_comparator_block

__all__ = ["train_subranging"]

log = logging.getLogger(__name__)


def train_subranging(cfg: SubrangingAdcV1Config, train_cfg: ConverterTrainV1Config) -> NnadcConverter:
    """Train the coarse sub-ADC and the mixed-ADC of ``cfg``; returns the programmed converter."""
    a = stratified_pool(train_cfg.pool_size, train_cfg.seed)  # [P]
    y = target_fraction(a, cfg.transfer)
    x = input_voltage(a)[:, None]  # [P, 1]
    c, f = cfg.coarse, cfg.fine
    d1 = ideal_digits(y, c.n_bits)
    hw1, bits1, got1, rec1 = train_comparator_block(
        x, d1, c.n_bits, c.out_bits, c.hidden, c.rram_bits, cfg.vtc, cfg.beta,
        dataclasses.replace(train_cfg.comparator, seed=train_cfg.seed), "coarse.sub_adc",
    )
    log.info("coarse.sub_adc: %.1f s, level error rate %.4f", rec1["seconds"], rec1["level_error_rate"])
    d2 = ideal_digits(y * 2**c.n_bits - got1.double(), f.n_bits)
    if cfg.coarse_code == "binary":
        bits1 = binary_levels(got1, c.n_bits)  # [P, N1]
    u = torch.cat([x, bits1], dim=1)  # [P, 1 + S1 or N1]
    hw2, _, _, rec2 = train_comparator_block(
        u, d2, f.n_bits, f.out_bits, f.hidden, f.rram_bits, cfg.vtc, cfg.beta,
        dataclasses.replace(train_cfg.comparator, seed=train_cfg.seed + 1000), "fine.mixed_adc",
    )
    log.info("fine.mixed_adc: %.1f s, level error rate %.4f", rec2["seconds"], rec2["level_error_rate"])
    return NnadcConverter(kind="subranging", cfg=cfg, sub_adcs=[hw1, hw2], residues=[], train_log=[rec1, rec2])
