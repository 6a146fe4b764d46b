"""WER against ADC energy: the Pareto front of the study settings, as a markdown table and a plot.

Why: "which bit split gives the best WER for the energy" is answered by the settings no other
setting beats on both axes. Both axes are minimised: a setting is dominated when another has
energy <= and WER <= with at least one strictly smaller; equal settings do not dominate each
other, so ties stay on the front together. The front is taken on mean WERs, so the table and the
plot also show the spread over device draws: a front that lies within it is not a finding (the
paired intervals of ``comparisons.md`` say which differences are significant).
"""
import math
from dataclasses import dataclass
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

from memristor_asr.report.plots import _pyplot, _save

__all__ = ["EnergyEntry", "pareto_optimal", "entries_from_dicts", "wer_energy_markdown", "plot_wer_vs_energy"]


@dataclass(frozen=True)
class EnergyEntry:
    """One study setting.

    Attributes:
        label: what the setting is (e.g. "ADC 4+4")
        wer: mean WER over the device draws [%]
        energy: ADC energy per second of audio [J/s = W]
        wers: the per-draw WERs the mean came from (empty when a single number was given)
    """

    label: str
    wer: float
    energy: float
    wers: Tuple[float, ...] = ()

    @property
    def wer_std(self) -> Optional[float]:
        """Standard deviation over the draws, population form as in the WER table (None below two draws)."""
        n = len(self.wers)
        if n < 2:
            return None
        return math.sqrt(sum((w - self.wer) ** 2 for w in self.wers) / n)


def pareto_optimal(points: Sequence[Tuple[float, float]]) -> List[bool]:
    """For each ``(energy, wer)``: True when no other point dominates it (both minimised; equal
    points do not dominate each other).

    :return: flags in the order of ``points``
    """
    pts = [(float(e), float(w)) for e, w in points]
    for i, (e, w) in enumerate(pts):
        if not (math.isfinite(e) and math.isfinite(w)):
            raise ValueError(f"pareto_optimal: point {i} ({e!r}, {w!r}) is not finite")
    # sweep by energy (ties by WER): a point is on the front iff its WER is below every WER seen at
    # strictly lower energy, and no point of the same energy has a lower WER
    order = sorted(range(len(pts)), key=lambda i: pts[i])
    flags = [False] * len(pts)
    best = math.inf  # lowest WER at energies below the current group
    k = 0
    while k < len(order):
        e = pts[order[k]][0]
        group = [i for i in order[k:] if pts[i][0] == e]
        w_min = pts[group[0]][1]  # the group is sorted by WER
        for i in group:
            flags[i] = pts[i][1] == w_min and w_min < best
        best = min(best, w_min)
        k += len(group)
    return flags


def _number(where: str, x) -> float:
    if isinstance(x, (list, tuple)):  # one WER per draw: their mean
        if not x:
            raise ValueError(f"{where}: empty list")
        x = sum(_number(where, v) for v in x) / len(x)
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ValueError(f"{where}: expected a finite number, got {x!r}")
    return float(x)


def entries_from_dicts(entries: Iterable[Mapping]) -> List[EnergyEntry]:
    """Validate ``{"label": str, "wer": number or list (mean taken), "energy": number}`` dicts
    (Sisyphus values already resolved); errors name the entry."""
    out, seen = [], set()
    for i, d in enumerate(entries):
        if not isinstance(d, Mapping):
            raise ValueError(f"entry {i}: expected a dict with label, wer, energy; got {type(d).__name__}")
        unknown = set(d) - {"label", "wer", "energy"}
        missing = {"label", "wer", "energy"} - set(d)
        if unknown or missing:
            raise ValueError(f"entry {i}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
        label = d["label"]
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"entry {i}: label must be a non-empty string, got {label!r}")
        if label in seen:
            raise ValueError(f"entry {i}: label {label!r} appears twice")
        seen.add(label)
        wer = _number(f"entry {i} ({label!r}): wer", d["wer"])
        wers = tuple(_number(f"entry {i} ({label!r}): wer[{j}]", v) for j, v in enumerate(d["wer"])) \
            if isinstance(d["wer"], (list, tuple)) else ()
        energy = _number(f"entry {i} ({label!r}): energy", d["energy"])
        if wer < 0:
            raise ValueError(f"entry {i} ({label!r}): wer must be >= 0 [%], got {wer}")
        if energy <= 0:
            raise ValueError(f"entry {i} ({label!r}): energy must be > 0 [W] (the plot's energy axis is "
                             f"logarithmic), got {energy}")
        out.append(EnergyEntry(label, wer, energy, wers))
    return out


