"""Recognition of a whole :class:`CtcLogProbs` file, in parallel over CPU cores.

Everything is validated in the calling process before any C++ search runs (missing files,
lexicon units the model does not have, token-file mismatches, malformed log-probs); a
zero-frame utterance yields an empty hypothesis. flashlight's decoder is single-threaded, so
utterances are spread over a process pool whose workers each hold their own :class:`CtcSearch`
(under the default ``fork`` start method they inherit the one validated in the parent; under
``spawn`` they rebuild it from the same spec). Results come back in the file's utterance order.
"""
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from memristor_asr.decoding.ctc_search import CtcSearch
from memristor_asr.decoding.hypothesis import Hypothesis
from memristor_asr.decoding.logprobs import CtcLogProbs
from memristor_asr.decoding.search_config import SearchConfigV1
from memristor_asr.decoding.search_lexicon import check_tokens_match, load_search_lexicon

__all__ = ["SearchSpec", "build_search", "recognize", "recognize_grid", "RecognitionStats"]

Setting = Tuple[float, float]  # (lm_weight, word_score)


@dataclass(frozen=True)
class SearchSpec:
    """What a worker needs to build its own :class:`CtcSearch` (plain data, picklable)."""

    vocab: Tuple[str, ...]
    cfg: SearchConfigV1
    lexicon_path: Optional[str] = None
    lm_path: Optional[str] = None


@dataclass
class RecognitionStats:
    """Attributes:
        utterances, frames: decoded
        audio_seconds: frames x frame shift
        wall_seconds: wall time of the whole search (pool start-up included)
        cpu_seconds: CPU time spent in the search calls, summed over workers
        workers: processes used
    """

    utterances: int
    frames: int
    audio_seconds: float
    wall_seconds: float
    cpu_seconds: float
    workers: int

    @property
    def rtf_per_core(self) -> float:
        """Real-time factor of one core: search CPU seconds / audio seconds (robust to a busy machine)."""
        return self.cpu_seconds / self.audio_seconds if self.audio_seconds else 0.0

    @property
    def rtf_wall(self) -> float:
        """Wall-clock real-time factor of the whole (parallel) run."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else 0.0


def build_search(spec: SearchSpec) -> CtcSearch:
    """Validate the spec's files and build the search (raises before any C++ search runs)."""
    lexicon = None
    if spec.cfg.mode == "lexicon":
        if spec.lexicon_path is None:
            raise ValueError("recognition mode 'lexicon' needs a lexicon file")
        lexicon = load_search_lexicon(spec.lexicon_path, spec.vocab)
    if spec.lm_path is not None and spec.cfg.mode != "greedy" and not os.path.isfile(spec.lm_path):
        raise FileNotFoundError(f"{spec.lm_path}: language model file does not exist")
    return CtcSearch(spec.vocab, spec.cfg, lexicon, spec.lm_path if spec.cfg.mode != "greedy" else None)


_WORKER: Dict[str, object] = {}  # per process: "spec" and "search"


def _init_worker(spec: SearchSpec) -> None:
    if _WORKER.get("spec") != spec:  # spawn, or a different spec than the parent's
        _WORKER["search"] = build_search(spec)
        _WORKER["spec"] = spec


def _decode_item(item: Tuple[str, np.ndarray, Sequence[Optional[Setting]]]
                 ) -> Tuple[str, List[Hypothesis], float]:
    uid, emissions, settings = item
    search: CtcSearch = _WORKER["search"]
    hyps = []
    cpu0 = time.process_time()
    for s in settings:
        lm_weight, word_score = s if s is not None else (None, None)
        hyps.append(search.decode(emissions, lm_weight, word_score, where=f"utterance {uid!r}"))
    return uid, hyps, time.process_time() - cpu0


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="utt", disable=not enabled, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5 if sys.stderr.isatty() else 30.0)


