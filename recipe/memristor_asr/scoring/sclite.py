"""NIST sclite scoring of a CTM hypothesis against an STM reference: the reported WER numbers.

sclite comes from Debian's ``sctk`` (binaries in ``/usr/lib/sctk/bin``, not on PATH; override the
directory with ``MEMRISTOR_ASR_SCTK_BIN``). Its output is parsed in exactly one place,
:func:`parse_sclite_raw`, which reads the "Sum" row of the ``.raw`` report (integer counts) by
column *name*, so a layout change fails loudly instead of shifting numbers.

Before sclite runs, the inputs are checked and normalised: every CTM recording must be an STM
recording (a hypothesis for the wrong utterance set is an error, not a silently bad score);
recordings without CTM words score as all deletions; CTM words are sorted and their times
clamped into their recording's reference time span (frame times can overshoot the audio end by
a frame, and sclite's time-based CTM/STM matching would otherwise misplace them).
"""
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Collection, Dict, List, Optional, Tuple

from memristor_asr.data.stm import StmSegment, read_stm
from memristor_asr.scoring.ctm import CtmWord, read_ctm, write_ctm
from memristor_asr.util.atomic import atomic_write

__all__ = ["ScliteError", "ScliteResult", "find_sclite", "parse_sclite_raw", "check_hypothesis_recordings",
           "run_sclite"]

DEFAULT_SCTK_BIN = "/usr/lib/sctk/bin"
# column names of sclite's summary table, in the order sclite prints them
_COLUMNS = {"Snt": "sentences", "Wrd": "ref_words", "Corr": "correct", "Sub": "substitutions",
            "Del": "deletions", "Ins": "insertions", "Err": "errors", "S.Err": "sentence_errors"}


class ScliteError(RuntimeError):
    """sclite is missing, failed, or its output could not be parsed."""


@dataclass
class ScliteResult:
    """Integer counts from sclite's summary ("Sum" row of the raw report).

    Attributes:
        sentences: segments scored
        ref_words: reference words
        correct, substitutions, deletions, insertions: word alignment counts
        errors: substitutions + deletions + insertions
        sentence_errors: segments with at least one error
    """

    sentences: int
    ref_words: int
    correct: int
    substitutions: int
    deletions: int
    insertions: int
    errors: int
    sentence_errors: int

    @property
    def wer(self) -> float:
        """Word error rate in percent."""
        return 100.0 * self.errors / self.ref_words if self.ref_words else 100.0 * self.errors


def find_sclite() -> str:
    """Path of the sclite binary (``$MEMRISTOR_ASR_SCTK_BIN/sclite``, Debian's location, or PATH)."""
    candidates = []
    if os.environ.get("MEMRISTOR_ASR_SCTK_BIN"):
        candidates.append(os.path.join(os.environ["MEMRISTOR_ASR_SCTK_BIN"], "sclite"))
    candidates.append(os.path.join(DEFAULT_SCTK_BIN, "sclite"))
    on_path = shutil.which("sclite")
    if on_path:
        candidates.append(on_path)
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise ScliteError(f"sclite not found (tried {candidates}); install Debian package 'sctk' "
                      "or set MEMRISTOR_ASR_SCTK_BIN to the directory holding sclite")


