"""Training data: targets from manifest+lexicon+tokens, counted skips, duration batching, SpecAugment,
LR schedule, feature statistics."""
import json

import numpy as np
import pytest
import soundfile
import torch

from espeak_corpus import write_manifest_subset, write_nan_wav
from memristor_asr.data.lexicon import read_lexicon, read_tokens
from memristor_asr.model import FeatureConfigV1
from memristor_asr.model.features import LogMelFeaturesV1
from memristor_asr.training import (
    AudioError,
    OneCycleConfigV1,
    SpecAugConfigV1,
    build_ctc_dataset,
    compute_feature_stats,
    load_audio,
    load_feature_stats,
    make_batches,
    one_cycle_lr,
    spec_augment,
)
from memristor_asr.training.dataset import ctc_min_frames


def test_targets_are_concatenated_first_pronunciations(tiny_corpus):
    ds = build_ctc_dataset(tiny_corpus["manifest"], tiny_corpus["lexicon"], tiny_corpus["tokens"])
    lex = read_lexicon(tiny_corpus["lexicon"])
    toks = read_tokens(tiny_corpus["tokens"])
    assert ds.vocab == ["<blank>"] + toks
    assert len(ds) == 24 and not ds.skipped
    for it in ds.items:
        expected = [p for w in it.utt.orth.split() for p in lex[w][0]]
        assert [ds.vocab[i] for i in it.target] == expected
        assert 0 not in it.target


def test_bad_utterances_are_skipped_and_counted(tiny_corpus, tmp_path, caplog):
    lines = [json.loads(x) for x in open(tiny_corpus["manifest"])]
    lines[0]["orth"] = "the zyzzyva cat"          # OOV word
    lines[1]["orth"] = "THE CAT"                   # upper case: found via lower-casing
    lines[2]["duration"] = 99.0                    # too long
    lines[3]["orth"] = "weird"                     # unit not in tokens (see lexicon below)
    lines[4]["audio"] = write_nan_wav(tmp_path / "nan.wav")
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    lex = open(tiny_corpus["lexicon"]).read() + "weird\tW EH1 ZH\n"
    (tmp_path / "lex.txt").write_text(lex)
    with caplog.at_level("WARNING"):
        ds = build_ctc_dataset(tmp_path / "m.jsonl", tmp_path / "lex.txt", tiny_corpus["tokens"], max_duration=20)
    assert dict(ds.skipped) == {"oov": 1, "too_long": 1, "unknown_unit": 1}
    assert "zyzzyva" in ds.skip_report() and "EH1" in ds.skip_report()
    assert "zyzzyva" in caplog.text
    assert len(ds) == 21
    # NaN audio is found when read: counted once, returned as None
    nan_item = next(it for it in ds.items if it.id == lines[4]["id"])
    assert ds.load(nan_item) is None and ds.load(nan_item) is None
    assert ds.skipped["non_finite_audio"] == 1
    # a model output too short for a long target
    before = {it.id: ctc_min_frames(it.target) for it in ds.items}
    ds.filter_by_output_length(lambda samples: torch.full_like(samples, 5))
    assert ds.skipped["too_short_for_target"] == sum(n > 5 for n in before.values()) > 0
    assert [it.id for it in ds.items] == [k for k, n in before.items() if n <= 5]


def test_nothing_usable_is_an_error(tiny_corpus, tmp_path):
    write_manifest_subset(tiny_corpus["manifest"], tmp_path / "m.jsonl", modify=lambda d: {**d, "orth": "xyzzy"})
    with pytest.raises(ValueError, match="no usable utterance"):
        build_ctc_dataset(tmp_path / "m.jsonl", tiny_corpus["lexicon"], tiny_corpus["tokens"])
    (tmp_path / "toks.txt").write_text("<blank>\nAA\n")
    with pytest.raises(ValueError, match="must not list the CTC blank"):
        build_ctc_dataset(tiny_corpus["manifest"], tiny_corpus["lexicon"], tmp_path / "toks.txt")


def test_audio_checks(tiny_corpus, tmp_path):
    ds = build_ctc_dataset(tiny_corpus["manifest"], tiny_corpus["lexicon"], tiny_corpus["tokens"])
    utt = ds.items[0].utt
    a = load_audio(utt)
    assert a.dtype == np.float32 and abs(len(a) / 16000 - utt.duration) < 0.01
    soundfile.write(str(tmp_path / "22k.wav"), np.zeros(22050, dtype=np.float32), 22050)
    bad = type(utt)(utt.id, str(tmp_path / "22k.wav"), 1.0, "s", "the")
    with pytest.raises(AudioError, match="sample rate 22050"):
        load_audio(bad)
    seg = type(utt)("seg", utt.audio, 0.25, "s", "the", {"start": 0.1, "end": 0.35})
    assert len(load_audio(seg)) == 4000
    np.testing.assert_array_equal(load_audio(seg), a[1600:5600])


