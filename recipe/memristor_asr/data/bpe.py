"""SentencePiece BPE target units: the alternative to CMUdict phonemes.

A BPE model is trained on the training transcripts; every word then gets one "pronunciation",
its piece sequence, so the same ``lexicon.txt`` / ``tokens.txt`` files and the same lexicon
decoder serve both unit types. Pieces carry SentencePiece's word-start marker ``▁`` (U+2581),
which is how a BPE lexicon marks word boundaries. ``tokens.txt`` lists all pieces except the
control symbols ``<unk>``, ``<s>``, ``</s>`` (the CTC blank is added by the model at index 0).
Words whose encoding needs ``<unk>`` (a character never seen in training) are returned as OOV.
"""
import os
import tempfile
from typing import Dict, Iterable, List, Tuple

import sentencepiece as spm

__all__ = ["train_sentencepiece", "sentencepiece_lexicon"]


def train_sentencepiece(texts: Iterable[str], model_path: str, vocab_size: int, model_type: str = "bpe",
                        character_coverage: float = 1.0, seed: int = 1) -> None:
    """Train on ``texts`` (one sentence each) and write the model to ``model_path`` (``.model``).

    Deterministic for equal inputs: no sentence sampling, input order kept, one thread.
    """
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise ValueError("train_sentencepiece: no training text")
    out_dir = os.path.dirname(os.path.abspath(model_path))
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        txt = os.path.join(tmp, "train.txt")
        with open(txt, "w", encoding="utf-8") as f:
            f.write("\n".join(texts) + "\n")
        prefix = os.path.join(tmp, "spm")
        if hasattr(spm, "set_random_generator_seed"):
            spm.set_random_generator_seed(seed)
        spm.SentencePieceTrainer.train(
            input=txt, model_prefix=prefix, vocab_size=vocab_size, model_type=model_type,
            character_coverage=character_coverage, input_sentence_size=0, shuffle_input_sentence=False,
            num_threads=1, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2,
        )
        os.replace(prefix + ".model", model_path)


def sentencepiece_lexicon(model_path: str,
                          words: Iterable[str]) -> Tuple[Dict[str, List[List[str]]], List[str], List[str]]:
    """(word -> [pieces] lexicon, token inventory, OOV words) for ``words`` (sorted)."""
    sp = spm.SentencePieceProcessor(model_file=model_path)
    specials = {sp.id_to_piece(i) for i in range(sp.get_piece_size()) if sp.is_control(i) or sp.is_unknown(i)}
    tokens = [sp.id_to_piece(i) for i in range(sp.get_piece_size()) if sp.id_to_piece(i) not in specials]
    lexicon, oov = {}, []
    for w in sorted(set(words)):
        ids = sp.encode(w)
        if not ids or any(sp.is_unknown(i) for i in ids):
            oov.append(w)
            continue
        lexicon[w] = [[sp.id_to_piece(i) for i in ids]]
    return lexicon, tokens, oov
