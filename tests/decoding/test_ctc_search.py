"""Flashlight lexicon search with a real KenLM 4-gram on synthetic CTC emissions."""
import numpy as np
import pytest
import torch

from decoding_fixtures import spell
from memristor_asr.data.lexicon import LexiconError, read_lexicon
from memristor_asr.decoding.ctc_search import CtcSearch, collapse_units, units_to_words
from memristor_asr.decoding.hypothesis import read_hypothesis_text, write_hypothesis_ctm, write_hypothesis_text
from memristor_asr.decoding.logprobs import CtcLogProbs
from memristor_asr.decoding.recognize import recognize
from memristor_asr.decoding.search_config import SearchConfigV1
from memristor_asr.scoring.ctm import read_ctm


def _search(tiny_lexicon, tiny_lm, **cfg):
    lexicon_path, _, vocab = tiny_lexicon
    return CtcSearch(vocab, SearchConfigV1(**cfg), read_lexicon(str(lexicon_path)), str(tiny_lm))


@pytest.mark.parametrize("frames_per_unit", [1, 2])
def test_lexicon_search_returns_spelled_sentence(tiny_lexicon, tiny_lm, frames_per_unit):
    lexicon_path, _, vocab = tiny_lexicon
    lex = read_lexicon(str(lexicon_path))
    sentence = "a black cat sat on the red mat".split()
    em = spell(sentence, lex, vocab, frames_per_unit=frames_per_unit, blanks_between=1)
    hyp = _search(tiny_lexicon, tiny_lm).decode(em)
    assert hyp.words == sentence
    # word spans: ordered, non-overlapping, inside the utterance
    assert all(s < e for s, e in hyp.frames)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(hyp.frames, hyp.frames[1:]))
    assert hyp.frames[-1][1] <= em.shape[0]
    # the first word ("a" = AH) starts where its unit's peak starts: frame 1 after the leading blank
    assert hyp.frames[0][0] == 1
    assert hyp.units == [u for w in sentence for u in lex[w][0]]


def test_word_end_on_blank_scores_repeated_last_unit_exactly(tiny_lexicon, tiny_lm):
    """Last units spanning 3 frames: with end_words_on_blank the path's acoustic score is the
    arg-max path's (every frame scored as spelled); without it each word's repeats are scored as blank."""
    lexicon_path, _, vocab = tiny_lexicon
    lex = read_lexicon(str(lexicon_path))
    sentence = "the dog sat on the log".split()
    em = spell(sentence, lex, vocab, frames_per_unit=3, blanks_between=1)
    best_path = float(em.max(axis=1).sum())
    exact = _search(tiny_lexicon, tiny_lm).decode(em)
    assert exact.words == sentence
    assert exact.am_score == pytest.approx(best_path, abs=1e-3)
    legacy = _search(tiny_lexicon, tiny_lm, end_words_on_blank=False).decode(em)
    # six words, each with two repeat frames of its last unit scored as blank (about -8 each)
    assert legacy.am_score < best_path - 6 * 2 * 5.0


def test_lm_picks_homophone(tiny_lexicon, tiny_lm):
    """"there" and "their" are both DH EH R: only the LM ("sat there" in its text) can decide."""
    lexicon_path, _, vocab = tiny_lexicon
    lex = read_lexicon(str(lexicon_path))
    assert lex["there"][0] == lex["their"][0]
    em = spell("the cat sat there".split(), lex, vocab)
    assert _search(tiny_lexicon, tiny_lm, lm_weight=2.0).decode(em).words == "the cat sat there".split()


def test_word_score_controls_deletions(tiny_lexicon, tiny_lm):
    lexicon_path, _, vocab = tiny_lexicon
    lex = read_lexicon(str(lexicon_path))
    em = spell("the dog sat on the log".split(), lex, vocab)
    search = _search(tiny_lexicon, tiny_lm)
    assert search.decode(em).words == "the dog sat on the log".split()
    # a huge per-word penalty makes emitting no word at all the best path
    assert len(search.decode(em, word_score=-200.0).words) < 6


