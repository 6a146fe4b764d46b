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
from .vtc import VtcParams, apply_vtc, nominal_vtc, sample_vtc

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
        train_sigma: lognormal conductance noise injected into the weights during training
            (variation-aware training; 0 disables). "ste": multiplicative noise on the quantized
            weights. "staged": the Monte-Carlo model of :meth:`.BlockHardware._perturb` (every cell's
            conductance and every column load times ``exp(-theta)``, ``theta ~ N(0, train_sigma)``,
            weights renormalised by the column total) in every phase, see :func:`_perturb_columns`
        train_draws: "staged" with ``train_sigma > 0``: Monte-Carlo chips per step, the minibatch
            split into that many equal groups (the largest divisor of the batch size not above
            it), one chip each; ``1``: one chip per step
        float_warmup: fraction of the iterations trained with unquantized weights before
            quantization-aware training takes over (0: quantized from the start)
        logit_gain: scale from comparator input voltage to the logit of the BCE loss
        seed: RNG seed (initialisation, minibatches, corner draws)
        log_every: iterations between progress log lines
        quant_schedule: "ste" (straight-through quantization of both layers from the start, or
            after ``float_warmup``) or "staged" (MSE blocks only, see :func:`_train_staged`:
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
        state = dict(self.__dict__)
        if state.get("quant_schedule") == "ste":
            del state["quant_schedule"]
        if state.get("train_draws") == 64:
            del state["train_draws"]
        return state


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
    if cfg.quant_schedule == "staged":
        if loss != "mse":
            raise ValueError(f"{name}: quant_schedule='staged' is for MSE (residue) blocks, got loss={loss!r}")
        return _train_staged(block, inputs, targets, cfg, gen, name)
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



# -- staged quantization (residue blocks) ---------------------------------------------------------
#
# Why: with straight-through quantization of both layers from the start, a 1-bit residue block
# (H = 12, 3-bit cells) stalls at ~1-3 % rms of the range. Measured on the 1-bit residue at half
# swing: the float network under the same column budget reaches ~0.02 %; rounding its first layer
# to the nearest 3-bit direction per column (the column step stays continuous: it is set by the
# load conductance) and refitting a float output costs little (~0.03 %); rounding the 13 output
# weights onto one shared 3-bit grid is what costs ~1 %, and STE training never recovers from it.
# So: (1) float training under the budget; (2) first layer rounded, its column steps and the float
# output trained on; (3) output rounded (best shared step, least-squares gain), then only the
# continuous column steps of both layers are tuned. Rounding the output first and the first layer
# last measured 2-5x worse. Same hardware as the STE path: integer levels in [-L, L] times a column
# step, the column budget held throughout.
#
# Variation-aware (train_sigma > 0): every phase runs its forward pass through Monte-Carlo chips
# of the Monte-Carlo model itself (:func:`_perturb_columns`; float weights under the budget are
# cell shares just like ``|k| s``), ``train_draws`` fresh chips per step, the minibatch split over
# them. Measured on the 1-bit residue at half swing (2e4 steps, seeds 0/1/2, median over 50 chips
# at sigma 0.05, % rms of the range): noiseless 1.95 / 1.84 / 2.49; train_sigma 0.05 with one chip
# per step 1.60 / 1.40 / 1.31, with 64 chips per step 1.21 / 1.03 / 1.20 (nominal 0.32-0.69, as
# before; 256 chips 1.14 / 0.95 / 1.03, 30 % slower; train_sigma 0.03 / 0.08 about as good, 0.08
# with a worse nominal); noise only in phases 2-3 (float phase clean) 1.98 / 1.80 / 2.16: the
# robust structure is found in the float phase. PVT-aware residues trade conductance robustness
# (2.0 / 2.2 / 1.8) for inverter-curve robustness.

def _perturb_columns(w: torch.Tensor, sigma: float, n_draws: int, gen: torch.Generator,
                     beta: Optional[float] = None) -> torch.Tensor:
    """``n_draws`` Monte-Carlo chips of the weights ``w [rows, cols]`` -> ``[n_draws, rows, cols]`` (differentiable).

    The physical model of :meth:`.BlockHardware._perturb`, written in column shares: a weight is
    the conductance of its cell over the column total, so ``|w_ij|`` *is* the cell's share and
    ``1 - sum_i |w_ij|`` the load's (integer levels times a step, ``|k| s``, or float weights under
    the budget alike). Every cell and every load is multiplied by ``exp(-theta)``, ``theta ~ N(0,
    sigma)``, and the column renormalised by its new total.

    :param beta: for a second layer, which the hardware renormalises to a total of ``beta * sum|k|``
        (load share ``1 - 1 / beta``) and reads back through ``out_scale``: the shares are
        ``|w| / (beta sum|w|)`` and the perturbed weights are scaled back to trained units
    """
    a = w.abs()
    c = None
    if beta is not None:
        c = 1.0 / (beta * a.sum(0).clamp_min(1e-12))  # [cols] hardware / trained
        a = a * c
    theta = sigma * torch.randn((n_draws,) + tuple(w.shape), generator=gen)  # one per cell
    theta_load = sigma * torch.randn((n_draws, w.shape[1]), generator=gen)  # one per column load
    g = a * torch.exp(-theta)  # [D, rows, cols]
    load = (1.0 - a.sum(0)).clamp_min(0) * torch.exp(-theta_load)  # [D, cols]
    wp = torch.sign(w) * g / (g.sum(1) + load)[:, None, :]
    return wp if c is None else wp / c


def _budget(w: torch.Tensor, l1: float) -> torch.Tensor:
    """Columns scaled down onto ``sum|w| <= l1`` (differentiable)."""
    return w * torch.clamp(l1 / w.abs().sum(0).clamp_min(1e-12), max=1.0)


@torch.no_grad()
def _nearest_levels(w: torch.Tensor, levels: int, n_candidates: int = 256) -> torch.Tensor:
    """Integer levels ``k [rows, cols]`` in [-levels, levels] whose direction is closest to each column of ``w``."""
    top = w.abs().amax(0).clamp_min(1e-12)  # [cols]
    m = torch.linspace(1.0, float(levels), n_candidates, dtype=w.dtype)  # [C]
    k = torch.round(w[None] / (top / m[:, None])[:, None, :]).clamp(-levels, levels)  # [C, rows, cols]
    cos = (k * w[None]).sum(1) / (k.norm(dim=1).clamp_min(1e-12) * w.norm(dim=0).clamp_min(1e-12))  # [C, cols]
    best = cos.argmax(0)  # [cols]
    return k.gather(0, best[None, None, :].expand(1, k.shape[1], k.shape[2])).squeeze(0)


def _exact_latent(k: torch.Tensor, s: torch.Tensor, levels: int) -> torch.Tensor:
    """Latent weights ``k * s`` whose largest level is in the range :func:`.quant._scale` searches,
    so that re-quantizing them returns the same weights exactly (levels scaled by an integer)."""
    mx = k.abs().amax(0).clamp_min(1)
    f = torch.floor(levels / mx)
    return (k * f) * (s / f)


def _bounded_init(s: torch.Tensor, cap: torch.Tensor) -> torch.Tensor:
    """Parameter ``p`` with ``cap * sigmoid(p) = s`` (``s`` clipped just inside ``(0, cap)``):
    a column step that can move both ways and never leaves the budget."""
    r = (s / cap).clamp(1e-4, 0.999)
    return torch.log(r / (1 - r))


def _train_staged(block: CrossbarMlpV1, inputs, targets, cfg: BlockTrainV1Config, gen, name: str) -> Dict[str, List[float]]:
    bcfg = block.cfg
    l1 = bcfg.l1_max
    lv1, lv2 = 2**bcfg.rram_bits - 1, 2**bcfg.bits2 - 1
    n_pool = inputs.shape[0]
    batch = min(cfg.batch_size, n_pool)
    n1 = max(1, int(round(0.5 * cfg.iterations)))
    n2 = max(1, int(round(0.3 * cfg.iterations)))
    n3 = max(1, cfg.iterations - n1 - n2)
    hist: Dict[str, List[float]] = {"iteration": [], "loss": []}
    step = [0]
    cap_out = l1 if bcfg.analog_out else float("inf")

    def out_layer(w2):
        return _budget(w2, l1) if bcfg.analog_out else w2

    # conductance noise from its own generator: the minibatches and corner draws stay those of
    # noiseless training with the same seed
    noise_gen = torch.Generator().manual_seed(cfg.seed + 104729)

    def forward(w1, w2, u, vtc):
        h = apply_vtc(u @ w1[:-1] + w1[-1], vtc if vtc is not None else nominal_vtc(bcfg.vtc))
        return h @ w2[:-1] + w2[-1], h

    def noisy_forward(w1, w2, u, vtc):
        """Forward through ``D`` Monte-Carlo chips of both crossbars, ``B / D`` examples on each."""
        n_b = u.shape[0]
        d = max(k for k in range(1, min(cfg.train_draws, n_b) + 1) if n_b % k == 0)  # equal groups
        w1p = _perturb_columns(w1, cfg.train_sigma, d, noise_gen)  # [D, n_in + 1, H]
        w2p = _perturb_columns(w2, cfg.train_sigma, d, noise_gen, beta=bcfg.beta)  # [D, H + 1, n_out]
        if vtc is None:
            vtc = nominal_vtc(bcfg.vtc)
        else:  # per-example curves [B, H] -> [D, B / D, H]
            vtc = VtcParams(*(t.reshape(d, n_b // d, -1) for t in (vtc.gain, vtc.vm, vtc.amp, vtc.center)))
        z1 = torch.baddbmm(w1p[:, -1:], u.reshape(d, n_b // d, -1), w1p[:, :-1])  # [D, B / D, H]
        out = torch.baddbmm(w2p[:, -1:], apply_vtc(z1, vtc), w2p[:, :-1])  # [D, B / D, n_out]
        return out.reshape(n_b, -1)

    def run_phase(params, weights_fn, n_it, phase):
        opt = torch.optim.Adam(params, lr=cfg.lr_start)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=(cfg.lr_end / cfg.lr_start) ** (1.0 / max(1, n_it - 1)))
        running, cnt, t0 = 0.0, 0, time.time()
        noisy = cfg.train_sigma > 0
        for it in range(n_it):
            idx = torch.randint(n_pool, (batch,), generator=gen)
            u, y = inputs[idx], targets[idx]
            vtc = sample_vtc(bcfg.vtc, (batch, bcfg.n_hidden), gen) if cfg.pvt_aware else None
            w1, w2 = weights_fn()
            out = noisy_forward(w1, w2, u, vtc) if noisy else forward(w1, w2, u, vtc)[0]
            l = torch.mean((out - y) ** 2)
            opt.zero_grad(set_to_none=True)
            l.backward()
            opt.step()
            sched.step()
            running += float(l.detach())
            cnt += 1
            step[0] += 1
            if step[0] % cfg.log_every == 0 or it + 1 == n_it:
                log.info("%s (%s) it %d/%d loss %.3e (%.0f it/s)", name, phase, step[0], cfg.iterations, running / cnt,
                         (it + 1) / max(time.time() - t0, 1e-9))
                hist["iteration"].append(step[0])
                hist["loss"].append(running / cnt)
                running, cnt = 0.0, 0

    def round_output(w1_eff, w2_eff):
        """Output levels (best shared step per column, least-squares column gain) -> (k2, cap2, p2)."""
        idx = torch.randint(n_pool, (min(n_pool, 16384),), generator=gen)
        u_fit, y_fit = inputs[idx].double(), targets[idx].double()
        with torch.no_grad():
            w1b, w2b = w1_eff.double(), w2_eff.double()
            h = apply_vtc(u_fit @ w1b[:-1] + w1b[-1], nominal_vtc(bcfg.vtc))
            hb = torch.cat([h, torch.ones(h.shape[0], 1, dtype=h.dtype)], 1)  # [P, H + 1]
            k2 = torch.zeros_like(w2b)
            s2 = torch.zeros(w2b.shape[1], dtype=w2b.dtype)
            for c in range(w2b.shape[1]):
                best = None
                for m in range(1, lv2 + 1):
                    k = torch.round(w2b[:, c] * m / w2b[:, c].abs().max().clamp_min(1e-12)).clamp(-lv2, lv2)
                    hk = hb @ k
                    sc = float((hk @ y_fit[:, c]) / (hk @ hk).clamp_min(1e-12))
                    if sc <= 0:
                        continue
                    sc = min(sc, cap_out / max(float(k.abs().sum()), 1.0))
                    err = float(((sc * hk - y_fit[:, c]) ** 2).mean())
                    if best is None or err < best[0]:
                        best = (err, k, sc)
                if best is None:  # degenerate column: keep the rounded latent weights
                    best = (0.0, torch.round(w2b[:, c] * lv2 / w2b[:, c].abs().max().clamp_min(1e-12)), 1e-3)
                k2[:, c], s2[c] = best[1], best[2]
        k2 = k2.float()
        cap2 = (cap_out / k2.abs().sum(0).clamp_min(1)).float()  # [n_out]
        if not bcfg.analog_out:  # no budget during training: a loose bound for the parametrisation
            cap2 = 4 * s2.float().clamp_min(1e-6)
        return k2, cap2, _bounded_init(s2.float(), cap2).requires_grad_()

    def round_hidden(w1b):
        """First-layer levels (nearest direction per column) -> (k1, cap1, p1)."""
        with torch.no_grad():
            k1 = _nearest_levels(w1b, lv1)
            cap1 = l1 / k1.abs().sum(0).clamp_min(1)
            s1 = ((w1b * k1).sum(0) / (k1 * k1).sum(0).clamp_min(1e-12)).clamp_min(1e-6)
        return k1, cap1, _bounded_init(s1, cap1).requires_grad_()

    # phase 1: float weights, column budget held in the forward pass
    w1 = block.w1.detach().clone().requires_grad_()
    w2 = block.w2.detach().clone().requires_grad_()
    run_phase([w1, w2], lambda: (_budget(w1, l1), out_layer(w2)), n1, "float")
    # phase 2: first layer rounded (its column steps trainable), output float and within budget
    k1, cap1, p1 = round_hidden(_budget(w1, l1).detach())
    scale1 = lambda: cap1 * torch.sigmoid(p1)  # noqa: E731
    run_phase([p1, w2], lambda: (k1 * scale1(), out_layer(w2)), n2, "first-layer levels fixed")
    # phase 3: output rounded too; only the continuous column steps are tuned
    k2, cap2, p2 = round_output((k1 * scale1()).detach(), out_layer(w2).detach())
    scale2 = lambda: cap2 * torch.sigmoid(p2)  # noqa: E731
    run_phase([p1, p2], lambda: (k1 * scale1(), k2 * scale2()), n3, "steps")

    with torch.no_grad():
        block.w1.copy_(_exact_latent(k1, scale1(), lv1))
        block.w2.copy_(_exact_latent(k2, scale2(), lv2))
    block.quantize = True
    return hist
