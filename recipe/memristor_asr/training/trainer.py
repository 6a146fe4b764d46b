"""CTC training loop: RAdam, one-cycle LR, SpecAugment, per-epoch atomic checkpoints, resumable.

Every process may die at any moment: after each epoch a checkpoint (model, optimizer, global
step, torch RNG state, history) is written atomically to ``checkpoint_dir/epoch.NNN.pt``, and a
new call of :func:`train` with the same setup continues after the newest one. On CPU an
interrupted-and-resumed run is bit-identical to an uninterrupted one: batch order is a function
of (seed, epoch), the LR a function of the step, and dropout/SpecAugment draw from the
checkpointed torch generator.
"""
import dataclasses
import glob
import logging
import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch

from memristor_asr.model.checkpoint import model_checkpoint_dict
from memristor_asr.model.config import ConformerCtcConfigV1, config_to_dict
from memristor_asr.model.ctc_model import ConformerCtcModelV1
from memristor_asr.training.dataset import CtcDataset, collate, make_batches
from memristor_asr.training.lr_schedule import OneCycleConfigV1, one_cycle_lr
from memristor_asr.training.specaugment import SpecAugConfigV1, spec_augment
from memristor_asr.util.atomic import atomic_save_torch

__all__ = ["TrainConfigV1", "TrainResult", "train", "ctc_loss_sum", "evaluate_loss", "find_latest_checkpoint",
           "train_config_from_dict", "resolve_device"]

_log = logging.getLogger(__name__)


@dataclass
class TrainConfigV1:
    """
    Attributes:
        num_epochs: passes over the training data
        max_batch_seconds: padded audio seconds per batch (longest utterance x batch size)
        schedule: one-cycle learning-rate schedule (peak 5e-4 in the paper)
        weight_decay: RAdam decoupled weight decay
        grad_clip_norm: gradient norm clipping threshold (None: off)
        max_duration: training utterances longer than this (seconds) are skipped
        specaug: SpecAugment settings
        seed: seeds model initialisation, batch order, dropout and SpecAugment
        num_threads: torch CPU threads (None: torch default)
        device: "cpu", "cuda", or None (cuda if available)
        keep_checkpoints: how many epoch checkpoints to keep (older ones are deleted)
        log_interval_s: seconds between progress lines
        max_bad_batches: abort after this many batches with a non-finite loss in one epoch
    """

    num_epochs: int = 10
    max_batch_seconds: float = 60.0
    schedule: OneCycleConfigV1 = field(default_factory=OneCycleConfigV1)
    weight_decay: float = 1e-2
    grad_clip_norm: Optional[float] = 20.0
    max_duration: float = 20.0
    specaug: SpecAugConfigV1 = field(default_factory=SpecAugConfigV1)
    seed: int = 1
    num_threads: Optional[int] = None
    device: Optional[str] = None
    keep_checkpoints: int = 2
    log_interval_s: float = 30.0
    max_bad_batches: int = 10

    def __post_init__(self):
        if self.num_epochs < 1 or not self.max_batch_seconds > 0 or self.keep_checkpoints < 1:
            raise ValueError(f"TrainConfigV1: invalid values in {self}")


def train_config_from_dict(d: dict) -> TrainConfigV1:
    d = dict(d)
    return TrainConfigV1(schedule=OneCycleConfigV1(**d.pop("schedule", {})),
                         specaug=SpecAugConfigV1(**d.pop("specaug", {})), **d)


@dataclass
class TrainResult:
    model: ConformerCtcModelV1
    history: List[Dict]
    finished: bool  # False if stopped early by ``stop_after_epoch``


def resolve_device(device: Optional[str]) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def ctc_loss_sum(model: ConformerCtcModelV1, audio, audio_lens, targets, target_lens, specaug=None):
    """Summed CTC loss of a batch (``specaug``: a SpecAugConfigV1 applied to the features)."""
    feats, feat_lens = model.features(audio, audio_lens)  # [B, T, F]
    if specaug is not None:
        feats = spec_augment(feats, specaug)
    log_probs, out_lens = model.encode_features(feats, feat_lens)  # [B, T', V]
    return torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), targets, out_lens, target_lens, blank=0,
                                        reduction="sum", zero_infinity=True)


