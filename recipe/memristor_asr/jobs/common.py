"""What several jobs share: resource arguments kept out of job ids, task logging, JSON outputs,
resolving Sisyphus paths and variables inside nested arguments."""
import json
import logging
import sys

from sisyphus import Job, tk

__all__ = ["RESOURCE_ARGS", "ResourceArgsJob", "log_to_stdout", "write_json", "resolve"]

#: constructor arguments that only set engine requirements; they never change a job's result
RESOURCE_ARGS = ("num_workers", "cpu_rqmt", "mem_rqmt", "time_rqmt", "gpu_rqmt")


class ResourceArgsJob(Job):
    """Base of jobs with resource arguments (:data:`RESOURCE_ARGS`): they are left out of the
    hash, so more cores or memory reuse the cached result instead of recomputing it."""

    @classmethod
    def hash(cls, parsed_args: dict) -> str:
        return super().hash({k: v for k, v in parsed_args.items() if k not in RESOURCE_ARGS})


def log_to_stdout() -> None:
    """Send the library's log lines (progress, ETA) to the task log."""
    log = logging.getLogger("memristor_asr")
    if not log.handlers:
        h = logging.StreamHandler(sys.stdout)
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(h)
    log.propagate = False  # the worker's root handler writes to the same log: no line twice
    log.setLevel(logging.INFO)


def write_json(path: str, obj) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    from memristor_asr.util.atomic import atomic_write

    with atomic_write(path) as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def resolve(x):
    """Replace every tk.Variable by its value and tk.Path by its location, through lists/tuples/dicts."""
    if isinstance(x, tk.Variable):
        return resolve(x.get())
    if isinstance(x, tk.Path):
        return x.get_path()
    if isinstance(x, dict):
        return {k: resolve(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(resolve(v) for v in x)
    return x
