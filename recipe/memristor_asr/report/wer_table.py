"""Result rows of the study and their tables (markdown and CSV).

A row is one evaluated system: ``system`` (float / PTQ / QAT / memristor / ...), weight ``bits``
(None for float; 1.5 = ternary), the crossbar ``adc`` as ``(precision_bits, range_bits)`` or None,
and its WERs: one value for a deterministic system, one per device draw for memristor runs
(reported like the paper's Table 3 as average, std, min, max over draws).
"""
import csv
import io
import math
from dataclasses import dataclass, field
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

from memristor_asr.scoring.aggregate import WerStatistics, aggregate_wers
from memristor_asr.util.atomic import atomic_write

__all__ = ["WerRow", "rows_from_dicts", "wer_table_markdown", "write_wer_table_csv", "format_bits", "format_adc"]


@dataclass
class WerRow:
    """Attributes:
        system: system name, e.g. "float", "PTQ", "QAT", "memristor"
        bits: weight bits (None = float; 1.5 = ternary)
        adc: (precision_bits, range_bits) of the crossbar ADC, None for digital systems
        wers: WER in percent, one per device draw (a single value for deterministic systems)
        note: free text shown in the table (e.g. the evaluation set)
    """

    system: str
    bits: Optional[float]
    adc: Optional[Tuple[int, int]]
    wers: List[float] = field(default_factory=list)
    note: str = ""

    @property
    def stats(self) -> WerStatistics:
        return aggregate_wers(self.wers)


def format_bits(bits: Optional[float]) -> str:
    if bits is None:
        return "float"
    if bits == 1.5:
        return "ternary"
    return f"{bits:g}"


def format_adc(adc: Optional[Tuple[int, int]]) -> str:
    return "-" if adc is None else f"{adc[0]}+{adc[1]}"


def rows_from_dicts(rows: Iterable[Mapping]) -> List[WerRow]:
    """Validate plain row dicts ``{"system", "bits", "adc", "wer", ["note"]}`` (values, not Variables).

    ``wer`` is a number or a list of numbers (one per draw); ``adc`` a pair or None.
    """
    out = []
    for i, r in enumerate(rows):
        where = f"row {i}"
        unknown = set(r) - {"system", "bits", "adc", "wer", "note"}
        if unknown or "system" not in r or "wer" not in r:
            raise ValueError(f"{where}: needs keys 'system' and 'wer' (optional 'bits', 'adc', 'note'); "
                             f"unknown keys {sorted(unknown)}")
        where = f"row {i} ({r['system']})"
        wer = r["wer"]
        wers = [float(w) for w in (wer if isinstance(wer, (list, tuple)) else [wer])]
        if not wers or not all(math.isfinite(w) and w >= 0 for w in wers):
            raise ValueError(f"{where}: WERs must be finite non-negative numbers, got {wer!r}")
        bits = r.get("bits")
        if bits is not None and not (isinstance(bits, (int, float)) and bits > 0):
            raise ValueError(f"{where}: bits must be None or a positive number, got {bits!r}")
        adc = r.get("adc")
        if adc is not None:
            if not (isinstance(adc, (list, tuple)) and len(adc) == 2 and all(isinstance(a, int) for a in adc)):
                raise ValueError(f"{where}: adc must be (precision_bits, range_bits) integers or None, got {adc!r}")
            adc = (int(adc[0]), int(adc[1]))
        out.append(WerRow(str(r["system"]), None if bits is None else float(bits), adc, wers, str(r.get("note", ""))))
    if not out:
        raise ValueError("no result rows")
    return out


_HEADER = ["system", "bits", "ADC p+r", "draws", "WER avg", "std", "min", "max", "note"]


def _cells(row: WerRow) -> List[str]:
    s = row.stats
    many = s.count > 1
    return [row.system, format_bits(row.bits), format_adc(row.adc), str(s.count), f"{s.mean:.2f}",
            f"{s.std:.2f}" if many else "-", f"{s.min:.2f}" if many else "-", f"{s.max:.2f}" if many else "-",
            row.note]


def wer_table_markdown(rows: Sequence[WerRow], title: str = "") -> str:
    """Markdown table (Table-3 style statistics), plus a per-draw list for multi-draw rows."""
    lines = [f"## {title}", ""] if title else []
    lines += ["| " + " | ".join(_HEADER) + " |", "|" + "|".join("---" for _ in _HEADER) + "|"]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    per_draw = [r for r in rows if len(r.wers) > 1]
    if per_draw:
        lines += ["", "Per-draw WER [%]:", ""]
        for r in per_draw:
            lines.append(f"- {r.system} {format_bits(r.bits)} bits, ADC {format_adc(r.adc)}: "
                         + ", ".join(f"{w:.2f}" for w in r.wers))
    return "\n".join(lines) + "\n"


def write_wer_table_csv(path: str, rows: Sequence[WerRow]) -> None:
    """CSV with machine-readable columns (bits empty for float; ADC split in two columns; draws ';'-joined)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["system", "bits", "adc_precision_bits", "adc_range_bits", "draws", "wer_mean", "wer_std",
                "wer_min", "wer_max", "wers", "note"])
    for r in rows:
        s = r.stats
        w.writerow([r.system, "" if r.bits is None else f"{r.bits:g}", "" if r.adc is None else r.adc[0],
                    "" if r.adc is None else r.adc[1], s.count, f"{s.mean:.4f}", f"{s.std:.4f}", f"{s.min:.4f}",
                    f"{s.max:.4f}", ";".join(f"{x:.4f}" for x in r.wers), r.note])
    with atomic_write(path) as f:
        f.write(buf.getvalue())
