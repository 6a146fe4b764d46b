"""Corpus statistics reported by the corpus, lexicon and LM jobs."""
import collections
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from memristor_asr.data.manifest import Utterance

__all__ = ["corpus_statistics", "oov_statistics", "split_statistics", "split_statistics_table"]


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


def split_statistics(splits: Mapping[str, Sequence[Utterance]], vocabulary=None, lm=None) -> Dict[str, dict]:
    """:func:`corpus_statistics` of each named split (in name order), with the OOV rate of its
    transcripts against ``vocabulary`` (e.g. the lexicon's words; key ``lexicon_oov``) and their
    perplexity under ``lm`` (anything with ``perplexity(texts) -> dict``, e.g. ``ArpaLm``; key ``lm``)
    when given."""
    out = {}
    for name in sorted(splits):
        utts = splits[name]
        st = corpus_statistics(utts)
        if vocabulary is not None:
            st["lexicon_oov"] = oov_statistics((u.orth for u in utts), vocabulary)
        if lm is not None:
            st["lm"] = lm.perplexity(u.orth for u in utts)
        out[name] = st
    return out


def split_statistics_table(stats: Mapping[str, dict]) -> str:
    """Right-aligned text table of :func:`split_statistics` (one line per split; "-" where no
    lexicon or LM was given)."""
    cols = ["split", "utts", "hours", "speakers", "words", "vocab", "OOV %", "LM ppl"]
    rows = []
    for name, st in stats.items():
        rows.append([name, st["utterances"], f"{st['hours']:.3f}", st["speakers"], st["running_words"],
                     st["vocabulary"],
                     f"{100 * st['lexicon_oov']['oov_rate']:.2f}" if "lexicon_oov" in st else "-",
                     f"{st['lm']['perplexity']:.1f}" if "lm" in st else "-"])
    widths = [max(len(str(r[i])) for r in rows + [cols]) for i in range(len(cols))]
    return "".join("  ".join(str(v).rjust(w) for v, w in zip(r, widths)) + "\n" for r in [cols] + rows)
