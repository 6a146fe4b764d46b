"""CTC training data: manifest + lexicon + tokens -> utterances with phoneme targets, batched by duration.

Targets are the concatenated canonical (first) pronunciations of the transcript's words, as
indices into ``["<blank>"] + tokens``. An utterance that cannot be used is skipped and counted
by reason (never silently): a word without pronunciation (looked up as written, then
lower-cased, then upper-cased), a unit missing from the token inventory, an empty target, a
duration above the maximum, fewer output frames than CTC needs for its target, or (found when
its audio is read) non-finite samples. :meth:`CtcDataset.skip_report` summarises the counts
with examples.
"""
import collections
import dataclasses
import logging
import math
import os
import random
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import soundfile
import torch

from memristor_asr.data.lexicon import read_lexicon, read_tokens
from memristor_asr.data.manifest import Utterance, read_manifest
from memristor_asr.decoding.logprobs import BLANK

__all__ = ["CtcItem", "CtcDataset", "AudioError", "build_ctc_dataset", "load_audio", "make_batches", "collate",
           "ctc_min_frames"]

_log = logging.getLogger(__name__)

SKIP_REASONS = {
    "oov": "word without pronunciation in the lexicon",
    "unknown_unit": "pronunciation unit not in the token inventory",
    "empty_target": "empty target",
    "too_long": "longer than the maximum duration",
    "too_short_for_target": "fewer output frames than the CTC target needs",
    "non_finite_audio": "NaN/inf samples in the audio",
}


class AudioError(ValueError):
    """Audio that cannot be read as expected (missing file, wrong sample rate, not mono)."""


@dataclasses.dataclass
class CtcItem:
    utt: Utterance
    target: List[int]  # label indices, 1 ... V-1 (0 is the blank)

    @property
    def id(self) -> str:
        return self.utt.id

    @property
    def duration(self) -> float:
        return self.utt.duration


def ctc_min_frames(target: Sequence[int]) -> int:
    """Frames CTC needs for ``target``: one per label plus a blank between repeated labels."""
    return len(target) + sum(1 for a, b in zip(target, target[1:]) if a == b)


def load_audio(utt: Utterance, sample_rate: int = 16000) -> np.ndarray:
    """Mono float32 samples of ``utt`` (honouring optional ``start``/``end`` seconds in its extra fields)."""
    if not os.path.exists(utt.audio):
        raise AudioError(f"utterance {utt.id!r}: audio file {utt.audio} does not exist")
    info = soundfile.info(utt.audio)
    if info.samplerate != sample_rate:
        raise AudioError(f"utterance {utt.id!r}: {utt.audio} has sample rate {info.samplerate}, expected {sample_rate}")
    start = int(round(float(utt.extra.get("start", 0.0)) * sample_rate))
    end = int(round(float(utt.extra["end"]) * sample_rate)) if "end" in utt.extra else None
    audio, _ = soundfile.read(utt.audio, start=start, stop=end, dtype="float32", always_2d=True)
    if audio.shape[1] != 1:
        raise AudioError(f"utterance {utt.id!r}: {utt.audio} has {audio.shape[1]} channels, expected mono")
    return audio[:, 0]


