"""The results table over evaluated NNADC designs (parsed once here, tested, used by the table job)."""
from typing import Dict, List

__all__ = ["results_rows", "results_table"]


def results_rows(metrics: Dict[str, dict], targets: Dict[str, float]) -> List[dict]:
    """One row per design from :func:`.monte_carlo.evaluate_converter` metrics."""
    rows = []
    for name, m in metrics.items():
        mc, cal, nom = m["mc"]["ideal"], m["mc"]["calibrated"], m["nominal"]["ideal"]
        target = targets.get(name)
        rows.append({
            "design": name,
            "bits": m["n_bits"],
            "stages": "+".join(str(b) for b in m["stage_bits"]),
            "transfer": m["transfer"],
            "enob_nominal": nom["enob"],
            "enob_mc_median": mc["enob_median"],
            "enob_mc_p10": mc["enob_p10"],
            "enob_mc_p90": mc["enob_p90"],
            "enob_calibrated_median": cal["enob_median"],
            "dnl_nominal": [nom["dnl_min"], nom["dnl_max"]],
            "inl_nominal": [nom["inl_min"], nom["inl_max"]],
            "dnl_mc_median": [mc["dnl_min_median"], mc["dnl_max_median"]],
            "inl_mc_median": [mc["inl_min_median"], mc["inl_max_median"]],
            "missing_codes_nominal": nom["missing_codes"],
            "n_chips": mc["n"],
            "train_seconds": m.get("train_seconds", float("nan")),
            "target_enob": target,
            "meets_target": None if target is None else bool(mc["enob_median"] >= target),
        })
    return rows


def results_table(rows: List[dict]) -> str:
    """Markdown table of :func:`results_rows`."""
    head = ("| design | bits | stages | ENOB nominal | ENOB MC median [p10, p90] | ENOB calibrated (MC median) | "
            "DNL nominal (LSB) | INL nominal (LSB) | DNL / INL MC median (LSB) | train (s) | target |")
    lines = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for r in rows:
        tgt = ("" if r["target_enob"] is None
               else f">= {r['target_enob']:.1f}: {'met' if r['meets_target'] else 'NOT met'}")
        lines.append(
            f"| {r['design']} | {r['bits']} ({r['transfer']}) | {r['stages']} | {r['enob_nominal']:.2f} | "
            f"{r['enob_mc_median']:.2f} [{r['enob_mc_p10']:.2f}, {r['enob_mc_p90']:.2f}] | "
            f"{r['enob_calibrated_median']:.2f} | "
            f"{r['dnl_nominal'][0]:+.2f} / {r['dnl_nominal'][1]:+.2f} | "
            f"{r['inl_nominal'][0]:+.2f} / {r['inl_nominal'][1]:+.2f} | "
            f"{r['dnl_mc_median'][0]:+.2f}/{r['dnl_mc_median'][1]:+.2f}, "
            f"{r['inl_mc_median'][0]:+.2f}/{r['inl_mc_median'][1]:+.2f} | "
            f"{r['train_seconds']:.0f} | {tgt} |"
        )
    return "\n".join(lines) + "\n"
