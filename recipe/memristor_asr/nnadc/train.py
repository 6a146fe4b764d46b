"""Training one block under the hardware constraints (the paper's recipe, sizes configurable).

Why a data pool instead of fresh samples: a pipelined stage learns from the *actual* outputs of
the already-trained stages before it (collaborative training), which are computed once for a
dense stratified pool of converter inputs; each iteration draws a minibatch from that pool.
Comparator outputs learn with binary cross-entropy on smooth-code bits, residues with MSE.
"""
import logging
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch

from .block import CrossbarMlpV1
from .vtc import apply_vtc, nominal_vtc, sample_vtc

__all__ = ["BlockTrainV1Config", "train_block"]

log = logging.getLogger(__name__)


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
        train_sigma: lognormal conductance noise injected into the quantized weights during
            training (variation-aware training; 0 disables)
        float_warmup: fraction of the iterations trained with unquantized weights before
            quantization-aware training takes over (0: quantized from the start)
        logit_gain: scale from comparator input voltage to the logit of the BCE loss
        seed: RNG seed (initialisation, minibatches, corner draws)
        log_every: iterations between progress log lines
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

    def __post_init__(self):
        if self.iterations < 1 or self.batch_size < 1:
            raise ValueError(f"iterations={self.iterations}, batch_size={self.batch_size}: must be >= 1")


def train_block(
    block: CrossbarMlpV1,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    cfg: BlockTrainV1Config,
    loss: str = "bce",
    name: str = "block",
) -> Dict[str, List[float]]:
    """Train ``block`` in place on the pool ``inputs [P, n_in]`` -> ``targets [P, n_out]``.

    :param loss: "bce" (targets are 0/1 bits) or "mse" (targets are voltages)
    :return: history with the loss every ``log_every`` iterations
    """
    if loss not in ("bce", "mse"):
        raise ValueError(f"loss={loss!r}: expected 'bce' or 'mse'")
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(f"{name}: {inputs.shape[0]} inputs but {targets.shape[0]} targets")
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.Adam(block.parameters(), lr=cfg.lr_start)
    decay = (cfg.lr_end / cfg.lr_start) ** (1.0 / max(1, cfg.iterations - 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=decay)
    n_pool = inputs.shape[0]
    batch = min(cfg.batch_size, n_pool)
    hist: Dict[str, List[float]] = {"iteration": [], "loss": []}
    t0 = time.time()
    running = 0.0
    warmup = int(round(cfg.float_warmup * cfg.iterations))
    for it in range(cfg.iterations):
        block.quantize = it >= warmup
        idx = torch.randint(n_pool, (batch,), generator=gen)
        u, y = inputs[idx], targets[idx]  # [B, n_in], [B, n_out]
        vtc = sample_vtc(block.cfg.vtc, (batch, block.cfg.n_hidden), gen) if cfg.pvt_aware else None
        if cfg.train_sigma > 0:
            out = _noisy_forward(block, u, vtc, cfg.train_sigma, gen)
        else:
            out, _ = block(u, vtc)
        if loss == "bce":
            l = torch.nn.functional.binary_cross_entropy_with_logits(cfg.logit_gain * out, y)
        else:
            l = torch.mean((out - y) ** 2)
        opt.zero_grad(set_to_none=True)
        l.backward()
        opt.step()
        sched.step()
        if (it + 1) % cfg.project_every == 0 or it + 1 == cfg.iterations:
            block.project()
        running += float(l.detach())
        if (it + 1) % cfg.log_every == 0 or it + 1 == cfg.iterations:
            n = (it % cfg.log_every) + 1
            rate = (it + 1) / max(time.time() - t0, 1e-9)
            eta = (cfg.iterations - it - 1) / rate
            log.info("%s it %d/%d loss %.3e (%.0f it/s, ETA %.0f s)", name, it + 1, cfg.iterations, running / n, rate, eta)
            hist["iteration"].append(it + 1)
            hist["loss"].append(running / n)
            running = 0.0
    block.quantize = True
    return hist


def _noisy_forward(block: CrossbarMlpV1, u, vtc, sigma: float, gen) -> torch.Tensor:
    """Forward with multiplicative lognormal noise on every quantized weight (one draw per step)."""
    w1, w2 = block.quantized_weights()
    w1 = w1 * torch.exp(sigma * torch.randn(w1.shape, generator=gen))
    w2 = w2 * torch.exp(sigma * torch.randn(w2.shape, generator=gen))
    z1 = u @ w1[:-1] + w1[-1]  # [B, H]
    h = apply_vtc(z1, vtc if vtc is not None else nominal_vtc(block.cfg.vtc))
    return h @ w2[:-1] + w2[-1]