def _run(lp: CtcLogProbs, spec: SearchSpec, settings: Sequence[Optional[Setting]], num_workers: int,
         progress: bool, start_method: Optional[str]) -> Tuple[Dict[str, List[Hypothesis]], RecognitionStats]:
    lp.validate("log-probs")
    if any(c.isspace() for uid in lp.utterances for c in uid):
        bad = next(uid for uid in lp.utterances if any(c.isspace() for c in uid))
        raise ValueError(f"utterance id {bad!r} contains whitespace (CTM/STM need one-token ids)")
    if int(num_workers) != num_workers or num_workers < 1:
        raise ValueError(f"num_workers must be a positive integer, got {num_workers!r}")
    search = build_search(spec)
    _WORKER["spec"], _WORKER["search"] = spec, search
    ids = list(lp.utterances)
    items = ((uid, lp.utterances[uid].numpy(), settings) for uid in ids)
    frames = sum(int(lp.utterances[uid].shape[0]) for uid in ids)
    workers = max(1, min(int(num_workers), len(ids)))
    out: Dict[str, List[Hypothesis]] = {}
    cpu = 0.0
    t0 = time.perf_counter()
    with _progress(len(ids), f"{spec.cfg.mode} search", progress) as bar:
        if workers == 1:
            for item in items:
                uid, hyps, c = _decode_item(item)
                out[uid] = hyps
                cpu += c
                bar.update(1)
        else:
            method = start_method or ("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
            ctx = multiprocessing.get_context(method)
            chunk = max(1, min(16, len(ids) // (workers * 8)))
            with ctx.Pool(workers, initializer=_init_worker, initargs=(spec,)) as pool:
                for uid, hyps, c in pool.imap(_decode_item, items, chunksize=chunk):
                    out[uid] = hyps
                    cpu += c
                    bar.update(1)
    wall = time.perf_counter() - t0
    stats = RecognitionStats(len(ids), frames, frames * lp.frame_shift, wall, cpu, workers)
    print(f"[recognize] {stats.utterances} utterances, {stats.audio_seconds:.1f} s audio, {len(settings)} setting(s): "
          f"{wall:.1f} s wall on {workers} worker(s), {cpu:.1f} s search CPU; RTF per core {stats.rtf_per_core:.4f}, "
          f"wall RTF {stats.rtf_wall:.4f}", flush=True)
    return out, stats


def recognize(lp: CtcLogProbs, cfg: SearchConfigV1, lexicon_path: Optional[str] = None,
              lm_path: Optional[str] = None, tokens_path: Optional[str] = None, num_workers: int = 1,
              progress: bool = True, start_method: Optional[str] = None
              ) -> Tuple[Dict[str, Hypothesis], RecognitionStats]:
    """Decode every utterance of ``lp``.

    :param lexicon_path: ``word<TAB>units`` lexicon (mode "lexicon")
    :param lm_path: KenLM binary/ARPA LM (optional; words for "lexicon", units for "lexicon_free")
    :param tokens_path: token file to check against the log-prob vocab (optional)
    :param num_workers: decoding processes
    :return: utterance id -> best hypothesis (file order), and timing statistics
    """
    check_tokens_match(tokens_path, lp.vocab)
    spec = SearchSpec(tuple(lp.vocab), cfg, _opt_path(lexicon_path), _opt_path(lm_path))
    out, stats = _run(lp, spec, [None], num_workers, progress, start_method)
    return {uid: hyps[0] for uid, hyps in out.items()}, stats


def recognize_grid(lp: CtcLogProbs, cfg: SearchConfigV1, settings: Sequence[Setting],
                   lexicon_path: Optional[str] = None, lm_path: Optional[str] = None,
                   tokens_path: Optional[str] = None, num_workers: int = 1, progress: bool = True,
                   start_method: Optional[str] = None) -> Dict[Setting, Dict[str, Hypothesis]]:
    """Decode every utterance under each ``(lm_weight, word_score)`` setting (one LM/trie per worker).

    :return: setting -> utterance id -> best hypothesis
    """
    check_tokens_match(tokens_path, lp.vocab)
    settings = [(float(a), float(b)) for a, b in settings]
    if not settings:
        raise ValueError("recognize_grid: no settings given")
    spec = SearchSpec(tuple(lp.vocab), cfg, _opt_path(lexicon_path), _opt_path(lm_path))
    out, _ = _run(lp, spec, settings, num_workers, progress, start_method)
    return {s: {uid: hyps[i] for uid, hyps in out.items()} for i, s in enumerate(settings)}


def _opt_path(p) -> Optional[str]:
    return None if p is None else os.fspath(p)