def test_zero_frame_and_greedy_and_lexicon_free(tiny_lexicon, tiny_lm):
    lexicon_path, _, vocab = tiny_lexicon
    lex = read_lexicon(str(lexicon_path))
    empty = np.zeros((0, len(vocab)), dtype=np.float32)
    assert _search(tiny_lexicon, tiny_lm).decode(empty).words == []
    em = spell("put it there".split(), lex, vocab, frames_per_unit=2)
    phones = [u for w in "put it there".split() for u in lex[w][0]]
    for mode in ("greedy", "lexicon_free"):
        hyp = CtcSearch(vocab, SearchConfigV1(mode=mode)).decode(em)
        assert hyp.units == phones and hyp.words == phones
        assert hyp.frames[0] == (1, 3)  # two frames per unit after one blank
        assert CtcSearch(vocab, SearchConfigV1(mode=mode)).decode(empty).words == []


def test_collapse_and_word_pieces():
    # 1 1 0 1 2 2 -> units 1 (0-2), 1 (3-4), 2 (4-6)
    assert collapse_units([1, 1, 0, 1, 2, 2], skip={0}) == [(1, 0, 2), (1, 3, 4), (2, 4, 6)]
    words, frames = units_to_words(["\u2581he", "llo", "\u2581wor", "ld"], [(0, 1), (2, 3), (5, 6), (7, 9)])
    assert words == ["hello", "world"] and frames == [(0, 3), (5, 9)]


def test_bpe_lexicon_search(tmp_path, tiny_lm):
    """The same search works when the lexicon spells words in SentencePiece-like pieces."""
    from memristor_asr.data.lexicon import write_lexicon

    lex = {"the": [["\u2581the"]], "cat": [["\u2581c", "at"]], "sat": [["\u2581s", "at"]], "mat": [["\u2581m", "at"]],
           "on": [["\u2581on"]], "dog": [["\u2581do", "g"]]}
    vocab = ["<blank>", "\u2581the", "\u2581c", "at", "\u2581s", "\u2581m", "\u2581on", "\u2581do", "g"]
    write_lexicon(str(tmp_path / "bpe.lex"), lex)
    em = spell("the cat sat on the mat".split(), lex, vocab)
    hyp = CtcSearch(vocab, SearchConfigV1(), lex, str(tiny_lm)).decode(em)
    assert hyp.words == "the cat sat on the mat".split()
    assert CtcSearch(vocab, SearchConfigV1(mode="greedy")).decode(em).words == hyp.words


def test_validation_errors(tmp_path, tiny_lexicon, tiny_lm):
    lexicon_path, tokens_path, vocab = tiny_lexicon
    lp = CtcLogProbs(vocab, 0.04, {"u1": torch.zeros(3, len(vocab)).log_softmax(-1)})
    with pytest.raises(FileNotFoundError, match="missing.bin"):
        recognize(lp, SearchConfigV1(), str(lexicon_path), str(tmp_path / "missing.bin"), progress=False)
    with pytest.raises(LexiconError, match="does not exist"):
        recognize(lp, SearchConfigV1(), str(tmp_path / "nolex.txt"), str(tiny_lm), progress=False)
    bad = tmp_path / "bad.lex"
    bad.write_text("cat\tK AE T\ndog\tD AO XX G\n")
    with pytest.raises(LexiconError, match=r"bad.lex:2: word 'dog' uses unit\(s\) \['XX'\]"):
        recognize(lp, SearchConfigV1(), str(bad), str(tiny_lm), progress=False)
    wrong_tokens = tmp_path / "tokens.txt"
    wrong_tokens.write_text("\n".join(reversed(vocab[1:])) + "\n")
    with pytest.raises(LexiconError, match="tokens.txt:1"):
        recognize(lp, SearchConfigV1(), str(lexicon_path), str(tiny_lm), str(wrong_tokens), progress=False)
    not_lm = tmp_path / "not_an_lm.arpa"
    not_lm.write_text("hello\n")
    with pytest.raises(ValueError, match="cannot load KenLM"):
        recognize(lp, SearchConfigV1(), str(lexicon_path), str(not_lm), progress=False)
    with pytest.raises(ValueError, match="sil_score"):
        SearchConfigV1(sil_score=-1.0)


