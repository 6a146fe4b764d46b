"""Corpus statistics reported by the corpus, lexicon and LM jobs."""
import collections
from typing import Dict, Iterable, List, Optional

from memristor_asr.data.manifest import Utterance

__all__ = ["corpus_statistics", "oov_statistics"]


def corpus_statistics(utterances: List[Utterance]) -> dict:
    """Hours, utterances, speakers, running words and vocabulary size of one split."""
    words = collections.Counter(w for u in utterances for w in u.orth.split())
    seconds = sum(u.duration for u in utterances)
    return {
        "utterances": len(utterances),
        "hours": round(seconds / 3600, 4),
        "seconds": round(seconds, 2),
        "mean_duration_s": round(seconds / len(utterances), 3) if utterances else 0.0,
        "speakers": len({u.speaker for u in utterances}),
        "running_words": sum(words.values()),
        "vocabulary": len(words),
    }


def oov_statistics(texts: Iterable[str], vocabulary, max_listed: Optional[int] = 50) -> Dict:
    """Out-of-vocabulary rate of running words against ``vocabulary`` (a set of words).

    ``<unk>`` in a transcript counts as OOV.
    """
    total, oov = 0, collections.Counter()
    for t in texts:
        for w in t.split():
            total += 1
            if w not in vocabulary:
                oov[w] += 1
    n_oov = sum(oov.values())
    return {
        "running_words": total,
        "oov_tokens": n_oov,
        "oov_rate": (n_oov / total) if total else 0.0,
        "oov_types": len(oov),
        "oov_words": [w for w, _ in oov.most_common(max_listed)],
    }
