"""``SlurmEngine``: runs task ids as SLURM array jobs.

One ``sbatch --array`` per group of task ids with equal requirements: ``--cpus-per-task``,
``--mem``, ``--time``, ``--gres=gpu:N``, plus extra ``sbatch_args``; job name = the sis job id;
SLURM's own output goes to ``<job dir>/engine/slurm.<task>.<id>.<array job id>.log`` (the task's
log is written by the worker, which reads ``SLURM_ARRAY_TASK_ID``).

The SLURM job id of every submitted task id is recorded in ``<job dir>/engine/slurm.<task>.<id>.json``
so that a restarted manager finds queued and running tasks again. State comes from one cached
``squeue`` call per manager check. When a task id is submitted again, the engine asks why its last
SLURM job ended (``sacct``, else ``scontrol``, else SLURM's output file); after OUT_OF_MEMORY or
TIMEOUT the memory or time requirement of that task id is doubled (at most ``max_doublings`` times).
"""
import getpass
import json
import logging
import math
import os
import shlex
import subprocess
import time
from typing import Dict, List, Optional, Tuple

from sisyphus import global_settings as gs
from sisyphus.engine import EngineBase

__all__ = ["SlurmEngine", "squeue_state_to_sis"]

log = logging.getLogger("sisyphus.slurm")

#: SLURM job states reported by squeue, mapped to engine states (anything else: queue_error)
_RUNNING = {"RUNNING", "COMPLETING"}
_QUEUED = {"PENDING", "CONFIGURING"}

#: markers SLURM writes into a job's output when it kills it
_OOM_MARKERS = ("exceeded job memory limit", "exceeded memory limit", "out of memory", "oom-kill", "oom_kill",
                "out_of_memory")
_TIMEOUT_MARKERS = ("due to time limit", "time limit exhausted")

#: job states after which a job runs no more (what sacct / scontrol say of a job that has ended)
_FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
          "DEADLINE", "REVOKED", "SPECIAL_EXIT"}


def squeue_state_to_sis(state: str) -> str:
    """RUNNING/COMPLETING → running, PENDING/CONFIGURING → queue, anything else → queue_error."""
    state = state.strip().upper()
    if state in _RUNNING:
        return "running"
    if state in _QUEUED:
        return "queue"
    return "queue_error"


