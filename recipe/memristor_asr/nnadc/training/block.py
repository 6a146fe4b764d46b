"""Training one block under the hardware constraints (the paper's recipe, sizes configurable).

Why a data pool instead of fresh samples: a pipelined stage learns from the *actual* outputs of
the already-trained stages before it (collaborative training), which are computed once for a
dense stratified pool of converter inputs; each iteration draws a minibatch from that pool.
Comparator outputs learn with binary cross-entropy on smooth-code bits, residues with MSE.
"""
import logging
import time
from typing import Dict, List, Optional

import torch

from ..circuit.block import CrossbarMlpV1
from ..circuit.crossbar import block_forward, column_load, crossbar_columns, inverters
from ..circuit.rram import fit_columns_to_budget
from ..circuit.variation import lognormal_columns, multiplicative_weight_noise
from ..circuit.vtc import VtcParams, nominal_vtc, sample_vtc
from .config import BlockTrainV1Config

__all__ = ["train_block", "train_staged", "perturb_columns"]

log = logging.getLogger(__name__)


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
        return train_staged(block, inputs, targets, cfg, gen, name)
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
            batch_loss = torch.nn.functional.binary_cross_entropy_with_logits(cfg.logit_gain * out, y)
        else:
            batch_loss = torch.mean((out - y) ** 2)
        opt.zero_grad(set_to_none=True)
        batch_loss.backward()
        opt.step()
        sched.step()
        if (it + 1) % cfg.project_every == 0 or it + 1 == cfg.iterations:
            block.project()
        running += float(batch_loss.detach())
        if (it + 1) % cfg.log_every == 0 or it + 1 == cfg.iterations:
            n = (it % cfg.log_every) + 1
            rate = (it + 1) / max(time.time() - t0, 1e-9)
            eta = (cfg.iterations - it - 1) / rate
            log.info("%s it %d/%d loss %.3e (%.0f it/s, ETA %.0f s)",
                     name, it + 1, cfg.iterations, running / n, rate, eta)
            hist["iteration"].append(it + 1)
            hist["loss"].append(running / n)
            running = 0.0
    block.quantize = True
    return hist


def _noisy_forward(block: CrossbarMlpV1, u, vtc, sigma: float, gen) -> torch.Tensor:
    """Forward with multiplicative lognormal noise on every quantized weight (one draw per step)."""
    w1, w2 = block.quantized_weights()
    w1 = multiplicative_weight_noise(w1, sigma, gen)
    w2 = multiplicative_weight_noise(w2, sigma, gen)
    return block_forward(u, w1, w2, vtc if vtc is not None else nominal_vtc(block.cfg.vtc))[0]


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
# of the Monte-Carlo model itself (:func:`perturb_columns`; float weights under the budget are
# cell shares just like ``|k| s``), ``train_draws`` fresh chips per step, the minibatch split over
# them. Measured on the 1-bit residue at half swing (2e4 steps, seeds 0/1/2, median over 50 chips
# at sigma 0.05, % rms of the range): noiseless 1.95 / 1.84 / 2.49; train_sigma 0.05 with one chip
# per step 1.60 / 1.40 / 1.31, with 64 chips per step 1.21 / 1.03 / 1.20 (nominal 0.32-0.69, as
# before; 256 chips 1.14 / 0.95 / 1.03, 30 % slower; train_sigma 0.03 / 0.08 about as good, 0.08
# with a worse nominal); noise only in phases 2-3 (float phase clean) 1.98 / 1.80 / 2.16: the
# robust structure is found in the float phase. PVT-aware residues trade conductance robustness
# (2.0 / 2.2 / 1.8) for inverter-curve robustness.

