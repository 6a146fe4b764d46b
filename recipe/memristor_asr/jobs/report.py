"""Job: the study's WER tables and plots from a plain nested structure a config can wire.

Thin wrapper over :mod:`memristor_asr.report`; the logic and its tests live there.

- :class:`WerReportJob`: ``out_table_md`` (markdown), ``out_table_csv``, ``out_plot_bits`` (PNG:
  WER vs weight bits per system, min-max over draws), ``out_plot_adc`` (PNG: WER vs ADC
  precision per range bits; only when a row has an ADC), ``out_plot_clipping`` (PNG: clipped
  ADC outputs per layer; only when ``clipping`` is given), ``out_summary`` (JSON: the resolved rows).
- :class:`HardwareEffectsReportJob`: ``out_md`` (markdown: IR drop and read disturb per layer kind,
  from the entries' clipping reports; :mod:`memristor_asr.report.hardware_effects`).
"""
__all__ = ["WerReportJob", "HardwareEffectsReportJob"]

import json
from typing import Any, Dict, List, Mapping, Optional, Union

from sisyphus import Job, Task, tk

from memristor_asr.jobs.common import resolve as _resolve, write_json


class WerReportJob(Job):
    """Tables and plots of WER results.

    :param rows: list of dicts ``{"system": str, "bits": number or None (float), "adc": (p, r) or
        None, "wer": number / tk.Variable / list of those (one per device draw) / a tk.Variable
        holding such a list (e.g. ``AggregateWerJob.out_values``), "note": optional str}``
    :param clipping: optional ``{label: clipping report}``; a report is a JSON file (tk.Path, as
        written from :func:`memristor_asr.crossbar.clipping_report`) or a dict
        ``{layer: fraction or {"fraction": f}}`` (values may be tk.Variables)
    :param title: heading of the markdown table and the plots
    :param max_plot_layers: a clipping report with more layers is pooled over block indices
        (``blocks.*.ff``) for the plot; ``out_summary`` keeps what was plotted
    """

    __sis_hash_exclude__ = {"max_plot_layers": 24}

    def __init__(self, rows: List[Dict[str, Any]], clipping: Optional[Dict[str, Union[tk.Path, Mapping]]] = None,
                 title: str = "WER", max_plot_layers: int = 24):
        self.rows = rows
        self.clipping = clipping
        self.title = title
        self.max_plot_layers = max_plot_layers
        self.out_table_md = self.output_path("wer_table.md")
        self.out_table_csv = self.output_path("wer_table.csv")
        self.out_plot_bits = self.output_path("wer_vs_bits.png")
        self.out_plot_adc = self.output_path("wer_vs_adc.png") if any(r.get("adc") is not None for r in rows) else None
        self.out_plot_clipping = self.output_path("clipping.png") if clipping else None
        self.out_summary = self.output_path("summary.json")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.report.plots import clipping_fractions, plot_clipping, plot_wer_vs_adc, plot_wer_vs_bits
        from memristor_asr.report.wer_table import rows_from_dicts, wer_table_markdown, write_wer_table_csv
        from memristor_asr.util.atomic import atomic_write

        rows = rows_from_dicts(_resolve(self.rows))
        with atomic_write(self.out_table_md.get_path()) as f:
            f.write(wer_table_markdown(rows, self.title))
        write_wer_table_csv(self.out_table_csv.get_path(), rows)
        plot_wer_vs_bits(rows, self.out_plot_bits.get_path(), title=f"{self.title}: WER vs weight bits")
        if self.out_plot_adc is not None:
            plot_wer_vs_adc(rows, self.out_plot_adc.get_path(), title=f"{self.title}: WER vs ADC split")
        clipping = {}
        if self.clipping:
            for label, rep in self.clipping.items():
                if isinstance(rep, tk.Path) and not isinstance(rep, tk.Variable):
                    with open(rep.get_path(), encoding="utf-8") as f:
                        rep = json.load(f)
                rep = _resolve(rep)
                clipping[str(label)] = clipping_fractions(rep, pool_blocks=len(rep) > self.max_plot_layers)
            plot_clipping(clipping, self.out_plot_clipping.get_path(), title=f"{self.title}: ADC clipping per layer")
        summary = {"rows": [{"system": r.system, "bits": r.bits, "adc": r.adc, "wers": r.wers, "note": r.note,
                             "mean": r.stats.mean, "std": r.stats.std, "min": r.stats.min, "max": r.stats.max}
                            for r in rows], "clipping": clipping}
        write_json(self.out_summary.get_path(), summary)


class HardwareEffectsReportJob(Job):
    """IR-drop and read-disturb tables per layer kind.

    :param clipping: ``{label: clipping report JSON}`` (``SimulateCrossbarLogProbsJob.out_clipping``)
    :param title: heading of the markdown
    """

    def __init__(self, clipping: Dict[str, tk.Path], title: str = "Hardware effects"):
        self.clipping = clipping
        self.title = title
        self.out_md = self.output_path("hardware_effects.md")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.report.hardware_effects import hardware_effects_markdown
        from memristor_asr.util.atomic import atomic_write

        reports = {}
        for label, path in self.clipping.items():
            with open(path.get_path(), encoding="utf-8") as f:
                reports[str(label)] = json.load(f)
        with atomic_write(self.out_md.get_path()) as f:
            f.write(hardware_effects_markdown(reports, self.title))
