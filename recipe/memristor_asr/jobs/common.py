"""What several jobs share: resource arguments kept out of job ids, task setup (logging, torch
threads, device), JSON outputs, resolving Sisyphus paths and variables inside nested arguments."""
import json
import logging
import os
import sys
from typing import Optional

from sisyphus import Job, tk

__all__ = ["RESOURCE_ARGS", "ResourceArgsJob", "log_to_stdout", "set_torch_threads", "prepare_task", "write_json",
           "resolve"]

#: constructor arguments that only set engine requirements; they never change a job's result
RESOURCE_ARGS = ("num_workers", "cpu_rqmt", "mem_rqmt", "time_rqmt", "gpu_rqmt")


class ResourceArgsJob(Job):
    """Base of jobs with resource arguments (:data:`RESOURCE_ARGS`): they are left out of the
    hash, so more cores or memory reuse the cached result instead of recomputing it."""

    @classmethod
    def hash(cls, parsed_args: dict) -> str:
        return super().hash({k: v for k, v in parsed_args.items() if k not in RESOURCE_ARGS})


_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_stdout() -> None:
    """Send the library's log lines (progress, ETA) to the task log."""
    log = logging.getLogger("memristor_asr")
    if not log.handlers:
        h = logging.StreamHandler(sys.stdout)
        h.setFormatter(logging.Formatter(_LOG_FORMAT))
        log.addHandler(h)
    log.propagate = False  # the worker's root handler writes to the same log: no line twice
    log.setLevel(logging.INFO)


def set_torch_threads(cpus: int) -> None:
    """torch intra-op threads = the task's cpu request (at least 1). torch's default pool (every
    core) oversubscribes a shared machine: 15x to 50x slower on 2 cores (measured)."""
    import torch

    torch.set_num_threads(max(1, int(cpus)))


def _log_to_file(path: str) -> None:
    """One log file at a time: a file handler of an earlier task in this process is closed."""
    log = logging.getLogger("memristor_asr")
    for h in [h for h in log.handlers if isinstance(h, logging.FileHandler)]:
        if h.baseFilename == path:
            return
        log.removeHandler(h)
        h.close()
    h = logging.FileHandler(path)
    h.setFormatter(logging.Formatter(_LOG_FORMAT))
    log.addHandler(h)


def prepare_task(cpus: Optional[int], gpus: int = 0, log_file: Optional[str] = None):
    """Start a heavy task the same way everywhere: library log lines to the task log (and to
    ``log_file`` if given, appending across resumes), torch threads from the cpu request, and the
    device to run on.

    :param cpus: the task's cpu request (``rqmt["cpu"]``); None leaves torch's thread count alone
        (a training config that sets its own)
    :param gpus: the task's gpu request; CUDA only where one was asked for and is there
    :return: ``torch.device`` "cuda" or "cpu"
    """
    import torch

    log_to_stdout()
    if log_file is not None:
        _log_to_file(os.path.abspath(log_file))
    if cpus is not None:
        set_torch_threads(cpus)
    return torch.device("cuda" if gpus and torch.cuda.is_available() else "cpu")


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
