"""Jobs: neural-network-inspired ADCs (NNADCs) from low-precision RRAM.

Thin wrappers over :mod:`memristor_asr.nnadc`; the logic and its tests live there.

- :class:`TrainNnadcConverterJob`: ``out_model`` (trained converter, :func:`memristor_asr.nnadc.load_converter`),
  ``out_train_log`` (JSON: per block name, kind, seconds, final loss, level error rate / residue MSE).
- :class:`EvaluateNnadcConverterJob`: ``out_metrics`` (JSON from :func:`memristor_asr.nnadc.evaluate_converter`),
  ``out_curves`` (npz: transition levels, DNL, INL), ``out_transfer_plot``, ``out_dnl_inl_plot``,
  ``out_enob_hist_plot`` (PNG), ``out_enob`` / ``out_enob_calibrated`` (variables: median ENOB over
  the Monte-Carlo chips with the ideal / calibrated combiner).
- :class:`NnadcBlockSweepJob`: ``out_results`` (JSON list, one entry per RRAM precision x hidden size),
  ``out_plot`` (PNG).
- :class:`NnadcResultsTableJob`: ``out_table`` (Markdown), ``out_json`` (the same rows).
- :class:`NnadcSigmaSweepJob`: ``out_results`` (JSON: per design, median / p10 / p90 ENOB per sigma for
  both combiners), ``out_table`` (Markdown, with the largest sigma meeting each target), ``out_plot`` (PNG).
- :class:`NnadcTransferTableJob`: ``out_table`` (npz code-transfer table with Monte-Carlo instances,
  format in :mod:`memristor_asr.nnadc.export.transfer_table`).
- :class:`ReferenceAdcTableJob`: ``out_table`` (the same format for an ideal uniform converter with a
  static +-k LSB offset per instance: the reference for how much static error recognition tolerates).
"""
__all__ = [
    "TrainNnadcConverterJob",
    "EvaluateNnadcConverterJob",
    "NnadcBlockSweepJob",
    "NnadcResultsTableJob",
    "NnadcSigmaSweepJob",
    "NnadcTransferTableJob",
    "ReferenceAdcTableJob",
]

import json
from typing import Dict, Optional, Union

from sisyphus import Job, Task, tk

from memristor_asr.jobs.common import ResourceArgsJob, log_to_stdout, write_json
from memristor_asr.jobs.common import set_torch_threads as _threads
from memristor_asr.nnadc.design.config import PipelinedAdcV1Config, SubrangingAdcV1Config
from memristor_asr.nnadc.evaluation.block_sweep import BlockSweepV1Config
from memristor_asr.nnadc.evaluation.monte_carlo import EvalV1Config
from memristor_asr.nnadc.evaluation.sigma_sweep import SigmaSweepV1Config
from memristor_asr.nnadc.training.config import ConverterTrainV1Config





class TrainNnadcConverterJob(ResourceArgsJob):
    """Train a sub-ranging or pipelined NNADC stage by stage (collaborative training).

    :param converter_config: the design (:class:`PipelinedAdcV1Config` or :class:`SubrangingAdcV1Config`)
    :param train_config: block training settings, pool size and seed
    :param cpu_rqmt, mem_rqmt, time_rqmt: engine requirements (not hashed)
    """

    def __init__(self, converter_config: Union[PipelinedAdcV1Config, SubrangingAdcV1Config],
                 train_config: ConverterTrainV1Config = ConverterTrainV1Config(),
                 cpu_rqmt: int = 1, mem_rqmt: float = 4, time_rqmt: float = 2):
        if not isinstance(converter_config, (PipelinedAdcV1Config, SubrangingAdcV1Config)):
            raise TypeError(f"TrainNnadcConverterJob: converter_config must be a PipelinedAdcV1Config or "
                            f"SubrangingAdcV1Config, got {type(converter_config).__name__}")
        self.converter_config = converter_config
        self.train_config = train_config
        self.rqmt = {"cpu": cpu_rqmt, "mem": mem_rqmt, "time": time_rqmt}
        self.out_model = self.output_path("converter.pt")
        self.out_train_log = self.output_path("train_log.json")


    def tasks(self):
        yield Task("run", rqmt=self.rqmt)

    def run(self):
        from memristor_asr.nnadc import save_converter, train_pipelined, train_subranging

        log_to_stdout()
        _threads(self.rqmt["cpu"])
        if isinstance(self.converter_config, PipelinedAdcV1Config):
            conv = train_pipelined(self.converter_config, self.train_config)
        else:
            conv = train_subranging(self.converter_config, self.train_config)
        save_converter(conv, self.out_model.get_path())
        write_json(self.out_train_log.get_path(), conv.train_log)


