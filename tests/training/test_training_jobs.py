"""Training jobs through the real `sis manager` on an espeak mini corpus: train -> PTQ -> log-probs,
and a training task killed mid-run that the manager resumes to the same model."""
import json
import os
import signal
import time

import pytest
import torch

from memristor_asr.decoding.logprobs import load_logprobs
from memristor_asr.model import load_model
from memristor_asr.quant import quant_linears
from sis_helpers import make_setup, run_manager, start_manager

GRAPH = """
from sisyphus import tk
from memristor_asr.jobs.training import TrainQatConformerJob, QuantizePtqJob, ComputeCtcLogProbsJob
from memristor_asr.model import FrontendConfigV1
from memristor_asr.quant import QuantConfigV1
from memristor_asr.training import TrainConfigV1, OneCycleConfigV1, SpecAugConfigV1

C = {corpus!r}
TINY = dict(num_blocks=2, dim=48, ff_dim=96, conv_kernel_size=7,
            frontend=FrontendConfigV1(kind="conv1d", channels=[48], kernel_size=5))

def py():
    train = TrainQatConformerJob(tk.Path(C["manifest"]), tk.Path(C["lexicon"]), tk.Path(C["tokens"]),
                                 dev_manifest=tk.Path(C["manifest"]), profile="demo",
                                 quant=QuantConfigV1(weight_bits=3, layer_bits={{"*.linear_pos": 8}}),
                                 train_config=TrainConfigV1(num_epochs={epochs}, max_batch_seconds=3.0, num_threads=1,
                                     schedule=OneCycleConfigV1(peak_lr=3e-3),
                                     specaug=SpecAugConfigV1(time_mask_max_size=5)),
                                 model_overrides=TINY, cpu_rqmt=1, mem_rqmt=2)
    tk.register_output("qat/model.pt", train.out_checkpoint)
    tk.register_output("qat/curve.png", train.out_learning_curve)
    if {full}:
        ptq = QuantizePtqJob(train.out_checkpoint, tk.Path(C["manifest"]), tk.Path(C["lexicon"]), tk.Path(C["tokens"]),
                             quant=QuantConfigV1(weight_bits=4), num_batches=2, max_batch_seconds=3.0, cpu_rqmt=1)
        tk.register_output("ptq/model.pt", ptq.out_checkpoint)
        for name, ckpt in (("qat", train.out_checkpoint), ("ptq", ptq.out_checkpoint)):
            lp = ComputeCtcLogProbsJob(ckpt, tk.Path(C["manifest"]), max_batch_seconds=10.0, cpu_rqmt=1)
            tk.register_output(f"{{name}}/logprobs.pt", lp.out_logprobs)
"""


def _setup(tmp_path, corpus, epochs, full):
    code = GRAPH.format(corpus={k: str(v) for k, v in corpus.items() if k != "dir"}, epochs=epochs, full=full)
    return make_setup(tmp_path, code)


def _job_dir(setup, name):
    dirs = list((setup / "work" / "memristor_asr" / "jobs" / "training").glob(f"{name}.*"))
    assert len(dirs) == 1, dirs
    return dirs[0]


@pytest.mark.slow
def test_train_ptq_logprobs_through_manager(tiny_corpus, tmp_path):
    setup = _setup(tmp_path, tiny_corpus, epochs=3, full=True)
    run_manager(setup, timeout=900)
    out = setup / "output"
    model, cfg = load_model(out / "qat" / "model.pt")
    q = quant_linears(model)
    assert cfg.quant.weight_bits == 3 and q["blocks.0.mhsa.linear_pos"].weight_quantizer.bits == 8
    assert (out / "qat" / "curve.png").read_bytes()[:4] == b"\x89PNG"
    train_dir = _job_dir(setup, "TrainQatConformerJob")
    stats = json.loads((train_dir / "output" / "train_stats.json").read_text())
    assert len(stats["history"]) == 3 and stats["train_utterances"] == 24
    assert stats["history"][-1]["dev_loss"] is not None
    log = (train_dir / "output" / "train.log").read_text()
    assert "epoch 3/3 done" in log and "training finished" in log
    ptq, _ = load_model(out / "ptq" / "model.pt")
    assert all(m.weight_quantizer.bits == 4 and m.input_quantizer.observed for m in quant_linears(ptq).values())
    for name in ("qat", "ptq"):
        lp = load_logprobs(out / name / "logprobs.pt")
        assert len(lp.utterances) == 24 and lp.vocab == cfg.vocab and lp.frame_shift == pytest.approx(0.04)


@pytest.mark.slow
def test_killed_training_task_resumes_through_manager(tiny_corpus, tmp_path):
    ref_setup = _setup(tmp_path / "ref", tiny_corpus, epochs=12, full=False)
    run_manager(ref_setup, timeout=900)
    ref = torch.load(ref_setup / "output" / "qat" / "model.pt", weights_only=True)

    setup = _setup(tmp_path / "kill", tiny_corpus, epochs=12, full=False)
    manager = start_manager(setup)
    try:
        deadline = time.time() + 300
        ckpt_dir = None
        while time.time() < deadline:
            dirs = list((setup / "work").rglob("TrainQatConformerJob.*/output/checkpoints"))
            if dirs and any(p.name.startswith("epoch.002") for p in dirs[0].iterdir()):
                ckpt_dir = dirs[0]
                break
            time.sleep(0.05)
        assert ckpt_dir is not None, "training never wrote its second checkpoint"
        job_dir = ckpt_dir.parents[1]
        worker_pid = int((job_dir / "engine" / "pid.run.1").read_text().split()[0])
        os.kill(manager.pid, signal.SIGKILL)  # both processes were started by this test
        os.kill(worker_pid, signal.SIGKILL)
    finally:
        manager.wait(timeout=60)
    assert not (job_dir / "finished").exists(), "too late: training finished before the kill"
    run_manager(setup, timeout=900)
    assert (job_dir / "finished").exists()
    log = (job_dir / "output" / "train.log").read_text()
    assert "resuming from" in log
    resumed = torch.load(setup / "output" / "qat" / "model.pt", weights_only=True)
    assert [h["train_loss"] for h in resumed["history"]] == [h["train_loss"] for h in ref["history"]]
    for k, v in ref["model"].items():
        assert torch.equal(v, resumed["model"][k]), k