def _batches_to_tensors(data: CtcDataset, batch: List[int], device):
    audios, targets = [], []
    for i in batch:
        a = data.load(data.items[i])
        if a is not None:
            audios.append(a)
            targets.append(data.items[i].target)
    if not audios:
        return None
    return [t.to(device) for t in collate(audios, targets)]


@torch.no_grad()
def evaluate_loss(model: ConformerCtcModelV1, data: CtcDataset, max_batch_seconds: float, device=None) -> float:
    """CTC loss per target label over ``data`` in eval mode (no dropout, no SpecAugment, frozen observers)."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, labels = 0.0, 0
    for batch in make_batches(data.items, max_batch_seconds):
        t = _batches_to_tensors(data, batch, device)
        if t is None:
            continue
        total += float(ctc_loss_sum(model, *t))
        labels += int(t[3].sum())
    model.train(was_training)
    return total / max(labels, 1)


_CKPT_RE = re.compile(r"epoch\.(\d+)\.pt$")


def find_latest_checkpoint(checkpoint_dir: str) -> Optional[str]:
    """Newest ``epoch.NNN.pt`` in ``checkpoint_dir`` (None if there is none)."""
    found = []
    for p in glob.glob(os.path.join(checkpoint_dir, "epoch.*.pt")):
        m = _CKPT_RE.search(p)
        if m:
            found.append((int(m.group(1)), p))
    return max(found)[1] if found else None


def _epoch_batches(data: CtcDataset, cfg: TrainConfigV1, epoch: int) -> List[List[int]]:
    return make_batches(data.items, cfg.max_batch_seconds, seed=cfg.seed * 100003 + epoch)


@dataclass
class _Run:
    """What one call of :func:`train` works on; ``start_epoch``, ``step`` and ``history`` come
    from the checkpoint it resumes, ``step`` and ``history`` advance with the epochs."""

    cfg: TrainConfigV1
    model_cfg: ConformerCtcConfigV1
    model: ConformerCtcModelV1
    optimizer: torch.optim.Optimizer
    device: torch.device
    train_data: CtcDataset
    total_steps: int
    setup: Dict  # what a checkpoint must match to be resumed
    start_epoch: int = 1
    step: int = 0
    history: List[Dict] = field(default_factory=list)
    clock_start: float = 0.0  # time and step when this call began training (for the rate)
    clock_start_step: int = 0

    def eta(self, now: float) -> str:
        """Time left for the remaining steps at this call's rate so far."""
        rate = (self.step - self.clock_start_step) / max(now - self.clock_start, 1e-9)
        return _fmt_eta((self.total_steps - self.step) / max(rate, 1e-9))


@dataclass
class _EpochTotals:
    """Sums over one epoch's optimizer steps."""

    batches: int
    loss_sum: float = 0.0
    labels: int = 0
    audio_seconds: float = 0.0
    bad_batches: int = 0
    wall: float = 0.0

    @property
    def train_loss(self) -> float:
        return self.loss_sum / max(self.labels, 1)


def train(model_cfg: ConformerCtcConfigV1, cfg: TrainConfigV1, train_data: CtcDataset,
          dev_data: Optional[CtcDataset], checkpoint_dir: str, stop_after_epoch: Optional[int] = None,
          on_epoch_end=None, init_weights: Optional[Dict[str, torch.Tensor]] = None) -> TrainResult:
    """Train (or continue training) a model; returns it after the last epoch.

    :param model_cfg: model configuration (with feature normalisation filled in)
    :param cfg: training configuration
    :param train_data: training utterances (utterances too short for CTC are dropped here)
    :param dev_data: optional held-out data; its loss is logged after every epoch
    :param checkpoint_dir: epoch checkpoints; if it holds one of the same setup, training resumes after it
    :param stop_after_epoch: return after this epoch even if more are configured (tests: simulated kill)
    :param on_epoch_end: optional callback ``f(history)`` after each epoch's checkpoint (e.g. plot a curve)
    :param init_weights: state dict to start from (QAT fine-tuning of a trained float model); every
        tensor must fit, and only quantizer state (observers) may be missing from it
    """
    run = _prepare_run(model_cfg, cfg, train_data, dev_data, checkpoint_dir, init_weights)
    _resume_latest(run, checkpoint_dir)
    _log.info("training %s on %s: %d utterances (%.2f h), %d epochs, %d steps, %.2f M parameters, quant %s",
              type(run.model).__name__, run.device, len(train_data), train_data.total_duration / 3600,
              cfg.num_epochs, run.total_steps, sum(p.numel() for p in run.model.parameters()) / 1e6, model_cfg.quant)
    run.clock_start, run.clock_start_step = time.monotonic(), run.step
    for epoch in range(run.start_epoch, cfg.num_epochs + 1):
        totals = _train_epoch(run, epoch)
        dev_loss = None
        if dev_data is not None:
            dev_loss = evaluate_loss(run.model, dev_data, cfg.max_batch_seconds, run.device)
        _end_epoch(run, epoch, totals, dev_loss, checkpoint_dir)
        if on_epoch_end is not None:
            on_epoch_end(run.history)
        if stop_after_epoch is not None and epoch >= stop_after_epoch and epoch < cfg.num_epochs:
            return TrainResult(run.model.eval(), run.history, finished=False)
    return TrainResult(run.model.eval(), run.history, finished=True)


