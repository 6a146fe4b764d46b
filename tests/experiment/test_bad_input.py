"""Bad input on the paths users touch most fails once, clearly, before anything runs: a personal
graph with an impossible ADC split names the parameter and the graph file; a corpus root in
settings.py that does not exist names settings.py and the variable; no job directory is created."""
import pytest

from sis_helpers import REPO, make_setup, run_manager

GRAPH = """
from config.memristor_adc import ExperimentSettings, adc, build_experiment

def py():
    hw = adc({p!r}, {r!r})  # the split a user typed
    build_experiment(ExperimentSettings(corpus_preset="miniature"), extra_study_adcs=[({p!r}, {r!r})])
"""


@pytest.mark.parametrize("p,r,param", [(-1, 4, "UniformAdcConfigV1.precision_bits must be >= 0"),
                                       (4, 2.5, "UniformAdcConfigV1.range_bits must be int or None"),
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


CORPUS_GRAPH = """
from sisyphus import tk
from config.corpora import tedlium2_manifests

def py():
    for split, manifest in tedlium2_manifests().items():
        tk.register_output(f"tedlium/{split}.jsonl", manifest)
"""


@pytest.mark.parametrize("setting,message", [
    ("TEDLIUM2_ROOT = '/nonexistent/TEDLIUM_release2'",
     "settings.py: TEDLIUM2_ROOT = '/nonexistent/TEDLIUM_release2' does not exist"),
    ("TEDLIUM2_ROOT = None", "settings.py: TEDLIUM2_ROOT is not set")])
def test_a_corpus_root_in_settings_that_does_not_exist_is_named(tmp_path, setting, message):
    setup = make_setup(tmp_path, CORPUS_GRAPH, name="real", settings=setting + "\n")
    (setup / "config" / "corpora.py").symlink_to(REPO / "config" / "corpora.py")
    proc = run_manager(setup, config="config/real.py", check=False, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and message in out, out[-2000:]
    assert not (setup / "work").exists() or not any((setup / "work").rglob("job.save"))
