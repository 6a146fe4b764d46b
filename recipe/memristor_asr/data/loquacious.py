"""Importer for a local, plain-file copy of the Loquacious Set (speechbrain/LoquaciousSet, CC BY 4.0).

The corpus is published as a Hugging Face dataset (parquet shards with the audio inside), which
cannot be read offline here. This importer expects a plain export of it, one TSV per split plus
audio files, keeping the dataset's column names::

    <corpus_dir>/<split>.tsv          # split: train_small, train_medium, train_large, dev, test, ...
    <corpus_dir>/<split>/<...>.flac   # or .wav; 16 kHz mono

``<split>.tsv`` has a header line and tab-separated columns ``ID  wav  spk_id  text`` (any other
columns, e.g. ``duration`` and ``sex``, are allowed and ignored except ``duration``, which is
checked against the file); ``wav`` is the audio path relative to ``<corpus_dir>``. One way to
produce it where the dataset is reachable (``datasets`` and ``soundfile`` installed)::

    for row in load_dataset("speechbrain/LoquaciousSet", "small", split="train"):
        soundfile.write(f"{root}/train_small/{row['ID']}.flac", row["wav"]["array"], 16000)
        # and a TSV line: ID, f"train_small/{row['ID']}.flac", spk_id, text

Transcripts are normalised to the project convention; rows whose text has digits or no words are
skipped and counted (``skipped_text``, with examples); everything else that is wrong (missing
columns, missing/corrupt audio, wrong sample rate, duplicate ids) raises naming file and line.
"""
import csv
import os
from typing import Dict, List, Tuple

from memristor_asr.data.audio import check_audio
from memristor_asr.data.manifest import ManifestError, Utterance
from memristor_asr.data.progress import ProgressLog
from memristor_asr.data.text import normalize_text

__all__ = ["LOQUACIOUS_COLUMNS", "import_loquacious"]

LOQUACIOUS_COLUMNS = ("ID", "wav", "spk_id", "text")


def import_loquacious(corpus_dir: str, split: str, sample_rate: int = 16000, sink=None) -> Tuple[List[Utterance], Dict]:
    """Read ``<corpus_dir>/<split>.tsv``; returns (utterances in file order, statistics)."""
    tsv = os.path.join(corpus_dir, f"{split}.tsv")
    if not os.path.isdir(corpus_dir):
        raise FileNotFoundError(f"{corpus_dir}: Loquacious corpus directory does not exist")
    if not os.path.isfile(tsv):
        raise FileNotFoundError(f"{tsv}: split table does not exist (expected <corpus>/<split>.tsv, see module docs)")
    with open(tsv, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise ManifestError(f"{tsv}: empty table")
    header = rows[0]
    missing = [c for c in LOQUACIOUS_COLUMNS if c not in header]
    if missing:
        raise ManifestError(f"{tsv}:1: header lacks column(s) {missing}; got {header}")
    col = {c: header.index(c) for c in header}
    for lineno, row in enumerate(rows[1:], start=2):  # table structure first, before any audio is opened
        if any(c.strip() for c in row) and len(row) != len(header):
            raise ManifestError(f"{tsv}:{lineno}: {len(row)} fields, header has {len(header)}")
    stats = {"rows": 0, "skipped_text": 0, "skipped_examples": []}
    utts, seen = [], set()
    progress = ProgressLog(len(rows) - 1, f"loquacious {split}", sink=sink)
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        where = f"{tsv}:{lineno}"
        stats["rows"] += 1
        uid, wav, spk, raw = (row[col[c]].strip() for c in LOQUACIOUS_COLUMNS)
        if not uid or not wav or not spk:
            raise ManifestError(f"{where}: empty ID, wav or spk_id field")
        if uid in seen:
            raise ManifestError(f"{where}: duplicate utterance id {uid!r}")
        seen.add(uid)
        text = normalize_text(raw)
        if not text:
            stats["skipped_text"] += 1
            if len(stats["skipped_examples"]) < 20:
                stats["skipped_examples"].append(f"{where}: {raw!r}")
            progress.step()
            continue
        audio = os.path.abspath(os.path.join(corpus_dir, wav))
        duration = check_audio(audio, sample_rate, where)
        if "duration" in col and row[col["duration"]].strip():
            try:
                listed = float(row[col["duration"]])
            except ValueError:
                raise ManifestError(f"{where}: duration {row[col['duration']]!r} is not a number") from None
            if abs(listed - duration) > 0.1:
                raise ManifestError(f"{where}: listed duration {listed} s, but {audio} is {duration:.2f} s")
        utts.append(Utterance(uid, audio, round(duration, 4), spk, text))
        progress.step()
    if not utts:
        raise ManifestError(f"{tsv}: no usable utterances ({stats['skipped_text']} skipped)")
    stats["utterances"] = len(utts)
    return utts, stats
