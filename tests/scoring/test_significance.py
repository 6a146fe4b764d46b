"""Per-utterance errors from real sclite reports, and the paired two-level bootstrap comparison."""
import random
import shutil

import numpy as np
import pytest

from memristor_asr.scoring.sclite import ScliteError, parse_sclite_raw, run_sclite
from memristor_asr.scoring.significance import compare_wer, read_utterance_errors
from sclite_synth import corrupt, make_refs, score

STM = """;; hand-made reference
;; CATEGORY "0" "" ""
utt1 1 spk1 0.00 2.00 the cat sat on the mat
utt2 1 spk2 0.00 1.50 hello world
utt3 1 spk1 0.00 1.00 good morning
rec4 1 spk3 0.00 1.00 one two three
rec4 1 spk3 1.00 2.00 four five
"""
# utt1: S + D + I = 3 of 6; utt2: 0 of 2; utt3: 2 D of 2; rec4 seg 1: "three" missing (1 D of 3), seg 2: 0 of 2
CTM = """utt1 1 0.10 0.20 the
utt1 1 0.30 0.20 bat
utt1 1 0.50 0.20 sat
utt1 1 0.90 0.20 the
utt1 1 1.10 0.20 mat
utt1 1 1.30 0.20 now
utt2 1 0.10 0.30 hello
utt2 1 0.50 0.30 world
rec4 1 0.10 0.20 one
rec4 1 0.40 0.20 two
rec4 1 1.10 0.20 four
rec4 1 1.50 0.20 five
"""


@pytest.fixture
def hand_report(tmp_path):
    (tmp_path / "ref.stm").write_text(STM)
    (tmp_path / "hyp.ctm").write_text(CTM)
    out = tmp_path / "reports"
    run_sclite(str(tmp_path / "ref.stm"), str(tmp_path / "hyp.ctm"), str(out))
    return out


def test_hand_counted_utterances(hand_report):
    errs = read_utterance_errors(str(hand_report))
    # a recording with several segments is named by recording/sclite segment id
    seg_ids = sorted(k for k in errs if k.startswith("rec4/"))
    assert len(seg_ids) == 2
    assert {k: v for k, v in errs.items() if not k.startswith("rec4/")} == {
        "utt1": (3, 6), "utt2": (0, 2), "utt3": (2, 2)}
    assert sorted(errs[k] for k in seg_ids) == [(0, 2), (1, 3)]
    raw = parse_sclite_raw(str(hand_report / "sclite.raw"))
    assert sum(e for e, _ in errs.values()) == raw.errors == 6
    assert sum(n for _, n in errs.values()) == raw.ref_words == 15
    assert read_utterance_errors(str(hand_report / "sclite.pra")) == errs


def test_sums_match_raw_on_random_hypotheses(tmp_path):
    rng = random.Random(5)
    refs = make_refs(40, seed=1)
    hyps = {}
    for u, w in refs.items():
        h = corrupt(w, rng.randint(0, 3), rng)
        if rng.random() < 0.2:
            h = h[1:]  # a deletion
        if rng.random() < 0.2:
            h = h + ["yankee"]  # an insertion
        hyps[u] = h
    hyps["utt007"] = []  # no words at all: all deletions
    rep = score(tmp_path, refs, hyps, "rand")
    errs = read_utterance_errors(rep)
    raw = parse_sclite_raw(f"{rep}/sclite.raw")
    assert sorted(errs) == sorted(refs)
    assert {u: n for u, (_, n) in errs.items()} == {u: len(w) for u, w in refs.items()}
    assert errs["utt007"] == (len(refs["utt007"]), len(refs["utt007"]))
    assert sum(e for e, _ in errs.values()) == raw.errors > 0
    assert sum(n for _, n in errs.values()) == raw.ref_words


