"""sclite on hand-made STM/CTM pairs, the raw-report parser, in-process WER, draw statistics."""
import random
import statistics

import pytest

from memristor_asr.scoring.aggregate import aggregate_wers
from memristor_asr.scoring.ctm import CtmError, read_ctm
from memristor_asr.scoring.sclite import ScliteError, parse_sclite_raw, run_sclite
from memristor_asr.scoring.wer import align_words, corpus_errors, count_errors

STM = """;; hand-made reference
;; CATEGORY "0" "" ""
utt1 1 spk1 0.00 2.00 the cat sat on the mat
utt2 1 spk2 0.00 1.50 hello world
utt3 1 spk1 0.00 1.00 good morning
"""
# utt1: the=C cat->bat=S sat=C on=D the=C mat=C now=I; utt2: 2 C; utt3: no words = 2 D
# => N=10, C=6, S=1, D=3, I=1, errors 5, WER 50 %, 2 of 3 sentences with errors
CTM = """utt1 1 0.10 0.20 the
utt1 1 0.30 0.20 bat
utt1 1 0.50 0.20 sat
utt1 1 0.90 0.20 the
utt1 1 1.10 0.20 mat
utt1 1 1.30 0.20 now
utt2 1 0.10 0.30 hello
utt2 1 0.50 0.30 world
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "ref.stm").write_text(STM)
    (tmp_path / "hyp.ctm").write_text(CTM)
    return tmp_path


def test_sclite_hand_counted(files):
    res = run_sclite(str(files / "ref.stm"), str(files / "hyp.ctm"), str(files / "reports"))
    assert (res.ref_words, res.correct, res.substitutions, res.deletions, res.insertions) == (10, 6, 1, 3, 1)
    assert res.errors == 5 and res.sentences == 3 and res.sentence_errors == 2
    assert res.wer == pytest.approx(50.0)
    for ext in ("sys", "raw", "pra", "dtl"):
        assert (files / "reports" / f"sclite.{ext}").stat().st_size > 0
    assert "cat ==> bat" in (files / "reports" / "sclite.dtl").read_text()


def test_in_process_counts_match_hand_count():
    refs = {"utt1": "the cat sat on the mat".split(), "utt2": "hello world".split(), "utt3": "good morning".split()}
    hyps = {"utt1": "the bat sat the mat now".split(), "utt2": "HELLO world".split(), "utt3": []}
    c = corpus_errors(refs, hyps)
    assert (c.ref_words, c.correct, c.substitutions, c.deletions, c.insertions) == (10, 6, 1, 3, 1)
    assert c.sentence_errors == 2 and c.wer == pytest.approx(50.0)
    assert [op for op, _, _ in align_words(refs["utt1"], hyps["utt1"])] == ["C", "S", "C", "D", "C", "C", "I"]
    with pytest.raises(ValueError, match="1 missing"):
        corpus_errors(refs, {"utt1": [], "utt2": []})


def test_in_process_wer_matches_jiwer_on_random_text():
    jiwer = pytest.importorskip("jiwer")
    rng = random.Random(3)
    vocab = "a b c d e f g".split()
    for _ in range(50):
        ref = [rng.choice(vocab) for _ in range(rng.randint(1, 12))]
        hyp = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
        c = count_errors(ref, hyp)
        out = jiwer.process_words(" ".join(ref), " ".join(hyp) if hyp else "")
        assert c.errors == out.substitutions + out.deletions + out.insertions


def test_empty_hypothesis_scores_all_deletions(files):
    (files / "empty.ctm").write_text("")
    res = run_sclite(str(files / "ref.stm"), str(files / "empty.ctm"), str(files / "r2"))
    assert (res.deletions, res.errors, res.ref_words) == (10, 10, 10) and res.wer == pytest.approx(100.0)


def test_wrong_utterance_set_is_an_error(files):
    (files / "other.ctm").write_text("utt1 1 0.1 0.2 the\nuttX 1 0.1 0.2 foo\n")
    with pytest.raises(ValueError, match="different utterance sets"):
        run_sclite(str(files / "ref.stm"), str(files / "other.ctm"), str(files / "r3"))
    with pytest.raises(ValueError, match="utterance set differs"):
        run_sclite(str(files / "ref.stm"), str(files / "hyp.ctm"), str(files / "r4"), hyp_ids=["utt1", "utt2"])


def test_word_times_past_segment_end_are_kept(files):
    """A word whose frame time overshoots the reference end by a little still counts for its utterance."""
    (files / "late.ctm").write_text("utt2 1 0.10 0.30 hello\nutt2 1 1.48 0.08 world\n")
    res = run_sclite(str(files / "ref.stm"), str(files / "late.ctm"), str(files / "r5"))
    assert res.correct == 2 and res.insertions == 0


def test_parse_raw_report(tmp_path):
    raw = tmp_path / "x.raw"
    raw.write_text("""
        ,--------------------------------------------------------------.
        |                          hyp.ctm                             |
        |--------------------------------------------------------------|
        | SPKR | # Snt # Wrd | Corr    Sub    Del    Ins    Err  S.Err |
        |------+-------------+-----------------------------------------|
        | spk1 |    7     80 |   70      6      4      2     12      5 |
        |==============================================================|
        | Sum  |    9    100 |   88      7      5      3     15      6 |
        |==============================================================|
        | Mean |  4.5   50.0 | 44.0    3.5    2.5    1.5    7.5    3.0 |
""")
    r = parse_sclite_raw(str(raw))
    assert (r.sentences, r.ref_words, r.correct, r.substitutions, r.deletions, r.insertions, r.errors,
            r.sentence_errors) == (9, 100, 88, 7, 5, 3, 15, 6)
    assert r.wer == pytest.approx(15.0)
    raw.write_text("| SPKR | # Snt # Wrd | Corr Sub Del Ins Err S.Err |\n| Sum | 9 100 | 88 7 5 3 16 6 |\n")
    with pytest.raises(ScliteError, match="inconsistent"):
        parse_sclite_raw(str(raw))
    raw.write_text("nothing here\n")
    with pytest.raises(ScliteError, match="no 'Sum' row"):
        parse_sclite_raw(str(raw))


def test_ctm_errors_name_line(tmp_path):
    (tmp_path / "bad.ctm").write_text("utt1 1 0.1 0.2 the\nutt1 1 zero 0.2 cat\n")
    with pytest.raises(CtmError, match="bad.ctm:2"):
        read_ctm(str(tmp_path / "bad.ctm"))


def test_aggregate_statistics():
    values = [12.5, 14.0, 11.0, 13.5, 19.0]
    s = aggregate_wers(values)
    assert s.mean == pytest.approx(statistics.fmean(values))
    assert s.std == pytest.approx(statistics.pstdev(values))
    assert (s.min, s.max, s.count) == (11.0, 19.0, 5)
    assert aggregate_wers(values, ddof=1).std == pytest.approx(statistics.stdev(values))
    assert aggregate_wers([7.0]).std == 0.0
    with pytest.raises(ValueError, match="non-finite"):
        aggregate_wers([1.0, float("nan")])
    with pytest.raises(ValueError, match="no WER"):
        aggregate_wers([])
