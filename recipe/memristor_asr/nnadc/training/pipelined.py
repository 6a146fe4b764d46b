"""Training a pipelined NNADC stage by stage (collaborative training).

Why stage by stage on actual outputs: a stage's errors propagate down the chain. Each stage is
trained on what the programmed stages before it really produce, with targets computed from the
original input and the digits the earlier stages actually decided:

    rem_i = 2**P_{i-1} * y - sum_{j<i} d_j * 2**(P_{i-1} - P_j)     (ideally in [0, 1))
    sub-ADC target:  clip(floor(2**N_i * rem_i), 0, 2**N_i - 1)
    residue target:  2 * (2**N_i * rem_i - d_i) - 1                   (full-range units)

A redundant (1.5-bit) stage (``StageV1Config.redundant``) has the sub-ADC target ``d_i`` = number of
the thresholds 3/8, 5/8 at or below ``rem_i`` (2-bit thermometer code), the residue target
``2 * (2 * rem_i - d_i / 2) - 1 = 4 * rem_i - d_i - 1`` (full-range units) and its digit weighs
``2**-(P_i + 1)`` of the full range (half a plain 1-bit stage's), so a later stage's ``rem`` uses
that weight and stays in [0, 1) as long as the decision is within 1/8 of the range of the ideal one.

so a later stage learns to undo the systematic part of the earlier stages' errors where the
code range allows it. The residue is trained in full-range units and the programmed block
delivers it scaled by its output normalisation; the next stage learns on that scaled voltage.
"""
import dataclasses
import logging

import torch

from ..design.config import PipelinedAdcV1Config
from ..design.conversion_law import fraction_of_range, input_voltage, stage_digits, stage_residue, target_fraction
from ..design.converter import NnadcConverter
from .config import BlockTrainV1Config, ConverterTrainV1Config
from .stages import stratified_pool, train_comparator_block, train_residue_block

__all__ = ["train_pipelined"]

log = logging.getLogger(__name__)


def _with_seed(cfg: BlockTrainV1Config, seed: int) -> BlockTrainV1Config:
    return dataclasses.replace(cfg, seed=seed)


def train_pipelined(cfg: PipelinedAdcV1Config, train_cfg: ConverterTrainV1Config) -> NnadcConverter:
    """Train all stages of ``cfg`` in signal order; returns the programmed converter."""
    a = stratified_pool(train_cfg.pool_size, train_cfg.seed)  # [P] float64
    y = target_fraction(a, cfg.transfer)  # [P] float64
    v = input_voltage(a)  # [P] stage input voltage (centred)
    subs, residues, records = [], [], []
    resolved = 0  # bits decided so far
    decided = torch.zeros_like(y)  # value of the digits decided so far, as a fraction
    all_stages = list(cfg.stages) + [cfg.final]
    scale = 1.0  # hardware volts per full-range unit of the current stage input
    for i, st in enumerate(all_stages):
        if train_cfg.targets == "collaborative":
            rem = (y - decided) * 2.0**resolved  # [P]
        else:
            rem = fraction_of_range(v.double(), scale)  # the stage's own input as a fraction of its range
            if i == 0:
                rem = y
        levels = stage_digits(rem, st.n_bits, st.redundant)
        name = f"stage{i + 1}.sub_adc"
        hw, bits, got, rec = train_comparator_block(
            v[:, None], levels, st.n_bits, st.out_bits, st.hidden, st.rram_bits, cfg.vtc, cfg.beta,
            _with_seed(train_cfg.comparator, train_cfg.seed + 1000 * i), name,
            thermometer=st.redundant,
        )
        subs.append(hw)
        records.append(rec)
        log.info("%s: %.1f s, level error rate %.4f", name, rec["seconds"], rec["level_error_rate"])
        if i < len(cfg.stages):
            target = stage_residue(rem, got.double(), st.n_bits, st.redundant).clamp(-1.5, 1.5).to(torch.float32)
            u = torch.cat([v[:, None], bits], dim=1)  # [P, 1 + S]
            name = f"stage{i + 1}.residue"
            rhw, v, rrec = train_residue_block(
                u, target, st.residue_hidden, st.res_bits, cfg.vtc, cfg.beta,
                _with_seed(train_cfg.residue, train_cfg.seed + 1000 * i + 500), name, swing=train_cfg.residue_swing,
            )
            residues.append(rhw)
            records.append(rrec)
            scale = float(rhw.out_scale[0])
            log.info("%s: %.1f s, MSE %.3e (full-range units)", name, rrec["seconds"], rrec["mse"])
        decided = decided + got.double() * 2.0 ** -(resolved + st.n_bits + int(st.redundant))
        resolved += st.n_bits
    return NnadcConverter(kind="pipelined", cfg=cfg, sub_adcs=subs, residues=residues, train_log=records)
