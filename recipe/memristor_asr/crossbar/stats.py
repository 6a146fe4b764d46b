"""Single-cell-pair statistics and the correction factor, from simulated Synaptogen cells.

- :func:`single_cell_statistics`: the paper's table of single differential pairs: an input
  fraction x of ``v_read_max`` times a weight w, read once with noise through the correction
  factor; operations ``1.0x1, 0.1x1, 0.01x1`` (pair (LRS, HRS)), ``1.0x0`` ((HRS, HRS)) and
  ``1.0x0.5`` ((half, HRS): the positive cell SET, then partially RESET to the voltage at
  which the mean output is 0.5).
- :func:`estimate_correction_factor`: least-squares ``c`` mapping (LRS, HRS) pair currents to the
  inputs, ``c = sum x dI / sum dI^2`` over cells and input levels.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from memristor_asr.crossbar.cells import Cells
from memristor_asr.crossbar.programming import derive_seed

__all__ = ["LSQ_CORRECTION_FACTOR_NEGATIVE", "OPERATIONS", "program_pairs", "find_half_state_voltage",
           "single_cell_statistics", "estimate_correction_factor", "format_statistics_table"]

#: (label, input fraction, weight) of the single-cell table
OPERATIONS: Tuple[Tuple[str, float, float], ...] = (
    ("1.0x1", 1.0, 1.0), ("0.1x1", 0.1, 1.0), ("0.01x1", 0.01, 1.0), ("1.0x0", 1.0, 0.0), ("1.0x0.5", 1.0, 0.5))


def program_pairs(n: int, weight: float, seed: int, half_voltage: Optional[float] = None,
                  set_voltage: float = -2.0, reset_voltage: float = 2.0) -> Tuple[Cells, Cells]:
    """``n`` fresh differential pairs programmed to ``weight`` 1 (LRS, HRS), 0 (HRS, HRS) or
    0.5 (positive cell SET then partially RESET at ``half_voltage``, negative cell HRS)."""
    pos, neg = Cells(n, seed=derive_seed(seed, "pos")), Cells(n, seed=derive_seed(seed, "neg"))
    for c in (pos, neg):
        c.apply_voltage(reset_voltage)
    if weight in (1.0, 0.5):
        pos.apply_voltage(set_voltage)
    if weight == 0.5:
        if half_voltage is None:
            raise ValueError("program_pairs: weight 0.5 needs half_voltage (see find_half_state_voltage)")
        pos.apply_voltage(half_voltage)
    elif weight not in (0.0, 1.0):
        raise ValueError(f"program_pairs: weight must be 1, 0 or 0.5, got {weight!r}")
    return pos, neg


def find_half_state_voltage(seed: int, n: int = 4000, correction_factor: float = 8020.0, v_read_max: float = 0.6,
                            target: float = 0.5, iterations: int = 30) -> float:
    """Partial-RESET voltage at which SET cells' mean noise-free pair output (at full-scale input)
    is ``target``, by bisection between the typical RESET threshold and Umax (calibration cells
    drawn from their own seed)."""
    lo, hi = 0.5, float(Cells(1).params.u_max)

    def mean_out(u):
        pos, neg = program_pairs(n, 0.5, derive_seed(seed, "half-calibration"), half_voltage=u)
        return float(((pos.read_mean(v_read_max) - neg.read_mean(v_read_max)) * correction_factor).mean())

    for _ in range(iterations):  # output falls as the RESET voltage rises
        mid = 0.5 * (lo + hi)
        if mean_out(mid) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@torch.no_grad()
def single_cell_statistics(n_pairs: int = 10000, seed: int = 0, read_noise: str = "physical",
                           correction_factor: float = 8020.0, v_read_max: float = 0.6,
                           half_voltage: Optional[float] = None,
                           operations: Sequence[Tuple[str, float, float]] = OPERATIONS) -> Dict:
    """Average, standard deviation, minimum and maximum of ``c * (I_pos - I_neg)`` per operation,
    one noisy read per pair.

    :return: ``{"rows": [{"operation", "input", "weight", "expected", "mean", "std", "min", "max"}],
        "half_voltage": V, "n_pairs", "read_noise", "correction_factor", "v_read_max"}``
    """
    if half_voltage is None and any(w == 0.5 for _, _, w in operations):
        half_voltage = find_half_state_voltage(seed, correction_factor=correction_factor, v_read_max=v_read_max)
    pairs = {}
    rows: List[Dict] = []
    gen = torch.Generator().manual_seed(derive_seed(seed, "reads", read_noise))
    for label, x, w in operations:
        if w not in pairs:
            pairs[w] = program_pairs(n_pairs, w, derive_seed(seed, "pairs", w), half_voltage=half_voltage)
        pos, neg = pairs[w]
        u = x * v_read_max
        out = (pos.read(u, read_noise, gen) - neg.read(u, read_noise, gen)).double() * correction_factor
        rows.append({"operation": label, "input": x, "weight": w, "expected": x * w, "mean": float(out.mean()),
                     "std": float(out.std()), "min": float(out.min()), "max": float(out.max())})
    return {"rows": rows, "half_voltage": half_voltage, "n_pairs": n_pairs, "read_noise": read_noise,
            "correction_factor": correction_factor, "v_read_max": v_read_max}


#: least-squares c of negative inputs [1/A], as :func:`estimate_correction_factor` measures it with
#: its defaults (10,000 pairs, physical noise; ``EstimateCorrectionFactorJob``'s ``c_negative``):
#: the value graphs give ``CrossbarConfigV2.correction_factor_negative`` (a test re-measures it)
LSQ_CORRECTION_FACTOR_NEGATIVE = 8911.2


@torch.no_grad()
def estimate_correction_factor(n_pairs: int = 10000, seed: int = 0, inputs: Optional[Sequence[float]] = None,
                               read_noise: str = "physical", v_read_max: float = 0.6, reads: int = 1) -> Dict:
    """Least-squares correction factor from (LRS, HRS) pairs read at input fractions ``inputs``.

    :param inputs: input fractions of ``v_read_max`` (default 0.1, 0.2, ..., 1.0)
    :return: ``{"c": ... (positive inputs), "c_negative": ... (their negatives: the per-polarity
        factor of ``CrossbarConfigV2.correction_factor_negative``), "c_symmetric": ... (both), "per_input": [{"input",
        "mean_current", "gain_c"}], ...}``; ``gain_c = x / mean dI`` is the factor that would be
        exact at that input alone
    """
    inputs = list(inputs) if inputs is not None else [round(0.1 * k, 1) for k in range(1, 11)]
    pos, neg = program_pairs(n_pairs, 1.0, derive_seed(seed, "correction"))
    gen = torch.Generator().manual_seed(derive_seed(seed, "correction-reads", read_noise))
    sums = {"pos": [0.0, 0.0], "neg": [0.0, 0.0], "sym": [0.0, 0.0]}
    per_input = []
    for x in inputs:
        for sign in (1.0, -1.0):
            u = sign * x * v_read_max
            di = torch.cat([(pos.read(u, read_noise, gen) - neg.read(u, read_noise, gen)).double()
                            for _ in range(reads)])
            sxy, sxx = float((sign * x * di).sum()), float((di * di).sum())
            sums["sym"][0] += sxy
            sums["sym"][1] += sxx
            side = sums["pos" if sign > 0 else "neg"]
            side[0] += sxy
            side[1] += sxx
            per_input.append({"input": sign * x, "mean_current": float(di.mean()),
                              "gain_c": sign * x / float(di.mean())})
    return {"c": sums["pos"][0] / sums["pos"][1], "c_negative": sums["neg"][0] / sums["neg"][1],
            "c_symmetric": sums["sym"][0] / sums["sym"][1],
            "per_input": per_input, "n_pairs": n_pairs, "read_noise": read_noise, "v_read_max": v_read_max,
            "inputs": inputs}


def format_statistics_table(stats: Dict) -> str:
    """Plain-text table of :func:`single_cell_statistics`."""
    lines = [f"single differential pairs: {stats['n_pairs']} pairs, read noise {stats['read_noise']}, "
             f"c = {stats['correction_factor']:g} 1/A, full-scale input {stats['v_read_max']} V",
             f"0.5 state: SET at -2 V, then partial RESET at {stats['half_voltage']:.4f} V" if stats.get("half_voltage")
             else "", "",
             f"{'operation':>10} {'expected':>9} {'average':>10} {'std':>10} {'min':>10} {'max':>10}"]
    for r in stats["rows"]:
        lines.append(f"{r['operation']:>10} {r['expected']:9.3f} {r['mean']:10.4f} {r['std']:10.4f} "
                     f"{r['min']:10.4f} {r['max']:10.4f}")
    return "\n".join(line for line in lines if line is not None) + "\n"
