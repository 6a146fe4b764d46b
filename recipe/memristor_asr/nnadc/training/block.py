"""Training one block under the hardware constraints (the paper's recipe, sizes configurable).

Why a data pool instead of fresh samples: a pipelined stage learns from the *actual* outputs of
the already-trained stages before it (collaborative training), which are computed once for a
dense stratified pool of converter inputs; each iteration draws a minibatch from that pool.
Comparator outputs learn with binary cross-entropy on smooth-code bits, residues with MSE.
"""
import logging
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch

from ..circuit.block import CrossbarMlpV1, CrossbarMlpV1Config
from ..circuit.crossbar import block_forward, column_load, crossbar_columns, inverters
from ..circuit.rram import fit_columns_to_budget
from ..circuit.variation import lognormal_columns, multiplicative_weight_noise
from ..circuit.vtc import VtcParams, curve_or_nominal, nominal_vtc, sample_vtc
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
    return _train_ste(block, inputs, targets, cfg, loss, gen, name)


# -- pieces shared by both schedules --------------------------------------------------------------

def _adam_with_decay(params, cfg: BlockTrainV1Config, n_it: int):
    """Adam whose learning rate decays exponentially from ``lr_start`` to ``lr_end`` over ``n_it`` steps."""
    opt = torch.optim.Adam(params, lr=cfg.lr_start)
    decay = (cfg.lr_end / cfg.lr_start) ** (1.0 / max(1, n_it - 1))
    return opt, torch.optim.lr_scheduler.ExponentialLR(opt, gamma=decay)


def _descend(opt, sched, batch_loss: torch.Tensor) -> None:
    """One optimiser and learning-rate step on ``batch_loss``."""
    opt.zero_grad(set_to_none=True)
    batch_loss.backward()
    opt.step()
    sched.step()


def _minibatch(inputs, targets, batch: int, bcfg: CrossbarMlpV1Config, cfg: BlockTrainV1Config, gen):
    """A minibatch drawn from the pool and, PVT-aware, one inverter curve per example and hidden unit
    (drawn in that order from ``gen``): ``(u [B, n_in], y [B, n_out], vtc or None)``."""
    idx = torch.randint(inputs.shape[0], (batch,), generator=gen)
    vtc_draw = sample_vtc(bcfg.vtc, (batch, bcfg.n_hidden), gen) if cfg.pvt_aware else None
    return inputs[idx], targets[idx], vtc_draw


class _LossLog:
    """Mean minibatch loss since the last log point; each log point is appended to ``hist``."""

    def __init__(self):
        self.hist: Dict[str, List[float]] = {"iteration": [], "loss": []}
        self._sum, self._count = 0.0, 0

    def add(self, batch_loss: torch.Tensor) -> None:
        self._sum += float(batch_loss.detach())
        self._count += 1

    def record(self, iteration: int) -> float:
        """Close the current window at ``iteration``: record and return its mean loss."""
        mean = self._sum / self._count
        self.hist["iteration"].append(iteration)
        self.hist["loss"].append(mean)
        self._sum, self._count = 0.0, 0
        return mean


# -- the "ste" schedule ---------------------------------------------------------------------------

