"""Word n-gram LMs with KenLM's ``lmplz`` / ``build_binary`` (built by setup.sh into ``<repo>/tools/bin``).

The binaries are found through ``$MEMRISTOR_ASR_TOOLS_BIN`` or, by default, ``tools/bin`` of the
repository this file lives in. ``lmplz`` reserves most of the machine's memory unless told
otherwise, so a memory budget is always passed; tiny texts need ``discount_fallback``.
"""
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Optional

from memristor_asr.util.atomic import atomic_write

__all__ = ["tools_bin", "kenlm_binary", "train_ngram_lm"]


def tools_bin() -> Path:
    env = os.environ.get("MEMRISTOR_ASR_TOOLS_BIN")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "tools" / "bin"


def kenlm_binary(name: str) -> str:
    """Absolute path of a KenLM tool (``lmplz``, ``build_binary``), or FileNotFoundError saying how to get it."""
    path = tools_bin() / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise FileNotFoundError(f"KenLM tool {name!r} not found at {path}: run setup.sh (builds tools/bin) "
                                "or set MEMRISTOR_ASR_TOOLS_BIN")
    return str(path)


def train_ngram_lm(sentences: Iterable[str], out_path: str, order: int = 4, binary: bool = True,
                   discount_fallback: bool = False, memory: str = "1G", prune: Optional[Iterable[int]] = None) -> None:
    """Train an ``order``-gram modified Kneser-Ney LM on ``sentences`` (one per item, words space-separated).

    :param out_path: the ARPA file, or KenLM's binary format if ``binary``
    :param discount_fallback: lmplz ``--discount_fallback`` (needed for very small texts)
    :param memory: lmplz ``-S`` budget
    :param prune: lmplz ``--prune`` thresholds per order (e.g. ``[0, 1, 1, 1]``)
    """
    if order < 2:
        raise ValueError(f"order must be >= 2 (KenLM needs at least bigrams), got {order}")
    lmplz = kenlm_binary("lmplz")
    out_path = os.fspath(out_path)
    out_dir = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".lm-") as tmp:
        text = os.path.join(tmp, "text.txt")
        n = 0
        with open(text, "w", encoding="utf-8") as f:
            for s in sentences:
                s = " ".join(s.split())
                if s:
                    f.write(s + "\n")
                    n += 1
        if n == 0:
            raise ValueError("train_ngram_lm: no non-empty sentences")
        arpa = os.path.join(tmp, "lm.arpa")
        cmd = [lmplz, "-o", str(order), "-S", memory, "-T", tmp, "--text", text, "--arpa", arpa]
        if discount_fallback:
            cmd.append("--discount_fallback")
        if prune:
            cmd += ["--prune"] + [str(int(p)) for p in prune]
        _run(cmd)
        if binary:
            tmp_bin = os.path.join(tmp, "lm.bin")
            _run([kenlm_binary("build_binary"), arpa, tmp_bin])
            os.replace(tmp_bin, out_path)
        else:
            with open(arpa, encoding="utf-8") as src, atomic_write(out_path) as dst:
                for line in src:
                    dst.write(line)


def _run(cmd) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise RuntimeError(f"{os.path.basename(cmd[0])} failed (exit {proc.returncode}): {tail}")
