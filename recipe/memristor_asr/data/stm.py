"""STM reference files for sclite, and an STM reader for corpora shipped as STM (TED-LIUM).

Written STM: one segment per utterance, ``<file> <channel> <speaker> <start> <end> <transcript>``
with file = utterance id, channel ``1``, start ``0.00``, end = duration rounded *up* to 10 ms
(a hypothesis word ending exactly at the last sample stays inside the segment). This matches the
CTM the decoding jobs write: recording name = utterance id, channel 1, times from 0. Lines are
sorted by utterance id (sclite wants STM and CTM in the same file order). A ``;;`` header says
where the file came from.
"""
import dataclasses
import math
import os
from typing import Iterator, List, Optional

from memristor_asr.data.manifest import Utterance
from memristor_asr.util.atomic import atomic_write

__all__ = ["StmSegment", "StmError", "write_stm", "read_stm"]


class StmError(ValueError):
    """A malformed STM line; the message names file and line."""


@dataclasses.dataclass
class StmSegment:
    recording: str
    channel: str
    speaker: str
    start: float
    end: float
    label: Optional[str]  # the optional "<o,f0,male>" field, without brackets
    text: str
    lineno: int = 0


def write_stm(path: str, utterances: List[Utterance], header: str = "") -> None:
    """Write the scoring reference for ``utterances`` (see module docstring)."""
    with atomic_write(path) as f:
        f.write(";; STM reference: file = utterance id, channel 1, segment 0 .. duration\n")
        for line in header.splitlines():
            f.write(f";; {line}\n")
        for u in sorted(utterances, key=lambda u: u.id):
            if any(c.isspace() for c in u.id) or any(c.isspace() for c in u.speaker):
                raise StmError(f"{path}: utterance id {u.id!r} or speaker {u.speaker!r} contains whitespace")
            end = math.ceil(u.duration * 100 - 1e-6) / 100
            f.write(f"{u.id} 1 {u.speaker} 0.00 {end:.2f} {u.orth}\n")


def read_stm(path: str) -> Iterator[StmSegment]:
    """Parse an STM file (``;;`` comments skipped); errors name file and line."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise StmError(f"{path}: STM file does not exist")
    with open(path, encoding="utf-8", errors="strict") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip() or line.startswith(";;"):
                continue
            cols = line.split()
            if len(cols) < 5:
                raise StmError(f"{path}:{lineno}: expected '<file> <channel> <speaker> <start> <end> [<label>] text', "
                               f"got {line.strip()!r}")
            try:
                start, end = float(cols[3]), float(cols[4])
            except ValueError:
                raise StmError(f"{path}:{lineno}: start/end {cols[3]!r} {cols[4]!r} are not numbers") from None
            if end < start:
                raise StmError(f"{path}:{lineno}: segment ends ({end}) before it starts ({start})")
            rest = cols[5:]
            label = None
            if rest and rest[0].startswith("<") and rest[0].endswith(">") and "," in rest[0]:
                label, rest = rest[0][1:-1], rest[1:]
            yield StmSegment(cols[0], cols[1], cols[2], start, end, label, " ".join(rest), lineno)
