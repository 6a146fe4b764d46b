"""Jobs: train the (QAT) Conformer-CTC model, quantize a float model after training, compute CTC log-probs.

Thin wrappers over :mod:`memristor_asr.training`; all logic and its tests live there.

- :class:`TrainQatConformerJob`: outputs ``out_checkpoint`` (final model, loadable with
  ``memristor_asr.model.load_model``), ``out_checkpoints`` (per-epoch training checkpoints; the
  task resumes from the newest), ``out_learning_curve`` (PNG), ``out_train_log`` (text log),
  ``out_stats`` (JSON: per-epoch history, skipped utterances, feature statistics source),
  ``out_dev_loss`` (variable: final dev CTC loss per label, or None).
- :class:`QuantizePtqJob`: ``out_checkpoint`` (the PTQ model), ``out_stats`` (JSON).
- :class:`ComputeCtcLogProbsJob`: ``out_logprobs`` (``CtcLogProbs`` file,
  ``memristor_asr.decoding.logprobs``).
"""
__all__ = ["TrainQatConformerJob", "QuantizePtqJob", "ComputeCtcLogProbsJob"]

import os
import shutil
from typing import Any, Dict, Optional

from sisyphus import Task, tk

from memristor_asr.jobs.common import ResourceArgsJob, prepare_task, write_json
from memristor_asr.quant.config import QuantConfigV1


def _copy_atomic(src: str, dst: str) -> None:
    from memristor_asr.util.atomic import atomic_write

    with open(src, "rb") as f, atomic_write(dst, "wb") as g:
        shutil.copyfileobj(f, g)


