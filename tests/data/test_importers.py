"""Importers for TED-LIUM 2, LibriSpeech and Loquacious on tiny fixtures that mimic the real layouts."""
import subprocess

import numpy as np
import pytest
import soundfile

from memristor_asr.data.audio import AudioError, check_audio
from memristor_asr.data.librispeech import import_librispeech
from memristor_asr.data.loquacious import import_loquacious
from memristor_asr.data.manifest import ManifestError, read_manifest, write_manifest
from memristor_asr.data.stm import StmError
from memristor_asr.data.tedlium import clean_tedlium_text, import_tedlium


def speak(text: str, path, fmt_args=(), rate: int = 16000) -> float:
    """espeak-ng -> sox -> ``path`` (format from its suffix) at ``rate``; returns seconds."""
    raw = str(path) + ".espeak.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", raw, text], check=True)
    subprocess.run(["sox", raw, *fmt_args, "-r", str(rate), "-c", "1", "-b", "16", str(path)], check=True)
    return float(subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, check=True).stdout)


# ---------------------------------------------------------------- TED-LIUM release 2
def make_tedlium(root):
    """One talk: 1 s silence, a sentence, 0.5 s silence, another sentence; four STM segments."""
    talk = root / "TEDLIUM_release2" / "dev"
    (talk / "sph").mkdir(parents=True)
    (talk / "stm").mkdir()
    d1 = speak("it is a truth", talk / "a.wav")
    d2 = speak("the light shines", talk / "b.wav")
    a, _ = soundfile.read(talk / "a.wav")
    b, _ = soundfile.read(talk / "b.wav")
    full = np.concatenate([np.zeros(16000), a, np.zeros(8000), b, np.zeros(8000)])
    soundfile.write(talk / "full.wav", full, 16000, subtype="PCM_16")
    subprocess.run(["sox", str(talk / "full.wav"), str(talk / "sph" / "TalkA_2010.sph")], check=True)
    for f in ("a.wav", "b.wav", "full.wav"):
        (talk / f).unlink()
    s1, e1 = 1.0, 1.0 + d1
    s2, e2 = e1 + 0.5, e1 + 0.5 + d2
    stm = (";; a comment\n"
           f"TalkA_2010 1 TalkA_2010 0.00 1.00 <o,f0,male> ignore_time_segment_in_scoring\n"
           f"TalkA_2010 1 TalkA_2010 {s1:.2f} {e1:.2f} <o,f0,male> it 's a {{NOISE}} truth\n"
           f"TalkA_2010 1 TalkA_2010 {s2:.2f} {e2:.2f} <o,f0,male> the <unk> light shines\n"
           f"TalkA_2010 1 TalkA_2010 {e2:.2f} {e2 + 0.4:.2f} <o,f0,male> {{BREATH}}\n")
    (talk / "stm" / "TalkA_2010.stm").write_text(stm)
    return root / "TEDLIUM_release2", (d1, d2)


def test_clean_tedlium_text():
    assert clean_tedlium_text("it 's {NOISE} a <unk> thing") == ("it's a <unk> thing", 1)
    assert clean_tedlium_text("in 2010 we") == (None, 0)


def test_tedlium_import(tmp_path):
    corpus, (d1, d2) = make_tedlium(tmp_path)
    lines = []
    utts, stats = import_tedlium(str(corpus), "dev", str(tmp_path / "cut"), num_workers=2, sink=lines.append)
    assert [u.orth for u in utts] == ["it's a truth", "the <unk> light shines"]
    assert stats["ignored_segments"] == 1 and stats["skipped_empty"] == 1 and stats["removed_noise_tokens"] == 2
    assert stats["segments"] == 4 and stats["utterances"] == 2
    assert utts[0].id == f"TalkA_2010_{100:07d}_{round((1.0 + d1) * 100):07d}"
    assert utts[0].extra["recording_start"] == 1.0
    for u, d in zip(utts, (d1, d2)):
        assert check_audio(u.audio) == pytest.approx(u.duration)
        assert abs(u.duration - d) < 0.02  # STM times are rounded to 10 ms
        assert u.speaker == "TalkA_2010" and u.extra["recording"] == "TalkA_2010"
        assert "start" not in u.extra and "end" not in u.extra  # those would slice the cut WAV again
        audio, _ = soundfile.read(u.audio)
        assert np.sqrt(np.mean(audio ** 2)) > 0.01  # speech, not the silence around it
    write_manifest(str(tmp_path / "dev.jsonl"), utts)
    assert len(read_manifest(str(tmp_path / "dev.jsonl"))) == 2
    assert any("ETA" in line for line in lines)