def _sorted_with_front(entries: Sequence[EnergyEntry]) -> List[Tuple[EnergyEntry, bool]]:
    flags = pareto_optimal([(e.energy, e.wer) for e in entries])
    return sorted(zip(entries, flags), key=lambda p: (p[0].energy, p[0].wer, p[0].label))


def wer_energy_markdown(entries: Sequence[EnergyEntry], title: str = "WER vs ADC energy") -> str:
    """Entries sorted by energy, with a column marking the Pareto-optimal ones."""
    lines = [f"# {title}", "",
             "ADC energy per second of audio (Walden FoM x 2^ENOB per conversion); Pareto-optimal: no other "
             "entry has lower or equal energy and mean WER with one of them strictly lower. The front is "
             "taken on means; std is the spread over device draws, and whether two settings differ "
             "significantly is in comparisons.md (paired intervals).", "",
             "| setting | ADC energy per s of audio [W] | WER [%] | std over draws | draws | Pareto-optimal |",
             "|---|---|---|---|---|---|"]
    for e, on_front in _sorted_with_front(entries):
        std = "-" if e.wer_std is None else f"{e.wer_std:.2f}"
        lines.append(f"| {e.label} | {e.energy:.3e} | {e.wer:.2f} | {std} | {len(e.wers) or 1} | "
                     f"{'yes' if on_front else ''} |")
    return "\n".join(lines) + "\n"


def _label_heights(ranked: Sequence[Tuple[EnergyEntry, bool]], span: float) -> List[float]:
    """Label heights (in WER units) for ``ranked`` (sorted by energy, then WER): the labels of entries
    at one energy are stacked at least 4.5 % of the axis span ``span`` apart, centred on their
    points, so equal-energy settings (several splits of one bit budget) stay readable."""
    wers = [e.wer for e, _ in ranked]
    gap = 0.045 * span
    out: List[float] = []
    k = 0
    while k < len(ranked):
        group = [j for j in range(k, len(ranked)) if ranked[j][0].energy == ranked[k][0].energy]
        ys = [wers[j] for j in group]
        placed = [ys[0]]
        for y in ys[1:]:
            placed.append(max(y, placed[-1] + gap))
        shift = (sum(ys) - sum(placed)) / len(ys)
        out.extend(y + shift for y in placed)
        k += len(group)
    return out


def plot_wer_vs_energy(entries: Sequence[EnergyEntry], path: str, title: str = "WER vs ADC energy") -> None:
    """WER against ADC energy per second of audio (log x), every entry labelled, the Pareto front
    drawn as a step line (the best WER reachable at each energy) with its points marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    ranked = _sorted_with_front(entries)
    if not ranked:
        ax.text(0.5, 0.5, "no entries", ha="center", va="center", transform=ax.transAxes)
    spread = [e for e, _ in ranked if e.wer_std is not None]
    if spread:  # the draw spread behind every mean, so a front inside the noise reads as such
        ax.errorbar([e.energy for e in spread], [e.wer for e in spread], yerr=[e.wer_std for e in spread],
                    fmt="none", ecolor="0.7", elinewidth=1, capsize=2, zorder=0)
    others = [e for e, f in ranked if not f]
    front = [e for e, f in ranked if f]
    if others:
        ax.scatter([e.energy for e in others], [e.wer for e in others], color="tab:gray", zorder=2,
                   label="dominated")
    if front:
        xs, ys = [e.energy for e in front], [e.wer for e in front]
        # the front's staircase: after each point the best WER holds until the next, cheaper-in-WER point
        ax.step(xs, ys, where="post", color="tab:red", linewidth=1.5, zorder=1)
        ax.scatter(xs, ys, color="tab:red", marker="D", s=40, zorder=3, label="Pareto-optimal")
    lo, hi = ax.get_ylim()
    for e, y in zip([e for e, _ in ranked], _label_heights(ranked, hi - lo)):
        ax.annotate(e.label, (e.energy, e.wer), xytext=(e.energy * 1.15, y), textcoords="data", fontsize=7,
                    va="center", arrowprops=dict(arrowstyle="-", lw=0.4, color="0.5"))
    ax.set_xscale("log")
    ax.set_xlabel("ADC energy per second of audio [J/s = W]")
    ax.set_ylabel("WER [%] (mean over device draws, bars: std)" if spread else "WER [%] (mean over device draws)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    if ranked:
        ax.legend(fontsize=8)
    _save(fig, path)
