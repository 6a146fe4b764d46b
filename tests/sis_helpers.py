"""Helpers to run graphs through the real `sis manager` in tests (a fresh setup dir per test)."""
import os
import pathlib
import subprocess
import sys
import textwrap

REPO = pathlib.Path(__file__).resolve().parents[1]
TOOLS = REPO / "tools"


def make_setup(tmp_path, config_code: str, name: str = "graph", recipe_dirs=None, settings: str = "") -> pathlib.Path:
    """A setup directory: settings.py, config/<name>.py (``config_code`` with a ``py()``), and
    ``recipe/`` linking the repo's recipe packages (plus ``recipe_dirs``: extra package dirs)."""
    setup = pathlib.Path(tmp_path) / "setup"
    (setup / "config").mkdir(parents=True, exist_ok=True)
    (setup / "recipe").mkdir(exist_ok=True)
    for pkg in [REPO / "recipe" / "memristor_asr"] + [pathlib.Path(d) for d in (recipe_dirs or [])]:
        link = setup / "recipe" / pkg.name
        if not link.exists():
            link.symlink_to(pkg, target_is_directory=True)
    (setup / "settings.py").write_text(textwrap.dedent("""
        from sisyphus.localengine import LocalEngine
        from sisyphus.engine import EngineSelector
        WAIT_PERIOD_BETWEEN_CHECKS = 0.2
        WAIT_PERIOD_MINI_TASK_CHECK = 0.1
        def engine():
            local = LocalEngine(cpus=2, gpus=0, mem=8)
            return EngineSelector(engines={"short": local, "long": local}, default_engine="long")
        """) + textwrap.dedent(settings))
    (setup / "config" / f"{name}.py").write_text(textwrap.dedent(config_code))
    return setup


def sis_env(setup) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TOOLS)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.pop("SIS_BASE_DIR", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_manager(setup, config: str = "config/graph.py", check: bool = True, timeout: float = 600,
                extra_args=("-r",)) -> subprocess.CompletedProcess:
    """Run ``sis manager -r CONFIG`` in ``setup``; with ``check`` fail loudly (with output) on rc != 0."""
    proc = subprocess.run([sys.executable, "-m", "sisyphus", "manager", *extra_args, config], cwd=setup,
                          env=sis_env(setup), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"sis manager exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def start_manager(setup, config: str = "config/graph.py") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sisyphus", "manager", "-r", config], cwd=setup, env=sis_env(setup),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