def _train_ste(block: CrossbarMlpV1, inputs, targets, cfg: BlockTrainV1Config, loss: str, gen: torch.Generator,
               name: str) -> Dict[str, List[float]]:
    """Straight-through quantization of both layers (after an optional float warm-up), the latent weights
    projected onto the column budget every ``project_every`` steps."""
    opt, sched = _adam_with_decay(block.parameters(), cfg, cfg.iterations)
    batch = min(cfg.batch_size, inputs.shape[0])
    losses = _LossLog()
    t0 = time.time()
    warmup = int(round(cfg.float_warmup * cfg.iterations))
    for it in range(cfg.iterations):
        block.quantize = it >= warmup
        u, y, vtc = _minibatch(inputs, targets, batch, block.cfg, cfg, gen)  # [B, n_in], [B, n_out]
        batch_loss = _ste_loss(block, u, y, vtc, cfg, loss, gen)
        _descend(opt, sched, batch_loss)
        if (it + 1) % cfg.project_every == 0 or it + 1 == cfg.iterations:
            block.project()
        losses.add(batch_loss)
        if (it + 1) % cfg.log_every == 0 or it + 1 == cfg.iterations:
            rate = (it + 1) / max(time.time() - t0, 1e-9)
            eta = (cfg.iterations - it - 1) / rate
            log.info("%s it %d/%d loss %.3e (%.0f it/s, ETA %.0f s)",
                     name, it + 1, cfg.iterations, losses.record(it + 1), rate, eta)
    block.quantize = True
    return losses.hist


def _ste_loss(block: CrossbarMlpV1, u, y, vtc, cfg: BlockTrainV1Config, loss: str, gen) -> torch.Tensor:
    """Minibatch loss: BCE on the comparator logits (``logit_gain`` times the output voltage) or MSE."""
    if cfg.train_sigma > 0:
        out = _noisy_forward(block, u, vtc, cfg.train_sigma, gen)
    else:
        out, _ = block(u, vtc)
    if loss == "bce":
        return torch.nn.functional.binary_cross_entropy_with_logits(cfg.logit_gain * out, y)
    return torch.mean((out - y) ** 2)


def _noisy_forward(block: CrossbarMlpV1, u, vtc, sigma: float, gen) -> torch.Tensor:
    """Forward with multiplicative lognormal noise on every quantized weight (one draw per step)."""
    w1, w2 = block.quantized_weights()
    w1 = multiplicative_weight_noise(w1, sigma, gen)
    w2 = multiplicative_weight_noise(w2, sigma, gen)
    return block_forward(u, w1, w2, curve_or_nominal(vtc, block.cfg.vtc))[0]


# -- the "staged" schedule (residue blocks) -------------------------------------------------------
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
    n_float, n_hidden_fixed, n_steps = _phase_lengths(cfg.iterations)
    trainer = _StagedTrainer(bcfg, inputs, targets, cfg, gen, name)

    # phase 1: float weights, column budget held in the forward pass
    w1 = block.w1.detach().clone().requires_grad_()
    w2 = block.w2.detach().clone().requires_grad_()
    trainer.run_phase([w1, w2], lambda: (fit_columns_to_budget(w1, l1), _output_layer(w2, bcfg)), n_float, "float")
    # phase 2: first layer rounded (its column steps trainable), output float and within budget
    hidden = _round_hidden(fit_columns_to_budget(w1, l1).detach(), lv1, l1)
    trainer.run_phase([hidden.p, w2], lambda: (hidden.weights(), _output_layer(w2, bcfg)), n_hidden_fixed,
                      "first-layer levels fixed")
    # phase 3: output rounded too; only the continuous column steps are tuned
    u_fit, y_fit = trainer.fit_sample()
    output = _round_output(hidden.weights().detach(), _output_layer(w2, bcfg).detach(), u_fit, y_fit, bcfg)
    trainer.run_phase([hidden.p, output.p], lambda: (hidden.weights(), output.weights()), n_steps, "steps")

    with torch.no_grad():
        block.w1.copy_(_exact_latent(hidden.k, hidden.steps(), lv1))
        block.w2.copy_(_exact_latent(output.k, output.steps(), lv2))
    block.quantize = True
    return trainer.losses.hist


def _output_layer(w2: torch.Tensor, bcfg: CrossbarMlpV1Config) -> torch.Tensor:
    """The float output layer as used in the forward pass: a residue's output column obeys the budget."""
    return fit_columns_to_budget(w2, bcfg.l1_max) if bcfg.analog_out else w2