class TrainQatConformerJob(ResourceArgsJob):
    """Train a Conformer-CTC phoneme model, float or with quantization-aware training.

    :param train_manifest: training corpus manifest
    :param lexicon: lexicon (first pronunciation per word gives the target)
    :param tokens: token inventory; the model vocabulary is ``["<blank>"] + tokens``
    :param dev_manifest: optional dev corpus; its CTC loss is logged per epoch
    :param profile: "demo" or "paper" (see ``memristor_asr.model.config``)
    :param quant: which crossbar layers get how many bits (``QuantConfigV1()`` = float model)
    :param train_config: ``memristor_asr.training.TrainConfigV1``
    :param model_overrides: keyword overrides of the profile (e.g. ``{"pos_encoding": "abs"}``)
    :param feature_stats: JSON with "mean"/"std" per mel band (data features job); None: estimate
        from up to ``stats_utterances`` training utterances
    :param stats_utterances: sample size for estimating feature statistics
    :param init_checkpoint: a trained model to start from (QAT fine-tuning of the float model);
        None trains from scratch
    :param cpu_rqmt, mem_rqmt, time_rqmt, gpu_rqmt: engine requirements (not hashed); torch uses
        ``cpu_rqmt`` threads. Default 1: on a shared 2-core machine, 2 threads ran the demo model
        about 15x slower than 1 (4 vs 60 audio-s/s, measured) because of oversubscription.
    """

    __sis_hash_exclude__ = {"init_checkpoint": None}

    def __init__(self, train_manifest: tk.Path, lexicon: tk.Path, tokens: tk.Path,
                 dev_manifest: Optional[tk.Path] = None, profile: str = "demo",
                 quant: QuantConfigV1 = QuantConfigV1(), train_config: Any = None,
                 model_overrides: Optional[Dict[str, Any]] = None, feature_stats: Optional[tk.Path] = None,
                 stats_utterances: int = 500, init_checkpoint: Optional[tk.Path] = None, cpu_rqmt: int = 1,
                 mem_rqmt: float = 8, time_rqmt: float = 4, gpu_rqmt: int = 0):
        if profile not in ("demo", "paper"):
            raise ValueError(f"TrainQatConformerJob: profile must be 'demo' or 'paper', got {profile!r}")
        self.train_manifest = train_manifest
        self.lexicon = lexicon
        self.tokens = tokens
        self.dev_manifest = dev_manifest
        self.profile = profile
        self.quant = quant
        self.train_config = train_config
        self.model_overrides = model_overrides or {}
        self.feature_stats = feature_stats
        self.stats_utterances = stats_utterances
        self.init_checkpoint = init_checkpoint
        self.rqmt = {"cpu": cpu_rqmt, "mem": mem_rqmt, "time": time_rqmt, "gpu": gpu_rqmt}

        self.out_checkpoint = self.output_path("model.pt")
        self.out_checkpoints = self.output_path("checkpoints", directory=True)
        self.out_learning_curve = self.output_path("learning_curve.png")
        self.out_train_log = self.output_path("train.log")
        self.out_stats = self.output_path("train_stats.json")
        self.out_dev_loss = self.output_var("dev_loss")


    def tasks(self):
        yield Task("run", resume="run", rqmt=self.rqmt)

    def run(self):
        import logging

        import torch

        from memristor_asr.model import save_model
        from memristor_asr.training import TrainConfigV1, build_ctc_dataset, plot_learning_curve, train_conformer_ctc

        cfg = self.train_config if self.train_config is not None else TrainConfigV1()
        work_log = os.path.join(self.work_path(), "train.log")
        # the device is the training config's (``TrainConfigV1.device``), so is the thread count if it sets one
        prepare_task(self.rqmt["cpu"] if cfg.num_threads is None else None, log_file=work_log)
        log = logging.getLogger("memristor_asr")
        train_data = build_ctc_dataset(self.train_manifest.get_path(), self.lexicon.get_path(),
                                       self.tokens.get_path(), cfg.max_duration, name="train")
        dev_data = None
        if self.dev_manifest is not None:
            dev_data = build_ctc_dataset(self.dev_manifest.get_path(), self.lexicon.get_path(),
                                         self.tokens.get_path(), name="dev")
        init_weights = None
        if self.init_checkpoint is not None:
            init_weights = torch.load(self.init_checkpoint.get_path(), map_location="cpu", weights_only=True)["model"]
            log.info("initialising from %s", self.init_checkpoint.get_path())
        curve, title = self.out_learning_curve.get_path(), f"{self.profile} {self.quant}"
        run = train_conformer_ctc(
            train_data, dev_data, self.out_checkpoints.get_path(), profile=self.profile, quant=self.quant,
            train_config=cfg, model_overrides=self.model_overrides,
            feature_stats=self.feature_stats.get_path() if self.feature_stats is not None else None,
            stats_utterances=self.stats_utterances, init_weights=init_weights,
            on_epoch_end=lambda h: plot_learning_curve(h, curve, title))
        history = run.result.history
        save_model(run.result.model, self.out_checkpoint.get_path(), history=history)
        plot_learning_curve(history, curve, title)
        write_json(self.out_stats.get_path(), run.stats)
        self.out_dev_loss.set(history[-1]["dev_loss"] if history else None)
        log.info("training finished")
        _copy_atomic(work_log, self.out_train_log.get_path())


