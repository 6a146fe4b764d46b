"""Real corpora from the local copies that `settings.py` names (``TEDLIUM2_ROOT``,
``LIBRISPEECH_ROOT``, ``LOQUACIOUS_ROOT``; ``SIS_<NAME>`` environment variables override).

Wiring only: one manifest per split, for personal graphs that run on real speech instead of the
embedded corpus. A root that is unset or does not exist is an error when the graph is built,
naming `settings.py` and the variable, before any job is created.
"""
import os
from typing import Dict, Sequence

from sisyphus import gs, tk

from memristor_asr.jobs.corpus import ImportLibriSpeechJob, ImportLoquaciousJob, ImportTedliumJob

__all__ = ["corpus_root", "tedlium2_manifests", "librispeech_manifests", "loquacious_manifests"]


def corpus_root(name: str) -> str:
    """The directory ``settings.py`` gives as ``name``, checked to exist."""
    value = getattr(gs, name, None)
    where = f"settings.py: {name}"
    if value is None or value == "":
        raise ValueError(f"{where} is not set; point it at the local copy of the corpus "
                         f"(or export SIS_{name}=/path)")
    if not os.path.isdir(str(value)):
        raise ValueError(f"{where} = {str(value)!r} does not exist or is not a directory "
                         f"(fix settings.py or SIS_{name})")
    return str(value)


def tedlium2_manifests(splits: Sequence[str] = ("train", "dev", "test")) -> Dict[str, tk.Path]:
    root = corpus_root("TEDLIUM2_ROOT")
    return {s: ImportTedliumJob(root, s).out_manifest for s in splits}


def librispeech_manifests(
        subsets: Sequence[str] = ("train-clean-100", "dev-clean", "test-clean")) -> Dict[str, tk.Path]:
    root = corpus_root("LIBRISPEECH_ROOT")
    return {s: ImportLibriSpeechJob(root, s).out_manifest for s in subsets}


def loquacious_manifests(splits: Sequence[str] = ("train", "dev", "test")) -> Dict[str, tk.Path]:
    root = corpus_root("LOQUACIOUS_ROOT")
    return {s: ImportLoquaciousJob(root, s).out_manifest for s in splits}
