"""Checks that a lexicon, a token file and a model's output inventory fit together before searching.

The C++ decoder fails obscurely (or silently drops words) on units it does not know, so every
mismatch is reported here with the file and line that causes it.
"""
import os
from typing import Dict, List, Optional, Sequence

from memristor_asr.data.lexicon import LexiconError, read_lexicon, read_tokens
from memristor_asr.decoding.logprobs import BLANK

__all__ = ["load_search_lexicon", "check_tokens_match", "UNK_WORD"]

UNK_WORD = "<unk>"


def load_search_lexicon(path: str, units: Sequence[str]) -> Dict[str, List[List[str]]]:
    """Read ``word<TAB>units`` lines and check every unit is in ``units``.

    :param units: the model's output units (log-prob vocab, blank included or not)
    :return: word -> pronunciations, in file order
    :raises LexiconError: naming ``path:line`` for an unknown unit, a word with whitespace,
        the reserved word ``<unk>``, or a pronunciation using the blank
    """
    path = os.fspath(path)
    lexicon = read_lexicon(path)  # format errors, with line numbers
    known = set(units) - {BLANK}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            word, pron = line.rstrip("\n").split("\t", 1)
            if any(c.isspace() for c in word):
                raise LexiconError(f"{path}:{lineno}: word {word!r} contains whitespace")
            if word == UNK_WORD:
                raise LexiconError(f"{path}:{lineno}: {UNK_WORD!r} is reserved for unknown words; "
                                   "remove it from the lexicon")
            unknown = [u for u in pron.split() if u not in known]
            if unknown:
                raise LexiconError(f"{path}:{lineno}: word {word!r} uses unit(s) {unknown} that are not in the "
                                   f"model's token inventory ({len(known)} units, e.g. {sorted(known)[:8]})")
    return lexicon


def check_tokens_match(tokens_path: Optional[str], vocab: Sequence[str], vocab_source: str = "log-probs") -> None:
    """The token file (no blank) must list exactly the model's vocab after the blank, in order.

    :raises LexiconError: naming the first differing position
    """
    if tokens_path is None:
        return
    tokens = read_tokens(tokens_path)
    expected = list(vocab[1:])
    if tokens == expected:
        return
    for i, (a, b) in enumerate(zip(tokens, expected)):
        if a != b:
            raise LexiconError(f"{os.fspath(tokens_path)}:{i + 1}: token {a!r} but {vocab_source} vocab has {b!r} "
                               f"at index {i + 1} (index 0 is the blank)")
    raise LexiconError(f"{os.fspath(tokens_path)}: {len(tokens)} tokens but {vocab_source} vocab has "
                       f"{len(expected)} units besides the blank")
