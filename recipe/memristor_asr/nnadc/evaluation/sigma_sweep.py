"""ENOB against the RRAM conductance variation: how precise the cells must be for a design's target.

Why: at the paper's sigma = 0.05 the pipelined designs lose 1-2 bits of ENOB against their
nominal chip (README, "Neural-network-inspired ADCs"), so one number mixes two gaps: what training
reached and what the variation takes.
Re-evaluating the same trained converter over a grid of sigma shows how fast each design falls
from its nominal ENOB, and the largest sigma at which its target is still met (none if even the
nominal chip misses it): the device requirement a design implies.

Both ENOB figures are swept ("ENOB (spectral)" and "ENOB (paper Eq. 18)", :mod:`.metrics`), for the
ideal combiner and the calibrated ones (per-bit weights, code lookup table; :mod:`..design.combiner`),
beside the floor the variation alone sets at each sigma (:mod:`.variation_bound`).
"""
import logging
import math
import time
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..design.conversion_law import target_fraction
from ..design.converter import NnadcConverter
from .metrics import paper_enob, sine_inputs, sndr_enob
from .monte_carlo import calibration_ramp, combine_all
from .variation_bound import variation_bound

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


#: combiners of the sweep (the per-stage fit equals the per-bit one for 1-bit stages: left out)
SWEEP_COMBINERS = ("ideal", "calibrated", "calibrated_lut")


def _chip_enobs(conv: NnadcConverter, a_sine, a_ramp, target, inst, chunk: int) -> Dict[str, Dict[str, np.ndarray]]:
    """Spectral (``"enob"``) and Eq. (18) (``"paper"``) ENOB of every chip of ``inst`` for every
    combiner of :data:`SWEEP_COMBINERS` (calibrations fitted per chip on the ramp)."""
    out = {comb: {"enob": [], "paper": []} for comb in SWEEP_COMBINERS}
    y_sine = np.asarray(target_fraction(a_sine, conv.transfer), dtype=np.float64)
    for start in range(0, inst.n, chunk):
        sub = inst.subset(start, start + chunk)
        d_s, d_r = conv.digits(a_sine, sub), conv.digits(a_ramp, sub)
        codes = combine_all(conv.layout, d_r, target, d_s)
        for comb in SWEEP_COMBINERS:
            cs = codes[comb][0]
            out[comb]["enob"] += [sndr_enob(c)["enob"] for c in cs]
            out[comb]["paper"] += list(paper_enob(cs, y_sine, conv.n_bits)["enob"])
    return {comb: {k: np.asarray(v) for k, v in d.items()} for comb, d in out.items()}