def perturb_columns(w: torch.Tensor, sigma: float, n_draws: int, gen: torch.Generator,
                    beta: Optional[float] = None) -> torch.Tensor:
    """``n_draws`` Monte-Carlo chips of the weights ``w [rows, cols]`` -> ``[n_draws, rows, cols]`` (differentiable).

    The Monte-Carlo model :func:`..circuit.variation.lognormal_columns` (what
    :meth:`..circuit.block.BlockHardware.instances` draws) in column shares: a weight is the
    conductance of its cell over the column total, so ``|w_ij|`` *is* the cell's share and
    ``1 - sum_i |w_ij|`` the load's (integer levels times a step, ``|k| s``, or float weights under
    the budget alike).

    :param beta: for a second layer, which the hardware renormalises to a total of ``beta * sum|k|``
        (load share ``1 - 1 / beta``) and reads back through ``out_scale``: the shares are
        ``|w| / (beta sum|w|)`` and the perturbed weights are scaled back to trained units
    """
    a = w.abs()
    c = None
    if beta is not None:
        c = 1.0 / (beta * a.sum(0).clamp_min(1e-12))  # [cols] hardware / trained
        a = a * c
    wp = lognormal_columns(torch.sign(w), a, column_load(a, 1.0), sigma, n_draws, gen)  # [D, rows, cols]
    return wp if c is None else wp / c


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
    """Latent weights ``k * s`` whose largest level is in the range :func:`..circuit.rram.quantize_columns` searches,
    so that re-quantizing them returns the same weights exactly (levels scaled by an integer)."""
    mx = k.abs().amax(0).clamp_min(1)
    f = torch.floor(levels / mx)
    return (k * f) * (s / f)


def _bounded_init(s: torch.Tensor, cap: torch.Tensor) -> torch.Tensor:
    """Parameter ``p`` with ``cap * sigmoid(p) = s`` (``s`` clipped just inside ``(0, cap)``):
    a column step that can move both ways and never leaves the budget."""
    r = (s / cap).clamp(1e-4, 0.999)
    return torch.log(r / (1 - r))


def train_staged(block: CrossbarMlpV1, inputs, targets, cfg: BlockTrainV1Config, gen: torch.Generator,
                 name: str = "block") -> Dict[str, List[float]]:
    """The "staged" schedule of :func:`train_block` (MSE blocks; see the comment above)."""
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
        return fit_columns_to_budget(w2, l1) if bcfg.analog_out else w2

    # conductance noise from its own generator: the minibatches and corner draws stay those of
    # noiseless training with the same seed
    noise_gen = torch.Generator().manual_seed(cfg.seed + 104729)

    def forward(w1, w2, u, vtc):
        return block_forward(u, w1, w2, vtc if vtc is not None else nominal_vtc(bcfg.vtc))

    def noisy_forward(w1, w2, u, vtc):
        """Forward through ``D`` Monte-Carlo chips of both crossbars, ``B / D`` examples on each."""
        n_b = u.shape[0]
        d = max(k for k in range(1, min(cfg.train_draws, n_b) + 1) if n_b % k == 0)  # equal groups
        w1p = perturb_columns(w1, cfg.train_sigma, d, noise_gen)  # [D, n_in + 1, H]
        w2p = perturb_columns(w2, cfg.train_sigma, d, noise_gen, beta=bcfg.beta)  # [D, H + 1, n_out]
        if vtc is None:
            vtc = nominal_vtc(bcfg.vtc)
        else:  # per-example curves [B, H] -> [D, B / D, H]
            vtc = VtcParams(*(t.reshape(d, n_b // d, -1) for t in (vtc.gain, vtc.vm, vtc.amp, vtc.center)))
        out, _ = block_forward(u.reshape(d, n_b // d, -1), w1p, w2p, vtc)  # [D, B / D, n_out]
        return out.reshape(n_b, -1)

    def run_phase(params, weights_fn, n_it, phase):
        opt = torch.optim.Adam(params, lr=cfg.lr_start)
        decay = (cfg.lr_end / cfg.lr_start) ** (1.0 / max(1, n_it - 1))
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=decay)
        running, cnt, t0 = 0.0, 0, time.time()
        noisy = cfg.train_sigma > 0
        for it in range(n_it):
            idx = torch.randint(n_pool, (batch,), generator=gen)
            u, y = inputs[idx], targets[idx]
            vtc = sample_vtc(bcfg.vtc, (batch, bcfg.n_hidden), gen) if cfg.pvt_aware else None
            w1, w2 = weights_fn()
            out = noisy_forward(w1, w2, u, vtc) if noisy else forward(w1, w2, u, vtc)[0]
            batch_loss = torch.mean((out - y) ** 2)
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            opt.step()
            sched.step()
            running += float(batch_loss.detach())
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
            h = inverters(crossbar_columns(u_fit, w1b), nominal_vtc(bcfg.vtc))
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
    run_phase([w1, w2], lambda: (fit_columns_to_budget(w1, l1), out_layer(w2)), n1, "float")
    # phase 2: first layer rounded (its column steps trainable), output float and within budget
    k1, cap1, p1 = round_hidden(fit_columns_to_budget(w1, l1).detach())
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
