"""The results table over evaluated NNADC designs (parsed once here, tested, used by the table job).

Every ENOB column is labelled with its metric: "spectral" (SNDR of the sine's spectrum, the standard
figure) or "Eq. 18" (the paper's time-domain figure with the DC in the signal, about 0.79 bit higher;
the paper's targets are compared on it too). "bound" is the ENOB the conductance variation alone
allows without calibration (:mod:`.variation_bound`). Targets are judged on the spectral ENOB of the
code-LUT calibrated chip (issue 15), the uncalibrated verdict beside it. Metrics written before a
column existed show "n/a" there.
"""
import math
from typing import Dict, List, Optional

__all__ = ["results_rows", "results_table", "CALIBRATED_COLUMNS", "TARGET_COMBINER"]

#: combiners shown in the table: (metrics key, label)
CALIBRATED_COLUMNS = (("calibrated", "per-bit weights"), ("calibrated_lut", "code LUT"))
#: the combiner a design's target is judged on (a chip calibrated once with its own ramp)
TARGET_COMBINER = "calibrated_lut"


def _get(d: Optional[dict], key: str) -> Optional[float]:
    """``d[key]`` as a float; None where the metrics predate the entry (JSON-safe, shown as "n/a")."""
    v = None if d is None else d.get(key)
    return None if v is None else float(v)


def results_rows(metrics: Dict[str, dict], targets: Dict[str, float]) -> List[dict]:
    """One row per design from :func:`.monte_carlo.evaluate_converter` metrics."""
    rows = []
    for name, m in metrics.items():
        mc, cal, nom = m["mc"]["ideal"], m["mc"]["calibrated"], m["nominal"]["ideal"]
        bound = m.get("variation_bound") or {}
        target = targets.get(name)
        paper_mc = _get(mc, "enob_paper_median")
        row = {
            "design": name,
            "bits": m["n_bits"],
            "stages": "+".join("1.5" if r else str(b) for b, r in
                               zip(m["stage_bits"], m.get("redundant_stages", [False] * len(m["stage_bits"])))),
            "transfer": m["transfer"],
            "enob_nominal": nom["enob"],
            "enob_mc_median": mc["enob_median"],
            "enob_mc_p10": mc["enob_p10"],
            "enob_mc_p90": mc["enob_p90"],
            "enob_calibrated_median": cal["enob_median"],
            "enob_paper_nominal": _get(nom, "enob_paper"),
            "enob_paper_mc_median": paper_mc,
            "enob_bound": _get(bound, "enob_bound"),
            "enob_paper_bound": _get(bound, "enob_paper_bound"),
            "bound_sigma": _get(bound, "sigma"),
            "dnl_nominal": [nom["dnl_min"], nom["dnl_max"]],
            "inl_nominal": [nom["inl_min"], nom["inl_max"]],
            "dnl_mc_median": [mc["dnl_min_median"], mc["dnl_max_median"]],
            "inl_mc_median": [mc["inl_min_median"], mc["inl_max_median"]],
            "missing_codes_nominal": nom["missing_codes"],
            "n_chips": mc["n"],
            "train_seconds": m.get("train_seconds", float("nan")),
            "target_enob": target,
            "meets_target_uncalibrated": None if target is None else bool(mc["enob_median"] >= target),
            "meets_target_paper_metric": (None if target is None or paper_mc is None
                                          else bool(paper_mc >= target)),
        }
        for key, _ in CALIBRATED_COLUMNS:
            c = m["mc"].get(key)
            row[f"enob_{key}_median"] = _get(c, "enob_median")
            row[f"enob_paper_{key}_median"] = _get(c, "enob_paper_median")
        # issue 15 states targets on the calibrated converter (the best per-chip combiner, the code
        # LUT) in spectral ENOB; metrics that predate the LUT fall back to the ideal combiner
        best = row.get(f"enob_{TARGET_COMBINER}_median")
        row["target_combiner"] = TARGET_COMBINER if best is not None else "ideal"
        judged = best if best is not None else mc["enob_median"]
        row["meets_target"] = None if target is None else bool(judged >= target)
        rows.append(row)
    return rows


def _f(x: Optional[float], fmt: str = ".2f") -> str:
    return "n/a" if x is None or math.isnan(x) else format(x, fmt)


def _target_cell(r: dict) -> str:
    if r["target_enob"] is None:
        return ""
    label = "code LUT" if r.get("target_combiner") == TARGET_COMBINER else "ideal combiner"
    cell = f">= {r['target_enob']:.1f} ({label}, spectral): {'met' if r['meets_target'] else 'NOT met'}"
    if r.get("meets_target_uncalibrated") is not None and r.get("target_combiner") == TARGET_COMBINER:
        cell += f"; uncalibrated: {'met' if r['meets_target_uncalibrated'] else 'NOT met'}"
    if r.get("meets_target_paper_metric") is not None:
        cell += f"; uncalibrated Eq. 18: {'met' if r['meets_target_paper_metric'] else 'NOT met'}"
    return cell


def results_table(rows: List[dict]) -> str:
    """Markdown table of :func:`results_rows`."""
    cal_heads = " | ".join(f"ENOB calibrated, {label} (MC median, spectral / Eq. 18)"
                           for _, label in CALIBRATED_COLUMNS)
    head = ("| design | bits | stages | ENOB (spectral) nominal | ENOB (spectral) MC median [p10, p90] | "
            "ENOB (paper Eq. 18) nominal / MC median | bound ENOB (spectral / Eq. 18) | " + cal_heads + " | "
            "DNL nominal (LSB) | INL nominal (LSB) | DNL / INL MC median (LSB) | train (s) | target |")
    lines = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for r in rows:
        cal = " | ".join(f"{_f(r.get(f'enob_{k}_median'))} / {_f(r.get(f'enob_paper_{k}_median'))}"
                         for k, _ in CALIBRATED_COLUMNS)
        bound = f"{_f(r.get('enob_bound'))} / {_f(r.get('enob_paper_bound'))}"
        lines.append(
            f"| {r['design']} | {r['bits']} ({r['transfer']}) | {r['stages']} | {r['enob_nominal']:.2f} | "
            f"{r['enob_mc_median']:.2f} [{r['enob_mc_p10']:.2f}, {r['enob_mc_p90']:.2f}] | "
            f"{_f(r.get('enob_paper_nominal'))} / {_f(r.get('enob_paper_mc_median'))} | {bound} | {cal} | "
            f"{r['dnl_nominal'][0]:+.2f} / {r['dnl_nominal'][1]:+.2f} | "
            f"{r['inl_nominal'][0]:+.2f} / {r['inl_nominal'][1]:+.2f} | "
            f"{r['dnl_mc_median'][0]:+.2f}/{r['dnl_mc_median'][1]:+.2f}, "
            f"{r['inl_mc_median'][0]:+.2f}/{r['inl_mc_median'][1]:+.2f} | "
            f"{r['train_seconds']:.0f} | {_target_cell(r)} |"
        )
    return "\n".join(lines) + "\n"
