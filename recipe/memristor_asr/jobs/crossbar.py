"""Jobs: simulated memristor crossbars: single-cell statistics, correction factor, and CTC
log-probabilities of a QAT model converted to crossbars (one device draw per job).

Thin wrappers over :mod:`memristor_asr.crossbar`; the logic and its tests live there.

- :class:`CrossbarCellStatisticsJob`: ``out_report`` (text table per read-noise model),
  ``out_json`` (the same numbers), ``out_half_voltage`` (variable: partial-RESET voltage of the
  0.5 state).
- :class:`EstimateCorrectionFactorJob`: ``out_correction_factor`` (variable: least-squares c for
  positive inputs, 1/A), ``out_report`` (JSON: c, c for +- inputs, per-input gains).
- :class:`SimulateCrossbarLogProbsJob`: ``out_logprobs`` (``CtcLogProbs`` file,
  ``memristor_asr.decoding.logprobs``; ``meta`` holds seed, hardware description and the pooled
  clipped fraction), ``out_clipping`` (JSON, :func:`memristor_asr.crossbar.clipping_report`:
  ``{layer: {"clipped", "outputs", "fraction", "adc", "tiles", "full_tiles"}, "__total__": {...}}``),
  ``out_histogram`` (PNG of pre-ADC values per layer kind, every 8th frame), ``out_histogram_data`` (JSON).
"""
__all__ = ["CrossbarCellStatisticsJob", "EstimateCorrectionFactorJob", "SimulateCrossbarLogProbsJob"]

import dataclasses
import json
from typing import Optional, Sequence, Tuple

from sisyphus import Job, Task, tk

from memristor_asr.jobs.common import ResourceArgsJob, prepare_task, write_json
from memristor_asr.crossbar.config import CrossbarConfigV1, CrossbarConfigV2, Hardware

#: the pre-ADC histogram bins every 8th frame (binning all of them took ~40 % of a draw's time);
#: clipped counts are exact
HISTOGRAM_FRAME_STRIDE = 8



class CrossbarCellStatisticsJob(Job):
    """Table of single differential pairs (operations 1.0x1, 0.1x1, 0.01x1, 1.0x0, 1.0x0.5): average,
    std, min and max of the corrected output over ``n_pairs`` pairs, one noisy read each.

    :param n_pairs: pairs per weight (10,000 in the paper)
    :param seed: seed of cells and reads
    :param read_noise: read-noise models to tabulate ("physical", "paper", "off")
    :param correction_factor: c [1/A]
    :param v_read_max: full-scale read voltage [V]
    """

    def __init__(self, n_pairs: int = 10000, seed: int = 0, read_noise: Sequence[str] = ("physical", "paper"),
                 correction_factor: float = 8020.0, v_read_max: float = 0.6):
        self.n_pairs = n_pairs
        self.seed = seed
        self.read_noise = tuple(read_noise)
        self.correction_factor = correction_factor
        self.v_read_max = v_read_max
        self.out_report = self.output_path("cell_statistics.txt")
        self.out_json = self.output_path("cell_statistics.json")
        self.out_half_voltage = self.output_var("half_voltage")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.crossbar.stats import (
            find_half_state_voltage,
            format_statistics_table,
            single_cell_statistics,
        )
        from memristor_asr.util.atomic import atomic_write

        half = find_half_state_voltage(self.seed, correction_factor=self.correction_factor, v_read_max=self.v_read_max)
        tables = [single_cell_statistics(self.n_pairs, self.seed, noise, self.correction_factor, self.v_read_max,
                                         half_voltage=half) for noise in self.read_noise]
        with atomic_write(self.out_report.get_path()) as f:
            f.write("\n".join(format_statistics_table(t) for t in tables))
        write_json(self.out_json.get_path(), tables)
        self.out_half_voltage.set(half)


class EstimateCorrectionFactorJob(Job):
    """Least-squares correction factor c from simulated (LRS, HRS) pairs read at several inputs.

    :param n_pairs: number of pairs
    :param seed: seed of cells and reads
    :param inputs: input fractions of ``v_read_max`` (None: 0.1, 0.2, ..., 1.0)
    :param read_noise: read-noise model of the reads
    :param v_read_max: full-scale read voltage [V]
    """

    def __init__(self, n_pairs: int = 10000, seed: int = 0, inputs: Optional[Tuple[float, ...]] = None,
                 read_noise: str = "physical", v_read_max: float = 0.6):
        self.n_pairs = n_pairs
        self.seed = seed
        self.inputs = inputs
        self.read_noise = read_noise
        self.v_read_max = v_read_max
        self.out_correction_factor = self.output_var("correction_factor")
        self.out_report = self.output_path("correction_factor.json")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.crossbar.stats import estimate_correction_factor

        res = estimate_correction_factor(self.n_pairs, self.seed, self.inputs, self.read_noise, self.v_read_max)
        write_json(self.out_report.get_path(), res)
        self.out_correction_factor.set(res["c"])


