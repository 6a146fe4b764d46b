"""Tables of the non-idealities the clipping reports carry: IR drop and read disturb per layer kind.

Input: ``{label: clipping report}`` as :func:`memristor_asr.crossbar.diagnostics.clipping_report`
writes it (a layer's ``"ir_drop"`` with wire resistance, ``"read_disturb"`` with Synaptogen
cells). Layers are pooled over block indices (``blocks.*.ff1.linear1``), so a reader sees which
kind of layer an effect hits hardest; entries without either key are left out.
"""
import math
import re
from collections import defaultdict
from typing import Dict, List, Mapping

__all__ = ["layer_kind", "ir_drop_rows", "read_disturb_rows", "hardware_effects_markdown"]


def layer_kind(name: str) -> str:
    """``blocks.3.mhsa.linear_pos`` -> ``blocks.*.mhsa.linear_pos``."""
    return re.sub(r"\.\d+(\.|$)", r".*\1", name)


def _layers(report: Mapping) -> Dict[str, List[dict]]:
    kinds = defaultdict(list)
    for name, s in report.items():
        if name != "__total__" and isinstance(s, Mapping):
            kinds[layer_kind(name)].append(s)
    return kinds


def ir_drop_rows(report: Mapping) -> List[dict]:
    """Per layer kind: mean current lost to the wires, rms and max differential-current error at
    full-scale input [ADC LSB]; sorted by rms error, largest first."""
    rows = []
    for kind, layers in _layers(report).items():
        ir = [s["ir_drop"] for s in layers if s.get("ir_drop")]
        if not ir:
            continue
        rows.append({"layer": kind, "layers": len(ir),
                     "current_loss": sum(d["current_loss"] for d in ir) / len(ir),
                     "rms_error_lsb": math.sqrt(sum(d["rms_error_lsb"] ** 2 for d in ir) / len(ir)),
                     "max_error_lsb": max(d["max_error_lsb"] for d in ir)})
    return sorted(rows, key=lambda r: -r["rms_error_lsb"])


def read_disturb_rows(report: Mapping) -> List[dict]:
    """Per layer kind: cell reads, the fraction that crossed a threshold (SET + RESET), cells
    crossed (and switched, where applied); sorted by fraction, largest first."""
    rows = []
    for kind, layers in _layers(report).items():
        rd = [s["read_disturb"] for s in layers if s.get("read_disturb")]
        if not rd:
            continue
        reads = sum(d["cell_reads"] for d in rd)
        crossing = sum(d["set_reads"] + d["reset_reads"] for d in rd)
        switched = [d.get("cells_switched") for d in rd]
        rows.append({"layer": kind, "layers": len(rd), "cell_reads": reads,
                     "fraction": crossing / reads if reads else 0.0,
                     "cells_crossed": sum(d["cells_crossed"] for d in rd),
                     "candidates": sum(d["set_candidates"] + d["reset_candidates"] for d in rd),
                     "cells_switched": None if any(s is None for s in switched) else sum(switched),
                     "max_safe_v_read": min((d["max_safe_v_read"] for d in rd if d["max_safe_v_read"] is not None),
                                            default=None)})
    return sorted(rows, key=lambda r: -r["fraction"])


def _pct(x: float) -> str:
    return f"{100 * x:.3g} %"


def hardware_effects_markdown(reports: Mapping[str, Mapping], title: str = "Hardware effects") -> str:
    """Markdown: one IR-drop table and one read-disturb table per entry that has them."""
    out = [f"# {title}", ""]
    for label, rep in reports.items():
        ir = ir_drop_rows(rep)
        if ir:
            out += [f"## IR drop: {label}", "",
                    "Full-scale input on every row; error of the differential column current in ADC steps.", "",
                    "| layer | layers | current lost to wires | rms error [LSB] | max error [LSB] |",
                    "|---|---|---|---|---|"]
            out += [f"| {r['layer']} | {r['layers']} | {_pct(r['current_loss'])} | {r['rms_error_lsb']:.3g} | "
                    f"{r['max_error_lsb']:.3g} |" for r in ir]
            out.append("")
        rd = read_disturb_rows(rep)
        if rd:
            total = rep.get("__total__", {}).get("read_disturb") or {}
            out += [f"## Read disturb: {label}", ""]
            if total:
                safe = total.get("max_safe_v_read")
                out += [f"All layers: {_pct(total['fraction'])} of {total['cell_reads']:.3g} cell reads cross a "
                        f"threshold at {total['v_read_max']:g} V; {total['cells_crossed']} cells crossed at least "
                        f"once" + (f", {total['cells_switched']} switched" if total.get("cells_switched") is not None
                                   else "") + "; largest read voltage under 0.1 %: "
                        + (f"{safe:g} V" if safe is not None else "none of the scanned ones") + ".", ""]
            out += ["| layer | layers | cell reads | crossing | cells crossed / candidates | switched | "
                    "max V under 0.1 % |", "|---|---|---|---|---|---|---|"]
            out += [f"| {r['layer']} | {r['layers']} | {r['cell_reads']:.3g} | {_pct(r['fraction'])} | "
                    f"{r['cells_crossed']} / {r['candidates']} | "
                    f"{'-' if r['cells_switched'] is None else r['cells_switched']} | "
                    f"{'-' if r['max_safe_v_read'] is None else format(r['max_safe_v_read'], 'g') + ' V'} |"
                    for r in rd]
            out.append("")
    if len(out) == 2:
        out.append("No entry carries IR-drop or read-disturb diagnostics.")
    return "\n".join(out) + "\n"