class SlurmEngine(EngineBase):
    """
    :param default_rqmt: requirements of tasks that state none (merged under each task's rqmt)
    :param sbatch_args: extra ``sbatch`` arguments for every submission (list or shell-quoted string);
        a task adds its own through ``rqmt["sbatch_args"]``
    :param partition: ``--partition`` (None: the cluster's default)
    :param max_doublings: how often memory / time of one task id is doubled after OOM / TIMEOUT
    :param cache_seconds: the longest a ``squeue`` answer is reused (it is refreshed at every manager
        check anyway, through :meth:`reset_cache`)
    :param user: whose jobs ``squeue`` lists (default: the current user)
    """

    def __init__(self, default_rqmt: Optional[dict] = None, sbatch_args=None, partition: Optional[str] = None,
                 max_doublings: int = 3, cache_seconds: float = 30.0, user: Optional[str] = None):
        self.default_rqmt = dict(default_rqmt or {"cpu": 1, "mem": 1, "time": 1, "gpu": 0})
        self.sbatch_args = _as_args(sbatch_args)
        self.partition = partition
        self.max_doublings = max_doublings
        self.cache_seconds = cache_seconds
        self.user = user or getpass.getuser()
        self._squeue: Optional[Dict[str, str]] = None  # slurm task id ("123_4") -> squeue state
        self._squeue_time = 0.0
        self._squeue_stale = True
        self._records: Dict[Tuple[str, str, int], dict] = {}

    # ---- interface --------------------------------------------------------------------------------
    def get_default_rqmt(self, task) -> dict:
        return dict(self.default_rqmt)

    def reset_cache(self) -> None:
        self._squeue_stale = True

    def submit_call(self, call: List[str], logpath: str, rqmt: dict, name: str, task_name: str,
                    task_ids: List[int]) -> None:
        job_dir = os.path.dirname(os.path.abspath(logpath))
        os.makedirs(os.path.join(job_dir, "engine"), exist_ok=True)
        groups: Dict[str, Tuple[dict, List[int]]] = {}
        for tid in task_ids:
            never_started = _count_lines(os.path.join(job_dir, f"submit_log.{task_name}"), f"submit {tid} ")
            if never_started > max(1, gs.MAX_SUBMIT_RETRIES):
                record = self._record(job_dir, task_name, tid)
                _mark_error(job_dir, task_name, tid,
                            f"submitted {never_started} times, but the worker never started; "
                            f"see SLURM's output {record.get('slurm_log')}")
                continue
            record = self._record(job_dir, task_name, tid)
            self._update_factors(record, name, task_name, tid, job_dir)
            eff = self._effective_rqmt(rqmt, record)
            key = json.dumps(eff, sort_keys=True, default=str)
            groups.setdefault(key, (eff, []))[1].append(tid)
        for eff, tids in groups.values():
            self._submit_group(call, job_dir, eff, name, task_name, tids)

    def task_state(self, task, task_id: int) -> str:
        job_dir = task._job._sis_path(abspath=True)
        record = self._record(job_dir, task.name(), task_id)
        slurm_id = record.get("slurm_id")
        if not slurm_id:
            return "unknown"
        queue = self._queue()
        if slurm_id in queue:
            return squeue_state_to_sis(queue[slurm_id])
        if record.get("submitted", 0) >= self._squeue_time:
            return "queue"  # submitted after the squeue snapshot was taken
        return "unknown"

    # ---- requirements ------------------------------------------------------------------------------
    def _effective_rqmt(self, rqmt: dict, record: dict) -> dict:
        eff = dict(self.default_rqmt)
        eff.update({k: v for k, v in rqmt.items() if v is not None})
        eff["mem"] = float(eff.get("mem", 1)) * record.get("mem_factor", 1)
        eff["time"] = float(eff.get("time", 1)) * record.get("time_factor", 1)
        return eff

    def _update_factors(self, record: dict, name: str, task_name: str, tid: int, job_dir: str) -> None:
        """Before resubmitting: why did the last SLURM job of this task id end?"""
        slurm_id = record.get("slurm_id")
        if not slurm_id or record.get("checked"):
            return
        reason = self.failure_reason(slurm_id, record.get("slurm_log"))
        record["checked"] = True
        record.setdefault("history", []).append({"slurm_id": slurm_id, "end": reason})
        doublings = record.get("doublings", 0)
        if reason in ("OUT_OF_MEMORY", "TIMEOUT"):
            what = "mem_factor" if reason == "OUT_OF_MEMORY" else "time_factor"
            if doublings < self.max_doublings:
                record[what] = record.get(what, 1) * 2
                record["doublings"] = doublings + 1
                log.warning("%s: task %s.%d (SLURM job %s) ended with %s; resubmitting with %s x%d",
                            name, task_name, tid, slurm_id, reason, "memory" if what == "mem_factor" else "time",
                            record[what])
            else:
                log.error("%s: task %s.%d (SLURM job %s) ended with %s again; requirements already doubled "
                          "%d times, resubmitting unchanged", name, task_name, tid, slurm_id, reason, doublings)
        self._save_record(job_dir, task_name, tid, record)

    # ---- submission -----------------------------------------------------------------------------------
    def sbatch_command(self, call: List[str], job_dir: str, rqmt: dict, name: str, task_name: str,
                       task_ids: List[int]) -> List[str]:
        """The ``sbatch`` command line for one group of task ids with equal requirements."""
        minutes = max(1, int(math.ceil(float(rqmt.get("time", 1)) * 60)))
        mem_mb = max(1, int(math.ceil(float(rqmt.get("mem", 1)) * 1024)))
        cmd = ["sbatch", "--parsable", f"--job-name={name}", f"--array={_array_spec(task_ids)}",
               f"--cpus-per-task={max(1, int(rqmt.get('cpu', 1)))}", f"--mem={mem_mb}M", f"--time={minutes}",
               f"--output={os.path.join(job_dir, 'engine', f'slurm.{task_name}.%a.%A.log')}",
               "--open-mode=append", f"--chdir={os.environ.get('SIS_BASE_DIR') or os.getcwd()}"]
        gpus = int(rqmt.get("gpu", 0) or 0)
        if gpus > 0:
            cmd.append(f"--gres=gpu:{gpus}")
        if self.partition:
            cmd.append(f"--partition={self.partition}")
        cmd += self.sbatch_args + _as_args(rqmt.get("sbatch_args"))
        cmd.append("--wrap=" + shlex.join(call))
        return cmd

    def _submit_group(self, call, job_dir, rqmt, name, task_name, tids) -> None:
        cmd = self.sbatch_command(call, job_dir, rqmt, name, task_name, tids)
        env = dict(os.environ)
        threads = str(max(1, int(rqmt.get("cpu", 1))))
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = threads
        err = ""
        for attempt in range(3):
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
            except (OSError, subprocess.TimeoutExpired) as e:
                err = f"{type(e).__name__}: {e}"
            else:
                if proc.returncode == 0 and proc.stdout.strip():
                    array_id = proc.stdout.strip().splitlines()[-1].split(";")[0].strip()
                    break
                err = f"exit {proc.returncode}: {proc.stderr.strip() or proc.stdout.strip()}"
            time.sleep(1 + attempt)
        else:
            log.error("%s: sbatch failed for task %s ids %s: %s\n  command: %s", name, task_name, tids, err,
                      shlex.join(cmd))
            for tid in tids:
                _mark_error(job_dir, task_name, tid, f"sbatch failed: {err}\n  command: {shlex.join(cmd)}")
            return
        now = time.time()
        log.info("%s: submitted task %s ids %s as SLURM array job %s (cpu=%s mem=%.2fG time=%.2fh)", name,
                 task_name, _array_spec(tids), array_id, rqmt.get("cpu", 1), rqmt["mem"], rqmt["time"])
        for tid in tids:
            record = self._record(job_dir, task_name, tid)
            record.update(slurm_id=f"{array_id}_{tid}", submitted=now, checked=False,
                          slurm_log=os.path.join(job_dir, "engine", f"slurm.{task_name}.{tid}.{array_id}.log"),
                          rqmt={k: rqmt[k] for k in ("cpu", "mem", "time", "gpu") if k in rqmt})
            self._save_record(job_dir, task_name, tid, record)

    # ---- how did a SLURM job end ---------------------------------------------------------------------------
    def failure_reason(self, slurm_id: str, slurm_log: Optional[str] = None) -> str:
        """Final state of a SLURM job: ``sacct``, else ``scontrol`` (needs no accounting database),
        and OUT_OF_MEMORY / TIMEOUT also when only SLURM's message in the job's output says so.

        ``sacct`` lags behind: slurmctld hands a job's end to slurmdbd through a queue, so right
        after a job has left ``squeue`` it may still be RUNNING (or COMPLETING, PENDING) there, or
        not known at all. A state that is not final is therefore no answer: ``scontrol`` (the
        controller's own, current view, kept for MinJobAge after the end) is asked, and only
        when it no longer knows the job does sacct's answer stand."""
        sacct = self._sacct_state(slurm_id)
        state = sacct if sacct in _FINAL else (self._scontrol_state(slurm_id) or sacct or "UNKNOWN")
        if state in ("OUT_OF_MEMORY", "TIMEOUT"):
            return state
        text = _tail(slurm_log, 65536).lower() if slurm_log else ""
        if any(m in text for m in _OOM_MARKERS):
            return "OUT_OF_MEMORY"
        if any(m in text for m in _TIMEOUT_MARKERS):
            return "TIMEOUT"
        return state

    @staticmethod
    def _sacct_state(slurm_id: str) -> Optional[str]:
        out = _run(["sacct", "-n", "-P", "-X", "-j", slurm_id, "-o", "State"])
        if not out:
            return None
        first = out.strip().splitlines()[0].strip() if out.strip() else ""
        return first.split()[0].upper() if first else None  # e.g. "CANCELLED by 0"

    @staticmethod
    def _scontrol_state(slurm_id: str) -> Optional[str]:
        out = _run(["scontrol", "-o", "show", "job", slurm_id])
        for field in (out or "").split():
            if field.startswith("JobState="):
                return field.split("=", 1)[1].upper()
        return None

    # ---- squeue -----------------------------------------------------------------------------------------
    def _queue(self) -> Dict[str, str]:
        fresh = time.time() - self._squeue_time < self.cache_seconds
        if self._squeue is not None and not self._squeue_stale and fresh:
            return self._squeue
        taken = time.time()
        out = _run(["squeue", "-h", "-r", "-u", self.user, "-o", "%i|%T"], log_errors=True)
        if out is None:
            if self._squeue is None:  # no answer ever: treat recorded tasks as queued, keep asking
                log.warning("squeue gave no answer; assuming submitted tasks are still queued")
                return _AlwaysQueued()
            return self._squeue  # the last answer, until squeue answers again
        queue = {}
        for line in out.splitlines():
            if "|" in line:
                sid, state = line.split("|", 1)
                queue[sid.strip()] = state.strip()
        self._squeue, self._squeue_time, self._squeue_stale = queue, taken, False
        return queue

    # ---- records of submitted task ids ------------------------------------------------------------------------
    @staticmethod
    def _record_path(job_dir: str, task_name: str, tid: int) -> str:
        return os.path.join(job_dir, "engine", f"slurm.{task_name}.{tid}.json")

    def _record(self, job_dir: str, task_name: str, tid: int) -> dict:
        key = (job_dir, task_name, tid)
        if key not in self._records:
            try:
                with open(self._record_path(job_dir, task_name, tid)) as f:
                    self._records[key] = json.load(f)
            except (OSError, ValueError):
                self._records[key] = {}
        return self._records[key]

    def _save_record(self, job_dir: str, task_name: str, tid: int, record: dict) -> None:
        from sisyphus.tools import atomic_write_bytes

        self._records[(job_dir, task_name, tid)] = record
        atomic_write_bytes(self._record_path(job_dir, task_name, tid), json.dumps(record, indent=1).encode())