class CtcDataset:
    """Usable utterances with targets, plus counted skips.

    Attributes: ``items`` (list of :class:`CtcItem`), ``vocab`` (``["<blank>"] + tokens``),
    ``skipped`` (reason -> count), ``skip_examples`` (reason -> a few utterance ids with detail).
    """

    def __init__(self, items: List[CtcItem], vocab: List[str], name: str = "data", sample_rate: int = 16000):
        self.items = items
        self.vocab = vocab
        self.name = name
        self.sample_rate = sample_rate
        self.skipped: Dict[str, int] = collections.Counter()
        self.skip_examples: Dict[str, List[str]] = collections.defaultdict(list)
        self._bad_audio = set()

    def __len__(self) -> int:
        return len(self.items)

    @property
    def total_duration(self) -> float:
        return sum(it.duration for it in self.items)

    def skip(self, reason: str, uid: str, detail: str = "") -> None:
        assert reason in SKIP_REASONS, reason
        self.skipped[reason] += 1
        if len(self.skip_examples[reason]) < 5:
            self.skip_examples[reason].append(f"{uid}{': ' + detail if detail else ''}")

    def skip_report(self) -> str:
        if not self.skipped:
            return f"{self.name}: {len(self.items)} utterances used, none skipped"
        lines = [f"{self.name}: {len(self.items)} utterances used, {sum(self.skipped.values())} skipped:"]
        for reason, n in sorted(self.skipped.items()):
            lines.append(f"  {n} x {SKIP_REASONS[reason]} (e.g. {'; '.join(self.skip_examples[reason])})")
        return "\n".join(lines)

    def filter_by_output_length(self, output_lengths: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Drop utterances whose model output (``output_lengths(samples)``) is too short for CTC."""
        if not self.items:
            return
        samples = torch.tensor([int(round(it.duration * self.sample_rate)) for it in self.items])
        frames = output_lengths(samples).tolist()
        kept = []
        for it, t in zip(self.items, frames):
            need = ctc_min_frames(it.target)
            if t < need:
                self.skip("too_short_for_target", it.id, f"{t} frames < {need} needed")
            else:
                kept.append(it)
        self.items = kept

    def load(self, item: CtcItem) -> Optional[np.ndarray]:
        """Audio of ``item``, or None (counted as skipped) if it holds NaN/inf samples."""
        if item.id in self._bad_audio:
            return None
        audio = load_audio(item.utt, self.sample_rate)
        if not np.isfinite(audio).all():
            self._bad_audio.add(item.id)
            self.skip("non_finite_audio", item.id)
            _log.warning("%s: skipping utterance %s: NaN/inf samples in %s", self.name, item.id, item.utt.audio)
            return None
        return audio


def _lookup(lexicon: Dict[str, List[List[str]]], word: str) -> Optional[List[str]]:
    for w in (word, word.lower(), word.upper()):
        if w in lexicon:
            return lexicon[w][0]
    return None


def build_ctc_dataset(manifest: str, lexicon: str, tokens: str, max_duration: float = math.inf,
                      name: Optional[str] = None) -> CtcDataset:
    """Read the three files and build targets; skips are counted and logged.

    :param manifest: corpus manifest (JSONL)
    :param lexicon: lexicon file; the first pronunciation of a word is its target
    :param tokens: token inventory (without blank); the vocabulary is ``["<blank>"] + tokens``
    :param max_duration: utterances longer than this (seconds) are skipped
    """
    utts = read_manifest(manifest)
    lex = read_lexicon(lexicon)
    toks = read_tokens(tokens)
    if BLANK in toks:
        raise ValueError(f"{tokens}: token inventory must not list the CTC blank {BLANK!r}")
    vocab = [BLANK] + toks
    index = {t: i for i, t in enumerate(vocab)}
    ds = CtcDataset([], vocab, name or os.path.basename(os.fspath(manifest)))
    for u in utts:
        if u.duration > max_duration:
            ds.skip("too_long", u.id, f"{u.duration:.2f} s > {max_duration} s")
            continue
        target, problem = [], None
        for word in u.orth.split():
            pron = _lookup(lex, word)
            if pron is None:
                problem = ("oov", f"word {word!r}")
                break
            missing = [p for p in pron if p not in index]
            if missing:
                problem = ("unknown_unit", f"word {word!r} has unit(s) {missing} not in {os.fspath(tokens)}")
                break
            target.extend(index[p] for p in pron)
        if problem is None and not target:
            problem = ("empty_target", "")
        if problem is not None:
            ds.skip(problem[0], u.id, problem[1])
            continue
        ds.items.append(CtcItem(u, target))
    if ds.skipped:
        _log.warning(ds.skip_report())
    else:
        _log.info(ds.skip_report())
    if not ds.items:
        raise ValueError(f"{manifest}: no usable utterance left\n{ds.skip_report()}")
    return ds


def make_batches(items: Sequence[CtcItem], max_batch_seconds: float, seed: Optional[int] = None,
                 sort_window: int = 100) -> List[List[int]]:
    """Group item indices into batches whose padded duration (longest x count) stays within
    ``max_batch_seconds``. With a seed: shuffle, sort by duration inside windows of ``sort_window``
    batches' worth of items (less padding), then shuffle the batch order. Without: sorted by duration.
    An utterance longer than the budget forms a batch of its own.
    """
    order = list(range(len(items)))
    if seed is None:
        order.sort(key=lambda i: items[i].duration)
        windows = [order]
    else:
        rng = random.Random(seed)
        rng.shuffle(order)
        avg = max(sum(it.duration for it in items) / max(len(items), 1), 1e-3)
        win = max(1, int(sort_window * max_batch_seconds / avg))
        windows = [sorted(order[i:i + win], key=lambda i: items[i].duration) for i in range(0, len(order), win)]
    batches = []
    for w in windows:
        cur, longest = [], 0.0
        for i in w:
            d = items[i].duration
            if cur and max(longest, d) * (len(cur) + 1) > max_batch_seconds:
                batches.append(cur)
                cur, longest = [], 0.0
            cur.append(i)
            longest = max(longest, d)
        if cur:
            batches.append(cur)
    if seed is not None:
        random.Random(seed + 1).shuffle(batches)
    return batches


def collate(audios: Sequence[np.ndarray], targets: Sequence[Sequence[int]]
            ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:return: audio [B, N] (zero padded), audio lengths [B], targets [sum L] (concatenated), target lengths [B]"""
    lens = torch.tensor([len(a) for a in audios], dtype=torch.long)
    batch = torch.zeros(len(audios), int(lens.max()))
    for i, a in enumerate(audios):
        batch[i, :len(a)] = torch.from_numpy(a)
    tgt = torch.tensor([t for tt in targets for t in tt], dtype=torch.long)
    tlens = torch.tensor([len(t) for t in targets], dtype=torch.long)
    return batch, lens, tgt, tlens