def test_malformed_reports_name_file_and_line(hand_report, tmp_path):
    lines = (hand_report / "sclite.pra").read_text().splitlines(keepends=True)
    f = lines.index("File: utt1\n")
    i = next(k for k, line in enumerate(lines) if k > f and line.startswith("Scores:"))
    bad = tmp_path / "bad.pra"
    bad.write_text("".join(lines[:i] + ["Scores: (#C #S #D #I) 4 x 1 1\n"] + lines[i + 1:]))
    with pytest.raises(ScliteError, match=rf"bad\.pra:{i + 1}: malformed scores line"):
        read_utterance_errors(str(bad))
    bad.write_text("".join(lines[:i] + lines[i + 1:]))
    with pytest.raises(ScliteError, match=r"bad\.pra:\d+: alignment block without a 'Scores:' line"):
        read_utterance_errors(str(bad))
    # consistent-looking but different counts: caught against the .raw beside the .pra
    tampered = tmp_path / "tampered"
    shutil.copytree(hand_report, tampered)
    (tampered / "sclite.pra").write_text("".join(lines[:i] + ["Scores: (#C #S #D #I) 4 1 1 2\n"] + lines[i + 1:]))
    with pytest.raises(ScliteError, match="differ from the Sum row"):
        read_utterance_errors(str(tampered))
    assert read_utterance_errors(str(tampered), check_raw=False)["utt1"] == (4, 6)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScliteError, match="expected sclite.pra"):
        read_utterance_errors(str(tmp_path / "empty"))


def _sim(rng, words, p, draw_factors):
    """One {utt: (errors, words)} per draw; draw d has error rate p[u] * draw_factors[d]."""
    utts = [f"u{i}" for i in range(len(words))]
    return [{u: (int(rng.binomial(n, min(1.0, pu * g))), int(n)) for u, n, pu in zip(utts, words, p)}
            for g in draw_factors]


def _base(rng, n_utts=200):
    words = rng.integers(5, 25, n_utts)
    p = rng.beta(2, 14, n_utts)  # utterance difficulty, mean ~ 12 %
    return words, p


def test_identical_systems_not_significant():
    rng = np.random.default_rng(0)
    words, p = _base(rng)
    a = _sim(rng, words, p, [1.0] * 5)
    c = compare_wer(a, a, n_resamples=2000)
    assert c.abs_diff == 0 and c.abs_ci[0] <= 0 <= c.abs_ci[1] and not c.significant and c.p_value == 1.0
    assert c.draws_paired and c.n_utterances == 200 and len(c.a_draw_wers) == 5


def test_clearly_worse_system_is_significant_with_right_sign():
    rng = np.random.default_rng(1)
    words, p = _base(rng)
    good = _sim(rng, words, p, [1.0, 1.05, 0.95, 1.0])
    bad = [{u: (min(n, e + (1 if i % 2 == 0 else 0)), n) for i, (u, (e, n)) in enumerate(sorted(d.items()))}
           for d in good]  # one more error on every second utterance
    c = compare_wer(bad, good, n_resamples=2000)
    assert c.significant and c.abs_ci[0] > 0 and c.rel_ci[0] > 0 and c.p_value < 0.01
    assert c.abs_diff == pytest.approx(np.mean(c.a_draw_wers) - np.mean(c.b_draw_wers))
    r = compare_wer(good, bad, n_resamples=2000)
    assert r.significant and r.abs_ci[1] < 0 and r.abs_diff == pytest.approx(-c.abs_diff)
    # a single-draw (digital) side: draws of the other side resampled alone
    d = compare_wer(bad, good[:1], n_resamples=2000)
    assert not d.draws_paired and d.resampled_draws and d.significant and d.abs_ci[0] > 0


def test_draw_spread_widens_the_interval():
    rng = np.random.default_rng(2)
    words, p = _base(rng)
    b = _sim(rng, words, p, [1.0] * 6)
    a = _sim(rng, words, p, [0.6, 1.9, 0.6, 1.9, 0.6, 1.9])  # wildly alternating device draws
    both = compare_wer(a, b, n_resamples=3000)
    utt_only = compare_wer(a, b, n_resamples=3000, resample_draws=False)
    assert not utt_only.resampled_draws and both.resampled_draws
    assert both.abs_width > 2 * utt_only.abs_width
    assert utt_only.abs_diff == both.abs_diff


def test_paired_draws_cancel_shared_device_variation():
    """Same device seeds on both sides (draw i shares a factor): pairing by index gives a narrower
    interval than the same draws in another order, where the shared factor no longer lines up."""
    rng = np.random.default_rng(3)
    words, p = _base(rng)
    g = [0.5, 1.6, 0.8, 1.3, 0.6, 1.5, 1.0, 0.7]
    a = _sim(rng, words, p * 1.2, g)
    b = _sim(rng, words, p, g)
    paired = compare_wer(a, b, n_resamples=3000)
    shuffled = compare_wer(a, [b[i] for i in (3, 0, 5, 1, 7, 2, 6, 4)], n_resamples=3000)
    assert paired.draws_paired and paired.abs_diff == pytest.approx(shuffled.abs_diff)
    assert paired.abs_width < 0.8 * shuffled.abs_width


