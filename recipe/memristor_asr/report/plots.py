"""Report plots (PNG, matplotlib Agg): WER vs weight bits, WER vs ADC split, clipped fraction per layer.

Multi-draw rows are drawn as their average with min-max error bars (and a shaded band along a
line) over the draws, so the
device-to-device spread of memristor runs is visible next to deterministic float/PTQ/QAT results.
"""
import io
import re
from collections import defaultdict
from typing import Dict, List, Mapping, Sequence, Tuple

from memristor_asr.report.wer_table import WerRow, format_adc, format_bits
from memristor_asr.util.atomic import atomic_write

__all__ = ["plot_wer_vs_bits", "plot_wer_vs_adc", "plot_clipping", "clipping_fractions"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    _pyplot().close(fig)
    with atomic_write(path, "wb") as f:
        f.write(buf.getvalue())


def _series(rows: Sequence[WerRow], x_of, label_of) -> Dict[str, List[Tuple[float, float, float, float]]]:
    """label -> sorted [(x, mean, min, max)]."""
    out = defaultdict(list)
    for r in rows:
        s = r.stats
        out[label_of(r)].append((x_of(r), s.mean, s.min, s.max))
    return {k: sorted(v) for k, v in out.items()}


def _draw(ax, series) -> None:
    for label, pts in series.items():
        xs, mean, lo, hi = zip(*pts)
        line, = ax.plot(xs, mean, marker="o", label=label)
        if any(h > low for low, h in zip(lo, hi)):  # min-max over draws: caps at every point, band between
            ax.errorbar(xs, mean, yerr=[[m - low for m, low in zip(mean, lo)], [h - m for m, h in zip(mean, hi)]],
                        fmt="none", ecolor=line.get_color(), capsize=3, linewidth=1)
            if len(xs) > 1:
                ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)


def plot_wer_vs_bits(rows: Sequence[WerRow], path: str, title: str = "WER vs weight bits") -> None:
    """One line per (system, ADC) over weight bits; float rows (bits None) as dashed horizontal lines."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    quantized = [r for r in rows if r.bits is not None]
    _draw(ax, _series(quantized, lambda r: r.bits,
                      lambda r: r.system if r.adc is None else f"{r.system} (ADC {format_adc(r.adc)})"))
    for r in rows:
        if r.bits is None:
            s = r.stats
            label = r.system if r.system == "float" else f"{r.system} (float)"
            line = ax.axhline(s.mean, linestyle="--", color="gray", label=label)
            if s.max > s.min:
                ax.axhspan(s.min, s.max, color=line.get_color(), alpha=0.15)
    ticks = sorted({r.bits for r in quantized})
    if ticks:
        ax.set_xticks(ticks, [format_bits(b) for b in ticks])
    ax.set_xlabel("weight bits")
    ax.set_ylabel("WER [%]")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_wer_vs_adc(rows: Sequence[WerRow], path: str, title: str = "WER vs ADC precision/range split") -> None:
    """Rows with an ADC as horizontal bars (mean over draws, min-max whiskers), one colour and
    block per (system, weight bits), splits in row order: dozens of settings stay readable,
    and digital QAT results of the same weight bits are drawn as dotted reference lines."""
    plt = _pyplot()
    adc_rows = [r for r in rows if r.adc is not None]
    groups: Dict[Tuple[str, object], List[WerRow]] = {}
    for r in adc_rows:
        groups.setdefault((r.system, r.bits), []).append(r)
    n = len(adc_rows) + max(0, len(groups) - 1)
    fig, ax = plt.subplots(figsize=(7.0, max(2.5, 0.28 * n + 1.2)))
    if not adc_rows:
        ax.text(0.5, 0.5, "no rows with an ADC", ha="center", va="center", transform=ax.transAxes)
    y, ticks, labels = 0, [], []
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, ((system, bits), members) in enumerate(groups.items()):
        colour = colours[i % len(colours)]
        for r in members:
            st = r.stats
            ax.barh(y, st.mean, color=colour, alpha=0.8,
                    xerr=[[st.mean - st.min], [st.max - st.mean]] if st.max > st.min else None, capsize=2)
            ticks.append(y)
            labels.append(f"{system}, {format_bits(bits)} bit: ADC {format_adc(r.adc)}")
            y += 1
        y += 1  # gap between blocks
    digital = {r.bits: r.stats.mean for r in rows if r.adc is None and r.system == "QAT"}
    for bits in sorted({b for (_, b) in groups if b in digital}):
        ax.axvline(digital[bits], linestyle=":", color="gray", linewidth=1)
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("WER [%] (bars: mean over device draws, whiskers: min-max;\n"
                  "dotted: digital QAT WER of the same weight bits)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def clipping_fractions(report: Mapping, pool_blocks: bool = False) -> Dict[str, float]:
    """Layer -> clipped fraction from a crossbar clipping report (``{layer: {"fraction": f, ...}}``, as
    written by :func:`memristor_asr.crossbar.clipping_report`) or a plain ``{layer: fraction}``;
    the pooled ``__total__`` entry is named "total".

    :param pool_blocks: merge layers whose names differ only in numeric indices (``blocks.3.ff`` and
        ``blocks.7.ff`` -> ``blocks.*.ff``), weighting by output counts where the report has them,
        so a deep model's report stays readable
    """
    clipped: Dict[str, float] = {}
    weight: Dict[str, float] = {}
    for layer, v in report.items():
        frac = v.get("fraction") if isinstance(v, Mapping) else v
        if not isinstance(frac, (int, float)) or not 0 <= frac <= 1:
            raise ValueError(f"clipping report: layer {layer!r} has no fraction in [0, 1] (got {v!r})")
        name = "total" if layer == "__total__" else str(layer)
        if pool_blocks:
            name = re.sub(r"\.\d+(?=\.|$)", ".*", name)
        outputs = v.get("outputs") if isinstance(v, Mapping) else None
        w = float(outputs) if isinstance(outputs, (int, float)) and outputs > 0 else 1.0
        clipped[name] = clipped.get(name, 0.0) + w * float(frac)
        weight[name] = weight.get(name, 0.0) + w
    return {k: clipped[k] / weight[k] for k in clipped}


def plot_clipping(reports: Mapping[str, Mapping[str, float]], path: str,
                  title: str = "ADC outputs clipped per layer") -> None:
    """Horizontal bars of clipped fraction per layer, grouped by configuration label.

    :param reports: label (e.g. "ADC 4+4") -> layer -> fraction in [0, 1]
    """
    plt = _pyplot()
    labels = list(reports)
    layers: List[str] = []
    for rep in reports.values():
        layers += [layer for layer in rep if layer not in layers]
    height = 0.8 / max(len(labels), 1)
    fig, ax = plt.subplots(figsize=(7.0, 1.0 + 0.3 * len(layers) * max(1, len(labels)) ** 0.5))
    for i, label in enumerate(labels):
        ys = [j + i * height for j in range(len(layers))]
        ax.barh(ys, [100.0 * reports[label].get(layer, 0.0) for layer in layers], height=height, label=label)
    ax.set_yticks([j + height * (len(labels) - 1) / 2 for j in range(len(layers))], layers, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("clipped ADC outputs [%]")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    if len(labels) > 1:
        ax.legend(fontsize=8)
    _save(fig, path)
