"""Importer for a local copy of LibriSpeech (openslr.org/12 layout, CC BY 4.0).

Expected layout (``corpus_dir`` is the ``LibriSpeech`` directory)::

    LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt
    LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<nnnn>.flac

``<subset>`` is e.g. ``train-clean-100``, ``dev-clean``, ``test-other``. Each ``trans.txt`` line
is ``<utt id> TRANSCRIPT IN UPPER CASE``. The FLAC files (16 kHz mono) are referenced in place,
not copied. Transcripts are normalised to the project convention (lowercase, apostrophes kept).
Errors name file and line: a transcript line without text, a listed utterance without its FLAC,
unreadable audio. FLAC files without a transcript line are counted (``untranscribed_audio``).
"""
import os
from typing import Dict, List, Tuple

from memristor_asr.data.audio import check_audio
from memristor_asr.data.manifest import ManifestError, Utterance
from memristor_asr.data.progress import ProgressLog
from memristor_asr.data.text import normalize_text

__all__ = ["import_librispeech"]


def import_librispeech(corpus_dir: str, subset: str, sample_rate: int = 16000,
                       sink=None) -> Tuple[List[Utterance], Dict]:
    """Read one subset; returns (utterances sorted by id, statistics)."""
    root = os.path.join(corpus_dir, subset)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: LibriSpeech subset directory does not exist "
                                f"(expected <LibriSpeech>/{subset}/<speaker>/<chapter>/)")
    trans_files = []
    flac_count = 0
    for dirpath, _, files in os.walk(root):
        trans_files += [os.path.join(dirpath, f) for f in files if f.endswith(".trans.txt")]
        flac_count += sum(f.endswith(".flac") for f in files)
    if not trans_files:
        raise FileNotFoundError(f"{root}: no *.trans.txt files")
    entries = []
    for tpath in sorted(trans_files):
        speaker = os.path.basename(tpath).split("-")[0]
        with open(tpath, encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                where = f"{tpath}:{lineno}"
                parts = line.split(maxsplit=1)
                if len(parts) < 2 or not parts[1].strip():
                    raise ManifestError(f"{where}: empty transcript for {parts[0]!r}")
                uid, raw = parts
                text = normalize_text(raw)
                if not text:
                    raise ManifestError(f"{where}: transcript {raw.strip()!r} has digits or no words")
                audio = os.path.join(os.path.dirname(tpath), uid + ".flac")
                entries.append((uid, os.path.abspath(audio), speaker, text, where))
    progress = ProgressLog(len(entries), f"librispeech {subset}", sink=sink)
    utts = []
    seen = set()
    for uid, audio, speaker, text, where in entries:
        if uid in seen:
            raise ManifestError(f"{where}: duplicate utterance id {uid!r}")
        seen.add(uid)
        duration = check_audio(audio, sample_rate, where)
        utts.append(Utterance(uid, audio, round(duration, 4), speaker, text))
        progress.step()
    utts.sort(key=lambda u: u.id)
    return utts, {"transcript_files": len(trans_files), "utterances": len(utts),
                  "untranscribed_audio": flac_count - len(utts)}
