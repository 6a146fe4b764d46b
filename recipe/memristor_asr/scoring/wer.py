"""In-process word error counting (Levenshtein alignment), for quick scoring such as LM-scale tuning.

The reported numbers come from sclite (:mod:`memristor_asr.scoring.sclite`); this module gives the
same counts for plain word sequences without writing files, so a tuning grid can score dozens of
decodings cheaply. Words are compared case-insensitively, as sclite does by default.
"""
from dataclasses import dataclass
from typing import List, Mapping, Sequence, Tuple

__all__ = ["ErrorCounts", "align_words", "count_errors", "corpus_errors"]


@dataclass
class ErrorCounts:
    """Attributes:
        ref_words: number of reference words
        correct, substitutions, deletions, insertions: alignment counts
        sentences, sentence_errors: utterances scored / with at least one error
    """

    ref_words: int = 0
    correct: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    sentences: int = 0
    sentence_errors: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        """Word error rate in percent (100 * errors / reference words; errors alone if no reference words)."""
        return 100.0 * self.errors / self.ref_words if self.ref_words else 100.0 * self.errors

    def __add__(self, other: "ErrorCounts") -> "ErrorCounts":
        return ErrorCounts(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))


def align_words(ref: Sequence[str], hyp: Sequence[str]) -> List[Tuple[str, str, str]]:
    """Minimum-edit-distance alignment as ``(op, ref_word, hyp_word)`` with op in C, S, D, I.

    Unit costs; among equally short alignments substitutions are preferred over a
    deletion-insertion pair (the usual WER convention). Comparison ignores case.
    """
    r = [w.lower() for w in ref]
    h = [w.lower() for w in hyp]
    n, m = len(r), len(h)
    # cost[i][j]: edit distance between r[:i] and h[:j]
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = i
    for j in range(1, m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        ri, row, prev = r[i - 1], cost[i], cost[i - 1]
        for j in range(1, m + 1):
            diag = prev[j - 1] + (0 if ri == h[j - 1] else 1)
            row[j] = min(diag, prev[j] + 1, row[j - 1] + 1)
    ops = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (0 if r[i - 1] == h[j - 1] else 1):
            ops.append(("C" if r[i - 1] == h[j - 1] else "S", ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            ops.append(("D", ref[i - 1], ""))
            i -= 1
        else:
            ops.append(("I", "", hyp[j - 1]))
            j -= 1
    ops.reverse()
    return ops


def count_errors(ref: Sequence[str], hyp: Sequence[str]) -> ErrorCounts:
    """Error counts of one utterance."""
    c = ErrorCounts(ref_words=len(ref), sentences=1)
    for op, _, _ in align_words(ref, hyp):
        if op == "C":
            c.correct += 1
        elif op == "S":
            c.substitutions += 1
        elif op == "D":
            c.deletions += 1
        else:
            c.insertions += 1
    c.sentence_errors = int(c.errors > 0)
    return c


def corpus_errors(refs: Mapping[str, Sequence[str]], hyps: Mapping[str, Sequence[str]]) -> ErrorCounts:
    """Summed counts over utterances. ``hyps`` must cover exactly the ids of ``refs``.

    :param refs: utterance id -> reference words
    :param hyps: utterance id -> hypothesis words (an empty list scores as all deletions)
    """
    missing = sorted(set(refs) - set(hyps))
    extra = sorted(set(hyps) - set(refs))
    if missing or extra:
        raise ValueError(
            f"hypotheses do not match the reference utterances: {len(missing)} missing (e.g. {missing[:3]}), "
            f"{len(extra)} not in the reference (e.g. {extra[:3]})")
    total = ErrorCounts()
    for uid, ref in refs.items():
        total = total + count_errors(list(ref), list(hyps[uid]))
    return total
