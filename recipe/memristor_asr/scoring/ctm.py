"""CTM hypothesis files (NIST time-marked conversation), what recognition writes for sclite.

One word per line: ``<recording> <channel> <start> <duration> <word> [<confidence>]``, times in
seconds. Here the recording is the utterance id and the channel is 1. An utterance recognised as
empty simply has no lines.
"""
import os
from dataclasses import dataclass
from typing import Iterable, List, Optional

from memristor_asr.util.atomic import atomic_write

__all__ = ["CtmWord", "CtmError", "read_ctm", "write_ctm"]


class CtmError(ValueError):
    """A malformed CTM file; the message names file and line."""


@dataclass
class CtmWord:
    recording: str
    channel: str
    start: float
    duration: float
    word: str
    confidence: Optional[float] = None


def write_ctm(path: str, words: Iterable[CtmWord], comment: Optional[str] = None) -> None:
    """Write CTM lines atomically (in the given order; sclite wants recordings grouped, times rising)."""
    with atomic_write(path) as f:
        if comment:
            f.write(f";; {comment}\n")
        for w in words:
            if not w.word or any(c.isspace() for c in w.word):
                raise CtmError(f"{path}: recording {w.recording!r}: word {w.word!r} must be one non-empty token")
            line = f"{w.recording} {w.channel} {w.start:.3f} {w.duration:.3f} {w.word}"
            if w.confidence is not None:
                line += f" {w.confidence:.4f}"
            f.write(line + "\n")


def read_ctm(path: str) -> List[CtmWord]:
    """Read a CTM file; ``;;`` lines are comments. Raises :class:`CtmError` naming ``path:line``."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CtmError(f"{path}: CTM file does not exist")
    words = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip() or line.lstrip().startswith(";;"):
                continue
            fields = line.split()
            if len(fields) not in (5, 6):
                raise CtmError(f"{path}:{lineno}: expected '<recording> <channel> <start> <duration> <word> "
                               f"[<conf>]', got {line.rstrip()!r}")
            try:
                start, duration = float(fields[2]), float(fields[3])
                confidence = float(fields[5]) if len(fields) == 6 else None
            except ValueError:
                raise CtmError(f"{path}:{lineno}: start/duration/confidence must be numbers, "
                               f"got {line.rstrip()!r}") from None
            if start < 0 or duration < 0:
                raise CtmError(f"{path}:{lineno}: negative start or duration in {line.rstrip()!r}")
            words.append(CtmWord(fields[0], fields[1], start, duration, fields[4], confidence))
    return words
