"""NNADC study (issue 9): neural-network-inspired ADCs from low-precision RRAM.

`sis manager config/nnadc.py` builds: block design-space sweeps (sub-ADC ENOB and residue MSE vs
RRAM precision vs hidden size), the paper's converters (5- and 8-bit sub-ranging, 8- and 14-bit
pipelined, 10-bit logarithmic), their Monte-Carlo evaluation with transfer-curve / DNL / INL /
ENOB plots, a results table, ENOB against the conductance variation sigma (the device precision
each design needs), and a code-transfer table for the crossbar ADC of the ASR pipeline.

Only wiring lives here; `build_nnadc_graph(settings)` is reusable with a smaller `NnadcSettings`
(tests use a miniature one).
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from sisyphus import tk

from memristor_asr.jobs.nnadc import (
    EvaluateNnadcConverterJob,
    NnadcBlockSweepJob,
    NnadcResultsTableJob,
    NnadcSigmaSweepJob,
    NnadcTransferTableJob,
    TrainNnadcConverterJob,
)
from memristor_asr.nnadc.design.config import PipelinedAdcV1Config, StageV1Config, SubrangingAdcV1Config
from memristor_asr.nnadc.evaluation.block_sweep import BlockSweepV1Config
from memristor_asr.nnadc.evaluation.monte_carlo import EvalV1Config
from memristor_asr.nnadc.evaluation.sigma_sweep import SigmaSweepV1Config
from memristor_asr.nnadc.training.config import BlockTrainV1Config, ConverterTrainV1Config


def paper_designs() -> Dict[str, object]:
    """The converters of the paper, all blocks with at most 12 hidden units."""
    one = StageV1Config(n_bits=1, rram_bits=3)
    return {
        "sr5_rram3": SubrangingAdcV1Config(coarse=StageV1Config(n_bits=3, rram_bits=3), fine_bits=2),
        "sr8_rram4": SubrangingAdcV1Config(coarse=StageV1Config(n_bits=5, rram_bits=4), fine_bits=3),
        "pl8_rram3": PipelinedAdcV1Config(stages=(one,) * 7, final=one),
        "pl14_rram3": PipelinedAdcV1Config(stages=(one,) * 9 + (StageV1Config(n_bits=2, rram_bits=3),),
                                           final=StageV1Config(n_bits=3, rram_bits=3)),
        "log10_rram3": PipelinedAdcV1Config(stages=(one,) * 9, final=one, transfer="log2"),
    }


def beyond_paper_designs() -> Dict[str, object]:
    """Variants reported beside the paper-sized designs (issue 15): the sub-ranging mixed-ADC as the
    paper wires it (analog input + the coarse sub-ADC's S1 = 10 smooth-code bits, S2 = 6 smooth
    output bits for the 3-bit fine digit) and the 8-bit pipeline with 48 hidden units per block
    (beyond the paper's N_H <= 12: more cells per output column, a lower variation floor), and the
    8-bit pipeline with redundant 1.5-bit stages (a comparator error up to 1/8 of the range stays
    recoverable)."""
    big = StageV1Config(n_bits=1, rram_bits=3, hidden=48, residue_hidden=48)
    one = StageV1Config(n_bits=1, rram_bits=3)
    red = StageV1Config(n_bits=1, rram_bits=3, redundant=True)
    return {
        "sr8_rram4_paper_mixed": SubrangingAdcV1Config(coarse=StageV1Config(n_bits=5, rram_bits=4), fine_bits=3,
                                                       fine_smooth_bits=6, coarse_code="smooth"),
        "pl8_rram3_h48": PipelinedAdcV1Config(stages=(big,) * 7, final=big),
        # seven 1.5-bit stages (3 levels, residue 2r - d/2, digital error correction) and a 1-bit sub-ADC
        "pl8_rram3_r15": PipelinedAdcV1Config(stages=(red,) * 7, final=one),
    }


def all_designs() -> Dict[str, object]:
    return {**paper_designs(), **beyond_paper_designs()}


#: MC-median spectral ENOB with the calibrated combiner that issue 15 asks for (paper, Table II, by its
#: Eq. 18: sr8 7.3, pl8 8, log10 9.1, pl14 12.1); designs without a number are reported only
TARGETS = {"sr8_rram4": 6.5, "sr8_rram4_paper_mixed": 6.5, "pl8_rram3": 7.5, "pl8_rram3_h48": 7.5, "pl8_rram3_r15": 7.5,
           "pl14_rram3": 9.0, "log10_rram3": 8.0}


@dataclass
class NnadcSettings:
    """What the graph computes.

    Attributes:
        designs: name -> converter config
        train: training of every converter (paper: 2e4 Adam steps of batch 4096 per block)
        eval: Monte-Carlo evaluation (paper: 100 chips, sigma 0.05)
        sweeps: block design-space explorations
        sigma_sweep: ENOB of every trained design against the conductance variation (None: skipped)
        transfer_table_design: design exported as a code-transfer table for the crossbar ADC
        transfer_table_points: input levels of that table
        targets: required MC-median ENOB per design
        prefix: output name prefix
    """

    designs: Dict[str, object] = field(default_factory=all_designs)
    train: ConverterTrainV1Config = field(default_factory=lambda: ConverterTrainV1Config(
        comparator=BlockTrainV1Config(iterations=20000, pvt_aware=True),
        # staged quantization and half-swing residues: see README "NNADC" (stage-1 residue ~0.4 % rms
        # of the range nominal instead of ~2 %); variation-aware (64 Monte-Carlo chips per step at the
        # evaluation's sigma): ~1.1 % rms over MC chips instead of ~2.1 %
        residue=BlockTrainV1Config(iterations=20000, pvt_aware=False, quant_schedule="staged",
                                   lr_start=1e-2, lr_end=1e-4, train_sigma=0.05),
        residue_swing=0.5,
    ))
    eval: EvalV1Config = field(default_factory=EvalV1Config)
    sweeps: Tuple[BlockSweepV1Config, ...] = (
        BlockSweepV1Config(kind="sub_adc", n_bits=3),
        BlockSweepV1Config(kind="residue", n_bits=1),
    )
    sigma_sweep: Optional[SigmaSweepV1Config] = field(default_factory=SigmaSweepV1Config)
    transfer_table_design: str = "pl8_rram3"
    transfer_table_points: int = 4096
    targets: Dict[str, float] = field(default_factory=lambda: dict(TARGETS))
    prefix: str = "nnadc"


def build_nnadc_graph(s: NnadcSettings) -> Dict[str, object]:
    """Create the jobs and register their outputs; returns the jobs by name."""
    jobs: Dict[str, object] = {}
    for sweep in s.sweeps:
        name = f"dse_{sweep.kind}_{sweep.n_bits}b"
        job = NnadcBlockSweepJob(sweep)
        job.add_alias(f"{s.prefix}/{name}")
        tk.register_output(f"{s.prefix}/{name}.json", job.out_results)
        tk.register_output(f"{s.prefix}/{name}.png", job.out_plot)
        jobs[name] = job
    metrics, models = {}, {}
    for name, cfg in s.designs.items():
        train = TrainNnadcConverterJob(cfg, s.train)
        train.add_alias(f"{s.prefix}/train_{name}")
        ev = EvaluateNnadcConverterJob(train.out_model, s.eval, title=name)
        ev.add_alias(f"{s.prefix}/eval_{name}")
        for out, fname in ((ev.out_metrics, "metrics.json"), (ev.out_transfer_plot, "transfer.png"),
                           (ev.out_dnl_inl_plot, "dnl_inl.png"), (ev.out_enob_hist_plot, "enob_hist.png"),
                           (train.out_train_log, "train_log.json")):
            tk.register_output(f"{s.prefix}/{name}/{fname}", out)
        metrics[name], models[name] = ev.out_metrics, train.out_model
        jobs[f"train_{name}"], jobs[f"eval_{name}"] = train, ev
    table = NnadcResultsTableJob(metrics, {k: v for k, v in s.targets.items() if k in metrics})
    tk.register_output(f"{s.prefix}/results.md", table.out_table)
    tk.register_output(f"{s.prefix}/results.json", table.out_json)
    jobs["table"] = table
    if s.sigma_sweep is not None and models:
        sw = NnadcSigmaSweepJob(models, s.sigma_sweep, {k: v for k, v in s.targets.items() if k in models})
        sw.add_alias(f"{s.prefix}/enob_vs_sigma")
        for out, fname in ((sw.out_results, "json"), (sw.out_table, "md"), (sw.out_plot, "png")):
            tk.register_output(f"{s.prefix}/enob_vs_sigma.{fname}", out)
        jobs["sigma_sweep"] = sw
    if s.transfer_table_design in s.designs:
        tt = crossbar_adc_table_job(s)
        tk.register_output(f"{s.prefix}/transfer_table_{s.transfer_table_design}.npz", tt.out_table)
        jobs["transfer_table"] = tt
    return jobs


def crossbar_adc_table_job(s: NnadcSettings, calibration: Optional[str] = None) -> NnadcTransferTableJob:
    """The code-transfer table of ``s.transfer_table_design``: what the ASR graph's crossbar ADC
    (``TableAdcConfigV1``) reads. Its training job is the one the NNADC graph builds (same
    id), so running either graph trains the converter once. ``calibration``: the per-instance
    foreground calibration of the combiner (None: the ideal shift-and-add combiner)."""
    if s.transfer_table_design not in s.designs:
        raise ValueError(f"NnadcSettings.transfer_table_design {s.transfer_table_design!r} is not one of the designs "
                         f"{sorted(s.designs)}")
    train = TrainNnadcConverterJob(s.designs[s.transfer_table_design], s.train)
    return NnadcTransferTableJob(train.out_model, n_points=s.transfer_table_points, calibration=calibration)


def py():
    build_nnadc_graph(NnadcSettings())