class EvaluateNnadcConverterJob(ResourceArgsJob):
    """Monte-Carlo evaluation of a trained converter: ENOB (sine), DNL/INL (ramp), corners, plots.

    :param model: ``out_model`` of :class:`TrainNnadcConverterJob`
    :param eval_config: chips, variation, stimulus settings
    :param title: plot title prefix
    :param cpu_rqmt, mem_rqmt, time_rqmt: engine requirements (not hashed)
    """

    def __init__(self, model: tk.Path, eval_config: EvalV1Config = EvalV1Config(), title: str = "",
                 cpu_rqmt: int = 1, mem_rqmt: float = 4, time_rqmt: float = 1):
        self.model = model
        self.eval_config = eval_config
        self.title = title
        self.rqmt = {"cpu": cpu_rqmt, "mem": mem_rqmt, "time": time_rqmt}
        self.out_metrics = self.output_path("metrics.json")
        self.out_curves = self.output_path("curves.npz")
        self.out_transfer_plot = self.output_path("transfer.png")
        self.out_dnl_inl_plot = self.output_path("dnl_inl.png")
        self.out_enob_hist_plot = self.output_path("enob_hist.png")
        self.out_enob = self.output_var("enob")
        self.out_enob_calibrated = self.output_var("enob_calibrated")


    def tasks(self):
        yield Task("run", rqmt=self.rqmt)

    def run(self):
        import numpy as np

        from memristor_asr.nnadc import evaluate_converter, load_converter
        from memristor_asr.nnadc.evaluation.plots import plot_dnl_inl, plot_enob_hist, plot_transfer
        from memristor_asr.util.atomic import atomic_write

        log_to_stdout()
        _threads(self.rqmt["cpu"])
        conv = load_converter(self.model.get_path())
        metrics, curves = evaluate_converter(conv, self.eval_config)
        metrics["title"] = self.title
        with atomic_write(self.out_curves.get_path(), "wb") as f:
            np.savez(f, **curves)
        plot_transfer(curves, metrics, self.out_transfer_plot.get_path(), self.title)
        plot_dnl_inl(curves, metrics, self.out_dnl_inl_plot.get_path(), self.title and f"{self.title}: DNL / INL")
        plot_enob_hist(metrics, self.out_enob_hist_plot.get_path(), self.title and f"{self.title}: ENOB over MC chips")
        write_json(self.out_metrics.get_path(), metrics)
        self.out_enob.set(round(metrics["mc"]["ideal"]["enob_median"], 4))
        self.out_enob_calibrated.set(round(metrics["mc"]["calibrated"]["enob_median"], 4))


class NnadcBlockSweepJob(ResourceArgsJob):
    """Design-space exploration of one block kind: ENOB (sub-ADC) or MSE (residue) vs RRAM precision vs size.

    :param sweep_config: the grid, training and Monte-Carlo settings
    :param cpu_rqmt, mem_rqmt, time_rqmt: engine requirements (not hashed)
    """

    def __init__(self, sweep_config: BlockSweepV1Config, cpu_rqmt: int = 1, mem_rqmt: float = 4, time_rqmt: float = 2):
        self.sweep_config = sweep_config
        self.rqmt = {"cpu": cpu_rqmt, "mem": mem_rqmt, "time": time_rqmt}
        self.out_results = self.output_path("sweep.json")
        self.out_plot = self.output_path("sweep.png")


    def tasks(self):
        yield Task("run", rqmt=self.rqmt)

    def run(self):
        from memristor_asr.nnadc.evaluation.block_sweep import sweep_blocks
        from memristor_asr.nnadc.evaluation.plots import plot_sweep

        log_to_stdout()
        _threads(self.rqmt["cpu"])
        results = sweep_blocks(self.sweep_config)
        plot_sweep(results, self.out_plot.get_path())
        write_json(self.out_results.get_path(), results)


class NnadcResultsTableJob(Job):
    """One table over evaluated designs: ENOB (nominal, MC median, calibrated), DNL/INL, training time.

    :param metrics: design name -> ``out_metrics`` of :class:`EvaluateNnadcConverterJob`
    :param targets: design name -> required MC-median ENOB (shown with a pass/fail column)
    """

    def __init__(self, metrics: Dict[str, tk.Path], targets: Optional[Dict[str, float]] = None):
        self.metrics = metrics
        self.targets = targets or {}
        self.out_table = self.output_path("results.md")
        self.out_json = self.output_path("results.json")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.nnadc.evaluation.report import results_rows, results_table
        from memristor_asr.util.atomic import atomic_write

        loaded = {}
        for name, path in self.metrics.items():
            with open(path.get_path()) as f:
                loaded[name] = json.load(f)
        rows = results_rows(loaded, self.targets)
        with atomic_write(self.out_table.get_path()) as f:
            f.write(results_table(rows))
        write_json(self.out_json.get_path(), rows)