def _prepare_run(model_cfg: ConformerCtcConfigV1, cfg: TrainConfigV1, train_data: CtcDataset,
                 dev_data: Optional[CtcDataset], checkpoint_dir: str,
                 init_weights: Optional[Dict[str, torch.Tensor]]) -> _Run:
    """Threads and device, the seeded model (from ``init_weights`` if given), the data filtered to
    utterances CTC can align, the optimizer and the step count of the whole run."""
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    device = resolve_device(cfg.device)
    os.makedirs(checkpoint_dir, exist_ok=True)
    torch.manual_seed(cfg.seed)
    model = ConformerCtcModelV1(model_cfg).to(device)
    if init_weights is not None:
        load_initial_weights(model, init_weights)
    train_data.filter_by_output_length(model.output_lengths)
    if dev_data is not None:
        dev_data.filter_by_output_length(model.output_lengths)
    if not train_data.items:
        raise ValueError(f"{train_data.name}: no utterance left after filtering\n{train_data.skip_report()}")
    optimizer = torch.optim.RAdam(model.parameters(), lr=cfg.schedule.peak_lr, weight_decay=cfg.weight_decay,
                                  decoupled_weight_decay=True)
    total_steps = sum(len(_epoch_batches(train_data, cfg, e)) for e in range(1, cfg.num_epochs + 1))
    setup = {"model_config": config_to_dict(model_cfg), "train_config": dataclasses.asdict(cfg),
             "train_items": [it.id for it in train_data.items]}
    return _Run(cfg, model_cfg, model, optimizer, device, train_data, total_steps, setup)


def _resume_latest(run: _Run, checkpoint_dir: str) -> None:
    """Continue after the newest checkpoint in ``checkpoint_dir`` (model, optimizer, RNG state,
    step, history); one of another setup is an error, not silently overwritten."""
    latest = find_latest_checkpoint(checkpoint_dir)
    if latest is None:
        return
    ck = torch.load(latest, map_location="cpu", weights_only=True)
    for key in ("model_config", "train_config", "train_items"):
        if ck["setup"][key] != run.setup[key]:
            raise ValueError(f"{latest}: checkpoint belongs to a different setup ({key} differs); "
                             f"use an empty checkpoint directory")
    run.model.load_state_dict(ck["model"])
    run.optimizer.load_state_dict(ck["optimizer"])
    torch.set_rng_state(ck["torch_rng"])
    if run.device.type == "cuda" and ck.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(ck["cuda_rng"])
    run.start_epoch, run.step, run.history = ck["epoch"] + 1, ck["step"], list(ck["history"])
    _log.info("resuming from %s (epoch %d done, step %d of %d)", latest, ck["epoch"], run.step, run.total_steps)


