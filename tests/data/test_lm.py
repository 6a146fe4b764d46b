"""LM text exclusion, KenLM estimation, ARPA perplexity (checked by hand and against flashlight's KenLM)."""
import math
import os

import pytest

from memristor_asr.data.bible import kjv_sentences
from memristor_asr.data.lm import (
    ArpaLm,
    KenLmError,
    assert_no_eval_sentences,
    build_binary,
    kenlm_binary,
    lm_text_excluding,
    train_arpa,
)

TINY_ARPA = """
\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-1.0\t<unk>
-99\t<s>\t-0.5
-0.5\t</s>
-0.6\ta\t-0.3
-0.8\tb\t-0.2

\\2-grams:
-0.2\t<s> a
-0.4\ta b
-0.1\tb </s>

\\end\\
"""


def need_kenlm():
    try:
        kenlm_binary("lmplz")
        kenlm_binary("build_binary")
    except KenLmError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))


def test_arpa_backoff_by_hand(tmp_path):
    p = tmp_path / "tiny.arpa"
    p.write_text(TINY_ARPA)
    lm = ArpaLm(str(p))
    assert lm.order == 2 and lm.counts == {1: 5, 2: 3}
    # <s> a b </s>: all bigrams exist
    total, per = lm.sentence_log10_prob(["a", "b"])
    assert per == pytest.approx([-0.2, -0.4, -0.1])
    # <s> b a </s>: b|<s> backs off (bo(<s>) + p(b)), a|b backs off (bo(b) + p(a)), </s>|a (bo(a) + p(</s>))
    _, per = lm.sentence_log10_prob(["b", "a"])
    assert per == pytest.approx([-0.5 - 0.8, -0.2 - 0.6, -0.3 - 0.5])
    # an unknown word scores as <unk> and is counted
    st = lm.perplexity(["a zebra"])
    expected = [-0.2, -0.3 - 1.0, 0.0 - 0.5]  # zebra -> <unk> (after a: bo(a) + p(<unk>)), </s>|<unk> = p(</s>)
    assert st["oov_words"] == 1 and st["tokens_scored"] == 3
    assert st["perplexity"] == pytest.approx(10 ** (-sum(expected) / 3))
    assert st["perplexity_excluding_oov"] == pytest.approx(10 ** (-(expected[0] + expected[2]) / 2))


def test_arpa_errors(tmp_path):
    p = tmp_path / "bad.arpa"
    p.write_text(TINY_ARPA.replace("ngram 2=3", "ngram 2=4"))
    with pytest.raises(ValueError, match="header says 4 2-grams, file has 3"):
        ArpaLm(str(p))
    p.write_text(TINY_ARPA.replace("-0.4\ta b\n", "-0.4\ta\n"))
    with pytest.raises(ValueError, match=r"bad.arpa:\d+: expected 2 words"):
        ArpaLm(str(p))
    with pytest.raises(FileNotFoundError):
        ArpaLm(str(tmp_path / "missing.arpa"))


def test_lm_text_exclusion(tmp_path):
    lines, dropped = lm_text_excluding(["a b c", "d e", "a  b c", "f"], {"a b c"})
    assert lines == ["d e", "f"] and dropped == 2
    p = tmp_path / "lm.txt"
    p.write_text("d e\nf\n")
    assert_no_eval_sentences(str(p), {"a b c"})
    p.write_text("d e\na b c\n")
    with pytest.raises(AssertionError, match=r"lm.txt:2: evaluation sentence 'a b c'"):
        assert_no_eval_sentences(str(p), {"a b c"})


def test_kenlm_binary_lookup(tmp_path, monkeypatch):
    fake = tmp_path / "lmplz"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("MEMRISTOR_ASR_TOOLS_BIN", str(tmp_path))
    assert kenlm_binary("lmplz") == str(fake)
    (tmp_path / "text.txt").write_text("a b\n")
    with pytest.raises(KenLmError, match="failed \\(rc=3\\)"):
        train_arpa(str(tmp_path / "text.txt"), str(tmp_path / "lm.arpa"))
    assert not (tmp_path / "lm.arpa").exists()
    with pytest.raises(KenLmError, match="missing or empty"):
        train_arpa(str(tmp_path / "none.txt"), str(tmp_path / "lm.arpa"))


def test_kenlm_4gram_matches_flashlight(tmp_path):
    need_kenlm()
    sents = [s.text for s in kjv_sentences()]
    held_out = sents[1000:1040]
    train, _ = lm_text_excluding(sents[:20000], set(held_out))
    text = tmp_path / "lm.txt"
    text.write_text("\n".join(train) + "\n")
    arpa, binary = tmp_path / "lm.arpa", tmp_path / "lm.bin"
    train_arpa(str(text), str(arpa), order=4, memory="200M", tmp_dir=str(tmp_path / "tmp"))
    build_binary(str(arpa), str(binary))
    lm = ArpaLm(str(arpa))
    assert lm.order == 4 and lm.counts[4] > 10000
    st = lm.perplexity(held_out)
    assert 20 < st["perplexity"] < 1000  # a real 4-gram on held-out verses
    assert lm.perplexity(train[:40])["perplexity"] < st["perplexity"]  # training text is easier
    from flashlight.lib.text.decoder.kenlm import KenLM
    from flashlight.lib.text.dictionary import Dictionary

    d = Dictionary()
    for w in sorted(lm.vocabulary):
        d.add_entry(w)
    d.set_default_index(d.get_index("<unk>"))
    klm = KenLM(str(binary), d)
    for s in held_out:
        state, total = klm.start(False), 0.0
        for w in s.split():
            state, score = klm.score(state, d.get_index(w))
            total += score
        state, score = klm.finish(state)
        mine, _ = lm.sentence_log10_prob(s.split())
        assert mine == pytest.approx(total + score, abs=1e-4)


def test_tiny_text_needs_discount_fallback(tmp_path):
    need_kenlm()
    text = tmp_path / "t.txt"
    text.write_text("a b c\nb c d\n")
    with pytest.raises(KenLmError, match="discount_fallback"):
        train_arpa(str(text), str(tmp_path / "x.arpa"), order=3, memory="50M")
    train_arpa(str(text), str(tmp_path / "x.arpa"), order=3, memory="50M", discount_fallback=True)
    assert math.isfinite(ArpaLm(str(tmp_path / "x.arpa")).perplexity(["a b c"])["perplexity"])
