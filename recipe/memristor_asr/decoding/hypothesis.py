"""Recognition results and their two file forms: CTM (for sclite) and plain text (``id<TAB>words``).

Word times are frame indices of the CTC output; CTM times are ``frame * frame_shift`` seconds
with the utterance id as recording and channel 1.
"""
import os
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Tuple

from memristor_asr.scoring.ctm import CtmWord, write_ctm
from memristor_asr.util.atomic import atomic_write

__all__ = ["Hypothesis", "HypothesisFileError", "write_hypothesis_text", "read_hypothesis_text",
           "write_hypothesis_ctm"]


class HypothesisFileError(ValueError):
    """A malformed hypothesis text file; the message names file and line."""


@dataclass
class Hypothesis:
    """Attributes:
        words: recognised words (for greedy/lexicon-free phoneme search: the units themselves)
        frames: per word ``(first frame, end frame exclusive)``
        units: the collapsed CTC unit sequence of the best path (no blanks)
        score: total search score (acoustic + weighted LM + word scores)
        am_score: acoustic part (sum of the path's log-probabilities)
        lm_score: LM part before weighting (log10)
    """

    words: List[str] = field(default_factory=list)
    frames: List[Tuple[int, int]] = field(default_factory=list)
    units: List[str] = field(default_factory=list)
    score: float = 0.0
    am_score: float = 0.0
    lm_score: float = 0.0

    def __post_init__(self):
        if len(self.words) != len(self.frames):
            raise ValueError(f"Hypothesis: {len(self.words)} words but {len(self.frames)} frame spans")


def write_hypothesis_text(path: str, hyps: Mapping[str, Hypothesis]) -> None:
    """``id<TAB>words`` per utterance (every utterance, empty ones included), in mapping order."""
    with atomic_write(path) as f:
        for uid, hyp in hyps.items():
            f.write(f"{uid}\t{' '.join(hyp.words)}\n")


def read_hypothesis_text(path: str) -> Dict[str, List[str]]:
    """utterance id -> words."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise HypothesisFileError(f"{path}: hypothesis text file does not exist")
    out: Dict[str, List[str]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if "\t" not in line:
                raise HypothesisFileError(f"{path}:{lineno}: expected 'id<TAB>words', got {line!r}")
            uid, words = line.split("\t", 1)
            if not uid or uid in out:
                raise HypothesisFileError(f"{path}:{lineno}: empty or duplicate utterance id {uid!r}")
            out[uid] = words.split()
    return out


def write_hypothesis_ctm(path: str, hyps: Mapping[str, Hypothesis], frame_shift: float) -> None:
    """CTM with recording = utterance id, channel 1, times from frames x ``frame_shift`` seconds."""
    if not frame_shift > 0:
        raise ValueError(f"frame_shift must be > 0, got {frame_shift}")
    words = []
    for uid, hyp in hyps.items():
        if any(c.isspace() for c in uid):
            raise ValueError(f"utterance id {uid!r} contains whitespace; CTM recordings must be one token")
        for word, (start, end) in zip(hyp.words, hyp.frames):
            words.append(CtmWord(uid, "1", start * frame_shift, max(end - start, 1) * frame_shift, word))
    write_ctm(path, words)
