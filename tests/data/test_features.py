"""Log-mel features and normalisation statistics on real synthesised speech."""
import dataclasses
import json

import numpy as np
import pytest
import soundfile
import torch

from memristor_asr.data.audio import AudioError
from memristor_asr.data.features import (
    LogMelFeatureConfig,
    compute_normalization_stats,
    extract_log_mel,
    normalize_features,
    num_frames,
    read_normalization_stats,
    write_normalization_stats,
)
from memristor_asr.data.manifest import Utterance
from memristor_asr.data.synthesis import SpeakerV1, SynthesisRequest, synthesize
from memristor_asr.model.config import FeatureConfigV1


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    d = tmp_path_factory.mktemp("speech")
    utts = []
    for i, (text, voice) in enumerate([("the lord is my shepherd", "en-us+m3"), ("i shall not want", "en-gb+f2"),
                                       ("he leadeth me beside the still waters", "en-us+klatt")]):
        path = str(d / f"u{i}.wav")
        dur = synthesize(SynthesisRequest(f"u{i}", text, SpeakerV1(f"s{i}", "espeak", voice), path, snr_db=30, seed=i))
        utts.append(Utterance(f"u{i}", path, dur, f"s{i}", text))
    return utts


def test_log_mel_shape_and_frames(speech):
    cfg = LogMelFeatureConfig()
    audio, sr = soundfile.read(speech[0].audio, dtype="float32")
    f = extract_log_mel(audio, cfg)
    assert f.shape == (num_frames(len(audio), cfg), 80) and f.dtype == torch.float32
    assert f.shape[0] == (len(audio) - 400) // 160 + 1
    assert torch.isfinite(f).all()
    # speech frames carry more energy than the leading silence espeak puts before the first word
    energy = f.mean(dim=1)
    assert energy.max() - energy[:3].mean() > 1.0
    assert num_frames(399, cfg) == 0 and num_frames(400, cfg) == 1
    centred = dataclasses.replace(cfg, center=True)
    assert extract_log_mel(audio, centred).shape[0] == len(audio) // 160 + 1 == num_frames(len(audio), centred)


def test_log_mel_matches_a_direct_computation(speech):
    """Cross-check the i6_models extractor against numpy + librosa's mel matrix, frame by frame."""
    import librosa

    cfg = LogMelFeatureConfig()
    audio, _ = soundfile.read(speech[1].audio, dtype="float64")
    f = extract_log_mel(audio, cfg).double().numpy()
    win = np.hanning(401)[:400]  # periodic Hann, like torch.hann_window(400)
    mel = librosa.filters.mel(sr=16000, n_fft=400, n_mels=80, fmin=60, fmax=7600)
    for t in (0, 50, f.shape[0] - 1):
        frame = audio[t * 160: t * 160 + 400] * win
        power = np.abs(np.fft.rfft(frame)) ** 2
        expected = np.log10(np.maximum(mel @ power, 1e-10))
        np.testing.assert_allclose(f[t], expected, atol=2e-3)


def test_model_uses_the_same_features():
    """The training agent's in-model features must match what the statistics are computed with."""
    model_cfg = FeatureConfigV1()
    mine = LogMelFeatureConfig()
    for k in ("sample_rate", "win_size", "hop_size", "f_min", "f_max", "min_amp", "num_filters", "center"):
        assert getattr(model_cfg, k) == getattr(mine, k), k


def test_normalization_stats(speech, tmp_path):
    cfg = LogMelFeatureConfig()
    lines = []
    st = compute_normalization_stats(speech, cfg, sink=lines.append)
    feats = torch.cat([extract_log_mel(soundfile.read(u.audio, dtype="float32")[0], cfg) for u in speech]).double()
    assert st["num_frames"] == feats.shape[0] and st["num_utterances"] == 3
    np.testing.assert_allclose(st["mean"], feats.mean(0).numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(st["std"], feats.std(0, unbiased=False).numpy(), rtol=1e-6)
    write_normalization_stats(str(tmp_path / "stats.json"), st)
    d = json.loads((tmp_path / "stats.json").read_text())
    assert len(d["mean"]) == len(d["std"]) == 80 and d["config"]["num_filters"] == 80
    mean, std = read_normalization_stats(str(tmp_path / "stats.json"), cfg)
    normed = normalize_features(feats.float(), mean, std)
    assert normed.mean(0).abs().max() < 1e-3 and (normed.std(0, unbiased=False) - 1).abs().max() < 1e-3
    with pytest.raises(ValueError, match="computed with"):
        read_normalization_stats(str(tmp_path / "stats.json"), dataclasses.replace(cfg, num_filters=40))
    assert compute_normalization_stats(speech, cfg, max_utterances=1)["num_utterances"] == 1
    assert lines and "ETA" in lines[-1]


def test_bad_audio_is_named(tmp_path, speech):
    audio, _ = soundfile.read(speech[0].audio, dtype="float32")
    soundfile.write(tmp_path / "r8k.wav", audio, 8000)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF garbage")
    utts = [Utterance("eight", str(tmp_path / "r8k.wav"), 1.0, "s", "x")]
    with pytest.raises(AudioError, match=r"utterance 'eight'.*r8k.wav: sample rate 8000 Hz"):
        compute_normalization_stats(utts)
    utts = [Utterance("bad", str(tmp_path / "corrupt.wav"), 1.0, "s", "x")]
    with pytest.raises(AudioError, match=r"utterance 'bad'.*corrupt.wav: cannot read audio"):
        compute_normalization_stats(utts)
