"""The feature cache (CacheLogMelFeaturesJob's computation) on synthesised speech: the same
features as extracting each utterance, stored in the asked dtype, with progress lines."""
import pytest
import soundfile
import torch

from memristor_asr.data.audio import AudioError
from memristor_asr.data.features import LogMelFeatureConfig, extract_log_mel, log_mel_feature_cache
from memristor_asr.data.manifest import Utterance
from memristor_asr.data.synthesis import SpeakerV1, SynthesisRequest, synthesize


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    d = tmp_path_factory.mktemp("cache_speech")
    utts = []
    for i, text in enumerate(["the lord is my shepherd", "i shall not want"]):
        path = str(d / f"c{i}.wav")
        speaker = SpeakerV1(f"s{i}", "espeak", "en-us")
        dur = synthesize(SynthesisRequest(f"c{i}", text, speaker, path, snr_db=30, seed=i))
        utts.append(Utterance(f"c{i}", path, dur, f"s{i}", text))
    return utts


def test_cache_equals_per_utterance_extraction(speech):
    cfg = LogMelFeatureConfig()
    lines = []
    cache32 = log_mel_feature_cache(speech, cfg, "float32", sink=lines.append)
    cache16 = log_mel_feature_cache(speech, cfg)
    assert cache32["config"] == cache16["config"] == cfg.as_dict()
    assert list(cache32["features"]) == ["c0", "c1"]
    for u in speech:
        audio, _ = soundfile.read(u.audio, dtype="float32")
        direct = extract_log_mel(audio, cfg)  # [T, F]
        assert cache32["features"][u.id].dtype == torch.float32 and torch.equal(cache32["features"][u.id], direct)
        assert cache16["features"][u.id].dtype == torch.float16
        assert torch.equal(cache16["features"][u.id], direct.half())
    assert lines and lines[-1].startswith("feature cache: 2/2")


def test_bad_dtype_and_audio_are_named(speech, tmp_path):
    with pytest.raises(ValueError, match="dtype.*'bfloat16'"):
        log_mel_feature_cache(speech, dtype="bfloat16")
    missing = Utterance("gone", str(tmp_path / "gone.wav"), 1.0, "s", "x")
    with pytest.raises(AudioError, match="gone"):
        log_mel_feature_cache([speech[0], missing])