def test_tedlium_bad_input(tmp_path):
    corpus, _ = make_tedlium(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        import_tedlium(str(tmp_path / "nowhere"), "dev", str(tmp_path / "cut"))
    stm = corpus / "dev" / "stm" / "TalkA_2010.stm"
    good = stm.read_text()
    stm.write_text(good + "TalkA_2010 1 TalkA_2010 30.00 31.00 <o,f0,male> beyond the end\n")
    with pytest.raises(AudioError, match=r"TalkA_2010.stm:6: segment ends at 31.00 s"):
        import_tedlium(str(corpus), "dev", str(tmp_path / "cut"))
    stm.write_text(good + "TalkB 1 TalkB 0.00 1.00 <o,f0,male> no audio\n")
    with pytest.raises(AudioError, match=r"TalkA_2010.stm:6: recording .*TalkB.sph does not exist"):
        import_tedlium(str(corpus), "dev", str(tmp_path / "cut"))
    stm.write_text(good + "TalkA_2010 1 TalkA_2010 1.0\n")
    with pytest.raises(StmError, match=r"TalkA_2010.stm:6"):
        import_tedlium(str(corpus), "dev", str(tmp_path / "cut"))


# ---------------------------------------------------------------- LibriSpeech
def make_librispeech(root):
    chap = root / "LibriSpeech" / "dev-clean" / "84" / "121123"
    chap.mkdir(parents=True)
    texts = {"84-121123-0000": "GO DO YOU HEAR",
             "84-121123-0001": "BUT IN LESS THAN FIVE MINUTES THE STAIRCASE GROANED"}
    for uid, text in texts.items():
        speak(text.lower(), chap / f"{uid}.flac")
    (chap / "84-121123.trans.txt").write_text("".join(f"{k} {v}\n" for k, v in texts.items()))
    return root / "LibriSpeech", chap


def test_librispeech_import(tmp_path):
    corpus, chap = make_librispeech(tmp_path)
    utts, stats = import_librispeech(str(corpus), "dev-clean")
    assert [u.id for u in utts] == ["84-121123-0000", "84-121123-0001"]
    assert utts[0].orth == "go do you hear" and utts[0].speaker == "84"
    assert utts[1].duration > utts[0].duration > 0.3
    assert utts[0].audio == str(chap / "84-121123-0000.flac")
    assert stats == {"transcript_files": 1, "utterances": 2, "untranscribed_audio": 0}


def test_librispeech_bad_input(tmp_path):
    corpus, chap = make_librispeech(tmp_path)
    trans = chap / "84-121123.trans.txt"
    good = trans.read_text()
    trans.write_text(good + "84-121123-0002\n")
    with pytest.raises(ManifestError, match=r"84-121123.trans.txt:3: empty transcript"):
        import_librispeech(str(corpus), "dev-clean")
    trans.write_text(good + "84-121123-0002 NO AUDIO FOR THIS\n")
    with pytest.raises(AudioError, match=r"trans.txt:3: .*84-121123-0002.flac: audio file does not exist"):
        import_librispeech(str(corpus), "dev-clean")
    speak("wrong rate", chap / "84-121123-0002.flac", rate=8000)
    with pytest.raises(AudioError, match=r"trans.txt:3: .*sample rate 8000 Hz, expected 16000"):
        import_librispeech(str(corpus), "dev-clean")
    with pytest.raises(FileNotFoundError, match="test-other"):
        import_librispeech(str(corpus), "test-other")


# ---------------------------------------------------------------- Loquacious (plain export)
def make_loquacious(root):
    corpus = root / "loquacious"
    (corpus / "dev").mkdir(parents=True)
    rows = [("loq-0001", "dev/loq-0001.wav", "spk-a", "female", "Hello, World!"),
            ("loq-0002", "dev/loq-0002.flac", "spk-b", "male", "it rained on 3 days"),
            ("loq-0003", "dev/loq-0003.flac", "spk-b", "male", "we walked home")]
    durs = {}
    for uid, wav, _, _, text in rows:
        if "3 days" not in text:
            durs[uid] = speak(text.lower().replace(",", "").replace("!", ""), corpus / wav)
    lines = ["ID\tduration\twav\tspk_id\tsex\ttext"]
    for uid, wav, spk, sex, text in rows:
        lines.append(f"{uid}\t{durs.get(uid, 1.0):.3f}\t{wav}\t{spk}\t{sex}\t{text}")
    (corpus / "dev.tsv").write_text("\n".join(lines) + "\n")
    return corpus


def test_loquacious_import(tmp_path):
    corpus = make_loquacious(tmp_path)
    utts, stats = import_loquacious(str(corpus), "dev")
    assert [(u.id, u.speaker, u.orth) for u in utts] == [("loq-0001", "spk-a", "hello world"),
                                                         ("loq-0003", "spk-b", "we walked home")]
    assert stats["skipped_text"] == 1 and "dev.tsv:3" in stats["skipped_examples"][0]
    assert all(check_audio(u.audio) == pytest.approx(u.duration, abs=1e-3) for u in utts)


def test_loquacious_bad_input(tmp_path):
    corpus = make_loquacious(tmp_path)
    tsv = corpus / "dev.tsv"
    good = tsv.read_text()
    tsv.write_text(good.replace("spk_id", "speaker"))
    with pytest.raises(ManifestError, match=r"dev.tsv:1: header lacks column\(s\) \['spk_id'\]"):
        import_loquacious(str(corpus), "dev")
    (corpus / "dev" / "loq-0003.flac").write_bytes(b"this is not a flac file")
    tsv.write_text(good)
    with pytest.raises(AudioError, match=r"dev.tsv:4: .*loq-0003.flac: cannot read audio"):
        import_loquacious(str(corpus), "dev")
    (corpus / "dev" / "loq-0003.flac").write_bytes(b"")
    with pytest.raises(AudioError, match=r"dev.tsv:4: .*empty \(0 bytes\)"):
        import_loquacious(str(corpus), "dev")
    tsv.write_text(good + "loq-0004\tdev/x.wav\n")
    with pytest.raises(ManifestError, match=r"dev.tsv:5: 2 fields, header has 6"):
        import_loquacious(str(corpus), "dev")
    with pytest.raises(FileNotFoundError, match="test.tsv"):
        import_loquacious(str(corpus), "test")
