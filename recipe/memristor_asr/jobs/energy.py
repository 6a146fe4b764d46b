"""Jobs: ADC conversions and energy of a crossbar configuration, and WER against that energy.

Thin wrappers over :mod:`memristor_asr.crossbar.energy` and :mod:`memristor_asr.report.pareto`;
the logic and its tests live there.

- :class:`EstimateAdcEnergyJob`: ``out_json`` (per layer and total: ADC and DAC conversions per
  second of audio, bits, energy per second of audio in J/s = W, the FoM and its source;
  :func:`memristor_asr.crossbar.energy.energy_report`), ``out_energy`` (variable: total ADC energy
  per second of audio [W]).
- :class:`WerEnergyReportJob`: ``out_table_md`` (markdown: the entries sorted by energy, Pareto-optimal
  ones marked), ``out_plot`` (PNG: WER vs ADC energy per second of audio, log x, Pareto front as a step line).
"""
__all__ = ["EstimateAdcEnergyJob", "WerEnergyReportJob"]

from typing import Any, Dict, List

from sisyphus import Job, Task, tk

from memristor_asr.crossbar.config import CrossbarConfigV2
from memristor_asr.crossbar.energy import AdcEnergyConfigV1
from memristor_asr.jobs.common import resolve, write_json


class EstimateAdcEnergyJob(Job):
    """ADC and DAC conversions per second of audio of a QAT checkpoint on ``hardware``, and the ADC
    energy they cost. Only shapes matter (no cell is programmed), so this is a small task: the
    model is built from the checkpoint and forwarded on under a second of random audio to count
    the rows each crossbar layer reads per frame.

    :param checkpoint: QAT model checkpoint (``TrainQatConformerJob`` output, or any ``save_model`` file)
    :param hardware: the crossbar description; per-layer ADC overrides are priced per layer
    :param energy: the converter energy model (FoM and its source, optional DAC energy)
    """

    def __init__(self, checkpoint: tk.Path, hardware: CrossbarConfigV2,
                 energy: AdcEnergyConfigV1 = AdcEnergyConfigV1()):
        self.checkpoint = checkpoint
        self.hardware = hardware
        self.energy = energy
        self.out_json = self.output_path("adc_energy.json")
        self.out_energy = self.output_var("adc_energy_per_second")

    def tasks(self):
        # the paper-size model is held twice (the row probe forwards a copy): more than the 1 GB default
        yield Task("run", mini_task=True, rqmt={"mem": 2})

    def run(self):
        from memristor_asr.crossbar.energy import energy_report
        from memristor_asr.model import load_model

        path = self.checkpoint.get_path()
        model, _ = load_model(path)
        try:
            report = energy_report(model, self.hardware, self.energy)
        except ValueError as e:
            raise type(e)(f"checkpoint {path}: {e}") from None
        report["checkpoint"] = path
        write_json(self.out_json.get_path(), report)
        self.out_energy.set(report["total"]["adc_energy_per_second_j"])


class WerEnergyReportJob(Job):
    """WER against ADC energy per second of audio for study settings, with the Pareto front.

    :param entries: ``[{"label": str, "wer": tk.Variable or number (mean WER over draws, %; a list
        of per-draw WERs is averaged), "energy": tk.Variable or number (e.g.
        ``EstimateAdcEnergyJob.out_energy``, W)}, ...]``; labels are unique
    :param title: heading of the table and the plot
    """

    def __init__(self, entries: List[Dict[str, Any]], title: str = "WER vs ADC energy"):
        self.entries = entries
        self.title = title
        self.out_table_md = self.output_path("wer_vs_energy.md")
        self.out_plot = self.output_path("wer_vs_energy.png")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.report.pareto import entries_from_dicts, plot_wer_vs_energy, wer_energy_markdown
        from memristor_asr.util.atomic import atomic_write

        entries = entries_from_dicts(resolve(self.entries))
        with atomic_write(self.out_table_md.get_path()) as f:
            f.write(wer_energy_markdown(entries, self.title))
        plot_wer_vs_energy(entries, self.out_plot.get_path(), title=self.title)
