"""``sis worker JOBDIR TASK [ID]``: what an engine runs to execute one task id of a job.

Loads the pickled job, runs the task's method (or its ``resume`` method when the task id was
started before), writes ``log.<task>.<id>`` and then ``finished.<task>.<id>``, or
``error.<task>.<id>`` with the traceback in the log. The job-level ``finished`` marker is written
once every task id of every task is finished.

A worker first claims its task id: an exclusive POSIX lock on ``engine/lock.<task>.<id>``, held
until the process ends (however it ends; the kernel drops the lock, and forked children of the
task do not inherit it). A second worker for the same task id (e.g. one a restarted manager
started because it could not see the first: killed after starting it, before recording its pid;
or an engine's resubmission while the first is still being killed) waits for the lock, and then
exits at once if the first finished the task id, or runs it if the first died. So a task id never
runs twice at the same time; engines ask :func:`task_claimed` whether a task id is being run.
"""
import datetime
import errno
import fcntl
import os
import sys
import time
import traceback

from sisyphus import global_settings as gs

__all__ = ["run_worker", "task_claimed", "task_lock_path"]

_claims = []  # the open lock files: the claims last as long as the process


def _touch(path: str) -> None:
    with open(path, "a"):
        pass


def task_lock_path(job_dir: str, task_name: str, task_id: int) -> str:
    return os.path.join(job_dir, gs.JOB_ENGINE_DIR, f"lock.{task_name}.{task_id}")


def _lock_busy(e: OSError) -> bool:
    return e.errno in (errno.EACCES, errno.EAGAIN)


def _claim(job_dir: str, task_name: str, task_id: int) -> bool:
    """Take the task id's lock for the rest of this process, waiting while another process holds it;
    returns whether it had to wait."""
    path = task_lock_path(job_dir, task_name, task_id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    f = open(path, "a+")
    waited = False
    try:
        fcntl.lockf(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if not _lock_busy(e):
            raise
        print(f"[sis worker] {job_dir} task {task_name}.{task_id} is being run by another worker ({path} is "
              f"locked); waiting for it to end", flush=True)
        fcntl.lockf(f.fileno(), fcntl.LOCK_EX)
        waited = True
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    _claims.append(f)
    return waited


def task_claimed(job_dir: str, task_name: str, task_id: int) -> bool:
    """Whether a live worker holds the task id (see :func:`_claim`)."""
    try:
        f = open(task_lock_path(job_dir, task_name, task_id), "r")
    except OSError:
        return False
    with f:
        try:
            fcntl.lockf(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as e:
            return _lock_busy(e)
        fcntl.lockf(f.fileno(), fcntl.LOCK_UN)
    return False


def run_worker(job_dir: str, task_name: str, task_id: int | None, redirect_output: bool = False) -> int:
    from sisyphus.job import load_job

    job_dir = os.path.abspath(job_dir)
    if task_id is None:
        task_id = int(os.environ.get("SLURM_ARRAY_TASK_ID", "1"))
    waited = _claim(job_dir, task_name, task_id)
    # the worker we waited for settled the task id: its result (finished, or error) stands
    for outcome in ("finished",) + (("error",) if waited else ()):
        if os.path.exists(os.path.join(job_dir, f"{outcome}.{task_name}.{task_id}")):
            print(f"[sis worker] {job_dir} task {task_name}.{task_id}: another worker ended it ({outcome}); "
                  f"nothing to do", flush=True)
            return 0
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
