"""Crossbar jobs through the real `sis manager`: cell-statistics table, correction factor, and a
QAT checkpoint converted to crossbars producing log-probs, clipping JSON and histogram PNG;
the same seed reproduces the log-probs bit for bit, another seed does not."""
import json

import numpy as np
import pytest
import soundfile
import torch

from memristor_asr.data.manifest import Utterance, write_manifest
from memristor_asr.decoding.logprobs import load_logprobs
from memristor_asr.model import ConformerCtcModelV1, FrontendConfigV1, demo_config, save_model
from memristor_asr.quant import QuantConfigV1, calibration
from sis_helpers import make_setup, run_manager

GRAPH = """
from sisyphus import tk
from memristor_asr.crossbar import CrossbarConfigV2, UniformAdcConfigV1
from memristor_asr.jobs.crossbar import (
    CrossbarCellStatisticsJob, EstimateCorrectionFactorJob, SimulateCrossbarLogProbsJob,
)

def py():
    stats = CrossbarCellStatisticsJob(n_pairs=2000, seed=1)
    tk.register_output("cells/table.txt", stats.out_report)
    tk.register_output("cells/half_voltage", stats.out_half_voltage)
    corr = EstimateCorrectionFactorJob(n_pairs=2000, seed=1)
    tk.register_output("cells/correction_factor", corr.out_correction_factor)
    cfg = CrossbarConfigV2(read_noise="paper", per_layer={{"*.linear_pos": {{"adc": UniformAdcConfigV1(4, 6)}}}})
    for seed in {seeds!r}:
        sim = SimulateCrossbarLogProbsJob(tk.Path({ckpt!r}), tk.Path({manifest!r}), cfg, seed=seed,
                                          max_batch_seconds=2.0, cpu_rqmt=1, mem_rqmt=2)
        tk.register_output(f"draw{{seed}}/logprobs.pt", sim.out_logprobs)
        tk.register_output(f"draw{{seed}}/clipping.json", sim.out_clipping)
        tk.register_output(f"draw{{seed}}/histogram.png", sim.out_histogram)
"""


@pytest.fixture(scope="module")
def tiny_setup_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("xbar_inputs")
    rng = np.random.default_rng(0)
    utts = []
    for i, dur in enumerate((1.2, 0.8, 1.0)):
        path = d / f"u{i}.wav"
        soundfile.write(path, (0.1 * rng.standard_normal(int(16000 * dur))).astype(np.float32), 16000)
        utts.append(Utterance(f"u{i}", str(path), dur, "spk", "hello world"))
    write_manifest(d / "manifest.jsonl", utts)
    torch.manual_seed(0)
    cfg = demo_config(["<blank>", "a", "b", "c"], QuantConfigV1(weight_bits=3), num_blocks=1, dim=32, ff_dim=64,
                      num_heads=2, conv_kernel_size=5,
                      frontend=FrontendConfigV1(kind="conv1d", channels=[32], kernel_size=5))
    model = ConformerCtcModelV1(cfg)
    with calibration(model):
        model(torch.randn(2, 16000) * 0.1, torch.tensor([16000, 12000]))
    save_model(model, str(d / "model.pt"))
    return {"ckpt": str(d / "model.pt"), "manifest": str(d / "manifest.jsonl")}


@pytest.mark.slow
def test_crossbar_jobs_through_manager(tiny_setup_inputs, tmp_path):
    code = GRAPH.format(seeds=(1, 2), **tiny_setup_inputs)
    setup = make_setup(tmp_path / "a", code)
    run_manager(setup, timeout=900)
    out = setup / "output"
    table = (out / "cells" / "table.txt").read_text()
    assert "1.0x0.5" in table and "read noise paper" in table and "read noise physical" in table
    assert 0.7 < float((out / "cells" / "half_voltage").read_text()) < 1.46
    c = float((out / "cells" / "correction_factor").read_text())
    assert 7000 < c < 9000

    lp1 = load_logprobs(out / "draw1" / "logprobs.pt")
    lp2 = load_logprobs(out / "draw2" / "logprobs.pt")
    assert sorted(lp1.utterances) == ["u0", "u1", "u2"] and lp1.vocab[0] == "<blank>"
    assert lp1.meta["seed"] == 1 and lp1.meta["hardware"]["read_noise"] == "paper"
    assert not torch.equal(lp1.utterances["u0"], lp2.utterances["u0"])
    layers = json.loads((out / "draw1" / "clipping.json").read_text())
    assert layers["blocks.0.mhsa.linear_pos"]["adc"] == "uniform p=4 r=6"
    assert layers["blocks.0.ff1.linear_ff"]["adc"] == "uniform p=4 r=4"
    assert layers["__total__"]["outputs"] > 0
    assert (out / "draw1" / "histogram.png").read_bytes()[:4] == b"\x89PNG"

    # a second, independent setup with the same seed reproduces the draw bit for bit
    setup_b = make_setup(tmp_path / "b", GRAPH.format(seeds=(1,), **tiny_setup_inputs))
    run_manager(setup_b, timeout=900)
    lp1b = load_logprobs(setup_b / "output" / "draw1" / "logprobs.pt")
    for uid, v in lp1.utterances.items():
        assert torch.equal(v, lp1b.utterances[uid])
