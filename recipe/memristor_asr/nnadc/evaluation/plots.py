"""PNG plots of NNADC results (matplotlib, Agg backend): transfer curves, DNL/INL, ENOB spread, sweeps."""
from typing import Dict, List

import numpy as np

from ..design.conversion_law import input_from_fraction

__all__ = ["plot_transfer", "plot_dnl_inl", "plot_enob_hist", "plot_sweep", "plot_enob_vs_sigma"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: str) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _stairs(ax, transitions: np.ndarray, transfer: str, **kw):
    n = len(transitions) + 1
    a = input_from_fraction(np.concatenate([[0.0], transitions, [1.0]]), transfer)
    ax.step(a, np.arange(n + 1).clip(max=n - 1), where="post", **kw)


def plot_transfer(curves: Dict[str, np.ndarray], metrics: dict, path: str, title: str = "") -> None:
    """Full transfer curve and a 32-code zoom at mid-scale: ideal, nominal chip, MC chips."""
    plt = _plt()
    n_bits, transfer = metrics["n_bits"], metrics["transfer"]
    ideal = np.arange(1, 2**n_bits) / 2**n_bits
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    mid = 2 ** (n_bits - 1)
    for ax, zoom in zip(axes, (False, True)):
        for chip in curves.get("mc_ideal_transitions", [])[:5]:
            _stairs(ax, chip, transfer, color="0.7", lw=0.6)
        _stairs(ax, ideal, transfer, color="k", lw=1.0, ls="--", label="ideal")
        _stairs(ax, curves["nominal_transitions"], transfer, color="C0", lw=1.2, label="trained (nominal)")
        if zoom:
            lo, hi = max(0, mid - 16), min(2**n_bits - 1, mid + 16)
            ax.set_xlim(input_from_fraction(lo / 2**n_bits, transfer), input_from_fraction(hi / 2**n_bits, transfer))
            ax.set_ylim(lo, hi)
            ax.set_title("zoom: 32 codes at mid-scale (grey: MC chips)")
        else:
            ax.set_title(title or f"{n_bits}-bit {metrics['kind']} NNADC")
            ax.legend(loc="upper left")
        ax.set_xlabel("input a (fraction of full scale)")
        ax.set_ylabel("output code")
    _save(plt, fig, path)


def plot_dnl_inl(curves: Dict[str, np.ndarray], metrics: dict, path: str, title: str = "") -> None:
    """DNL and INL (LSB) of the nominal chip and of the median-ENOB Monte-Carlo chip (both combiners)."""
    plt = _plt()
    fig, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    series = [
        ("nominal", curves["nominal_dnl"], curves["nominal_inl"], "C0"),
        ("MC median chip", curves["mc_ideal_median_dnl"], curves["mc_ideal_median_inl"], "C1"),
        ("MC median chip, calibrated", curves["mc_calibrated_median_dnl"], curves["mc_calibrated_median_inl"], "C2"),
    ]
    for name, dnl, inl, col in series:
        axes[0].plot(np.arange(1, len(dnl) + 1), dnl, lw=0.7, color=col, label=name)  # code k+1 lies between T_k, T_k+1
        axes[1].plot(np.arange(1, len(inl) + 1), inl, lw=0.7, color=col, label=name)
    nom = metrics["nominal"]["ideal"]
    axes[0].set_ylabel("DNL (LSB, endpoint)")
    axes[1].set_ylabel("INL (LSB, endpoint)")
    axes[1].set_xlabel("code")
    axes[0].set_title(title or f"{metrics['n_bits']}-bit {metrics['kind']}: "
                      f"nominal DNL {nom['dnl_min']:+.2f}/{nom['dnl_max']:+.2f}, "
                      f"INL {nom['inl_min']:+.2f}/{nom['inl_max']:+.2f} LSB")
    axes[0].legend(fontsize=8)
    _save(plt, fig, path)


