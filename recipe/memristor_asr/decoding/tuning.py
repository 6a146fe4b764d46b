"""LM-scale / word-score tuning on a dev set: decode a small grid, score in-process, pick the best.

Grid points are scored with the in-process alignment (:mod:`memristor_asr.scoring.wer`), which
counts the same errors as sclite for plain word sequences; the reported test numbers still come
from sclite. Ties go to the earlier grid point (grid order is the caller's), so results are
deterministic.
"""
from dataclasses import dataclass, field
from itertools import product
from typing import List, Mapping, Optional, Sequence

from memristor_asr.decoding.logprobs import CtcLogProbs
from memristor_asr.decoding.recognize import recognize_grid
from memristor_asr.decoding.search_config import SearchConfigV1
from memristor_asr.scoring.wer import corpus_errors

__all__ = ["GridPoint", "TuningResult", "tune_lm_scale"]


@dataclass
class GridPoint:
    lm_weight: float
    word_score: float
    wer: float
    errors: int
    ref_words: int


@dataclass
class TuningResult:
    """Attributes:
        best: the grid point with the lowest WER (earliest on ties)
        grid: every grid point in evaluation order
    """

    best: GridPoint
    grid: List[GridPoint] = field(default_factory=list)

    def table(self) -> str:
        lines = ["lm_weight\tword_score\twer\terrors\tref_words"]
        lines += [f"{g.lm_weight:g}\t{g.word_score:g}\t{g.wer:.2f}\t{g.errors}\t{g.ref_words}" for g in self.grid]
        return "\n".join(lines) + "\n"


def tune_lm_scale(lp: CtcLogProbs, refs: Mapping[str, Sequence[str]], cfg: SearchConfigV1,
                  lm_weights: Sequence[float], word_scores: Sequence[float], lexicon_path: Optional[str] = None,
                  lm_path: Optional[str] = None, tokens_path: Optional[str] = None, num_workers: int = 1,
                  progress: bool = True) -> TuningResult:
    """Decode ``lp`` for every (lm_weight, word_score) pair and return the WER-best pair.

    :param refs: utterance id -> reference words; must cover exactly the utterances of ``lp``
    """
    missing, extra = sorted(set(refs) - set(lp.utterances)), sorted(set(lp.utterances) - set(refs))
    if missing or extra:
        raise ValueError(f"tune_lm_scale: log-probs and references differ: {len(missing)} reference utterance(s) "
                         f"without log-probs (e.g. {missing[:3]}), {len(extra)} without reference (e.g. {extra[:3]})")
    if not lm_weights or not word_scores:
        raise ValueError("tune_lm_scale: empty lm_weights or word_scores grid")
    settings = list(product([float(x) for x in lm_weights], [float(x) for x in word_scores]))
    hyps = recognize_grid(lp, cfg, settings, lexicon_path, lm_path, tokens_path, num_workers, progress)
    grid = []
    for s in settings:
        counts = corpus_errors(refs, {uid: h.words for uid, h in hyps[s].items()})
        grid.append(GridPoint(s[0], s[1], counts.wer, counts.errors, counts.ref_words))
    best = min(grid, key=lambda g: g.wer)  # min keeps the first of equal values
    return TuningResult(best=best, grid=grid)
