"""ENOB against the RRAM conductance variation: how precise the cells must be for a design's target.

Why: at the paper's sigma = 0.05 the pipelined designs lose 1-2 bits of ENOB against their
nominal chip (README, "Neural-network-inspired ADCs"), so one number mixes two gaps: what training
reached and what the variation takes.
Re-evaluating the same trained converter over a grid of sigma shows how fast each design falls
from its nominal ENOB, and the largest sigma at which its target is still met (none if even the
nominal chip misses it): the device requirement a design implies.
"""
import logging
import math
import time
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..design.combiner import apply_calibration, fit_calibration, ideal_combine
from ..design.converter import NnadcConverter
from .metrics import sine_inputs, sndr_enob
from .monte_carlo import calibration_ramp

__all__ = ["SigmaSweepV1Config", "enob_vs_sigma", "max_sigma_meeting", "sigma_sweep_table"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SigmaSweepV1Config:
    """Grid and Monte-Carlo settings of a sweep.

    Attributes:
        sigmas: lognormal resistance variations ``R <- R * exp(N(0, sigma))``, increasing; 0 is the
            nominal chip (evaluated once)
        n_instances: Monte-Carlo chips per sigma
        seed: seed of the draws (the same seed at every sigma: the chips differ only in scale)
        n_fft: sine record length; None: the default of :func:`.metrics.sine_inputs`
        amplitude: sine amplitude as a fraction of half the code range
        ramp_points_per_code: ramp density of the per-chip calibration record
        chunk: chips processed together (memory bound)
    """

    sigmas: Tuple[float, ...] = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
    n_instances: int = 32
    seed: int = 1234
    n_fft: Optional[int] = None
    amplitude: float = 0.999
    ramp_points_per_code: int = 16
    chunk: int = 8

    def __post_init__(self):
        s = tuple(self.sigmas)
        if not s:
            raise ValueError("SigmaSweepV1Config.sigmas: at least one sigma is needed")
        if any(x < 0 for x in s) or any(b <= a for a, b in zip(s, s[1:])):
            raise ValueError(f"SigmaSweepV1Config.sigmas={s}: must be >= 0 and strictly increasing")
        if self.n_instances < 1 or self.chunk < 1:
            raise ValueError(f"n_instances={self.n_instances}, chunk={self.chunk}: must be >= 1")


def _chip_enobs(conv: NnadcConverter, a_sine, a_ramp, target, inst, chunk: int) -> Dict[str, np.ndarray]:
    """ENOB of every chip of ``inst`` with the ideal and the calibrated (per-chip ramp fit) combiner."""
    out = {"ideal": [], "calibrated": []}
    bits = conv.stage_bits
    for start in range(0, inst.n, chunk):
        sub = inst.subset(start, start + chunk)
        d_s, d_r = conv.digits(a_sine, sub), conv.digits(a_ramp, sub)
        w = fit_calibration(d_r, target, bits)
        for c in ideal_combine(d_s, bits):
            out["ideal"].append(sndr_enob(c)["enob"])
        for c in apply_calibration(d_s, w, bits):
            out["calibrated"].append(sndr_enob(c)["enob"])
    return {k: np.asarray(v) for k, v in out.items()}


def enob_vs_sigma(conv: NnadcConverter, cfg: SigmaSweepV1Config = SigmaSweepV1Config()) -> dict:
    """Median and p10 / p90 ENOB over the chips at every sigma of ``cfg``, for both combiners.

    :return: JSON-ready ``{"n_bits", "kind", "transfer", "sigmas", "n_instances", "ideal": {"median",
        "p10", "p90"}, "calibrated": {...}}`` (lists aligned with ``sigmas``)
    """
    t0 = time.time()
    a_sine, _ = sine_inputs(conv.n_bits, conv.transfer, cfg.n_fft, cfg.amplitude)
    a_ramp, target = calibration_ramp(conv, cfg.ramp_points_per_code)
    res = {"n_bits": conv.n_bits, "kind": conv.kind, "transfer": conv.transfer, "sigmas": list(cfg.sigmas),
           "n_instances": cfg.n_instances}
    for comb in ("ideal", "calibrated"):
        res[comb] = {"median": [], "p10": [], "p90": []}
    for i, sigma in enumerate(cfg.sigmas):
        n = 1 if sigma == 0 else cfg.n_instances  # without variation every chip is the nominal one
        enobs = _chip_enobs(conv, a_sine, a_ramp, target, conv.instances(n, sigma, cfg.seed), cfg.chunk)
        for comb, e in enobs.items():
            res[comb]["median"].append(float(np.median(e)))
            res[comb]["p10"].append(float(np.percentile(e, 10)))
            res[comb]["p90"].append(float(np.percentile(e, 90)))
        el = time.time() - t0
        log.info("sigma %g: median ENOB %.2f (calibrated %.2f), %d/%d sigmas, %.1f s, ETA %.0f s", sigma,
                 res["ideal"]["median"][-1], res["calibrated"]["median"][-1], i + 1, len(cfg.sigmas), el,
                 el / (i + 1) * (len(cfg.sigmas) - i - 1))
    return res


def max_sigma_meeting(sigmas: Sequence[float], enobs: Sequence[float], target: float) -> Tuple[Optional[float], str]:
    """Largest sigma at which ``enobs`` (aligned with increasing ``sigmas``) still reaches ``target``.

    Scans up to the first sigma that misses the target and interpolates between it and the one before
    (linear in log sigma; linear in sigma next to 0).

    :return: ``(sigma, how)``: how is "interpolated", "above_grid" (met at every sigma: the value is
        the largest sigma of the grid, a lower bound) or "unreachable" (missed at the first sigma; None)
    """
    if len(sigmas) != len(enobs) or not sigmas:
        raise ValueError(f"max_sigma_meeting: {len(sigmas)} sigmas but {len(enobs)} ENOB values")
    for i, (s, e) in enumerate(zip(sigmas, enobs)):
        if e >= target:
            continue
        if i == 0:
            return None, "unreachable"
        s0, e0 = sigmas[i - 1], enobs[i - 1]
        f = (e0 - target) / (e0 - e)  # in [0, 1]: where the straight line crosses the target
        if s0 == 0:
            return s0 + f * (s - s0), "interpolated"
        return math.exp(math.log(s0) + f * (math.log(s) - math.log(s0))), "interpolated"
    return float(sigmas[-1]), "above_grid"


def sigma_sweep_table(results: Dict[str, dict], targets: Dict[str, float]) -> str:
    """Markdown table: median ENOB (ideal combiner; calibrated in brackets) per design and sigma, the
    largest sigma that meets each design's target, and the largest that costs at most half a bit
    against the nominal chip (when the grid starts at 0): the design's robustness on its own."""
    names = list(results)
    if not names:
        return "(no designs)\n"
    sigmas = results[names[0]]["sigmas"]
    head = ("| design | target | " + " | ".join(f"sigma {s:g}" for s in sigmas)
            + " | max sigma for target (ideal / calibrated combiner) | max sigma for nominal - 0.5 bit |")
    lines = [head, "|" + "|".join(["---"] * (len(sigmas) + 4)) + "|"]
    for name in names:
        r = results[name]
        if r["sigmas"] != sigmas:
            raise ValueError(f"sigma_sweep_table: design {name!r} was swept over {r['sigmas']}, not {sigmas}")
        cells = [f"{m:.2f} ({c:.2f})" for m, c in zip(r["ideal"]["median"], r["calibrated"]["median"])]
        tgt = targets.get(name)
        if tgt is None:
            need, tcell = "", ""
        else:
            tcell = f"{tgt:.1f}"
            need = " / ".join(_fmt_sigma(*max_sigma_meeting(sigmas, r[c]["median"], tgt))
                              for c in ("ideal", "calibrated"))
        med = r["ideal"]["median"]
        half = _fmt_sigma(*max_sigma_meeting(sigmas, med, med[0] - 0.5)) if sigmas[0] == 0 else ""
        lines.append(f"| {name} | {tcell} | " + " | ".join(cells) + f" | {need} | {half} |")
    return "\n".join(lines) + "\n"


def _fmt_sigma(sigma: Optional[float], how: str) -> str:
    if how == "unreachable":
        return "not even nominal"
    if how == "above_grid":
        return f">= {sigma:g}"
    return f"{sigma:.2g}"