def enob_vs_sigma(conv: NnadcConverter, cfg: SigmaSweepV1Config = SigmaSweepV1Config()) -> dict:
    """Median and p10 / p90 ENOB over the chips at every sigma of ``cfg``, for every combiner.

    :return: JSON-ready ``{"n_bits", "kind", "transfer", "sigmas", "n_instances", "ideal": {"median",
        "p10", "p90", "paper_median", "paper_p10", "paper_p90"}, "calibrated": {...}, "calibrated_lut":
        {...}, "bound": {"enob", "enob_paper"}}`` (lists aligned with ``sigmas``; ``median`` etc. the
        spectral ENOB, ``paper_*`` the Eq. (18) one, ``bound`` the variation floor of
        :func:`.variation_bound.variation_bound`)
    """
    t0 = time.time()
    a_sine, _ = sine_inputs(conv.n_bits, conv.transfer, cfg.n_fft, cfg.amplitude)
    a_ramp, target = calibration_ramp(conv, cfg.ramp_points_per_code)
    res = {"n_bits": conv.n_bits, "kind": conv.kind, "transfer": conv.transfer, "sigmas": list(cfg.sigmas),
           "n_instances": cfg.n_instances}
    for comb in SWEEP_COMBINERS:
        res[comb] = {k: [] for k in ("median", "p10", "p90", "paper_median", "paper_p10", "paper_p90")}
    res["bound"] = {"enob": [], "enob_paper": []}
    for i, sigma in enumerate(cfg.sigmas):
        n = 1 if sigma == 0 else cfg.n_instances  # without variation every chip is the nominal one
        enobs = _chip_enobs(conv, a_sine, a_ramp, target, conv.instances(n, sigma, cfg.seed), cfg.chunk)
        for comb, e in enobs.items():
            for prefix, x in (("", e["enob"]), ("paper_", e["paper"])):
                res[comb][prefix + "median"].append(float(np.median(x)))
                res[comb][prefix + "p10"].append(float(np.percentile(x, 10)))
                res[comb][prefix + "p90"].append(float(np.percentile(x, 90)))
        b = variation_bound(conv.cfg, sigma)
        res["bound"]["enob"].append(b["enob_bound"])
        res["bound"]["enob_paper"].append(b["enob_paper_bound"])
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
    """Markdown: two tables, "ENOB (spectral)" and "ENOB (paper Eq. 18)", of the median ENOB per design
    and sigma (ideal combiner; in brackets calibrated with per-bit weights / with the code LUT), a
    "bound" row per design (the variation floor, :mod:`.variation_bound`), the largest sigma that
    meets each design's target (ideal / per-bit / LUT combiner), and in the spectral table the
    largest that costs at most half a bit against the nominal chip (when the grid starts at 0): the
    design's robustness on its own. Results written before a combiner or metric existed show "n/a"."""
    names = list(results)
    if not names:
        return "(no designs)\n"
    sigmas = results[names[0]]["sigmas"]
    for name in names:
        if results[name]["sigmas"] != sigmas:
            raise ValueError(f"sigma_sweep_table: design {name!r} was swept over {results[name]['sigmas']}, "
                             f"not {sigmas}")
    parts = []
    for metric, prefix, bound_key in (("ENOB (spectral)", "", "enob"), ("ENOB (paper Eq. 18)", "paper_", "enob_paper")):
        spectral = prefix == ""
        head = (f"| design ({metric}) | target | " + " | ".join(f"sigma {s:g}" for s in sigmas)
                + " | max sigma for target (ideal / per-bit / LUT combiner) |"
                + (" max sigma for nominal - 0.5 bit |" if spectral else ""))
        lines = [f"{metric}: median over the chips, ideal combiner (calibrated: per-bit weights / code LUT)", "",
                 head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
        for name in names:
            r = results[name]
            med = {c: _series(r, c, prefix + "median", len(sigmas)) for c in SWEEP_COMBINERS}
            cells = [f"{_num(m)} ({_num(c)} / {_num(u)})"
                     for m, c, u in zip(med["ideal"], med["calibrated"], med["calibrated_lut"])]
            tgt = targets.get(name)
            if tgt is None:
                need, tcell = "", ""
            else:
                tcell = f"{tgt:.1f}"
                need = " / ".join(_fmt_sigma(*max_sigma_meeting(sigmas, med[c], tgt)) if None not in med[c] else "n/a"
                                  for c in SWEEP_COMBINERS)
            row = f"| {name} | {tcell} | " + " | ".join(cells) + f" | {need} |"
            if spectral:
                m0 = med["ideal"]
                row += (f" {_fmt_sigma(*max_sigma_meeting(sigmas, m0, m0[0] - 0.5))} |" if sigmas[0] == 0 else " |")
            lines.append(row)
            bound = (r.get("bound") or {}).get(bound_key)
            if bound is not None:
                lines.append(f"| {name}: bound | | " + " | ".join(f"{b:.2f}" for b in bound) + " | |"
                             + (" |" if spectral else ""))
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _series(r: dict, comb: str, key: str, n: int) -> list:
    """``r[comb][key]``, or ``[None] * n`` where the results predate it."""
    v = (r.get(comb) or {}).get(key)
    return list(v) if v is not None else [None] * n


def _num(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _fmt_sigma(sigma: Optional[float], how: str) -> str:
    if how == "unreachable":
        return "not even nominal"
    if how == "above_grid":
        return f">= {sigma:g}"
    return f"{sigma:.2g}"
