"""One training run from loaded data (TrainQatConformerJob's computation): the same model as the
training loop given the profile's configuration, the input normalisation read or estimated, and
the run's summary."""
import json

import pytest
import torch

from memristor_asr.model import FrontendConfigV1, demo_config
from memristor_asr.quant import QuantConfigV1
from memristor_asr.training import (
    OneCycleConfigV1,
    SpecAugConfigV1,
    TrainConfigV1,
    build_ctc_dataset,
    compute_feature_stats,
    train,
)
from memristor_asr.training.qat_training import train_conformer_ctc

TINY = dict(num_blocks=2, dim=32, ff_dim=64, num_heads=4, conv_kernel_size=7, dropout=0.1, att_dropout=0.1,
            frontend=FrontendConfigV1(kind="conv1d", channels=[32], kernel_size=5))
QUANT = QuantConfigV1(weight_bits=3)


def _cfg():
    return TrainConfigV1(num_epochs=2, max_batch_seconds=3.0, schedule=OneCycleConfigV1(peak_lr=2e-3), num_threads=1,
                         seed=3, specaug=SpecAugConfigV1(time_mask_max_size=5))


def _data(corpus, n, name="train"):
    ds = build_ctc_dataset(corpus["manifest"], corpus["lexicon"], corpus["tokens"], name=name)
    ds.items = ds.items[:n]
    return ds


def test_run_equals_the_training_loop_on_the_profile(tiny_corpus, tmp_path):
    run = train_conformer_ctc(_data(tiny_corpus, 8), _data(tiny_corpus, 4, "dev"), str(tmp_path / "run"),
                              profile="demo", quant=QUANT, train_config=_cfg(), model_overrides=TINY,
                              stats_utterances=6)
    # the same steps by hand
    data = _data(tiny_corpus, 8)
    mcfg = demo_config(data.vocab, QUANT, **TINY)
    mcfg.features.mean, mcfg.features.std = compute_feature_stats(mcfg.features, data, 6, seed=3)
    ref = train(mcfg, _cfg(), data, _data(tiny_corpus, 4, "dev"), str(tmp_path / "ref"))
    assert run.model_config == mcfg
    assert [h["train_loss"] for h in run.result.history] == [h["train_loss"] for h in ref.history]
    assert [h["dev_loss"] for h in run.result.history] == [h["dev_loss"] for h in ref.history]
    for k, v in ref.model.state_dict().items():
        assert torch.equal(v, run.result.model.state_dict()[k]), k
    st = run.stats
    assert st["history"] is run.result.history and len(st["history"]) == 2
    assert st["train_utterances"] == 8 and st["train_hours"] == pytest.approx(data.total_duration / 3600)
    assert st["feature_stats"] == "estimated from up to 6 training utterances"
    assert st["num_parameters"] == sum(p.numel() for p in ref.model.parameters())
    assert set(st["skipped"]) == {"train", "dev"} and len(st["skip_report"]) == 2
    json.dumps(st)  # the job writes it as JSON


def test_feature_statistics_from_a_file(tiny_corpus, tmp_path):
    mean, std = [float(i) / 10 for i in range(80)], [1.0 + i / 100 for i in range(80)]
    path = tmp_path / "stats.json"
    path.write_text(json.dumps({"mean": mean, "std": std}))
    cfg = TrainConfigV1(num_epochs=1, max_batch_seconds=3.0, num_threads=1)
    run = train_conformer_ctc(_data(tiny_corpus, 4), None, str(tmp_path / "ck"), quant=QuantConfigV1(),
                              train_config=cfg, model_overrides=TINY, feature_stats=str(path))
    assert run.model_config.features.mean == mean and run.model_config.features.std == std
    assert run.stats["feature_stats"] == str(path)
    assert run.stats["skipped"]["dev"] == {} and len(run.stats["skip_report"]) == 1
    assert run.result.finished and run.result.history[0]["dev_loss"] is None


def test_bad_inputs_are_named(tiny_corpus, tmp_path):
    with pytest.raises(ValueError, match="profile.*'large'"):
        train_conformer_ctc(_data(tiny_corpus, 4), None, str(tmp_path / "a"), profile="large")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"mean": [0.0] * 3, "std": [1.0] * 3}))
    with pytest.raises(ValueError, match="bad.json.*'mean'.*80"):
        train_conformer_ctc(_data(tiny_corpus, 4), None, str(tmp_path / "b"), model_overrides=TINY,
                            feature_stats=str(bad))
