"""Diagnostics of a converted model: clipped ADC outputs and the distribution of pre-ADC values.

The ADC study's key effect: with rel-pos attention, the positional-encoding projection's column
sums are far wider than the other layers', so a 4+4-bit ADC clips a large share of them. Every
crossbar layer counts its clipped outputs; with histograms enabled it also records its pre-ADC
values ``I_col * c`` (units of one full-scale cell pair) in fixed bins.
"""
import re
from typing import Dict, Optional

import torch

from memristor_asr.crossbar.read_disturb import pool_reports

__all__ = ["PreAdcHistogram", "enable_pre_adc_histograms", "reset_statistics", "clipping_report",
           "pre_adc_histograms", "plot_pre_adc_histograms"]


class PreAdcHistogram:
    """Fixed-bin histogram of pre-ADC values, with counts below and above the range.

    :param low, high: range in full-scale cell pairs
    :param bins: number of equal bins (default: 1/16 wide, the 4-bit precision step)
    :param frame_stride: histogram every k-th frame only (all columns and row tiles of it). Binning
        every ADC output cost more than the crossbar simulation's matrix products; the clipped
        counts of :meth:`CrossbarLinearV1.clipping_stats` stay exact either way.
    """

    def __init__(self, low: float = -32.0, high: float = 32.0, bins: int = 1024, frame_stride: int = 1):
        if not high > low or bins < 1:
            raise ValueError(f"PreAdcHistogram: need high > low and bins >= 1, got {low}, {high}, {bins}")
        if int(frame_stride) < 1:
            raise ValueError(f"PreAdcHistogram: frame_stride must be >= 1, got {frame_stride}")
        self.low, self.high, self.bins, self.frame_stride = float(low), float(high), int(bins), int(frame_stride)
        self.reset()

    def reset(self) -> None:
        self.counts = torch.zeros(self.bins, dtype=torch.float64)
        self.underflow = 0
        self.overflow = 0
        self._offset = 0  # frames seen since the last sampled one, so sampling runs across batches

    def take_frames(self, n: int) -> slice:
        """The frames of the next ``n`` that this histogram samples (a slice over the frame
        axis); advances the sampling position, so sampling runs across batches."""
        first = (-self._offset) % self.frame_stride
        self._offset = (self._offset + n) % self.frame_stride
        return slice(first, None, self.frame_stride)

    @torch.no_grad()
    def add(self, values: torch.Tensor, scale: float = 1.0) -> None:
        """Bin already sampled values (any shape); ``scale`` converts to full-scale cell pairs."""
        v = values.detach()
        v = v.float() * scale if scale != 1.0 else v.float().contiguous()
        v = v.flatten()
        self.counts += torch.histc(v, self.bins, self.low, self.high).double().cpu()
        self.underflow += int(torch.count_nonzero(v < self.low))
        self.overflow += int(torch.count_nonzero(v > self.high))

    @torch.no_grad()
    def update(self, values: torch.Tensor, scale: float = 1.0) -> None:
        """:param values: [..., frames, columns] (the frame axis is second to last)
        :param scale: factor to full-scale cell pairs, applied to the sampled values only"""
        v = values.detach()
        if v.dim() >= 2:
            v = v[..., self.take_frames(v.shape[-2]), :]
        self.add(v, scale)

    def edges(self) -> torch.Tensor:
        return torch.linspace(self.low, self.high, self.bins + 1, dtype=torch.float64)

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "bins": self.bins, "counts": self.counts.tolist(),
                "underflow": self.underflow, "overflow": self.overflow, "frame_stride": self.frame_stride}


def _layers(model: torch.nn.Module):
    from memristor_asr.crossbar.layer import CrossbarLinearV1

    return [(n, m) for n, m in model.named_modules() if isinstance(m, CrossbarLinearV1)]


def enable_pre_adc_histograms(model: torch.nn.Module, low: float = -32.0, high: float = 32.0, bins: int = 1024,
                              frame_stride: int = 1) -> None:
    """Let every crossbar layer record its pre-ADC values from now on (of every
    ``frame_stride``-th frame, see :class:`PreAdcHistogram`)."""
    for _, m in _layers(model):
        m.pre_adc_histogram = PreAdcHistogram(low, high, bins, frame_stride)