class _AlwaysQueued(dict):
    def __contains__(self, key):
        return True

    def __getitem__(self, key):
        return "PENDING"


def _as_args(args) -> List[str]:
    if not args:
        return []
    return shlex.split(args) if isinstance(args, str) else [str(a) for a in args]


def _array_spec(task_ids: List[int]) -> str:
    """``[1, 2, 3, 5]`` → ``"1-3,5"``."""
    ids = sorted(set(int(t) for t in task_ids))
    parts, start = [], None
    for i, t in enumerate(ids):
        if start is None:
            start = t
        if i + 1 == len(ids) or ids[i + 1] != t + 1:
            parts.append(str(start) if start == t else f"{start}-{t}")
            start = None
    return ",".join(parts)


def _run(cmd: List[str], log_errors: bool = False) -> Optional[str]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        if log_errors:
            log.warning("%s failed: %s", cmd[0], e)
        return None
    if proc.returncode != 0:
        if log_errors:
            log.warning("%s failed (exit %d): %s", shlex.join(cmd), proc.returncode, proc.stderr.strip())
        return None
    return proc.stdout


def _count_lines(path: str, prefix: str) -> int:
    try:
        with open(path) as f:
            return sum(1 for line in f if line.startswith(prefix))
    except OSError:
        return 0


def _mark_error(job_dir: str, task_name: str, tid: int, message: str) -> None:
    """A task id that cannot be run on SLURM: the reason goes into its log, and it is in error
    (``clear_errors`` moves both aside, so it can be retried)."""
    log.error("%s: task %s.%d: %s", job_dir, task_name, tid, message)
    with open(os.path.join(job_dir, f"log.{task_name}.{tid}"), "a") as f:
        f.write(f"[sis slurm engine] {time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")
    with open(os.path.join(job_dir, f"error.{task_name}.{tid}"), "a"):
        pass


def _tail(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
