"""Training a pipelined NNADC stage by stage (collaborative training).

Why stage by stage on actual outputs: a stage's errors propagate down the chain. Each stage is
trained on what the programmed stages before it really produce, with targets computed from the
original input and the digits the earlier stages actually decided:

    rem_i = 2**P_{i-1} * y - sum_{j<i} d_j * 2**(P_{i-1} - P_j)     (ideally in [0, 1))
    sub-ADC target:  clip(floor(2**N_i * rem_i), 0, 2**N_i - 1)
    residue target:  2 * (2**N_i * rem_i - d_i) - 1                   (full-range units)

so a later stage learns to undo the systematic part of the earlier stages' errors where the
code range allows it. The residue is trained in full-range units and the programmed block
delivers it scaled by its output normalisation; the next stage learns on that scaled voltage.
"""
import dataclasses
import logging
from dataclasses import dataclass, field

import torch

from .converter import NnadcConverter
from .converter_config import PipelinedAdcV1Config
from .stage_training import stratified_pool, train_comparator_block, train_residue_block
from .train import BlockTrainV1Config
from .transfer import target_fraction

__all__ = ["ConverterTrainV1Config", "train_pipelined"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConverterTrainV1Config:
    """How every block of a converter is trained.

    Attributes:
        comparator: training of sub-ADCs and mixed-ADCs (BCE on smooth-code bits)
        residue: training of residue blocks (MSE)
        pool_size: stratified converter inputs the blocks learn from
        seed: base seed; block ``i`` uses ``seed + 1000 * i``
        targets: "collaborative" (targets from the converter input and the digits decided so
            far, so a stage also learns to undo earlier stages' systematic errors) or "local"
            (the textbook targets of the stage's own input: digit and residue of
            ``r_prev = v / out_scale_prev``, errors simply propagate)
        residue_swing: every residue block delivers ``residue_swing`` times the full-range
            residue (see :func:`.stage_training.train_residue_block`; 1: full swing, which the
            passive output column cannot reach)
    """

    comparator: BlockTrainV1Config = field(default_factory=BlockTrainV1Config)
    residue: BlockTrainV1Config = field(default_factory=lambda: BlockTrainV1Config(pvt_aware=False))
    pool_size: int = 1 << 17
    seed: int = 0
    targets: str = "collaborative"
    residue_swing: float = 1.0

    def __post_init__(self):
        if self.pool_size < 1024:
            raise ValueError(f"pool_size={self.pool_size}: at least 1024 pool points are needed")
        if self.targets not in ("collaborative", "local"):
            raise ValueError(f"targets={self.targets!r}: expected 'collaborative' or 'local'")
        if not 0 < self.residue_swing <= 1:
            raise ValueError(f"residue_swing={self.residue_swing}: must be in (0, 1]")

    def __sis_state__(self) -> dict:
        """Hashed state: fields added later are left out at their default (job ids stay stable)."""
        state = dict(self.__dict__)
        if state.get("targets") == "collaborative":
            del state["targets"]
        if state.get("residue_swing") == 1.0:
            del state["residue_swing"]
        return state


def _with_seed(cfg: BlockTrainV1Config, seed: int) -> BlockTrainV1Config:
    return dataclasses.replace(cfg, seed=seed)


def train_pipelined(cfg: PipelinedAdcV1Config, train_cfg: ConverterTrainV1Config) -> NnadcConverter:
    """Train all stages of ``cfg`` in signal order; returns the programmed converter."""
    a = stratified_pool(train_cfg.pool_size, train_cfg.seed)  # [P] float64
    y = target_fraction(a, cfg.transfer)  # [P] float64
    v = (2 * a - 1).to(torch.float32)  # [P] stage input voltage (centred)
    subs, residues, records = [], [], []
    resolved = 0  # bits decided so far
    decided = torch.zeros_like(y)  # value of the digits decided so far, as a fraction
    all_stages = list(cfg.stages) + [cfg.final]
    scale = 1.0  # hardware volts per full-range unit of the current stage input
    for i, st in enumerate(all_stages):
        if train_cfg.targets == "collaborative":
            rem = (y - decided) * 2.0**resolved  # [P]
        else:
            rem = (v.double() / scale + 1) / 2  # the stage's own input as a fraction of its range
            if i == 0:
                rem = y
        levels = torch.clamp(torch.floor(rem * 2**st.n_bits), 0, 2**st.n_bits - 1).to(torch.int64)
        name = f"stage{i + 1}.sub_adc"
        hw, bits, got, rec = train_comparator_block(
            v[:, None], levels, st.n_bits, st.out_bits, st.hidden, st.rram_bits, cfg.vtc, cfg.beta,
            _with_seed(train_cfg.comparator, train_cfg.seed + 1000 * i), name,
        )
        subs.append(hw)
        records.append(rec)
        log.info("%s: %.1f s, level error rate %.4f", name, rec["seconds"], rec["level_error_rate"])
        if i < len(cfg.stages):
            target = (2 * (rem * 2**st.n_bits - got.double()) - 1).clamp(-1.5, 1.5).to(torch.float32)
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
        decided = decided + got.double() * 2.0 ** -(resolved + st.n_bits)
        resolved += st.n_bits
    return NnadcConverter(kind="pipelined", cfg=cfg, sub_adcs=subs, residues=residues, train_log=records)
