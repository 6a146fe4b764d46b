"""CTC search over one utterance's log-probabilities with flashlight-text (no torchaudio).

:class:`CtcSearch` owns everything the C++ decoder points to (word dictionary, KenLM model,
lexicon trie) for as long as it lives: flashlight keeps raw pointers, so dropping the Python
references while a decoder exists would crash. Build one per process and reuse it.

Frame bookkeeping: flashlight's best path has ``T + 2`` entries (the start state, one per frame,
the end state); entry ``f + 1`` holds the unit consumed at frame ``f`` and, if a word was
completed there, its index. A word spans from its first non-blank frame after the previous word
to the last frame of its last unit (a word may be completed on the blank frame after it, see
:class:`SearchConfigV1`).
"""
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from memristor_asr.decoding.hypothesis import Hypothesis
from memristor_asr.decoding.search_config import SearchConfigV1
from memristor_asr.decoding.search_lexicon import UNK_WORD

__all__ = ["CtcSearch", "collapse_units", "units_to_words", "WORD_PIECE_MARK"]

WORD_PIECE_MARK = "\u2581"  # SentencePiece's word-start marker


def collapse_units(frame_units: Sequence[int], skip: Sequence[int]) -> List[Tuple[int, int, int]]:
    """CTC collapse of a frame-level path: ``(unit index, first frame, end frame)`` per emitted unit.

    A unit is emitted where the path enters it from a different symbol; ``skip`` (blank, silence)
    separate repeats and are not emitted.
    """
    out: List[Tuple[int, int, int]] = []
    prev = None
    for f, u in enumerate(frame_units):
        if u in skip:
            prev = None
            continue
        if u == prev:
            out[-1] = (u, out[-1][1], f + 1)
        else:
            out.append((u, f, f + 1))
        prev = u
    return out


def units_to_words(units: Sequence[str], spans: Sequence[Tuple[int, int]]) -> Tuple[List[str], List[Tuple[int, int]]]:
    """Words from a unit sequence for searches without a lexicon.

    SentencePiece units (some start with the word marker) are joined into words; any other
    inventory (phonemes) is returned unit by unit, so such a "word" sequence is a phoneme string.
    """
    if not any(u.startswith(WORD_PIECE_MARK) for u in units):
        return list(units), list(spans)
    words: List[str] = []
    frames: List[Tuple[int, int]] = []
    for u, (s, e) in zip(units, spans):
        if u.startswith(WORD_PIECE_MARK) or not words:
            piece = u[len(WORD_PIECE_MARK):] if u.startswith(WORD_PIECE_MARK) else u
            words.append(piece)
            frames.append((s, e))
        else:
            words[-1] += u
            frames[-1] = (frames[-1][0], e)
    keep = [i for i, w in enumerate(words) if w]
    return [words[i] for i in keep], [frames[i] for i in keep]