def test_recognize_parallel_outputs(tmp_path, tiny_lexicon, tiny_lm):
    lexicon_path, tokens_path, vocab = tiny_lexicon
    lex = read_lexicon(str(lexicon_path))
    sentences = {f"utt{i}": s.split() for i, s in enumerate(["the cat sat on the mat", "put it there",
                                                               "the red cat and the black dog", "a dog sat there"])}
    utts = {uid: torch.from_numpy(spell(ws, lex, vocab, seed=i)) for i, (uid, ws) in enumerate(sentences.items())}
    utts["empty"] = torch.zeros(0, len(vocab))
    lp = CtcLogProbs(vocab, 0.04, utts)
    serial, stats = recognize(lp, SearchConfigV1(), str(lexicon_path), str(tiny_lm), str(tokens_path), progress=False)
    parallel, _ = recognize(lp, SearchConfigV1(), str(lexicon_path), str(tiny_lm), str(tokens_path), num_workers=2,
                            progress=False)
    assert list(parallel) == list(utts)  # file order kept
    assert {k: v.words for k, v in parallel.items()} == {k: v.words for k, v in serial.items()}
    assert {k: v.words for k, v in serial.items()} == {**sentences, "empty": []}
    assert stats.frames == sum(t.shape[0] for t in utts.values())
    write_hypothesis_text(str(tmp_path / "hyp.txt"), serial)
    write_hypothesis_ctm(str(tmp_path / "hyp.ctm"), serial, lp.frame_shift)
    assert read_hypothesis_text(str(tmp_path / "hyp.txt")) == {**sentences, "empty": []}
    ctm = read_ctm(str(tmp_path / "hyp.ctm"))
    assert [w.word for w in ctm if w.recording == "utt1"] == ["put", "it", "there"]
    first = next(w for w in ctm if w.recording == "utt1")
    s, e = serial["utt1"].frames[0]
    assert first.start == pytest.approx(s * 0.04, abs=1e-3)
    assert first.duration == pytest.approx((e - s) * 0.04, abs=1e-3)


def test_lexicon_free_with_unit_lm(tmp_path, tiny_lexicon):
    """Lexicon-free search with a phoneme 4-gram: an ambiguous frame is resolved towards the LM's phone string."""
    from decoding_fixtures import LM_TEXT, kenlm_available, train_lm

    if not kenlm_available():
        pytest.skip("KenLM not built")
    lexicon_path, _, vocab = tiny_lexicon
    lex = read_lexicon(str(lexicon_path))
    phone_text = [" ".join(u for w in s.split() for u in lex[w][0]) for s in LM_TEXT]
    lm = train_lm(tmp_path, phone_text)
    em = spell("the cat sat on the mat".split(), lex, vocab)
    phones = [u for w in "the cat sat on the mat".split() for u in lex[w][0]]
    # blur the frame of the first "AE" (in "cat") between AE and EH, EH slightly ahead
    t = 1 + 2 * 2 + 2  # blank, DH blank AH blank, K blank -> AE
    assert em[t].argmax() == vocab.index("AE")
    em[t, vocab.index("EH")] = em[t, vocab.index("AE")] + 0.3
    assert CtcSearch(vocab, SearchConfigV1(mode="greedy")).decode(em).units[3] == "EH"
    free = CtcSearch(vocab, SearchConfigV1(mode="lexicon_free", lm_weight=1.0), lm_path=str(lm)).decode(em)
    assert free.units == phones