class NnadcSigmaSweepJob(ResourceArgsJob):
    """ENOB of trained converters against the conductance variation sigma, and the largest sigma
    that still meets each design's target (the device precision a design needs).

    :param models: design name -> ``out_model`` of :class:`TrainNnadcConverterJob`
    :param sweep_config: sigma grid and Monte-Carlo settings
    :param targets: design name -> required MC-median ENOB
    :param cpu_rqmt, mem_rqmt, time_rqmt: engine requirements (not hashed)
    """

    def __init__(self, models: Dict[str, tk.Path], sweep_config: SigmaSweepV1Config = SigmaSweepV1Config(),
                 targets: Optional[Dict[str, float]] = None, cpu_rqmt: int = 1, mem_rqmt: float = 4,
                 time_rqmt: float = 1):
        if not models:
            raise ValueError("NnadcSigmaSweepJob: models is empty")
        self.models = models
        self.sweep_config = sweep_config
        self.targets = targets or {}
        self.rqmt = {"cpu": cpu_rqmt, "mem": mem_rqmt, "time": time_rqmt}
        self.out_results = self.output_path("enob_vs_sigma.json")
        self.out_table = self.output_path("enob_vs_sigma.md")
        self.out_plot = self.output_path("enob_vs_sigma.png")

    def tasks(self):
        yield Task("run", rqmt=self.rqmt)

    def run(self):
        import logging

        from memristor_asr.nnadc import load_converter
        from memristor_asr.nnadc.evaluation.plots import plot_enob_vs_sigma
        from memristor_asr.nnadc.evaluation.sigma_sweep import enob_vs_sigma, sigma_sweep_table
        from memristor_asr.util.atomic import atomic_write

        log_to_stdout()
        _threads(self.rqmt["cpu"])
        results = {}
        for i, (name, path) in enumerate(self.models.items()):
            logging.getLogger(__name__).info("design %s (%d/%d)", name, i + 1, len(self.models))
            results[name] = enob_vs_sigma(load_converter(path.get_path()), self.sweep_config)
        plot_enob_vs_sigma(results, self.targets, self.out_plot.get_path())
        with atomic_write(self.out_table.get_path()) as f:
            f.write(sigma_sweep_table(results, self.targets))
        write_json(self.out_results.get_path(), results)


class NnadcTransferTableJob(Job):
    """Code-transfer table of a trained converter with Monte-Carlo instances (for the crossbar ADC).

    :param model: ``out_model`` of :class:`TrainNnadcConverterJob`
    :param n_points: uniform input levels over the full-scale range
    :param n_instances: Monte-Carlo converter instances
    :param sigma: lognormal resistance variation
    :param seed: seed of the instances
    :param calibration: None (ideal combiner) or the per-instance foreground calibration of the
        digital combiner (``memristor_asr.nnadc.design.combiner.CALIBRATIONS``, e.g. "lut")
    """

    __sis_hash_exclude__ = {"calibration": None}

    def __init__(self, model: tk.Path, n_points: int = 4096, n_instances: int = 16, sigma: float = 0.05, seed: int = 0,
                 calibration: Optional[str] = None):
        from memristor_asr.nnadc.design.combiner import CALIBRATIONS

        if calibration is not None and calibration not in CALIBRATIONS:
            raise ValueError(f"NnadcTransferTableJob: calibration={calibration!r}, expected None or one of "
                             f"{CALIBRATIONS}")
        self.model = model
        self.n_points = n_points
        self.n_instances = n_instances
        self.sigma = sigma
        self.seed = seed
        self.calibration = calibration
        self.out_table = self.output_path("transfer_table.npz")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.nnadc import load_converter, nnadc_transfer_table, save_transfer_table

        _threads(1)
        conv = load_converter(self.model.get_path())
        levels, codes = nnadc_transfer_table(conv, self.n_points, self.seed, self.n_instances, self.sigma,
                                             calibration=self.calibration)
        save_transfer_table(self.out_table.get_path(), conv, levels, codes, self.seed, self.sigma, self.calibration)


class ReferenceAdcTableJob(Job):
    """Code-transfer table of an ideal uniform converter whose instances carry a static offset of
    +-``offset_lsb`` codes (half each, zero mean): what the crossbar ADC reads in place of an NNADC
    table to measure how much static column error recognition tolerates.

    :param n_bits: converter resolution
    :param offset_lsb: offset magnitude in codes (0: the ideal converter)
    :param n_points: uniform input levels over the full-scale range
    :param n_instances: converter instances (one per physical column ADC in turn)
    :param seed: order of the offset signs over the instances
    """

    def __init__(self, n_bits: int = 8, offset_lsb: int = 0, n_points: int = 4096, n_instances: int = 16,
                 seed: int = 0):
        if not 1 <= n_bits <= 16:
            raise ValueError(f"ReferenceAdcTableJob: n_bits={n_bits} must be in 1..16")
        self.n_bits = n_bits
        self.offset_lsb = offset_lsb
        self.n_points = n_points
        self.n_instances = n_instances
        self.seed = seed
        self.out_table = self.output_path("transfer_table.npz")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.nnadc.export.transfer_table import reference_transfer_table, write_transfer_table

        levels, codes = reference_transfer_table(self.n_bits, self.n_points, self.n_instances, self.offset_lsb,
                                                 self.seed)
        write_transfer_table(self.out_table.get_path(), levels, codes, self.n_bits, "linear", 0.0, self.seed)
