"""The main graph end to end on the miniature corpus, and the daily rerun: adding an ADC split
reruns only conversion, recognition, scoring and report jobs; data and training come from the cache."""
import json
import pathlib

import pytest

from sis_helpers import REPO, make_setup, run_manager

GRAPH = """
from config.memristor_adc import ExperimentSettings, build_experiment
from memristor_asr.decoding.search_config import SearchConfigV1
from memristor_asr.training.trainer import TrainConfigV1
from memristor_asr.nnadc import BlockTrainV1Config, ConverterTrainV1Config, PipelinedAdcV1Config, StageV1Config
from config.nnadc import NnadcSettings

FAST = BlockTrainV1Config(iterations=150, batch_size=512, log_every=150, pvt_aware=False)
STAGE = StageV1Config(n_bits=1, hidden=3, residue_hidden=4, rram_bits=4)
NNADC = NnadcSettings(designs={{"pl3": PipelinedAdcV1Config(stages=(STAGE, STAGE),
                                                             final=StageV1Config(n_bits=1, hidden=2))}},
                      train=ConverterTrainV1Config(comparator=FAST, residue=FAST, pool_size=2048),
                      transfer_table_design="pl3", transfer_table_points=129)

SETTINGS = ExperimentSettings(
    corpus_preset="miniature", train_config=TrainConfigV1(num_epochs=2, max_batch_seconds=20.0),
    qat_bits=(3,), memristor_bits=(3,), table3_adcs=((4, 4), (8, 8)), num_draws=2, study_bits=3,
    study_nopos_adcs=((8, 8),), study_pos_adcs=((2, 6),), study_draws=1, study_nnadc=NNADC,
    study_nnadc_range_bits=2,
    search=SearchConfigV1(beam_size=8), lm_weights=(1.0,), word_scores=(0.0,), no_lm_condition=True,
    no_lm_word_scores=(0.0,), study_adcs=((4, 4), (8, 8)), stuck_cell_rates=(0.05,),
    per_polarity_correction=True, adc_energy=True)

def py():
    build_experiment(SETTINGS, extra_study_adcs={extra})
"""

RERUNNABLE = {"SimulateCrossbarLogProbsJob", "RecognizeCtcJob", "ScliteScoringJob", "AggregateWerJob", "WerReportJob",
              "EstimateAdcEnergyJob", "WerEnergyReportJob",
              "SeedClaimsReportJob"}


def job_dirs(setup: pathlib.Path) -> dict:
    """job id -> mtime of its `finished` marker"""
    out = {}
    for marker in (setup / "work").rglob("finished"):
        if marker.is_file() and ".trash" not in marker.parts:
            out[str(marker.parent.relative_to(setup / "work"))] = marker.stat().st_mtime_ns
    return out


@pytest.mark.slow
def test_default_graph_on_miniature_corpus_and_rerun_with_new_adc_split(tmp_path):
    setup = make_setup(tmp_path, GRAPH.format(extra="()"))
    for name in ("memristor_adc.py", "nnadc.py", "seed_claims.py"):
        (setup / "config" / name).symlink_to(REPO / "config" / name)
    run_manager(setup, timeout=1800)
    report = setup / "output" / "memristor_adc" / "wer_table.md"
    assert report.exists()
    table = report.read_text()
    assert "float" in table and "QAT" in table and "PTQ" in table and "memristor" in table
    # the NNADC entry: its transfer table drove every column ADC of the crossbar simulation
    assert "NNADC pl3 (3 bit)" in table and "NNADC pl3 (3 bit), lut-calibrated" in table
    nnadc_clip = [p for p in (setup / "work").rglob("clipping.json")
                  if any(str(v.get("adc", "")).startswith("table ") for v in json.loads(p.read_text()).values())]
    assert nnadc_clip, "no crossbar simulation used the NNADC"
    assert (setup / "output" / "memristor_adc" / "wer_vs_bits.png").stat().st_size > 1000
    # both hardware regimes ran (the cycled SynaptogenML regime on the 3-bit Table 3 model)
    assert "memristor [synaptogenml]" in table
    claims = (setup / "output" / "memristor_adc" / "seed_claims.md").read_text()
    assert "T2-ptq3" in claims and any(v in claims for v in ("reproduced", "opposite", "not significant"))
    # the no-LM condition: the same log-probs searched without the 4-gram, and its Table 3 claim
    assert "memristor, no LM" in table and "QAT, no LM" in table
    assert "T3-mem3-physical-nolm" in claims
    # issue #18's entries: stuck cells, per-polarity c (compared with 4+4), WER vs ADC energy
    assert "stuck cells 5 %" in table and "per-polarity c" in table and "IR drop 1 ohm" in table
    assert "C-stuck0.05-vs-4+4" in claims or "C-stuck0.05-vs-4+4" in \
        (setup / "output" / "memristor_adc" / "comparisons.md").read_text()
    assert "read disturb applied" in table
    effects = (setup / "output" / "memristor_adc" / "hardware_effects.md").read_text()
    assert "## IR drop: rel-pos IR drop 1 ohm" in effects and "## Read disturb: rel-pos read disturb applied" in effects
    energy = (setup / "output" / "memristor_adc" / "wer_vs_energy.md").read_text()
    assert "4+4" in energy and "8+8" in energy
    assert (setup / "output" / "memristor_adc" / "wer_vs_energy.png").stat().st_size > 1000
    comparisons = (setup / "output" / "memristor_adc" / "comparisons.md").read_text()
    assert "significant" in comparisons or "within noise" in comparisons
    assert (setup / "output" / "memristor_adc" / "device" / "correction_factor.json").exists()
    before = job_dirs(setup)
    assert any("TrainQatConformerJob" in j for j in before)

    (setup / "config" / "graph.py").write_text(GRAPH.format(extra="((6, 6),)"))
    run_manager(setup, timeout=1800)
    after = job_dirs(setup)
    new = set(after) - set(before)
    assert new, "the new ADC split ran nothing"
    assert {j.split("/")[-1].split(".")[0] for j in new} <= RERUNNABLE
    rerun_old = {j for j in before if after.get(j) != before[j]}
    assert not rerun_old
    assert "6+6" in (setup / "output" / "memristor_adc" / "wer_table.md").read_text() or \
        "(6, 6)" in (setup / "output" / "memristor_adc" / "wer_table.md").read_text()
