"""Corpus manifests: one JSON object per line and utterance, the format every corpus job writes.

Fields: ``id`` (unique), ``audio`` (absolute path of a 16 kHz mono WAV/FLAC file), ``duration``
(seconds, > 0), ``speaker``, ``orth`` (orthography, words separated by single spaces). Optional
fields (``start``/``end`` for segments cut from a longer recording) are kept in ``extra``.
"""
import dataclasses
import json
import os
from typing import Iterable, List

from memristor_asr.util.atomic import atomic_write

__all__ = ["Utterance", "ManifestError", "read_manifest", "write_manifest"]

REQUIRED_FIELDS = ("id", "audio", "duration", "speaker", "orth")


class ManifestError(ValueError):
    """A manifest line that cannot be used; the message names file and line."""


@dataclasses.dataclass
class Utterance:
    id: str
    audio: str
    duration: float
    speaker: str
    orth: str
    extra: dict = dataclasses.field(default_factory=dict)

    def to_json(self) -> str:
        d = {"id": self.id, "audio": self.audio, "duration": self.duration, "speaker": self.speaker, "orth": self.orth}
        d.update(self.extra)
        return json.dumps(d, ensure_ascii=False)


def read_manifest(path: str, allow_empty_orth: bool = False) -> List[Utterance]:
    """Read and validate a manifest; raises :class:`ManifestError` naming ``path:line``."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ManifestError(f"{path}: manifest does not exist")
    utterances, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise ManifestError(f"{where}: not valid JSON ({e})") from None
            missing = [k for k in REQUIRED_FIELDS if k not in d]
            if missing:
                raise ManifestError(f"{where}: missing field(s) {missing}")
            if d["id"] in seen:
                raise ManifestError(f"{where}: duplicate utterance id {d['id']!r}")
            seen.add(d["id"])
            try:
                duration = float(d["duration"])
            except (TypeError, ValueError):
                raise ManifestError(f"{where}: duration {d['duration']!r} is not a number") from None
            if not duration > 0:
                raise ManifestError(f"{where}: duration must be > 0, got {duration}")
            orth = " ".join(str(d["orth"]).split())
            if not orth and not allow_empty_orth:
                raise ManifestError(f"{where}: empty transcript for utterance {d['id']!r}")
            extra = {k: v for k, v in d.items() if k not in REQUIRED_FIELDS}
            utterances.append(Utterance(str(d["id"]), str(d["audio"]), duration, str(d["speaker"]), orth, extra))
    if not utterances:
        raise ManifestError(f"{path}: manifest has no utterances")
    return utterances


def write_manifest(path: str, utterances: Iterable[Utterance]) -> None:
    """Write a manifest atomically."""
    with atomic_write(path) as f:
        for u in utterances:
            f.write(u.to_json() + "\n")
