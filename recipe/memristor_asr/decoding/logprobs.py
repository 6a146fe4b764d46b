"""Per-utterance CTC log-probabilities: what acoustic-model jobs write and recognition reads.

One ``torch.save`` file holding a dict:
``{"vocab": [str, ...]`` (index 0 is the CTC blank ``"<blank>"``), ``"frame_shift": float``
(seconds per output frame, for CTM times), ``"utterances": {id: FloatTensor [T, V]}`` (natural
log-probabilities, rows sum to 1 in probability space), ``"meta": dict`` (free-form provenance:
model, device seed, converter config)}.
"""
import math
import os
from dataclasses import dataclass, field
from typing import Dict, List

import torch

from memristor_asr.util.atomic import atomic_save_torch

__all__ = ["CtcLogProbs", "save_logprobs", "load_logprobs", "BLANK"]

BLANK = "<blank>"


@dataclass
class CtcLogProbs:
    vocab: List[str]
    frame_shift: float
    utterances: Dict[str, torch.Tensor]
    meta: dict = field(default_factory=dict)

    def validate(self, where: str = "log-probs") -> None:
        if not self.vocab or self.vocab[0] != BLANK:
            raise ValueError(f"{where}: vocab must start with {BLANK!r}")
        if not self.frame_shift > 0 or not math.isfinite(self.frame_shift):
            raise ValueError(f"{where}: frame_shift must be positive, got {self.frame_shift}")
        for uid, lp in self.utterances.items():
            if lp.dim() != 2 or lp.shape[1] != len(self.vocab):
                raise ValueError(f"{where}: utterance {uid!r} has shape {tuple(lp.shape)}, "
                                 f"expected [T, {len(self.vocab)}]")
            if not torch.isfinite(lp).all():
                raise ValueError(f"{where}: utterance {uid!r} has non-finite log-probabilities")


def save_logprobs(path: str, lp: CtcLogProbs) -> None:
    lp.validate(os.fspath(path))
    atomic_save_torch(
        {"vocab": lp.vocab, "frame_shift": lp.frame_shift,
         "utterances": {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in lp.utterances.items()},
         "meta": lp.meta},
        path,
    )


def load_logprobs(path: str) -> CtcLogProbs:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: log-prob file does not exist")
    d = torch.load(path, map_location="cpu", weights_only=True)
    lp = CtcLogProbs(d["vocab"], float(d["frame_shift"]), d["utterances"], d.get("meta", {}))
    lp.validate(path)
    return lp
