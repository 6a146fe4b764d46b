"""Small helpers of the runtime: atomic writes, path extraction, process checks."""
import dataclasses
import os
import tempfile

__all__ = ["atomic_write_bytes", "extract_paths", "pid_alive"]


def atomic_write_bytes(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def extract_paths(obj) -> set:
    """All :class:`~sisyphus.job_path.Path` objects reachable inside ``obj`` (not through jobs)."""
    from sisyphus.job import Job
    from sisyphus.job_path import Path

    found, seen, stack = set(), set(), [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, (str, bytes, int, float, bool, type(None))):
            continue
        seen.add(id(o))
        if isinstance(o, Path):
            found.add(o)
        elif isinstance(o, Job):
            continue
        elif isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        elif dataclasses.is_dataclass(o) and not isinstance(o, type):
            stack.extend(getattr(o, f.name) for f in dataclasses.fields(o))
        elif hasattr(o, "__dict__") and not isinstance(o, type) and type(o).__module__ not in ("builtins",):
            if type(o).__module__.startswith(("torch", "numpy")):
                continue
            stack.extend(vars(o).values())
    return found


def pid_alive(pid: int, marker: str | None = None) -> bool:
    """True if process ``pid`` runs (and, on Linux, its command line contains ``marker``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().split(")")[-1].split()[0] == "Z":
                return False  # zombie: finished, not yet reaped
        if marker is not None:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return marker.encode() in f.read()
    except OSError:
        pass
    return True
