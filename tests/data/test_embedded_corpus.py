"""The embedded corpus: sentence/voice disjointness, determinism, real synthesis of the miniature preset."""
import dataclasses

import numpy as np
import pytest
import soundfile

from memristor_asr.data.cmu_lexicon import cmudict_pronunciations
from memristor_asr.data.embedded import (
    EmbeddedCorpusConfigV1,
    build_embedded_corpus,
    embedded_corpus_preset,
    make_speakers,
    plan_embedded_corpus,
    select_sentences,
)
from memristor_asr.data.manifest import read_manifest, write_manifest
from memristor_asr.data.synthesis import SpeakerV1, SynthesisError, SynthesisRequest, synthesize


def test_selection_is_disjoint_and_clean():
    cfg = dataclasses.replace(embedded_corpus_preset("default"), num_train=2000, num_dev=200, num_test=200)
    sel, stats = select_sentences(cfg)
    texts = {s: {x.text for x in sel[s]} for s in sel}
    assert [len(texts[s]) for s in ("train", "dev", "test")] == [2000, 200, 200]  # unique within a split
    assert not texts["train"] & texts["dev"] and not texts["train"] & texts["test"] and not texts["dev"] & texts["test"]
    cmu = cmudict_pronunciations()
    for split in sel.values():
        for s in split:
            words = s.text.split()
            assert cfg.min_words <= len(words) <= cfg.max_words
            assert all(w in cmu for w in words)
    assert stats["candidates"] > 9000 and stats["rejected_oov"] > 0 and stats["duplicates"] > 0
    # same config, same choice; another seed, another choice
    assert select_sentences(cfg)[0]["test"] == sel["test"]
    assert select_sentences(dataclasses.replace(cfg, seed=2))[0]["test"] != sel["test"]


def test_speakers_disjoint_between_train_and_eval():
    cfg = embedded_corpus_preset("default")
    spk = make_speakers(cfg)
    variants = {s: {x.voice.split("+")[1] for x in spk[s] if x.engine == "espeak"} for s in spk}
    assert not variants["train"] & (variants["dev"] | variants["test"])
    assert not variants["dev"] & variants["test"]
    assert len({x.id for x in spk["train"]}) == cfg.speakers_train + len(cfg.festival_train_voices)
    assert all(cfg.rate_range_wpm[0] <= x.rate_wpm <= cfg.rate_range_wpm[1] for x in spk["train"])
    with pytest.raises(ValueError, match="in train and dev/test"):
        EmbeddedCorpusConfigV1(dev_variants=("m1",))


def test_plan_is_deterministic(tmp_path):
    cfg = embedded_corpus_preset("miniature")
    a = plan_embedded_corpus(cfg, str(tmp_path))
    b = plan_embedded_corpus(cfg, str(tmp_path))
    assert a == b
    train_spk = {p.request.speaker.id for p in a["train"]}
    assert not train_spk & {p.request.speaker.id for p in a["test"] + a["dev"]}
    assert all(cfg.speed_range[0] <= p.request.speed <= cfg.speed_range[1] for s in a.values() for p in s)


def test_too_many_sentences_requested():
    cfg = EmbeddedCorpusConfigV1(num_train=10**6)
    with pytest.raises(ValueError, match="only .* qualify"):
        select_sentences(cfg)


def test_build_miniature_corpus(tmp_path):
    cfg = embedded_corpus_preset("miniature")
    lines = []
    manifests, stats = build_embedded_corpus(cfg, str(tmp_path / "audio"), num_workers=2, sink=lines.append)
    sizes = {s: len(u) for s, u in manifests.items()}
    assert sizes == {"train": cfg.num_train, "dev": cfg.num_dev, "test": cfg.num_test}
    assert any("synthesis:" in line and "ETA" in line for line in lines)
    for split, utts in manifests.items():
        write_manifest(str(tmp_path / f"{split}.jsonl"), utts)
        back = read_manifest(str(tmp_path / f"{split}.jsonl"))
        assert [u.id for u in back] == [u.id for u in utts]
        for u in back:
            info = soundfile.info(u.audio)
            assert info.samplerate == 16000 and info.channels == 1
            assert abs(info.duration - u.duration) < 1e-3
            # a few words of speech: between 0.3 s per word and 1.5 s per word
            n = len(u.orth.split())
            assert 0.2 * n < u.duration < 1.5 * n + 1.0
            audio, _ = soundfile.read(u.audio, dtype="float32")
            assert np.abs(audio).max() <= 0.951 and np.sqrt(np.mean(audio ** 2)) > 0.01
    train_spk = {u.speaker for u in manifests["train"]}
    assert "festival_kal_diphone" in train_spk
    assert not train_spk & {u.speaker for u in manifests["dev"] + manifests["test"]}
    assert stats["splits"]["train"]["utterances"] == cfg.num_train
    assert stats["splits"]["test"]["hours"] > 0
    # resuming keeps existing files untouched
    first = manifests["train"][0].audio
    mtime = (tmp_path / "audio" / "train" / f"{manifests['train'][0].id}.wav").stat().st_mtime_ns
    build_embedded_corpus(cfg, str(tmp_path / "audio"), num_workers=1, skip_existing=True)
    assert (tmp_path / "audio" / "train" / f"{manifests['train'][0].id}.wav").stat().st_mtime_ns == mtime
    assert first.startswith(str(tmp_path))


def test_noise_at_requested_snr(tmp_path):
    spk = SpeakerV1("s", "espeak", "en-us+m3", 170, 50)
    clean = tmp_path / "clean.wav"
    noisy = tmp_path / "noisy.wav"
    synthesize(SynthesisRequest("c", "the lord is my shepherd", spk, str(clean), seed=3))
    synthesize(SynthesisRequest("n", "the lord is my shepherd", spk, str(noisy), snr_db=10.0, seed=3))
    a, _ = soundfile.read(clean, dtype="float64")
    b, _ = soundfile.read(noisy, dtype="float64")
    assert len(a) == len(b)
    # the peak limiter may have scaled the noisy version; undo it by least squares before comparing
    g = float(a @ b / (a @ a))
    noise = b / g - a
    frames = a[: len(a) // 400 * 400].reshape(-1, 400)
    p = (frames ** 2).mean(1)
    speech_power = p[p > p.max() * 1e-4].mean()
    snr = 10 * np.log10(speech_power / np.mean(noise ** 2))
    assert abs(snr - 10.0) < 1.0


def test_synthesis_errors_name_the_utterance(tmp_path):
    with pytest.raises(SynthesisError, match=r"utterance 'u7'.*no-such-voice"):
        synthesize(SynthesisRequest("u7", "hello", SpeakerV1("x", "espeak", "no-such-voice"), str(tmp_path / "x.wav")))
    with pytest.raises(SynthesisError, match=r"utterance 'u8'.*text2wave"):
        synthesize(SynthesisRequest("u8", "hello", SpeakerV1("y", "festival", "no_such_voice"),
                                    str(tmp_path / "y.wav")))
    assert not (tmp_path / "x.wav").exists()


def test_a_missing_synthesis_program_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng, no sox
    req = SynthesisRequest("u9", "hello there", SpeakerV1("x", "espeak", "en-us+m3", 170, 50), str(tmp_path / "x.wav"))
    missing = r"utterance 'u9'.*espeak-ng is not installed \(Debian package 'espeak-ng'"
    with pytest.raises(SynthesisError, match=missing):
        synthesize(req)
    assert not (tmp_path / "x.wav").exists()
