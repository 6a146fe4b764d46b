"""Training loop: a tiny model overfits a few espeak utterances; interrupted training resumes to the
same model as an uninterrupted run (CPU, deterministic), also after a SIGKILL in mid-epoch."""
import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import pytest

import torch

from memristor_asr.model import FrontendConfigV1, demo_config, load_model
from memristor_asr.quant import QuantConfigV1, quant_linears
from memristor_asr.training import (
    OneCycleConfigV1,
    SpecAugConfigV1,
    TrainConfigV1,
    build_ctc_dataset,
    compute_feature_stats,
    find_latest_checkpoint,
    plot_learning_curve,
    train,
)

TIMING_KEYS = {"train_seconds", "audio_s_per_s"}


def tiny_model_cfg(vocab, bits=None, dropout=0.0):
    return demo_config(vocab, QuantConfigV1(weight_bits=bits), num_blocks=2, dim=64, ff_dim=128, num_heads=4,
                       conv_kernel_size=7, dropout=dropout, att_dropout=dropout,
                       frontend=FrontendConfigV1(kind="conv1d", channels=[64], kernel_size=5))


def dataset(corpus, n):
    ds = build_ctc_dataset(corpus["manifest"], corpus["lexicon"], corpus["tokens"])
    ds.items = ds.items[:n]
    return ds


@pytest.mark.slow
def test_tiny_model_overfits_a_handful_of_utterances(tiny_corpus, tmp_path):
    for bits in (None, 3):
        data = dataset(tiny_corpus, 8)
        mcfg = tiny_model_cfg(data.vocab, bits)
        mcfg.features.mean, mcfg.features.std = compute_feature_stats(mcfg.features, data)
        cfg = TrainConfigV1(num_epochs=40, max_batch_seconds=2.5, schedule=OneCycleConfigV1(peak_lr=5e-3),
                            specaug=SpecAugConfigV1(enabled=False), num_threads=1, seed=0)
        res = train(mcfg, cfg, data, dataset(tiny_corpus, 8), str(tmp_path / f"ck{bits}"))
        first, last = res.history[0]["train_loss"], res.history[-1]["train_loss"]
        assert res.finished and len(res.history) == 40
        assert last < 0.2 * first, (bits, first, last)
        assert res.history[-1]["dev_loss"] < 0.2 * res.history[0]["dev_loss"]
        if bits:
            q = quant_linears(res.model)
            assert q and all(m.input_quantizer.observed for m in q.values())
        # only the newest keep_checkpoints=2 epoch checkpoints stay
        assert sorted(os.listdir(tmp_path / f"ck{bits}")) == ["epoch.039.pt", "epoch.040.pt"]
    plot_learning_curve(res.history, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


def _train_cfg(**kw):
    args = dict(num_epochs=4, max_batch_seconds=3.0, schedule=OneCycleConfigV1(peak_lr=2e-3), num_threads=1,
                seed=7, specaug=SpecAugConfigV1(time_max_mask_per_n_frames=50, time_mask_max_size=5),
                keep_checkpoints=5)
    args.update(kw)
    return TrainConfigV1(**args)


def _assert_same_model(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def _strip(history):
    return [{k: v for k, v in h.items() if k not in TIMING_KEYS} for h in history]


def test_interrupt_and_resume_equals_uninterrupted(tiny_corpus, tmp_path):
    mcfg = tiny_model_cfg(dataset(tiny_corpus, 10).vocab, bits=3, dropout=0.1)
    ref = train(mcfg, _train_cfg(), dataset(tiny_corpus, 10), None, str(tmp_path / "ref"))
    part = train(mcfg, _train_cfg(), dataset(tiny_corpus, 10), None, str(tmp_path / "cut"), stop_after_epoch=2)
    assert not part.finished and len(part.history) == 2
    assert find_latest_checkpoint(str(tmp_path / "cut")).endswith("epoch.002.pt")
    resumed = train(mcfg, _train_cfg(), dataset(tiny_corpus, 10), None, str(tmp_path / "cut"))
    assert resumed.finished
    _assert_same_model(ref.model, resumed.model)
    assert _strip(ref.history) == _strip(resumed.history)
    # resuming a finished run changes nothing; a different setup in the same directory is refused
    again = train(mcfg, _train_cfg(), dataset(tiny_corpus, 10), None, str(tmp_path / "cut"))
    _assert_same_model(ref.model, again.model)
    try:
        train(mcfg, _train_cfg(seed=8), dataset(tiny_corpus, 10), None, str(tmp_path / "cut"))
    except ValueError as e:
        assert "different setup" in str(e)
    else:
        raise AssertionError("resuming with another seed must fail")


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume(tiny_corpus, tmp_path):
    """A separate process is SIGKILLed inside epoch 3; resuming finishes with the uninterrupted model."""
    mcfg = tiny_model_cfg(dataset(tiny_corpus, 10).vocab, bits=4, dropout=0.1)
    ref = train(mcfg, _train_cfg(), dataset(tiny_corpus, 10), None, str(tmp_path / "ref"))
    steps_per_epoch = ref.history[0]["steps"]
    script = tmp_path / "victim.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys
        sys.path[:0] = {[str(pathlib.Path(__file__).parent), str(pathlib.Path(__file__).parents[2] / "recipe")]!r}
        import memristor_asr.training.trainer as tr
        from test_training_loop import tiny_model_cfg, dataset, _train_cfg
        corpus = {dict((k, str(v)) for k, v in tiny_corpus.items())!r}
        calls = [0]
        real = tr.ctc_loss_sum
        def dying(*a, **k):
            calls[0] += 1
            if calls[0] == {2 * steps_per_epoch + 2}:   # third batch of epoch 3
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*a, **k)
        tr.ctc_loss_sum = dying
        mcfg = tiny_model_cfg(dataset(corpus, 10).vocab, bits=4, dropout=0.1)
        tr.train(mcfg, _train_cfg(), dataset(corpus, 10), None, {str(tmp_path / "killed")!r})
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert find_latest_checkpoint(str(tmp_path / "killed")).endswith("epoch.002.pt")
    assert not [f for f in os.listdir(tmp_path / "killed") if f.endswith(".tmp")]
    resumed = train(mcfg, _train_cfg(), dataset(tiny_corpus, 10), None, str(tmp_path / "killed"))
    _assert_same_model(ref.model, resumed.model)
    # the final checkpoint loads as a plain model
    model, cfg = load_model(find_latest_checkpoint(str(tmp_path / "killed")))
    _assert_same_model(ref.model, model)