def test_deterministic_given_seed():
    rng = np.random.default_rng(4)
    words, p = _base(rng, 60)
    a, b = _sim(rng, words, p, [1.0, 1.2, 0.8]), _sim(rng, words, p * 1.1, [1.0, 1.2, 0.8])
    assert compare_wer(a, b, n_resamples=500, seed=7) == compare_wer(a, b, n_resamples=500, seed=7)
    assert compare_wer(a, b, n_resamples=500, seed=7).abs_ci != compare_wer(a, b, n_resamples=500, seed=8).abs_ci


def test_mismatched_utterance_sets_are_errors():
    a = [{"u1": (1, 5), "u2": (0, 3), "u3": (2, 4)}]
    with pytest.raises(ValueError, match=r"side b draw 0 .*1 missing \(e.g. \['u3'\]\)"):
        compare_wer(a, [{"u1": (1, 5), "u2": (0, 3)}])
    with pytest.raises(ValueError, match=r"side a draw 1 .*1 extra \(e.g. \['u9'\]\)"):
        compare_wer(a + [{"u1": (1, 5), "u2": (0, 3), "u3": (2, 4), "u9": (0, 1)}], a)
    with pytest.raises(ValueError, match="reference word counts differ .*'u2'"):
        compare_wer(a, [{"u1": (1, 5), "u2": (0, 4), "u3": (2, 4)}])
    with pytest.raises(ValueError, match="at least one draw"):
        compare_wer(a, [])


def test_false_positive_rate_on_null_data():
    """100 datasets where a and b come from the same distribution (40 utterances of random difficulty,
    5 device draws each with a 20 % spread): the 95 % interval must exclude 0 rarely (nominally 5 %;
    the crossed bootstrap is a little conservative)."""
    rng = np.random.default_rng(11)
    false_pos = 0
    for k in range(100):
        words, p = _base(rng, 40)
        ga, gb = rng.lognormal(0, 0.2, 5), rng.lognormal(0, 0.2, 5)
        c = compare_wer(_sim(rng, words, p, ga), _sim(rng, words, p, gb), n_resamples=999, seed=k)
        false_pos += c.significant
    assert false_pos <= 10


def test_on_real_sclite_reports(tmp_path):
    rng = random.Random(9)
    refs = make_refs(30, seed=2)
    dirs = {}
    for side, n_err in (("a", 2), ("b", 0)):
        for d in range(3):
            hyps = {u: corrupt(w, rng.randint(0, n_err) + (1 if d == 1 and side == "b" else 0), rng)
                    for u, w in refs.items()}
            dirs[(side, d)] = score(tmp_path, refs, hyps, f"{side}{d}")
    a = [read_utterance_errors(dirs[("a", d)]) for d in range(3)]
    b = [read_utterance_errors(dirs[("b", d)]) for d in range(3)]
    c = compare_wer(a, b, n_resamples=1000)
    raw_wers = {k: parse_sclite_raw(f"{v}/sclite.raw").wer for k, v in dirs.items()}
    assert c.a_draw_wers == pytest.approx([raw_wers[("a", d)] for d in range(3)])
    assert c.b_draw_wers == pytest.approx([raw_wers[("b", d)] for d in range(3)])
    assert c.b_draw_wers[0] == 0 and c.significant and c.abs_ci[0] > 0


def test_reference_system_without_errors():
    a = [{f"u{i}": (i % 3, 10) for i in range(30)}] * 2
    perfect = [{f"u{i}": (0, 10) for i in range(30)}] * 2
    c = compare_wer(a, perfect, n_resamples=1000)
    assert c.b_wer == 0 and c.significant and c.abs_ci[0] > 0
    assert np.isnan(c.rel_diff) and np.all(np.isnan(c.rel_ci)) and "n/a rel" in c.describe()
    assert c.to_dict()["rel_ci"] == [None, None]
    # b has errors in one utterance only: many replicates leave it out, the relative upper bound is infinite
    rare = [{f"u{i}": (1 if i == 0 else 0, 10) for i in range(30)}] * 2
    r = compare_wer(a, rare, n_resamples=1000)
    assert r.rel_ci[1] == float("inf") and np.isfinite(r.rel_ci[0]) and r.to_dict()["rel_ci"][1] == "inf"