def parse_sclite_raw(path: str) -> ScliteResult:
    """Parse the "Sum" row of an sclite ``.raw`` report (``-o rsum``) into counts.

    The table looks like ``| SPKR | # Snt # Wrd | Corr Sub Del Ins Err S.Err |`` (header) and
    ``| Sum | 3 10 | 6 1 3 1 5 2 |``; columns are located through the header names.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ScliteError(f"{path}: sclite raw report does not exist")
    header: Optional[List[str]] = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 3:
                continue
            if header is None and "Corr" in cells[-1].split():
                header = [t for cell in cells[1:] for t in cell.split() if t != "#"]
            elif cells[0] == "Sum":
                if header is None:
                    raise ScliteError(f"{path}: 'Sum' row before the column header")
                values = [t for cell in cells[1:] for t in cell.split()]
                if len(values) != len(header):
                    raise ScliteError(f"{path}: 'Sum' row has {len(values)} values for columns {header}")
                named = dict(zip(header, values))
                missing = [c for c in _COLUMNS if c not in named]
                if missing:
                    raise ScliteError(f"{path}: columns {missing} not in sclite header {header}")
                try:
                    res = ScliteResult(**{_COLUMNS[c]: int(named[c]) for c in _COLUMNS})
                except ValueError:
                    raise ScliteError(f"{path}: non-integer counts in 'Sum' row {values} "
                                      "(not a .raw report?)") from None
                if res.correct + res.substitutions + res.deletions != res.ref_words or \
                        res.substitutions + res.deletions + res.insertions != res.errors:
                    raise ScliteError(f"{path}: inconsistent counts {res}")
                return res
    raise ScliteError(f"{path}: no 'Sum' row found in sclite raw report")


def check_hypothesis_recordings(segments: List[StmSegment], words: List[CtmWord], hyp_name: str,
                                hyp_ids: Optional[Collection[str]] = None) -> None:
    """Raise ValueError when the hypothesis belongs to another utterance set.

    :param hyp_ids: every utterance id the recognizer processed (its text output), if known:
        then it must equal the reference set exactly (empty hypotheses included)
    """
    ref_ids = {s.recording for s in segments}
    unknown = sorted({w.recording for w in words} - ref_ids)
    if unknown:
        raise ValueError(f"{hyp_name}: {len(unknown)} hypothesis recording(s) are not in the reference "
                         f"(e.g. {unknown[:3]}): hypothesis and reference are for different utterance sets")
    if hyp_ids is not None:
        hyp_ids = set(hyp_ids)
        missing, extra = sorted(ref_ids - hyp_ids), sorted(hyp_ids - ref_ids)
        if missing or extra:
            raise ValueError(f"{hyp_name}: utterance set differs from the reference: {len(missing)} reference "
                             f"utterance(s) not recognised (e.g. {missing[:3]}), {len(extra)} recognised "
                             f"utterance(s) not in the reference (e.g. {extra[:3]})")


def _normalised_ctm(segments: List[StmSegment], words: List[CtmWord]) -> List[CtmWord]:
    """CTM words sorted by (recording, start), times clamped into the recording's reference span."""
    span: Dict[Tuple[str, str], Tuple[float, float]] = {}
    for s in segments:
        lo, hi = span.get((s.recording, s.channel), (s.start, s.end))
        span[(s.recording, s.channel)] = (min(lo, s.start), max(hi, s.end))
    out = []
    for w in words:
        lo, hi = span.get((w.recording, w.channel), span.get((w.recording, "1"), (0.0, float("inf"))))
        start = min(max(w.start, lo), hi)
        end = min(max(w.start + w.duration, start), hi)
        out.append(CtmWord(w.recording, w.channel, start, end - start, w.word, w.confidence))
    out.sort(key=lambda w: (w.recording, w.channel, w.start))
    return out


def _write_sorted_stm(path: str, segments: List[StmSegment], comment: str) -> None:
    with atomic_write(path) as f:
        f.write(f";; {comment}\n")
        for s in sorted(segments, key=lambda s: (s.recording, s.channel, s.start)):
            label = f" <{s.label}>" if s.label else ""
            f.write(f"{s.recording} {s.channel} {s.speaker} {s.start:.2f} {s.end:.2f}{label} {s.text}".rstrip() + "\n")


def run_sclite(stm_path: str, ctm_path: str, out_dir: str, name: str = "sclite", case_sensitive: bool = False,
               hyp_ids: Optional[Collection[str]] = None) -> ScliteResult:
    """Score ``ctm_path`` against ``stm_path`` with sclite; reports (sys, raw, pra, dtl) go to ``out_dir``.

    :param name: root file name of the reports (``<name>.sys`` ...)
    :param case_sensitive: sclite ``-s``; default compares case-insensitively
    :param hyp_ids: utterance ids the recognizer processed, to check the utterance set exactly
    :return: the counts of the raw report
    """
    sclite = find_sclite()
    segments = list(read_stm(stm_path))
    if not segments:
        raise ValueError(f"{stm_path}: reference has no segments")
    words = read_ctm(ctm_path)
    check_hypothesis_recordings(segments, words, os.fspath(ctm_path), hyp_ids)
    os.makedirs(out_dir, exist_ok=True)
    ref_copy, hyp_copy = os.path.join(out_dir, "ref.stm"), os.path.join(out_dir, "hyp.ctm")
    _write_sorted_stm(ref_copy, segments, f"sorted copy of {os.fspath(stm_path)}")
    write_ctm(hyp_copy, _normalised_ctm(segments, words))
    cmd = [sclite, "-r", ref_copy, "stm", "-h", hyp_copy, "ctm", "-O", out_dir, "-n", name,
           "-o", "sum", "rsum", "pralign", "dtl", "-e", "utf-8"]
    if case_sensitive:
        cmd.append("-s")
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    with open(os.path.join(out_dir, f"{name}.log"), "w", encoding="utf-8") as f:
        f.write(" ".join(cmd) + "\n" + proc.stdout + proc.stderr)
    if proc.returncode != 0 or "Successful Completion" not in proc.stdout:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise ScliteError(f"sclite failed (exit {proc.returncode}) on {ctm_path} vs {stm_path}: " + " | ".join(tail))
    return parse_sclite_raw(os.path.join(out_dir, f"{name}.raw"))