class QuantizePtqJob(ResourceArgsJob):
    """Post-training quantization of a trained model, calibrated on training data.

    :param checkpoint: trained (float or QAT) model
    :param train_manifest: calibration utterances (with ``lexicon``/``tokens`` as for training)
    :param lexicon: lexicon file
    :param tokens: token inventory
    :param quant: target quantization (``weight_bits`` required)
    :param num_batches: calibration batches (eval mode, no weight updates)
    :param max_batch_seconds: padded audio seconds per calibration batch
    :param seed: picks the calibration batches
    """

    def __init__(self, checkpoint: tk.Path, train_manifest: tk.Path, lexicon: tk.Path, tokens: tk.Path,
                 quant: QuantConfigV1, num_batches: int = 10, max_batch_seconds: float = 60.0, seed: int = 0,
                 cpu_rqmt: int = 1, mem_rqmt: float = 4, time_rqmt: float = 1, gpu_rqmt: int = 0):
        if quant.is_float:
            raise ValueError("QuantizePtqJob: quant leaves every layer float; set weight_bits")
        self.checkpoint = checkpoint
        self.train_manifest = train_manifest
        self.lexicon = lexicon
        self.tokens = tokens
        self.quant = quant
        self.num_batches = num_batches
        self.max_batch_seconds = max_batch_seconds
        self.seed = seed
        self.rqmt = {"cpu": cpu_rqmt, "mem": mem_rqmt, "time": time_rqmt, "gpu": gpu_rqmt}
        self.out_checkpoint = self.output_path("model.pt")
        self.out_stats = self.output_path("ptq_stats.json")


    def tasks(self):
        yield Task("run", rqmt=self.rqmt)

    def run(self):
        from memristor_asr.model import load_model, save_model
        from memristor_asr.quant import quant_linears
        from memristor_asr.training import build_ctc_dataset, quantize_ptq

        device = prepare_task(self.rqmt["cpu"], self.rqmt["gpu"], log_file=os.path.join(self.work_path(), "ptq.log"))
        model, cfg = load_model(self.checkpoint.get_path(), device)
        data = build_ctc_dataset(self.train_manifest.get_path(), self.lexicon.get_path(), self.tokens.get_path(),
                                 name="calibration")
        if data.vocab != cfg.vocab:
            raise ValueError(f"{self.tokens.get_path()}: token inventory differs from the model's vocabulary")
        qmodel = quantize_ptq(model, self.quant, data, self.num_batches, self.max_batch_seconds, self.seed, device)
        save_model(qmodel, self.out_checkpoint.get_path(), ptq={"source": self.checkpoint.get_path(),
                                                                 "num_batches": self.num_batches})
        layers = {n: {"bits": m.weight_quantizer.bits, "weight_scale": float(m.weight_quantizer.scale),
                      "input_scale": float(m.input_quantizer.scale)} for n, m in quant_linears(qmodel).items()}
        write_json(self.out_stats.get_path(), {"layers": layers, "skip_report": data.skip_report()})


class ComputeCtcLogProbsJob(ResourceArgsJob):
    """Per-utterance CTC log-probabilities of a model (float, QAT or PTQ; digital) on a corpus.

    :param checkpoint: model checkpoint
    :param manifest: corpus to recognise
    :param max_batch_seconds: padded audio seconds per forward pass
    """

    def __init__(self, checkpoint: tk.Path, manifest: tk.Path, max_batch_seconds: float = 60.0,
                 cpu_rqmt: int = 1, mem_rqmt: float = 4, time_rqmt: float = 1, gpu_rqmt: int = 0):
        self.checkpoint = checkpoint
        self.manifest = manifest
        self.max_batch_seconds = max_batch_seconds
        self.rqmt = {"cpu": cpu_rqmt, "mem": mem_rqmt, "time": time_rqmt, "gpu": gpu_rqmt}
        self.out_logprobs = self.output_path("logprobs.pt")


    def tasks(self):
        yield Task("run", rqmt=self.rqmt)

    def run(self):
        from memristor_asr.data.manifest import read_manifest
        from memristor_asr.decoding.logprobs import save_logprobs
        from memristor_asr.model import load_model
        from memristor_asr.training import compute_logprobs

        device = prepare_task(self.rqmt["cpu"], self.rqmt["gpu"],
                              log_file=os.path.join(self.work_path(), "logprobs.log"))
        model, cfg = load_model(self.checkpoint.get_path(), device)
        utts = read_manifest(self.manifest.get_path(), allow_empty_orth=True)
        lp = compute_logprobs(model, utts, self.max_batch_seconds, device,
                              meta={"model": self.checkpoint.get_path(), "manifest": self.manifest.get_path(),
                                    "quant": str(cfg.quant), "kind": "digital"})
        save_logprobs(self.out_logprobs.get_path(), lp)