def _phase_lengths(iterations: int) -> Tuple[int, int, int]:
    """Steps of the three phases: half float, 30 % with the first layer's levels fixed, the rest steps only."""
    n1 = max(1, int(round(0.5 * iterations)))
    n2 = max(1, int(round(0.3 * iterations)))
    return n1, n2, max(1, iterations - n1 - n2)


class _StagedTrainer:
    """What the phases of :func:`train_staged` share: the pool, the generators, the step count and the loss log.

    The conductance noise of variation-aware training comes from its own generator, so the minibatches and
    corner draws stay those of noiseless training with the same seed.
    """

    def __init__(self, bcfg: CrossbarMlpV1Config, inputs, targets, cfg: BlockTrainV1Config, gen: torch.Generator,
                 name: str):
        self.bcfg, self.inputs, self.targets, self.cfg, self.gen, self.name = bcfg, inputs, targets, cfg, gen, name
        self.batch = min(cfg.batch_size, inputs.shape[0])
        self.noise_gen = torch.Generator().manual_seed(cfg.seed + 104729)
        self.losses = _LossLog()
        self.step = 0  # over all phases

    def run_phase(self, params, weights_fn: Callable[[], Tuple[torch.Tensor, torch.Tensor]], n_it: int,
                  phase: str) -> None:
        """``n_it`` Adam steps on ``params`` (the learning rate decays over the phase), the forward pass
        through the weights ``weights_fn()`` returns."""
        cfg = self.cfg
        opt, sched = _adam_with_decay(params, cfg, n_it)
        t0 = time.time()
        for it in range(n_it):
            u, y, vtc = _minibatch(self.inputs, self.targets, self.batch, self.bcfg, cfg, self.gen)
            batch_loss = torch.mean((self.forward(*weights_fn(), u, vtc) - y) ** 2)
            _descend(opt, sched, batch_loss)
            self.losses.add(batch_loss)
            self.step += 1
            if self.step % cfg.log_every == 0 or it + 1 == n_it:
                log.info("%s (%s) it %d/%d loss %.3e (%.0f it/s)", self.name, phase, self.step, cfg.iterations,
                         self.losses.record(self.step), (it + 1) / max(time.time() - t0, 1e-9))

    def forward(self, w1, w2, u, vtc) -> torch.Tensor:
        """Outputs ``[B, n_out]`` of the weights ``w1``, ``w2``: through Monte-Carlo chips where training is
        variation-aware, else as they are."""
        if self.cfg.train_sigma > 0:
            return self.noisy_forward(w1, w2, u, vtc)
        return block_forward(u, w1, w2, curve_or_nominal(vtc, self.bcfg.vtc))[0]

    def noisy_forward(self, w1, w2, u, vtc) -> torch.Tensor:
        """Forward through ``D`` Monte-Carlo chips of both crossbars, ``B / D`` examples on each."""
        cfg, bcfg = self.cfg, self.bcfg
        n_b = u.shape[0]
        d = max(k for k in range(1, min(cfg.train_draws, n_b) + 1) if n_b % k == 0)  # equal groups
        w1p = perturb_columns(w1, cfg.train_sigma, d, self.noise_gen)  # [D, n_in + 1, H]
        w2p = perturb_columns(w2, cfg.train_sigma, d, self.noise_gen, beta=bcfg.beta)  # [D, H + 1, n_out]
        if vtc is None:
            vtc = nominal_vtc(bcfg.vtc)
        else:  # per-example curves [B, H] -> [D, B / D, H]
            vtc = VtcParams(*(t.reshape(d, n_b // d, -1) for t in (vtc.gain, vtc.vm, vtc.amp, vtc.center)))
        out, _ = block_forward(u.reshape(d, n_b // d, -1), w1p, w2p, vtc)  # [D, B / D, n_out]
        return out.reshape(n_b, -1)

    def fit_sample(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """Up to 16384 pool examples (double precision) for the least-squares fit of the output levels."""
        n_pool = self.inputs.shape[0]
        idx = torch.randint(n_pool, (min(n_pool, 16384),), generator=self.gen)
        return self.inputs[idx].double(), self.targets[idx].double()


@dataclass
class _FixedLevels:
    """A layer whose integer levels ``k [rows, cols]`` are fixed and whose column steps ``cap * sigmoid(p)``
    are trained: they can move both ways and never leave ``(0, cap)`` (the column budget; a loose bound for
    an output read by comparators, which has none during training)."""

    k: torch.Tensor
    cap: torch.Tensor  # [cols]
    p: torch.Tensor  # [cols], trainable

    def steps(self) -> torch.Tensor:
        return self.cap * torch.sigmoid(self.p)

    def weights(self) -> torch.Tensor:
        return self.k * self.steps()


def _round_hidden(w1b: torch.Tensor, lv1: int, l1: float) -> _FixedLevels:
    """First-layer levels (nearest direction per column), least-squares column steps, under the budget ``l1``."""
    with torch.no_grad():
        k1 = _nearest_levels(w1b, lv1)
        cap1 = l1 / k1.abs().sum(0).clamp_min(1)
        s1 = ((w1b * k1).sum(0) / (k1 * k1).sum(0).clamp_min(1e-12)).clamp_min(1e-6)
    return _FixedLevels(k1, cap1, _bounded_init(s1, cap1).requires_grad_())


def _round_output(w1_eff, w2_eff, u_fit, y_fit, bcfg: CrossbarMlpV1Config) -> _FixedLevels:
    """Output levels: per column the best shared step and least-squares gain on the nominal hidden layer of
    ``u_fit [P, n_in]`` against ``y_fit [P, n_out]`` (double precision)."""
    lv2 = 2**bcfg.bits2 - 1
    cap_out = bcfg.l1_max if bcfg.analog_out else float("inf")
    with torch.no_grad():
        w1b, w2b = w1_eff.double(), w2_eff.double()
        h = inverters(crossbar_columns(u_fit, w1b), nominal_vtc(bcfg.vtc))
        hb = torch.cat([h, torch.ones(h.shape[0], 1, dtype=h.dtype)], 1)  # [P, H + 1]
        k2 = torch.zeros_like(w2b)
        s2 = torch.zeros(w2b.shape[1], dtype=w2b.dtype)
        for c in range(w2b.shape[1]):
            k2[:, c], s2[c] = _round_output_column(hb, w2b[:, c], y_fit[:, c], lv2, cap_out)
    k2 = k2.float()
    cap2 = (cap_out / k2.abs().sum(0).clamp_min(1)).float()  # [n_out]
    if not bcfg.analog_out:  # no budget during training: a loose bound for the parametrisation
        cap2 = 4 * s2.float().clamp_min(1e-6)
    return _FixedLevels(k2, cap2, _bounded_init(s2.float(), cap2).requires_grad_())


def _round_output_column(hb, w, y, lv2: int, cap_out: float) -> Tuple[torch.Tensor, float]:
    """Levels ``k [H + 1]`` and step of one output column: of the shared steps ``max|w| / m``, ``m = 1 .. lv2``,
    the one whose least-squares gain (positive, under the budget ``cap_out``) fits ``y [P]`` best from the
    hidden outputs ``hb [P, H + 1]``."""
    top = w.abs().max().clamp_min(1e-12)
    best = None
    for m in range(1, lv2 + 1):
        k = torch.round(w * m / top).clamp(-lv2, lv2)
        hk = hb @ k
        sc = float((hk @ y) / (hk @ hk).clamp_min(1e-12))
        if sc <= 0:
            continue
        sc = min(sc, cap_out / max(float(k.abs().sum()), 1.0))
        err = float(((sc * hk - y) ** 2).mean())
        if best is None or err < best[0]:
            best = (err, k, sc)
    if best is None:  # degenerate column: keep the rounded latent weights
        return torch.round(w * lv2 / top), 1e-3
    return best[1], best[2]