def _train_epoch(run: _Run, epoch: int) -> _EpochTotals:
    """One pass over the epoch's batches: the LR follows the global step, a batch with a non-finite
    loss is skipped (at most ``max_bad_batches``); progress lines every ``log_interval_s``."""
    cfg, model, optimizer, data = run.cfg, run.model, run.optimizer, run.train_data
    model.train()
    t0 = last_log = time.monotonic()
    batches = _epoch_batches(data, cfg, epoch)
    totals = _EpochTotals(batches=len(batches))
    for bi, batch in enumerate(batches):
        lr = one_cycle_lr(run.step, run.total_steps, cfg.schedule)
        for g in optimizer.param_groups:
            g["lr"] = lr
        run.step += 1
        t = _batches_to_tensors(data, batch, run.device)
        if t is None:
            continue
        loss = ctc_loss_sum(model, *t, specaug=cfg.specaug)
        labels = int(t[3].sum())
        if not torch.isfinite(loss):
            totals.bad_batches += 1
            _log.warning("epoch %d batch %d: non-finite loss, batch skipped (%d so far)", epoch, bi,
                         totals.bad_batches)
            if totals.bad_batches > cfg.max_bad_batches:
                raise FloatingPointError(f"epoch {epoch}: more than {cfg.max_bad_batches} batches with a "
                                         f"non-finite loss; lower the learning rate or check the data")
            optimizer.zero_grad(set_to_none=True)
            continue
        optimizer.zero_grad(set_to_none=True)
        (loss / labels).backward()
        if cfg.grad_clip_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip_norm)
        optimizer.step()
        totals.loss_sum += float(loss.detach())
        totals.labels += labels
        totals.audio_seconds += float(t[1].sum()) / run.model_cfg.features.sample_rate
        now = time.monotonic()
        if now - last_log >= cfg.log_interval_s:
            last_log = now
            speed = totals.audio_seconds / (now - t0)
            _log.info("epoch %d/%d step %d/%d (batch %d/%d) loss %.4f lr %.2e %.1f audio-s/s %.0f frames/s ETA %s",
                      epoch, cfg.num_epochs, run.step, run.total_steps, bi + 1, len(batches), totals.train_loss,
                      lr, speed, speed / run.model_cfg.features.hop_size, run.eta(now))
    totals.wall = time.monotonic() - t0
    return totals


def _end_epoch(run: _Run, epoch: int, totals: _EpochTotals, dev_loss: Optional[float], checkpoint_dir: str) -> None:
    """Append the epoch's record to the history, write the checkpoint, log the summary line."""
    cfg = run.cfg
    record = {"epoch": epoch, "train_loss": totals.train_loss, "dev_loss": dev_loss,
              "lr": one_cycle_lr(run.step - 1, run.total_steps, cfg.schedule), "steps": totals.batches,
              "audio_seconds": totals.audio_seconds, "train_seconds": totals.wall,
              "audio_s_per_s": totals.audio_seconds / max(totals.wall, 1e-9), "bad_batches": totals.bad_batches}
    run.history.append(record)
    _save_checkpoint(checkpoint_dir, run.model, run.optimizer, epoch, run.step, run.history, run.setup, run.device,
                     cfg.keep_checkpoints)
    _log.info("epoch %d/%d done: train loss %.4f, dev loss %s, lr %.2e, %.1f audio-s/s, %.0f s, ETA %s",
              epoch, cfg.num_epochs, record["train_loss"],
              "n/a" if dev_loss is None else f"{dev_loss:.4f}", record["lr"], record["audio_s_per_s"], totals.wall,
              run.eta(time.monotonic()))


def load_initial_weights(model: torch.nn.Module, state: Dict[str, torch.Tensor]) -> None:
    """Copy a trained model's weights into ``model`` (e.g. float -> QAT); quantizer observers start fresh."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad_missing = [k for k in missing if "_quantizer." not in k]
    if unexpected or bad_missing:
        raise ValueError("initial weights do not fit the model: "
                         f"missing {bad_missing[:5]}, unexpected {unexpected[:5]}")


def _save_checkpoint(checkpoint_dir, model, optimizer, epoch, step, history, setup, device, keep):
    d = model_checkpoint_dict(model)
    d.update({"optimizer": optimizer.state_dict(), "epoch": epoch, "step": step, "history": history,
              "setup": setup, "torch_rng": torch.get_rng_state(),
              "cuda_rng": torch.cuda.get_rng_state() if device.type == "cuda" else None})
    atomic_save_torch(d, os.path.join(checkpoint_dir, f"epoch.{epoch:03d}.pt"))
    for p in glob.glob(os.path.join(checkpoint_dir, "epoch.*.pt")):
        m = _CKPT_RE.search(p)
        if m and int(m.group(1)) <= epoch - keep:
            os.unlink(p)


def _fmt_eta(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
