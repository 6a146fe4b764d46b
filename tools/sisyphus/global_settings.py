"""Settings of a setup directory (``gs``): defaults here, overridden by ``settings.py``, then by
``SIS_<NAME>`` environment variables.

Every name that ``settings.py`` defines becomes an attribute of this module, as upstream.
"""
import ast
import os
import sys

# directories, relative to the setup directory (BASE_DIR)
BASE_DIR = os.path.abspath(os.environ.get("SIS_BASE_DIR", os.getcwd()))
WORK_DIR = "work"
OUTPUT_DIR = "output"
ALIAS_DIR = "alias"
IMPORT_PATHS = ["config", "recipe", "recipe/"]
RECIPE_PREFIX = "recipe"
SETTINGS_FILE = "settings.py"

# manager loop
WAIT_PERIOD_BETWEEN_CHECKS = 2.0
WAIT_PERIOD_JOB_FS_SYNC = 0.0
WAIT_PERIOD_MINI_TASK_CHECK = 0.5
MAX_SUBMIT_RETRIES = 3
JOB_AUTO_CLEANUP = False

# default requirements of a task (cpu cores, memory in GB, time in hours)
DEFAULT_RQMT = {"cpu": 1, "mem": 1, "time": 1, "gpu": 0}
MINI_TASK_RQMT = {"cpu": 1, "mem": 1, "time": 0.1, "gpu": 0, "engine": "short"}

# names of files inside a job directory
JOB_INPUT = "input"
JOB_OUTPUT = "output"
JOB_WORK_DIR = "work"
JOB_SAVE = "job.save"
JOB_INFO = "info"
JOB_FINISHED_MARKER = "finished"
JOB_ENGINE_DIR = "engine"
STATE_HOLD = "hold"

# web console
HTTP_HOST = "127.0.0.1"


def engine():
    """The engine used when ``settings.py`` defines none: all local cores and memory."""
    from sisyphus.localengine import LocalEngine
    from sisyphus.engine import EngineSelector

    local = LocalEngine(cpus=os.cpu_count() or 1, gpus=0, mem=_total_mem_gb())
    return EngineSelector(engines={"short": local, "long": local}, default_engine="long")


def _total_mem_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError):
        return 4.0


def _parse_env_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def load_settings(base_dir: str | None = None) -> None:
    """Execute ``settings.py`` of the setup directory into this module, then apply overrides."""
    module = sys.modules[__name__]
    global BASE_DIR
    if base_dir is not None:
        BASE_DIR = os.path.abspath(base_dir)
    path = os.path.join(BASE_DIR, SETTINGS_FILE)
    if os.path.exists(path):
        namespace = {"__file__": path, "__name__": "settings"}
        with open(path, encoding="utf-8") as f:
            code = compile(f.read(), path, "exec")
        exec(code, namespace)
        for name, value in namespace.items():
            if not name.startswith("__"):
                setattr(module, name, value)
    for key, value in os.environ.items():
        if key.startswith("SIS_") and key not in ("SIS_BASE_DIR",):
            setattr(module, key[4:], _parse_env_value(value))
