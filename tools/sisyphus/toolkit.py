"""``tk``: what configs and the console use to build, inspect and edit the graph."""
import logging
import os
import shutil
import time
from typing import Iterable, List, Optional, Union

from sisyphus import global_settings as gs
from sisyphus.graph import OutputTarget, ReportTarget, graph, job_state
from sisyphus.job import Job
from sisyphus.job_path import Path, Variable

__all__ = ["Path", "Variable", "register_output", "register_report", "input_path", "uncached_path",
           "remove_job_and_descendants", "run_job", "sis_graph", "job_state_of", "clear_errors", "setup_path"]

sis_graph = graph


def setup_path(package: str):
    """Upstream compatibility: ``Path = setup_path(__package__)``; here simply :class:`Path`."""
    return Path


def register_output(name: str, value: Path, export_graph: bool = False) -> None:
    """Make ``value`` a target of the graph; ``output/<name>`` links to it once available."""
    if not isinstance(value, Path):
        raise TypeError(f"register_output({name!r}): expected a tk.Path, got {type(value).__name__}")
    if os.path.isabs(name) or ".." in name.split("/"):
        raise ValueError(f"register_output: output name {name!r} must be a relative path inside {gs.OUTPUT_DIR}/")
    graph.add_target(OutputTarget(name, value))


def register_report(name: str, values, template: Optional[str] = None, required=None, update_frequency=None) -> None:
    """A text report ``output/<name>``: ``template.format(**values)``, ``values()`` or a pretty dict.

    Written once every path in ``values`` (or ``required``) is available.
    """
    graph.add_target(ReportTarget(name, values, template, required))


def input_path(path: str) -> Path:
    return Path(path)


def uncached_path(path) -> str:
    return path.get_path() if isinstance(path, Path) else str(path)


def job_state_of(job: Job, engine=None) -> str:
    return job_state(job, engine)


def _resolve_jobs(spec) -> List[Job]:
    if isinstance(spec, Job):
        return [spec]
    if isinstance(spec, Path):
        if spec.creator is None:
            raise ValueError(f"{spec!r} is a raw input, not created by a job")
        return [spec.creator]
    if isinstance(spec, str):
        matches = [j for j in graph.jobs() if spec in j._sis_id()]
        if not matches:
            raise ValueError(f"no job in the loaded graph matches {spec!r}")
        return matches
    if isinstance(spec, Iterable):
        return [j for s in spec for j in _resolve_jobs(s)]
    raise TypeError(f"cannot resolve {spec!r} to jobs")


def remove_job_and_descendants(jobs: Union[Job, Path, str, Iterable], mode: str = "remove") -> List[Job]:
    """Delete (``remove``), set aside (``move``, to ``<work>/.trash/``) or list (``dryrun``) the job
    directories of ``jobs`` and of every job in the loaded graph that depends on them, so that the
    next manager run recomputes exactly those.

    :param jobs: job(s), path(s) created by jobs, or a substring of job ids
    :return: the affected jobs (in topological order)
    """
    if mode not in ("remove", "move", "dryrun"):
        raise ValueError(f"mode must be 'remove', 'move' or 'dryrun', got {mode!r}")
    roots = _resolve_jobs(jobs)
    affected = graph.descendants(roots)
    for r in roots:
        if all(r is not a for a in affected):
            affected.insert(0, r)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for job in affected:
        path = job._sis_path(abspath=True)
        if not os.path.lexists(path):
            continue
        if mode == "dryrun":
            print(f"would remove: {path}")
        elif mode == "remove":
            shutil.rmtree(path) if not os.path.islink(path) else os.unlink(path)
            logging.info("removed %s", path)
        else:
            dest = os.path.join(gs.BASE_DIR, gs.WORK_DIR, ".trash", stamp, job._sis_id())
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.move(path, dest)
            logging.info("moved %s -> %s", path, dest)
        job._sis_is_finished = False
    return affected



def clear_errors(jobs: Iterable[Job]) -> List[Job]:
    """Make jobs in error runnable again: the failed task ids' markers and logs are moved into
    ``cleared.<n>/`` inside the job dir (kept for inspection); finished task ids stay finished."""
    cleared = []
    for job in jobs:
        base = job._sis_path(abspath=True)
        if not os.path.isdir(base):
            continue
        errors = [f for f in os.listdir(base) if f.startswith("error.")]
        if not errors:
            continue
        n = 1
        while os.path.exists(os.path.join(base, f"cleared.{n}")):
            n += 1
        dest = os.path.join(base, f"cleared.{n}")
        os.makedirs(dest)
        for e in errors:
            suffix = e[len("error."):]
            for name in (e, f"log.{suffix}", f"submit_log.{suffix.rsplit('.', 1)[0]}"):
                if os.path.exists(os.path.join(base, name)):
                    shutil.move(os.path.join(base, name), os.path.join(dest, name))
        cleared.append(job)
    return cleared


def run_job(job: Job, task_name: Optional[str] = None, task_id: int = 1) -> None:
    """Run one task of a job in this process (for debugging from the console)."""
    from sisyphus.worker import run_in_process

    run_in_process(job, task_name, task_id)
