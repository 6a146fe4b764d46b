"""Synthetic STM references and CTM hypotheses with known edits, scored by the real sclite."""
import os
import random
from typing import Dict, List, Sequence

from memristor_asr.scoring.sclite import run_sclite

VOCAB = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november".split()


def make_refs(n_utts: int, seed: int = 0, min_len: int = 3, max_len: int = 12) -> Dict[str, List[str]]:
    rng = random.Random(seed)
    return {f"utt{u:03d}": [rng.choice(VOCAB) for _ in range(rng.randint(min_len, max_len))] for u in range(n_utts)}


def corrupt(words: Sequence[str], n_errors: int, rng: random.Random) -> List[str]:
    """``words`` with ``n_errors`` substitutions (a foreign word, so each costs exactly one error)."""
    out = list(words)
    for i in rng.sample(range(len(out)), min(n_errors, len(out))):
        out[i] = "zulu"
    return out


def write_stm(path, refs: Dict[str, List[str]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(';; synthetic reference\n;; CATEGORY "0" "" ""\n')
        for utt, words in sorted(refs.items()):
            f.write(f"{utt} 1 spk{utt[-1]} 0.00 {0.5 * len(words) + 1:.2f} {' '.join(words)}\n")


def write_ctm(path, hyps: Dict[str, List[str]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for utt, words in sorted(hyps.items()):
            for i, w in enumerate(words):
                f.write(f"{utt} 1 {0.5 * i + 0.1:.2f} 0.30 {w}\n")


def score(tmp_dir, refs: Dict[str, List[str]], hyps: Dict[str, List[str]], name: str) -> str:
    """Run sclite on ``hyps`` against ``refs``; returns the report directory."""
    os.makedirs(tmp_dir, exist_ok=True)
    stm, ctm = os.path.join(tmp_dir, f"{name}.stm"), os.path.join(tmp_dir, f"{name}.ctm")
    write_stm(stm, refs)
    write_ctm(ctm, hyps)
    out = os.path.join(tmp_dir, f"{name}.reports")
    run_sclite(stm, ctm, out)
    return out
