"""The NNADC graph (config/nnadc.py) runs end to end through `sis manager` at miniature size."""
import json
import pathlib

import numpy as np
import pytest

from sis_helpers import make_setup, run_manager

REPO = pathlib.Path(__file__).resolve().parents[2]

CONFIG = f'''
import importlib.util
spec = importlib.util.spec_from_file_location("nnadc_graph_config", "{REPO / "config" / "nnadc.py"}")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

from memristor_asr.nnadc import (BlockSweepV1Config, BlockTrainV1Config, ConverterTrainV1Config, EvalV1Config,
                                 PipelinedAdcV1Config, StageV1Config, SubrangingAdcV1Config)
from memristor_asr.nnadc.evaluation.sigma_sweep import SigmaSweepV1Config

def py():
    fast = BlockTrainV1Config(iterations=150, batch_size=512, log_every=150, pvt_aware=False)
    stage = StageV1Config(n_bits=1, hidden=3, residue_hidden=4, rram_bits=4)
    settings = mod.NnadcSettings(
        designs={{"pl3": PipelinedAdcV1Config(stages=(stage, stage), final=StageV1Config(n_bits=1, hidden=2)),
                  "sr3": SubrangingAdcV1Config(coarse=StageV1Config(n_bits=2, hidden=4), fine_bits=1, fine_hidden=4)}},
        train=ConverterTrainV1Config(comparator=fast, residue=fast, pool_size=2048),
        eval=EvalV1Config(n_instances=3, chunk=3, corners=("ss",), n_fft=4096),
        sweeps=(BlockSweepV1Config(kind="residue", n_bits=1, rram_bits=(3,), hidden=(3,), train=fast, n_instances=2,
                                   pool_size=2048),),
        sigma_sweep=SigmaSweepV1Config(sigmas=(0.0, 0.05), n_instances=3, chunk=3, n_fft=4096),
        transfer_table_design="pl3", transfer_table_points=129, targets={{"pl3": 1.0}}, prefix="mini")
    mod.build_nnadc_graph(settings)
'''


@pytest.mark.slow
def test_miniature_graph_runs(tmp_path):
    setup = make_setup(tmp_path, CONFIG)
    run_manager(setup, timeout=900)
    out = setup / "output" / "mini"
    for name in ("results.md", "results.json", "dse_residue_1b.json", "dse_residue_1b.png", "transfer_table_pl3.npz",
                 "pl3/metrics.json", "pl3/transfer.png", "pl3/dnl_inl.png", "pl3/enob_hist.png", "sr3/metrics.json",
                 "enob_vs_sigma.json", "enob_vs_sigma.md", "enob_vs_sigma.png"):
        assert (out / name).exists(), name
    rows = json.loads((out / "results.json").read_text())
    assert {r["design"] for r in rows} == {"pl3", "sr3"}
    pl3 = next(r for r in rows if r["design"] == "pl3")
    assert pl3["n_chips"] == 3 and pl3["target_enob"] == 1.0 and 0 < pl3["enob_nominal"] <= 3.2
    assert "| pl3 |" in (out / "results.md").read_text()
    table = np.load(out / "transfer_table_pl3.npz")
    assert table["codes"].shape == (16, 129) and int(table["n_bits"]) == 3
    by_sigma = json.loads((out / "enob_vs_sigma.json").read_text())
    assert set(by_sigma) == {"pl3", "sr3"} and by_sigma["pl3"]["sigmas"] == [0.0, 0.05]
    assert by_sigma["pl3"]["ideal"]["median"][0] == pytest.approx(pl3["enob_nominal"])
    assert "| pl3 | 1.0 |" in (out / "enob_vs_sigma.md").read_text()
    sweep = json.loads((out / "dse_residue_1b.json").read_text())
    assert sweep[0]["metric"] == "mse" and sweep[0]["median"] > 0
