"""Per-utterance CTC log-probabilities of a (float, QAT, PTQ or crossbar-converted) model on a corpus.

The model only needs ``model.cfg`` (a :class:`ConformerCtcConfigV1`: vocabulary, frame shift,
sample rate) and ``model(audio [B, N], audio_lens [B]) -> (log_probs [B, T', V], lens [B])``, so a
model whose crossbar layers were swapped for simulated ones goes through the same function.
An utterance yields the same rows alone or inside a padded batch (the model masks padding).
"""
import logging
import time
from typing import Iterable, Optional

import numpy as np
import torch

from memristor_asr.data.manifest import Utterance
from memristor_asr.decoding.logprobs import CtcLogProbs
from memristor_asr.training.dataset import AudioError, load_audio

__all__ = ["compute_logprobs"]

_log = logging.getLogger(__name__)


@torch.no_grad()
def compute_logprobs(model: torch.nn.Module, utterances: Iterable[Utterance], max_batch_seconds: float = 60.0,
                     device: Optional[str] = None, meta: Optional[dict] = None,
                     log_interval_s: float = 30.0) -> CtcLogProbs:
    """Run ``model`` in eval mode over ``utterances`` (batched by duration, longest first).

    :param model: a ConformerCtcModelV1 or compatible module (see module docstring)
    :param utterances: manifest entries (transcripts are not used)
    :param max_batch_seconds: padded audio seconds per forward pass
    :param device: where to run (default: where the model's parameters are)
    :param meta: provenance stored in the result's ``meta``
    :return: log-probs [T', V] per utterance id, with the model's vocab and frame shift
    """
    cfg = model.cfg
    utterances = list(utterances)
    utts = sorted(utterances, key=lambda u: -u.duration)
    if not utts:
        raise ValueError("compute_logprobs: no utterances given")
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out, i, done_sec, t0, last = {}, 0, 0.0, time.monotonic(), time.monotonic()
    total_sec = sum(u.duration for u in utts)
    while i < len(utts):
        n = max(1, int(max_batch_seconds // max(utts[i].duration, 1e-3)))
        batch = utts[i:i + n]
        i += len(batch)
        audios = []
        for u in batch:
            a = load_audio(u, cfg.features.sample_rate)
            if not np.isfinite(a).all():
                raise AudioError(f"utterance {u.id!r}: NaN/inf samples in {u.audio}")
            audios.append(a)
        lens = torch.tensor([len(a) for a in audios], dtype=torch.long)
        x = torch.zeros(len(audios), int(lens.max()))
        for j, a in enumerate(audios):
            x[j, :len(a)] = torch.from_numpy(a)
        lp, lp_lens = model(x.to(device), lens.to(device))  # [B, T', V], [B]
        for j, u in enumerate(batch):
            out[u.id] = lp[j, :int(lp_lens[j])].float().cpu()  # [T', V]
        done_sec += sum(u.duration for u in batch)
        now = time.monotonic()
        if now - last >= log_interval_s:
            last = now
            rate = done_sec / (now - t0)
            _log.info("log-probs: %d/%d utterances, %.1f audio-s/s, ETA %.0f s", len(out), len(utts), rate,
                      (total_sec - done_sec) / max(rate, 1e-9))
    model.train(was_training)
    result = CtcLogProbs(list(cfg.vocab), cfg.frame_shift, {u.id: out[u.id] for u in utterances}, dict(meta or {}))
    result.validate("compute_logprobs")
    return result