class SimulateCrossbarLogProbsJob(ResourceArgsJob):
    """One device draw: convert a QAT checkpoint's crossbar layers to simulated memristor crossbars
    and compute CTC log-probabilities of a corpus, with per-layer ADC clipping statistics.

    Changing the hardware (e.g. its ``adc``) or the seed reuses the trained checkpoint and re-runs
    only this job (and what reads its output). The same arguments give bit-identical outputs on
    the same kind of device.

    :param checkpoint: QAT model checkpoint (``memristor_asr.model.load_model``; it carries the
        model configuration)
    :param manifest: corpus manifest (``memristor_asr.data.manifest``)
    :param hardware: the simulated hardware, a :class:`CrossbarConfigV2` (global settings, the ADC
        in ``adc``, per-layer overrides); a :class:`CrossbarConfigV1` is accepted too
    :param seed: the device-draw seed (programming and read noise)
    :param max_batch_seconds: padded audio seconds per forward pass (hashed: the batching decides
        which read-noise draws an utterance gets)
    :param cpu_rqmt, mem_rqmt, time_rqmt, gpu_rqmt: engine requirements (not hashed)
    """

    def __init__(self, checkpoint: tk.Path, manifest: tk.Path, hardware: Hardware, seed: int,
                 max_batch_seconds: float = 60.0, cpu_rqmt: int = 2,
                 mem_rqmt: float = 8, time_rqmt: float = 4, gpu_rqmt: int = 0):
        if not isinstance(hardware, (CrossbarConfigV2, CrossbarConfigV1)):
            raise TypeError(f"SimulateCrossbarLogProbsJob: hardware must be a CrossbarConfigV2 (or V1), "
                            f"got {type(hardware).__name__}")
        self.checkpoint = checkpoint
        self.manifest = manifest
        self.hardware = hardware
        self.seed = seed
        self.max_batch_seconds = max_batch_seconds
        self.rqmt = {"cpu": cpu_rqmt, "mem": mem_rqmt, "time": time_rqmt, "gpu": gpu_rqmt}
        self.out_logprobs = self.output_path("logprobs.pt")
        self.out_clipping = self.output_path("clipping.json")
        self.out_histogram = self.output_path("pre_adc_histogram.png")
        self.out_histogram_data = self.output_path("pre_adc_histogram.json")


    def tasks(self):
        yield Task("run", rqmt=self.rqmt)

    def run(self):
        from memristor_asr.crossbar import (
            clipping_report, enable_pre_adc_histograms, load_crossbar_model, plot_pre_adc_histograms,
            pre_adc_histograms, seed_read_noise,
        )
        from memristor_asr.data.manifest import read_manifest
        from memristor_asr.decoding.logprobs import save_logprobs
        from memristor_asr.training.logprobs import compute_logprobs

        device = prepare_task(self.rqmt["cpu"], self.rqmt["gpu"])
        cfg = self.hardware
        utterances = read_manifest(self.manifest.get_path())
        model, _ = load_crossbar_model(self.checkpoint.get_path(), cfg, self.seed, device=device)
        seed_read_noise(model, self.seed, "logprobs")
        enable_pre_adc_histograms(model, frame_stride=HISTOGRAM_FRAME_STRIDE)
        meta = {"checkpoint": self.checkpoint.get_path(), "manifest": self.manifest.get_path(), "seed": self.seed,
                # plain values only (an ADC table given as a tk.Path becomes its file name): the
                # log-prob file is read back with torch.load(weights_only=True)
                "hardware_class": type(cfg).__name__,
                "hardware": json.loads(json.dumps(dataclasses.asdict(cfg), default=str)),
                "hardware_description": cfg.describe()}
        lp = compute_logprobs(model, utterances, self.max_batch_seconds, device=device, meta=meta)
        report = clipping_report(model)
        lp.meta["clipped_fraction"] = report["__total__"]["fraction"]
        save_logprobs(self.out_logprobs.get_path(), lp)
        write_json(self.out_clipping.get_path(), report)
        hists = pre_adc_histograms(model)
        write_json(self.out_histogram_data.get_path(), hists)
        plot_pre_adc_histograms(hists, self.out_histogram.get_path(), title=f"seed {self.seed}: {cfg.describe()}")
