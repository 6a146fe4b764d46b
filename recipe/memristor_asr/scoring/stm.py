"""STM reference files (NIST segment time marks), the reference format of every scoring step.

One line per utterance: ``<utt-id> 1 <speaker> 0.00 <duration> <transcript>``; the recording
is the utterance itself (recognition writes one CTM "recording" per utterance), the channel is
always 1. Lines starting with ``;;`` are comments. An empty transcript is allowed (a segment
with nothing to recognise: every hypothesis word there is an insertion).
"""
import os
from dataclasses import dataclass
from typing import Iterable, List

from memristor_asr.util.atomic import atomic_write

__all__ = ["StmSegment", "StmError", "read_stm", "write_stm", "segments_from_utterances"]


class StmError(ValueError):
    """A malformed STM file; the message names file and line."""


@dataclass
class StmSegment:
    recording: str
    channel: str
    speaker: str
    start: float
    end: float
    transcript: str

    @property
    def words(self) -> List[str]:
        return self.transcript.split()


def segments_from_utterances(utterances: Iterable) -> List[StmSegment]:
    """One segment per :class:`memristor_asr.data.manifest.Utterance` (recording = utterance id)."""
    return [StmSegment(u.id, "1", u.speaker or "unknown", 0.0, float(u.duration), " ".join(u.orth.split()))
            for u in utterances]


def write_stm(path: str, segments: Iterable[StmSegment], comment: str = "reference transcripts") -> None:
    """Write segments (e.g. from :func:`segments_from_utterances`) atomically with a ``;;`` header."""
    segments = list(segments)
    for s in segments:
        for field_name in ("recording", "speaker"):
            value = getattr(s, field_name)
            if not value or any(c.isspace() for c in value):
                raise StmError(f"{path}: segment {s.recording!r}: {field_name} {value!r} must be one non-empty token")
        if not 0 <= s.start <= s.end:
            raise StmError(f"{path}: segment {s.recording!r}: need 0 <= start <= end, got {s.start}, {s.end}")
    with atomic_write(path) as f:
        f.write(f";; {comment}\n")
        f.write(';; CATEGORY "0" "" ""\n;; LABEL "O" "Overall" "All segments"\n')
        for s in segments:
            f.write(f"{s.recording} {s.channel} {s.speaker} {s.start:.2f} {s.end:.2f} {' '.join(s.words)}".rstrip() + "\n")


def read_stm(path: str) -> List[StmSegment]:
    """Read an STM file; raises :class:`StmError` naming ``path:line`` on malformed lines."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise StmError(f"{path}: STM file does not exist")
    segments = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip() or line.lstrip().startswith(";;"):
                continue
            fields = line.split(maxsplit=5)
            if len(fields) < 5:
                raise StmError(f"{path}:{lineno}: expected '<recording> <channel> <speaker> <start> <end> <words>', got {line.rstrip()!r}")
            try:
                start, end = float(fields[3]), float(fields[4])
            except ValueError:
                raise StmError(f"{path}:{lineno}: start/end {fields[3]!r} {fields[4]!r} are not numbers") from None
            if not 0 <= start <= end:
                raise StmError(f"{path}:{lineno}: need 0 <= start <= end, got {start}, {end}")
            transcript = " ".join(fields[5].split()) if len(fields) > 5 else ""
            segments.append(StmSegment(fields[0], fields[1], fields[2], start, end, transcript))
    return segments
