"""Settings of this setup directory (read by the `sis` runtime; `SIS_<NAME>` env vars override).

Paths to real corpora (for the non-default graphs) are set here; the default graph uses the
embedded corpus and needs none.
"""
import os

WORK_DIR = "work"
OUTPUT_DIR = "output"
ALIAS_DIR = "alias"
IMPORT_PATHS = ["config", "recipe", "recipe/"]
WAIT_PERIOD_BETWEEN_CHECKS = 2.0
MAX_SUBMIT_RETRIES = 3
JOB_AUTO_CLEANUP = False

# local copies of real corpora (None: not available on this machine)
TEDLIUM2_ROOT = os.environ.get("TEDLIUM2_ROOT")
LIBRISPEECH_ROOT = os.environ.get("LIBRISPEECH_ROOT")
LOQUACIOUS_ROOT = os.environ.get("LOQUACIOUS_ROOT")

# cores and memory this machine lends to jobs (the default: all of them)
LOCAL_CPUS = os.cpu_count() or 1
LOCAL_GPUS = 0
LOCAL_MEM_GB = 16


def engine():
    """Local by default; SIS_ENGINE=slurm for a cluster (mini tasks still run locally)."""
    from sisyphus.localengine import LocalEngine
    from sisyphus.engine import EngineSelector

    local = LocalEngine(cpus=LOCAL_CPUS, gpus=LOCAL_GPUS, mem=LOCAL_MEM_GB)
    if os.environ.get("SIS_ENGINE", "local") == "slurm":
        from sisyphus.slurm_engine import SlurmEngine

        return EngineSelector(engines={"short": local, "long": SlurmEngine()}, default_engine="long")
    return EngineSelector(engines={"short": local, "long": local}, default_engine="long")
