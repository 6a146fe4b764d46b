"""Lexicon and token-inventory files shared by training and decoding.

``lexicon.txt``: one pronunciation per line, ``word<TAB>unit unit ...`` (a word may have several
lines; the first is its canonical pronunciation for training targets). Units are ARPAbet
phonemes without stress, or SentencePiece pieces. ``tokens.txt``: one unit per line; the CTC
blank is not listed (models put it at index 0).
"""
import os
from typing import Dict, List

from memristor_asr.util.atomic import atomic_write

__all__ = ["LexiconError", "read_lexicon", "write_lexicon", "read_tokens", "write_tokens"]


class LexiconError(ValueError):
    """A malformed lexicon or token file; the message names file and line."""


def read_lexicon(path: str) -> Dict[str, List[List[str]]]:
    """word -> list of pronunciations (each a list of units), in file order."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise LexiconError(f"{path}: lexicon file does not exist")
    lex: Dict[str, List[List[str]]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if "\t" not in line:
                raise LexiconError(f"{path}:{lineno}: expected 'word<TAB>units', got {line!r}")
            word, units = line.split("\t", 1)
            units = units.split()
            if not word or not units:
                raise LexiconError(f"{path}:{lineno}: empty word or pronunciation")
            lex.setdefault(word, []).append(units)
    if not lex:
        raise LexiconError(f"{path}: lexicon is empty")
    return lex


def write_lexicon(path: str, lexicon: Dict[str, List[List[str]]]) -> None:
    with atomic_write(path) as f:
        for word, prons in lexicon.items():
            for pron in prons:
                f.write(f"{word}\t{' '.join(pron)}\n")


def read_tokens(path: str) -> List[str]:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise LexiconError(f"{path}: token file does not exist")
    with open(path, encoding="utf-8") as f:
        tokens = [t.strip() for t in f if t.strip()]
    if len(set(tokens)) != len(tokens):
        raise LexiconError(f"{path}: duplicate tokens")
    if not tokens:
        raise LexiconError(f"{path}: token file is empty")
    return tokens


def write_tokens(path: str, tokens: List[str]) -> None:
    with atomic_write(path) as f:
        for t in tokens:
            f.write(t + "\n")
