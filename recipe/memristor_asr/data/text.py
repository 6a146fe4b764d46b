"""Text normalisation shared by transcripts, lexicon, LM text and scoring.

One convention everywhere: **lowercase** words of letters with word-internal apostrophes kept
(``lord's``), separated by single spaces. Hyphens and all other punctuation become word breaks.
Digits are not spelled out: a sentence containing a digit is rejected (the King James text spells
its numbers; imported corpora are normalised by their own conventions and checked here).
"""
import re
from typing import List, Optional

__all__ = ["normalize_text", "split_clauses", "has_digit", "words"]

_APOS = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_NON_WORD = re.compile(r"[^a-z']+")
_DIGIT = re.compile(r"[0-9]")
_CLAUSE_END = re.compile(r"[.;:?!]+")


def has_digit(text: str) -> bool:
    return bool(_DIGIT.search(text))


def normalize_text(text: str) -> Optional[str]:
    """Lowercase, strip punctuation, keep word-internal apostrophes.

    :return: the normalised text, or ``None`` when the text contains digits (a caller decides
        whether to drop it: numbers are never silently turned into something else)
    """
    if has_digit(text):
        return None
    text = text.translate(_APOS).lower()
    out = []
    for tok in _NON_WORD.sub(" ", text).split():
        tok = tok.strip("'")  # quotes and leading/trailing apostrophes are punctuation
        if tok:
            out.append(tok)
    return " ".join(out)


def words(text: str) -> List[str]:
    return text.split()


def split_clauses(text: str) -> List[str]:
    """Split raw text at sentence-ending punctuation (``. ; : ? !``) into raw clauses.

    King James verses are long (about 25 words) and made of clauses that read as sentences
    ("And God said, Let there be light: and there was light.").
    """
    return [c.strip() for c in _CLAUSE_END.split(text) if c.strip()]
