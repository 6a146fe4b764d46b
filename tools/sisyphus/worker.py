"""``sis worker JOBDIR TASK [ID]``: what an engine runs to execute one task id of a job.

Loads the pickled job, runs the task's method (or its ``resume`` method when the task id was
started before), writes ``log.<task>.<id>`` and then ``finished.<task>.<id>``, or
``error.<task>.<id>`` with the traceback in the log. The job-level ``finished`` marker is written
once every task id of every task is finished.
"""
import datetime
import os
import sys
import time
import traceback

from sisyphus import global_settings as gs

__all__ = ["run_worker"]


def _touch(path: str) -> None:
    with open(path, "a"):
        pass


def run_worker(job_dir: str, task_name: str, task_id: int | None, redirect_output: bool = False) -> int:
    from sisyphus.job import load_job

    job_dir = os.path.abspath(job_dir)
    if task_id is None:
        task_id = int(os.environ.get("SLURM_ARRAY_TASK_ID", "1"))
    log_path = os.path.join(job_dir, f"log.{task_name}.{task_id}")
    resumed = os.path.exists(log_path)
    # the task's output always goes to its log (``redirect_output`` is accepted for upstream compatibility)
    log = open(log_path, "a", buffering=1)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log.fileno(), sys.stdout.fileno())
    os.dup2(log.fileno(), sys.stderr.fileno())
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    print(f"[sis worker] {stamp} job={job_dir} task={task_name} id={task_id} pid={os.getpid()}"
          f"{' (resumed)' if resumed else ''}", flush=True)
    for marker in (f"error.{task_name}.{task_id}",):
        p = os.path.join(job_dir, marker)
        if os.path.exists(p):
            os.unlink(p)
    try:
        job = load_job(job_dir)
        task = next((t for t in job._sis_tasks() if t.name() == task_name), None)
        if task is None:
            raise ValueError(f"{job_dir}: job has no task {task_name!r}")
        method_name = task.resume if (resumed and task.resumable()) else task.start
        method = getattr(job, method_name)
        args = task.args_of(task_id)
    except Exception:
        traceback.print_exc()
        _touch(os.path.join(job_dir, f"error.{task_name}.{task_id}"))
        return 1

    work = job._sis_path(gs.JOB_WORK_DIR, abspath=True)
    os.makedirs(work, exist_ok=True)
    os.chdir(work)
    for attempt in range(1, task.tries + 1):
        start = time.time()
        try:
            method(*args)
        except Exception:
            traceback.print_exc()
            print(f"[sis worker] task {task_name}.{task_id} failed (attempt {attempt}/{task.tries}) "
                  f"after {time.time() - start:.1f} s", flush=True)
            if attempt == task.tries:
                _touch(os.path.join(job_dir, f"error.{task_name}.{task_id}"))
                return 1
            method = getattr(job, task.resume) if task.resumable() else method
            continue
        break
    print(f"[sis worker] task {task_name}.{task_id} finished in {time.time() - start:.1f} s", flush=True)
    _touch(os.path.join(job_dir, f"finished.{task_name}.{task_id}"))
    all_done = all(os.path.exists(os.path.join(job_dir, f"finished.{t.name()}.{i}"))
                   for t in job._sis_tasks() for i in t.task_ids())
    if all_done:
        _touch(os.path.join(job_dir, gs.JOB_FINISHED_MARKER))
    return 0


def run_in_process(job, task_name: str | None = None, task_id: int = 1) -> None:
    """Run one task id of ``job`` in this process, writing the same markers as a worker."""
    job._sis_setup_directory()
    tasks = job._sis_tasks()
    task = tasks[0] if task_name is None else next(t for t in tasks if t.name() == task_name)
    base = job._sis_path(abspath=True)
    cwd = os.getcwd()
    os.chdir(job._sis_path(gs.JOB_WORK_DIR, abspath=True))
    try:
        getattr(job, task.start)(*task.args_of(task_id))
    finally:
        os.chdir(cwd)
    _touch(os.path.join(base, f"finished.{task.name()}.{task_id}"))
    if all(os.path.exists(os.path.join(base, f"finished.{t.name()}.{i}")) for t in tasks for i in t.task_ids()):
        _touch(os.path.join(base, gs.JOB_FINISHED_MARKER))