class CtcSearch:
    """One unit inventory, one search configuration; :meth:`decode` per utterance.

    :param vocab: the model's output units, ``vocab[0] == "<blank>"``
    :param cfg: search configuration
    :param lexicon: word -> pronunciations (lists of units); required for mode "lexicon"
    :param lm_path: KenLM binary or ARPA file over words ("lexicon") or units ("lexicon_free");
        None = no LM (flashlight's ZeroLM)
    """

    def __init__(self, vocab: Sequence[str], cfg: SearchConfigV1,
                 lexicon: Optional[Dict[str, List[List[str]]]] = None, lm_path: Optional[str] = None):
        from flashlight.lib.text.decoder import (CriterionType, LexiconDecoder, LexiconDecoderOptions,
                                                 LexiconFreeDecoder, LexiconFreeDecoderOptions, SmearingMode,
                                                 Trie, ZeroLM)
        from flashlight.lib.text.dictionary import Dictionary

        cfg.validate()
        self.vocab = list(vocab)
        self.cfg = cfg
        if not self.vocab or self.vocab[0] != "<blank>":
            raise ValueError("CtcSearch: vocab must start with '<blank>'")
        self.index = {u: i for i, u in enumerate(self.vocab)}
        self.blank = 0
        if cfg.silence_token is None:
            self.sil = self.blank
        elif cfg.silence_token in self.index and cfg.silence_token != self.vocab[0]:
            self.sil = self.index[cfg.silence_token]
        else:
            raise ValueError(f"CtcSearch: silence_token {cfg.silence_token!r} is not a unit of the vocab")
        self._skip = {self.blank, self.sil}
        self._decoders: Dict[Tuple[float, float], object] = {}
        self._lm = None
        self._trie = None
        self._dict = None
        if cfg.mode == "greedy":
            return
        if lm_path is not None:
            lm_path = os.fspath(lm_path)
            if not os.path.isfile(lm_path):
                raise FileNotFoundError(f"CtcSearch: language model file {lm_path} does not exist")
        self._options_types = (LexiconDecoderOptions, LexiconFreeDecoderOptions, CriterionType)
        if cfg.mode == "lexicon_free":
            self._dict = Dictionary()
            for i, u in enumerate(self.vocab):
                self._dict.add_entry(u, i)
            self._lm = self._load_lm(lm_path, self._dict) if lm_path else ZeroLM()
            self._decoder_cls = LexiconFreeDecoder
            return
        if not lexicon:
            raise ValueError("CtcSearch: mode 'lexicon' needs a non-empty lexicon")
        self._dict = Dictionary()
        self.words = [w for w in lexicon if w != UNK_WORD] + [UNK_WORD]
        for i, w in enumerate(self.words):
            self._dict.add_entry(w, i)
        self.unk = self._dict.get_index(UNK_WORD)
        self._lm = self._load_lm(lm_path, self._dict) if lm_path else ZeroLM()
        start = self._lm.start(False)
        self._trie = Trie(len(self.vocab), self.sil)
        for w, prons in lexicon.items():
            if w == UNK_WORD:
                continue
            widx = self._dict.get_index(w)
            _, unigram = self._lm.score(start, widx)
            for pron in prons:
                try:
                    ids = [self.index[u] for u in pron]
                except KeyError as e:
                    raise ValueError(f"CtcSearch: word {w!r} uses unit {e.args[0]!r} not in the vocab") from None
                if self.blank in ids or (cfg.silence_token is not None and self.sil in ids):
                    raise ValueError(f"CtcSearch: word {w!r} is spelled with the blank/silence unit")
                self._trie.insert(ids, widx, unigram)
                if cfg.end_words_on_blank:
                    self._trie.insert(ids + [self.blank], widx, unigram)
        self._trie.smear(SmearingMode.MAX)
        self._decoder_cls = LexiconDecoder

    @staticmethod
    def _load_lm(path: str, dictionary):
        from flashlight.lib.text.decoder.kenlm import KenLM

        try:
            return KenLM(path, dictionary)
        except RuntimeError as e:
            raise ValueError(f"CtcSearch: cannot load KenLM language model {path}: {str(e).splitlines()[-1]}") from None

    def _decoder(self, lm_weight: float, word_score: float):
        key = (float(lm_weight), float(word_score))
        dec = self._decoders.get(key)
        if dec is not None:
            return dec
        LexOpt, FreeOpt, Criterion = self._options_types
        c = self.cfg
        token_beam = min(c.beam_size_token or len(self.vocab), len(self.vocab))
        if c.mode == "lexicon":
            opt = LexOpt(beam_size=c.beam_size, beam_size_token=token_beam, beam_threshold=c.beam_threshold,
                         lm_weight=key[0], word_score=key[1], unk_score=c.unk_score, sil_score=c.sil_score,
                         log_add=c.log_add, criterion_type=Criterion.CTC)
            dec = self._decoder_cls(opt, self._trie, self._lm, self.sil, self.blank, self.unk, [], False)
        else:
            opt = FreeOpt(beam_size=c.beam_size, beam_size_token=token_beam, beam_threshold=c.beam_threshold,
                          lm_weight=key[0], sil_score=c.sil_score, log_add=c.log_add, criterion_type=Criterion.CTC)
            dec = self._decoder_cls(opt, self._lm, self.sil, self.blank, [])
        self._decoders[key] = dec
        return dec

    def check_emissions(self, emissions: np.ndarray, where: str = "emissions") -> np.ndarray:
        """float32, C-contiguous [T, V] with finite values, or ValueError naming ``where``."""
        e = np.asarray(emissions)
        if e.ndim != 2 or e.shape[1] != len(self.vocab):
            raise ValueError(f"{where}: shape {e.shape}, expected [T, {len(self.vocab)}]")
        e = np.ascontiguousarray(e, dtype=np.float32)
        if not np.isfinite(e).all():
            raise ValueError(f"{where}: non-finite log-probabilities")
        return e

    def decode(self, emissions: np.ndarray, lm_weight: Optional[float] = None, word_score: Optional[float] = None,
               where: str = "emissions") -> Hypothesis:
        """Best hypothesis for log-probabilities ``emissions`` [T, V]; T = 0 gives an empty hypothesis.

        :param lm_weight, word_score: override the config's values (LM-scale tuning)
        """
        e = self.check_emissions(emissions, where)  # [T, V]
        T, V = e.shape
        if T == 0:
            return Hypothesis()
        if self.cfg.mode == "greedy":
            path = e.argmax(axis=1).tolist()  # [T]
            am = float(e.max(axis=1).sum())
            return self._unit_hypothesis(path, am, am, 0.0)
        dec = self._decoder(self.cfg.lm_weight if lm_weight is None else lm_weight,
                            self.cfg.word_score if word_score is None else word_score)
        results = dec.decode(e.ctypes.data, T, V)
        if not results:
            return Hypothesis()
        best = max(results, key=lambda r: r.score)
        frame_units = list(best.tokens)[1:T + 1]  # [T]
        if self.cfg.mode == "lexicon_free":
            return self._unit_hypothesis(frame_units, best.score, best.emittingModelScore, best.lmScore)
        frame_words = list(best.words)[1:T + 1]  # [T]
        words, frames = [], []
        word_start = 0  # first frame after the previous word
        for f, w in enumerate(frame_words):
            if w < 0:
                continue
            content = [g for g in range(word_start, f + 1) if frame_units[g] not in self._skip]
            first, last = (content[0], content[-1]) if content else (f, f)
            words.append(self.words[w])
            frames.append((first, last + 1))
            word_start = f + 1
        units = [self.vocab[u] for u, _, _ in collapse_units(frame_units, self._skip)]
        return Hypothesis(words=words, frames=frames, units=units, score=float(best.score),
                          am_score=float(best.emittingModelScore), lm_score=float(best.lmScore))

    def _unit_hypothesis(self, frame_units: Sequence[int], score: float, am: float, lm: float) -> Hypothesis:
        emitted = collapse_units(frame_units, self._skip)
        units = [self.vocab[u] for u, _, _ in emitted]
        words, frames = units_to_words(units, [(s, e) for _, s, e in emitted])
        return Hypothesis(words=words, frames=frames, units=units, score=float(score), am_score=float(am),
                          lm_score=float(lm))