def test_batches_by_duration_deterministic_and_complete(tiny_corpus):
    ds = build_ctc_dataset(tiny_corpus["manifest"], tiny_corpus["lexicon"], tiny_corpus["tokens"])
    b1 = make_batches(ds.items, 4.0, seed=3)
    assert b1 == make_batches(ds.items, 4.0, seed=3)
    assert b1 != make_batches(ds.items, 4.0, seed=4)
    assert sorted(i for b in b1 for i in b) == list(range(len(ds)))
    for b in b1:
        assert len(b) == 1 or max(ds.items[i].duration for i in b) * len(b) <= 4.0
    assert len(b1) > 3


def test_specaugment_masks_and_is_seeded():
    x = torch.ones(2, 200, 80)
    torch.manual_seed(0)
    y1 = spec_augment(x, SpecAugConfigV1())
    torch.manual_seed(0)
    y2 = spec_augment(x, SpecAugConfigV1())
    assert torch.equal(y1, y2)
    frac = float((y1 == 0).float().mean())
    assert 0.02 < frac < 0.7
    # whole time frames and whole bands are masked
    assert ((y1 == 0).all(dim=2)).any() and ((y1 == 0).all(dim=1)).any()
    assert torch.equal(spec_augment(x, SpecAugConfigV1(enabled=False)), x)


def test_one_cycle_schedule_shape():
    cfg = OneCycleConfigV1(peak_lr=5e-4, initial_factor=0.1, warmup_fraction=0.45, final_lr=1e-6)
    lrs = [one_cycle_lr(s, 1001, cfg) for s in range(1001)]
    assert lrs[0] == pytest.approx(5e-5)
    assert max(lrs) == pytest.approx(5e-4) and int(np.argmax(lrs)) == 450
    assert lrs[900] == pytest.approx(5e-5)
    assert lrs[-1] == pytest.approx(1e-6)
    assert all(a <= b for a, b in zip(lrs[:450], lrs[1:451]))


def test_feature_stats_normalise(tiny_corpus, tmp_path):
    ds = build_ctc_dataset(tiny_corpus["manifest"], tiny_corpus["lexicon"], tiny_corpus["tokens"])
    mean, std = compute_feature_stats(FeatureConfigV1(), ds, max_utterances=100)
    assert len(mean) == len(std) == 80 and min(std) > 0
    feats = LogMelFeaturesV1(FeatureConfigV1(mean=mean, std=std))
    all_frames = []
    for it in ds.items:
        a = torch.from_numpy(load_audio(it.utt))[None]
        f, n = feats(a, torch.tensor([a.shape[1]]))
        all_frames.append(f[0, :n[0]])
    f = torch.cat(all_frames)
    assert f.mean(0).abs().max() < 1e-3
    assert (f.std(0) - 1).abs().max() < 1e-2
    (tmp_path / "stats.json").write_text(json.dumps({"mean": mean, "std": std}))
    assert load_feature_stats(tmp_path / "stats.json", 80) == (mean, std)
    (tmp_path / "bad.json").write_text(json.dumps({"mean": mean[:40], "std": std}))
    with pytest.raises(ValueError, match="list of 80"):
        load_feature_stats(tmp_path / "bad.json", 80)


def test_stats_from_the_data_features_library_match_and_are_checked(tiny_corpus, tmp_path):
    """Statistics written by memristor_asr.data.features (the features job) equal ours and are accepted;
    statistics of other features are refused."""
    import dataclasses

    from memristor_asr.data.features import LogMelFeatureConfig, compute_normalization_stats, write_normalization_stats
    from memristor_asr.data.manifest import read_manifest
    from memristor_asr.training.feature_stats import to_log_mel_config

    assert to_log_mel_config(FeatureConfigV1()) == LogMelFeatureConfig()
    utts = read_manifest(tiny_corpus["manifest"])
    write_normalization_stats(tmp_path / "s.json", compute_normalization_stats(utts, LogMelFeatureConfig()))
    mean, std = load_feature_stats(tmp_path / "s.json", 80, FeatureConfigV1())
    ds = build_ctc_dataset(tiny_corpus["manifest"], tiny_corpus["lexicon"], tiny_corpus["tokens"])
    m2, s2 = compute_feature_stats(FeatureConfigV1(), ds, max_utterances=100)
    np.testing.assert_allclose(mean, m2, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(std, s2, rtol=1e-4, atol=1e-4)
    other = dataclasses.replace(LogMelFeatureConfig(), f_max=8000)
    write_normalization_stats(tmp_path / "o.json", compute_normalization_stats(utts[:2], other))
    with pytest.raises(ValueError, match="model extracts"):
        load_feature_stats(tmp_path / "o.json", 80, FeatureConfigV1())