def reset_statistics(model: torch.nn.Module) -> None:
    """Zero every crossbar layer's clipping counters and histogram."""
    for _, m in _layers(model):
        m.reset_statistics()


def clipping_report(model: torch.nn.Module) -> Dict[str, dict]:
    """Per layer: ``{"clipped", "outputs", "fraction", "adc"}`` since the last reset (and
    ``"stuck_cells"`` where faults are injected, ``"ir_drop"`` with wire resistance,
    ``"read_disturb"`` with Synaptogen cells), plus the pooled total under the key ``"__total__"``."""
    report, clipped, outputs, disturb = {}, 0, 0, []
    for name, m in _layers(model):
        s = m.clipping_stats()
        s["adc"] = m.cfg.adc.describe()
        if getattr(m.cfg, "stuck_lrs_rate", 0.0) or getattr(m.cfg, "stuck_hrs_rate", 0.0):
            s["stuck_cells"] = m.stuck.as_dict()
        if m.ir_drop_stats() is not None:
            s["ir_drop"] = m.ir_drop_stats()
        d = m.read_disturb_stats()
        if d is not None:
            s["read_disturb"] = d
            disturb.append(d)
        report[m.name or name] = s
        clipped += s["clipped"]
        outputs += s["outputs"]
    report["__total__"] = {"clipped": clipped, "outputs": outputs, "fraction": clipped / outputs if outputs else 0.0}
    if disturb:
        report["__total__"]["read_disturb"] = pool_reports(disturb)
    return report


def pre_adc_histograms(model: torch.nn.Module) -> Dict[str, dict]:
    """Per layer: histogram dict (see :meth:`PreAdcHistogram.to_dict`) plus ``clip_value``."""
    out = {}
    for name, m in _layers(model):
        if m.pre_adc_histogram is not None:
            d = m.pre_adc_histogram.to_dict()
            d["clip_value"] = getattr(m.adc, "clip_value", None)
            d["clipped_fraction"] = m.clipping_stats()["fraction"]
            out[m.name or name] = d
    return out


def _group(name: str) -> str:
    return re.sub(r"\.\d+(\.|$)", r".*\1", name)


def plot_pre_adc_histograms(histograms: Dict[str, dict], path: str, title: Optional[str] = None) -> None:
    """PNG of pre-ADC value distributions, one panel per layer kind (layers that differ only in
    their block index are pooled), with the ADC clipping limits and clipped fractions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from memristor_asr.util.atomic import atomic_write

    groups: Dict[str, dict] = {}
    for name, h in histograms.items():
        g = groups.setdefault(_group(name), {"counts": None, "under": 0, "over": 0, "clip": h.get("clip_value"),
                                             "edges": np.linspace(h["low"], h["high"], h["bins"] + 1),
                                             "fractions": []})
        c = np.asarray(h["counts"], dtype=np.float64)
        g["counts"] = c if g["counts"] is None else g["counts"] + c
        g["under"] += h["underflow"]
        g["over"] += h["overflow"]
        g["fractions"].append(h.get("clipped_fraction", 0.0))
    if not groups:
        raise ValueError("plot_pre_adc_histograms: no histograms recorded (enable_pre_adc_histograms first)")
    n = len(groups)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.2 * rows), squeeze=False)
    for ax, (gname, g) in zip(axes.flat, sorted(groups.items())):
        centers = 0.5 * (g["edges"][1:] + g["edges"][:-1])
        total = g["counts"].sum() + g["under"] + g["over"]
        share = np.where(g["counts"] > 0, g["counts"] / max(total, 1), np.nan)  # empty bins left out
        ax.semilogy(centers, share, lw=0.8)
        if g["under"] or g["over"]:
            ax.text(0.02, 0.95, f"outside the plot: {100 * (g['under'] + g['over']) / max(total, 1):.2f} %",
                    transform=ax.transAxes, fontsize=7, va="top")
        if g["clip"] is not None:
            for s in (-1, 1):
                ax.axvline(s * g["clip"], color="red", ls="--", lw=0.8)
        ax.set_title(f"{gname}\nclipped {100 * float(np.mean(g['fractions'])):.1f} %", fontsize=8)
        ax.set_xlabel("pre-ADC value (full-scale cell pairs)", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