def plot_enob_hist(metrics: dict, path: str, title: str = "") -> None:
    """Histogram of per-chip spectral ENOB over the Monte-Carlo instances (ideal, per-bit calibrated and,
    where evaluated, code-LUT calibrated combiner)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for comb, col in (("ideal", "C1"), ("calibrated", "C2"), ("calibrated_lut", "C3")):
        if comb not in metrics["mc"]:
            continue
        e = metrics["mc"][comb]["enob"]
        ax.hist(e, bins=20, alpha=0.6, color=col, label=f"{comb} combiner, median {np.median(e):.2f}")
    ax.axvline(metrics["nominal"]["ideal"]["enob"], color="C0", ls="--", label="nominal chip")
    ax.set_xlabel("ENOB (spectral, bits)")
    ax.set_ylabel("chips")
    ax.set_title(title or f"{metrics['n_bits']}-bit {metrics['kind']}: "
                 f"ENOB over {metrics['mc']['ideal']['n']} MC chips")
    ax.legend(fontsize=8)
    _save(plt, fig, path)


def plot_sweep(results: List[dict], path: str, title: str = "") -> None:
    """Metric (median over MC, bars p10..p90) vs RRAM precision, one line per hidden size."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    metric = results[0]["metric"]
    for i, h in enumerate(sorted({r["hidden"] for r in results})):
        rs = sorted((r for r in results if r["hidden"] == h), key=lambda r: r["rram_bits"])
        b = [r["rram_bits"] for r in rs]
        med = np.array([r["median"] for r in rs])
        err = np.array([[r["median"] - r["p10"] for r in rs], [r["p90"] - r["median"] for r in rs]])
        ax.errorbar(b, med, yerr=np.abs(err), marker="o", capsize=3, color=f"C{i}", label=f"H = {h}")
        ax.plot(b, [r["nominal"] for r in rs], ls=":", color=f"C{i}")
    if metric == "mse":
        ax.set_yscale("log")
        ax.set_ylabel("residue MSE (full-range units)")
    else:
        ax.axhline(results[0]["n_bits"], color="k", lw=0.6, ls="--")
        ax.set_ylabel("ENOB (bits)")
    ax.set_xlabel("RRAM precision A_R (bits)")
    ax.set_title(title or f"{results[0]['kind']} {results[0]['n_bits']}-bit: median over MC (dotted: nominal)")
    ax.legend(fontsize=8)
    _save(plt, fig, path)


def plot_enob_vs_sigma(results: Dict[str, dict], targets: Dict[str, float], path: str,
                       paper_sigma: float = 0.05) -> None:
    """Median spectral ENOB over MC chips (band p10..p90; dotted: the code-LUT calibrated combiner the
    targets are judged on, or the per-bit one where the results predate the LUT; dash-dot thin: the
    variation bound, where the results carry it) vs conductance sigma, one colour per design, its
    target as a dashed line of the same colour."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    smallest = min((s for r in results.values() for s in r["sigmas"] if s > 0), default=1e-3)
    for i, (name, r) in enumerate(results.items()):
        s, col = np.asarray(r["sigmas"]), f"C{i}"
        ideal = r["ideal"]
        ax.plot(s, ideal["median"], marker="o", color=col, label=name)
        ax.fill_between(s, ideal["p10"], ideal["p90"], color=col, alpha=0.15, lw=0)
        cal = r.get("calibrated_lut") or r["calibrated"]
        ax.plot(s, cal["median"], ls=":", color=col)
        if "bound" in r:
            ax.plot(s, r["bound"]["enob"], ls="-.", lw=0.8, color=col)
        if name in targets:
            ax.axhline(targets[name], color=col, ls="--", lw=0.8)
    ax.axvline(paper_sigma, color="k", lw=0.6, ls="-.")
    ax.text(paper_sigma, 0.98, f"paper sigma {paper_sigma:g} ", fontsize=7, va="top", ha="right",
            transform=ax.get_xaxis_transform())
    ax.set_xscale("symlog", linthresh=smallest)
    ax.set_xlim(left=0)
    ax.set_xlabel("conductance variation sigma (lognormal; 0 = nominal chip)")
    ax.set_ylabel("ENOB (spectral, bits), median over MC chips")
    ax.set_title("ENOB vs RRAM variation (band p10..p90, dotted: calibrated (code LUT), dash-dot: variation "
                 "bound, dashed: target)", fontsize=8)
    ax.legend(fontsize=8)
    _save(plt, fig, path)
