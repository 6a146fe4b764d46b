"""Loading a config: ``config/x.py`` imports module ``config.x`` and calls ``py()``;
``config/x.func`` calls ``func`` instead."""
import importlib
import os
import sys

from sisyphus import global_settings as gs

__all__ = ["ConfigError", "setup_import_paths", "load_config"]


class ConfigError(RuntimeError):
    pass


def setup_import_paths() -> None:
    for p in [gs.BASE_DIR] + [os.path.join(gs.BASE_DIR, p) for p in reversed(gs.IMPORT_PATHS)]:
        p = os.path.normpath(p)
        if p not in sys.path:
            sys.path.insert(0, p)
    # the base dir must win over IMPORT_PATHS so that `config.x` resolves to config/x.py
    sys.path.remove(os.path.normpath(gs.BASE_DIR))
    sys.path.insert(0, os.path.normpath(gs.BASE_DIR))


def _module_and_function(spec: str):
    spec = spec.rstrip("/")
    rel = os.path.relpath(os.path.join(gs.BASE_DIR, spec), gs.BASE_DIR)
    if rel.endswith(".py"):
        return rel[:-3].replace(os.sep, "."), "py", os.path.join(gs.BASE_DIR, rel)
    if os.path.exists(os.path.join(gs.BASE_DIR, rel + ".py")):
        return rel.replace(os.sep, "."), "py", os.path.join(gs.BASE_DIR, rel + ".py")
    head, _, func = rel.rpartition(".")
    return head.replace(os.sep, "."), func, os.path.join(gs.BASE_DIR, head.replace(".", os.sep) + ".py")


def load_config(spec: str) -> None:
    """Import the config and run its entry function; errors become one :class:`ConfigError`."""
    setup_import_paths()
    module_name, func_name, file_path = _module_and_function(spec)
    if not os.path.exists(file_path):
        raise ConfigError(f"config file {file_path} does not exist (from {spec!r})")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:
        raise ConfigError(f"failed to import config {file_path}: {type(e).__name__}: {e}") from e
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ConfigError(f"config {file_path} has no function {func_name}()")
    try:
        func()
    except Exception as e:
        raise ConfigError(f"config {file_path}: {func_name}() raised {type(e).__name__}: {e}") from e
