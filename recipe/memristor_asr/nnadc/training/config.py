"""How NNADC blocks and converters are trained: the settings of :mod:`.block` and of the converter trainers."""
from dataclasses import dataclass, field

from memristor_asr.util.config_helpers import check_field_types, hash_state

__all__ = ["BlockTrainV1Config", "ConverterTrainV1Config"]


@dataclass(frozen=True)
class BlockTrainV1Config:
    """Optimiser and robustness settings.

    Attributes:
        iterations: Adam steps (paper: 2e4)
        batch_size: examples per step (paper: 4096)
        lr_start: initial learning rate (paper: 1e-3)
        lr_end: final learning rate, reached by exponential decay (paper: 1e-4)
        project_every: iterations between column-budget projections of the latent weights
        pvt_aware: every hidden neuron of every example draws its own inverter curve from the
            corner family (else the nominal tt curve)
        train_sigma: lognormal conductance noise injected into the weights during training
            (variation-aware training; 0 disables). "ste": multiplicative noise on the quantized
            weights. "staged": the Monte-Carlo model of :func:`..circuit.variation.lognormal_columns` (every
            cell's conductance and every column load times ``exp(-theta)``, ``theta ~ N(0,
            train_sigma)``, weights renormalised by the column total) in every phase, see
            :func:`.block.perturb_columns`
        train_draws: "staged" with ``train_sigma > 0``: Monte-Carlo chips per step, the minibatch
            split into that many equal groups (the largest divisor of the batch size not above
            it), one chip each; ``1``: one chip per step
        float_warmup: fraction of the iterations trained with unquantized weights before
            quantization-aware training takes over (0: quantized from the start)
        logit_gain: scale from comparator input voltage to the logit of the BCE loss
        seed: RNG seed (initialisation, minibatches, corner draws)
        log_every: iterations between progress log lines
        quant_schedule: "ste" (straight-through quantization of both layers from the start, or
            after ``float_warmup``) or "staged" (MSE blocks only, see :func:`.block.train_staged`:
            float training, then the first layer's levels are fixed and its column steps and the
            float output layer adapt, then the output's levels are fixed too and only the
            continuous column steps are tuned; the result lies on the same ``A_R``-bit grid under
            the same budget)
    """

    iterations: int = 20000
    batch_size: int = 4096
    lr_start: float = 1e-3
    lr_end: float = 1e-4
    project_every: int = 256
    pvt_aware: bool = True
    train_sigma: float = 0.0
    float_warmup: float = 0.0
    logit_gain: float = 20.0
    seed: int = 0
    log_every: int = 2000
    quant_schedule: str = "ste"
    train_draws: int = 64

    def __post_init__(self):
        check_field_types(self, ValueError)
        if self.iterations < 1 or self.batch_size < 1:
            raise ValueError(f"iterations={self.iterations}, batch_size={self.batch_size}: must be >= 1")
        if self.quant_schedule not in ("ste", "staged"):
            raise ValueError(f"quant_schedule={self.quant_schedule!r}: expected 'ste' or 'staged'")
        if self.train_sigma < 0:
            raise ValueError(f"train_sigma={self.train_sigma}: must be >= 0")
        if self.train_draws < 1:
            raise ValueError(f"train_draws={self.train_draws}: must be >= 1")

    def __sis_state__(self) -> dict:
        """Hashed state: fields added later are left out at their default (job ids stay stable)."""
        return hash_state(self, {"quant_schedule": "ste", "train_draws": 64})


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
            residue (see :func:`.stages.train_residue_block`; 1: full swing, which the
            passive output column cannot reach)
    """

    comparator: BlockTrainV1Config = field(default_factory=BlockTrainV1Config)
    residue: BlockTrainV1Config = field(default_factory=lambda: BlockTrainV1Config(pvt_aware=False))
    pool_size: int = 1 << 17
    seed: int = 0
    targets: str = "collaborative"
    residue_swing: float = 1.0

    def __post_init__(self):
        check_field_types(self, ValueError)
        if self.pool_size < 1024:
            raise ValueError(f"pool_size={self.pool_size}: at least 1024 pool points are needed")
        if self.targets not in ("collaborative", "local"):
            raise ValueError(f"targets={self.targets!r}: expected 'collaborative' or 'local'")
        if not 0 < self.residue_swing <= 1:
            raise ValueError(f"residue_swing={self.residue_swing}: must be in (0, 1]")

    def __sis_state__(self) -> dict:
        """Hashed state: fields added later are left out at their default (job ids stay stable)."""
        return hash_state(self, {"targets": "collaborative", "residue_swing": 1.0})
