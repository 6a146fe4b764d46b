"""Importer for a local copy of TED-LIUM release 2 (LDC-style layout as distributed by LIUM).

Expected layout (``corpus_dir`` is the directory that holds the splits)::

    TEDLIUM_release2/
      train/sph/<talk>.sph   train/stm/<talk>.stm
      dev/sph/<talk>.sph     dev/stm/<talk>.stm
      test/sph/<talk>.sph    test/stm/<talk>.stm

STM lines: ``<talk> 1 <speaker> <start> <end> <o,f0,male> transcript``. Each segment is cut by
time with sox into ``<audio_dir>/<talk>/<utt id>.wav`` (16 kHz mono), utterance id
``<talk>_<start cs>_<end cs>`` (centiseconds, zero padded). The manifest's ``audio`` is the cut
WAV; the segment's place in the talk is kept as ``recording``/``recording_start``/``recording_end``
(not ``start``/``end``, which per the manifest format would mean a slice *of* ``audio``).

Transcript handling (counted in the returned statistics, never silent):

- segments whose text is ``ignore_time_segment_in_scoring`` are skipped (``ignored_segments``);
- TED-LIUM splits clitics (``it 's``): a token starting with an apostrophe is joined to the
  previous word (``it's``) so that words match CMUdict and the embedded corpus;
- noise/filler markers (``{NOISE}``, ``[laughter]``, ``<sil>``, ``<s>``) are removed
  (``removed_noise_tokens``); ``<unk>`` is kept as the word ``<unk>``;
- other tokens are normalised like all text (:func:`memristor_asr.data.text.normalize_text`);
  a segment with digits or left empty is skipped (``skipped_digits`` / ``skipped_empty``).
"""
import concurrent.futures
import os
import re
import subprocess
from typing import Dict, List, Optional, Tuple

from memristor_asr.data.audio import AudioError, cut_segment
from memristor_asr.data.manifest import Utterance
from memristor_asr.data.stm import read_stm
from memristor_asr.data.progress import ProgressLog
from memristor_asr.data.text import normalize_text

__all__ = ["IGNORE_MARKER", "clean_tedlium_text", "import_tedlium"]

IGNORE_MARKER = "ignore_time_segment_in_scoring"
_NOISE = re.compile(r"^(\{.*\}|\[.*\]|<sil>|<s>|</s>|<noise>)$", re.IGNORECASE)


def clean_tedlium_text(text: str) -> Tuple[Optional[str], int]:
    """Return (normalised transcript or None when it contains digits, number of removed noise tokens)."""
    out: List[str] = []
    removed = 0
    for tok in text.split():
        if _NOISE.match(tok):
            removed += 1
            continue
        if tok.lower() == "<unk>":
            out.append("<unk>")
            continue
        if tok.startswith("'") and out and out[-1] != "<unk>":
            tok = out.pop() + tok
        norm = normalize_text(tok)
        if norm is None:
            return None, removed
        out.extend(norm.split())
    return " ".join(out), removed


def _recording_duration(path: str) -> float:
    res = subprocess.run(["soxi", "-D", path], capture_output=True, text=True)
    if res.returncode != 0:
        raise AudioError(f"{path}: cannot read audio header ({res.stderr.strip()[-300:]})")
    return float(res.stdout.strip())


def import_tedlium(
    corpus_dir: str, split: str, audio_dir: str, num_workers: int = 2, sample_rate: int = 16000, sink=None
) -> Tuple[List[Utterance], Dict]:
    """Cut one split into WAV segments; returns (utterances, statistics).

    :param corpus_dir: the ``TEDLIUM_release2`` directory
    :param split: ``train``, ``dev`` or ``test``
    :param audio_dir: where the cut WAVs go
    """
    split_dir = os.path.join(corpus_dir, split)
    stm_dir, sph_dir = os.path.join(split_dir, "stm"), os.path.join(split_dir, "sph")
    for d in (corpus_dir, stm_dir, sph_dir):
        if not os.path.isdir(d):
            raise FileNotFoundError(f"{d}: directory does not exist "
                                    f"(expected TED-LIUM layout <corpus>/{split}/stm, <corpus>/{split}/sph)")
    stm_files = sorted(f for f in os.listdir(stm_dir) if f.endswith(".stm"))
    if not stm_files:
        raise FileNotFoundError(f"{stm_dir}: no .stm files")
    stats = {"stm_files": len(stm_files), "segments": 0, "ignored_segments": 0, "skipped_digits": 0,
             "skipped_empty": 0, "removed_noise_tokens": 0, "skipped_examples": []}
    jobs = []  # (utterance, src, start, end, where)
    durations: Dict[str, float] = {}
    for name in stm_files:
        stm_path = os.path.join(stm_dir, name)
        for seg in read_stm(stm_path):
            where = f"{stm_path}:{seg.lineno}"
            stats["segments"] += 1
            if seg.text.strip() == IGNORE_MARKER:
                stats["ignored_segments"] += 1
                continue
            text, removed = clean_tedlium_text(seg.text)
            stats["removed_noise_tokens"] += removed
            if text is None or not text:
                stats["skipped_digits" if text is None else "skipped_empty"] += 1
                if len(stats["skipped_examples"]) < 20:
                    stats["skipped_examples"].append(f"{where}: {seg.text!r}")
                continue
            src = os.path.join(sph_dir, seg.recording + ".sph")
            if src not in durations:
                if not os.path.isfile(src):
                    raise AudioError(f"{where}: recording {src} does not exist")
                durations[src] = _recording_duration(src)
            if seg.end > durations[src] + 0.05:
                raise AudioError(f"{where}: segment ends at {seg.end:.2f} s, "
                                 f"recording {src} is {durations[src]:.2f} s long")
            if seg.end - seg.start < 0.05:
                raise AudioError(f"{where}: segment {seg.start:.2f}-{seg.end:.2f} s is shorter than 50 ms")
            uid = f"{seg.recording}_{round(seg.start * 100):07d}_{round(seg.end * 100):07d}"
            out = os.path.join(audio_dir, seg.recording, uid + ".wav")
            utt = Utterance(uid, os.path.abspath(out), seg.end - seg.start, seg.speaker, text,
                            {"recording": seg.recording, "recording_start": seg.start, "recording_end": seg.end})
            jobs.append((utt, src, seg.start, min(seg.end, durations[src]), where))
    ids = [j[0].id for j in jobs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{split_dir}: duplicate segment times give duplicate utterance ids")
    progress = ProgressLog(len(jobs), f"tedlium {split} cutting", sink=sink)

    def cut(job):
        utt, src, start, end, where = job
        utt.duration = round(cut_segment(src, utt.audio, start, end, sample_rate, where), 4)
        progress.step()

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, num_workers)) as pool:
        list(pool.map(cut, jobs))
    stats["utterances"] = len(jobs)
    return [j[0] for j in jobs], stats
