"""Bad input on the paths users touch most fails once, clearly, before anything runs: a personal
graph with an impossible ADC split names the parameter and the graph file, and no job directory
is created."""
import pytest

from sis_helpers import REPO, make_setup, run_manager

GRAPH = """
from config.memristor_adc import ExperimentSettings, adc, build_experiment

def py():
    hw = adc({p!r}, {r!r})  # the split a user typed
    build_experiment(ExperimentSettings(corpus_preset="miniature"), extra_study_adcs=[({p!r}, {r!r})])
"""


@pytest.mark.parametrize("p,r,param", [(-1, 4, "precision_bits must be an integer >= 0"),
                                       (4, 2.5, "range_bits must be an integer >= 0"),
                                       (0, 0, "single level")])
def test_personal_graph_with_an_impossible_adc_split_names_it(tmp_path, p, r, param):
    setup = make_setup(tmp_path, GRAPH.format(p=p, r=r), name="my_splits")
    for name in ("memristor_adc.py", "nnadc.py", "seed_claims.py"):
        (setup / "config" / name).symlink_to(REPO / "config" / name)
    proc = run_manager(setup, config="config/my_splits.py", check=False, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "UniformAdcConfigV1" in out and param in out, out[-2000:]
    assert "my_splits.py" in out  # the traceback names the user's graph file
    assert not (setup / "work").exists() or not any((setup / "work").rglob("job.save"))
