"""Per-split corpus statistics with OOV rate and LM perplexity (CorpusStatisticsJob's computation),
hand-counted on small transcripts and a hand-written unigram ARPA model."""
import math

import pytest

from memristor_asr.data.lm import ArpaLm
from memristor_asr.data.manifest import Utterance
from memristor_asr.data.stats import split_statistics, split_statistics_table

ARPA = """\\data\\
ngram 1=4

\\1-grams:
-99 <s>
{a} a
{q} </s>
{q} <unk>

\\end\\
"""


def _utts(prefix, rows):
    return [Utterance(f"{prefix}{i}", f"/audio/{prefix}{i}.wav", dur, spk, orth)
            for i, (dur, spk, orth) in enumerate(rows)]


@pytest.fixture
def splits():
    return {"train": _utts("t", [(1800.0, "s1", "a a"), (1800.0, "s2", "a b"), (360.0, "s1", "c")]),
            "dev": _utts("d", [(36.0, "s3", "a a")])}


@pytest.fixture
def lm(tmp_path):
    p = tmp_path / "uni.arpa"
    p.write_text(ARPA.format(a=math.log10(0.5), q=math.log10(0.25)))
    return ArpaLm(str(p))


def test_counts_oov_and_perplexity_by_hand(splits, lm):
    st = split_statistics(splits, vocabulary={"a", "b"}, lm=lm)
    assert list(st) == ["dev", "train"]  # name order, whatever order the splits came in
    tr = st["train"]
    assert (tr["utterances"], tr["hours"], tr["speakers"], tr["running_words"], tr["vocabulary"]) == (3, 1.1, 2, 5, 3)
    assert tr["lexicon_oov"]["oov_tokens"] == 1 and tr["lexicon_oov"]["oov_rate"] == pytest.approx(1 / 5)
    assert tr["lexicon_oov"]["oov_words"] == ["c"]
    # dev "a a </s>": P = 0.5 * 0.5 * 0.25 = 1/16 over 3 tokens
    assert st["dev"]["lm"]["perplexity"] == pytest.approx(16 ** (1 / 3))
    assert st["dev"]["lexicon_oov"]["oov_rate"] == 0.0
    # train: a a </s> | a b(<unk>) </s> | c(<unk>) </s> = 0.5^3 * 0.25^5 over 8 tokens
    assert tr["lm"]["perplexity"] == pytest.approx((0.5 ** 3 * 0.25 ** 5) ** (-1 / 8))
    assert tr["lm"]["oov_words"] == 2


def test_without_lexicon_and_lm(splits):
    st = split_statistics(splits)
    assert "lexicon_oov" not in st["train"] and "lm" not in st["train"]
    table = split_statistics_table(st).splitlines()
    assert table[0].split() == ["split", "utts", "hours", "speakers", "words", "vocab", "OOV", "%", "LM", "ppl"]
    assert table[1].split() == ["dev", "1", "0.010", "1", "2", "1", "-", "-"]
    assert table[2].split() == ["train", "3", "1.100", "2", "5", "3", "-", "-"]


def test_table_columns_right_aligned(splits, lm):
    table = split_statistics_table(split_statistics(splits, {"a", "b"}, lm))
    lines = table.splitlines()
    assert table.endswith("\n") and len({len(line) for line in lines}) == 1
    assert lines[2].split()[-2:] == ["20.00", f"{(0.5 ** 3 * 0.25 ** 5) ** (-1 / 8):.1f}"]
    assert lines[1].split()[-2:] == ["0.00", f"{16 ** (1 / 3):.1f}"]
