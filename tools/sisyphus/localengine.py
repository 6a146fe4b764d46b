"""``LocalEngine``: runs task ids as local processes while their requirements fit.

Free slots are counted in cpus, gpus and memory (GB). Each started process gets its own session
(it survives a killed manager) and its pid is recorded in the job directory
(``engine/pid.<task>.<id>``), so a restarted manager finds still-running tasks again; their
requirements count against the free slots until they end (a restart must not oversubscribe).

A task id counts as running while its worker holds the task id's lock (``engine/lock.<task>.<id>``,
see :mod:`sisyphus.worker`) or its recorded pid is alive. The lock covers a manager killed after
it started a worker but before it wrote the pid file: without it a restarted manager took the
still-running task for interrupted and ran it a second time, concurrently.
"""
import logging
import os
import subprocess
import time
from collections import deque
from typing import Dict, List, Tuple

from sisyphus.engine import EngineBase
from sisyphus.tools import atomic_write_bytes, pid_alive
from sisyphus.worker import task_claimed

__all__ = ["LocalEngine"]


class LocalEngine(EngineBase):
    def __init__(self, cpus: int = 1, gpus: int = 0, mem: float = 4.0):
        self.cpus, self.gpus, self.mem = cpus, gpus, mem
        self._queue: deque = deque()
        self._running: Dict[Tuple[str, str, int], dict] = {}
        # tasks an earlier manager started and that still run: key -> (pid or None, rqmt)
        self._adopted: Dict[Tuple[str, str, int], Tuple[int | None, dict]] = {}
        self._free_gpus = list(range(gpus))

    # ---- interface ----------------------------------------------------------------------------
    def submit_call(self, call: List[str], logpath: str, rqmt: dict, name: str, task_name: str,
                    task_ids: List[int]) -> None:
        job_dir = os.path.dirname(logpath)
        for task_id in task_ids:
            self._queue.append({"call": list(call) + [str(task_id)], "job_dir": job_dir, "rqmt": dict(rqmt),
                                "name": name, "task": task_name, "task_id": task_id})
        self.step()

    def task_state(self, task, task_id: int) -> str:
        job_dir = task._job._sis_path(abspath=True)
        key = (job_dir, task.name(), task_id)
        self.step()
        if key in self._running:
            return "running"
        if any((q["job_dir"], q["task"], q["task_id"]) == key for q in self._queue):
            return "queue"
        pid = self._read_pid(job_dir, task.name(), task_id)
        if self._alive(key, pid):
            if key not in self._adopted:  # started by an earlier manager: holds its slots
                self._adopted[key] = (pid, dict(task.rqmt()))
            return "running"
        self._adopted.pop(key, None)
        return "unknown"

    def stop_engine(self):
        self._queue.clear()

    @staticmethod
    def _alive(key, pid) -> bool:
        """Whether the task id ``key`` = (job dir, task, id) started by an earlier manager still runs."""
        return task_claimed(*key) or (pid is not None and pid_alive(pid, marker=key[0]))

    # ---- scheduling -----------------------------------------------------------------------------
    def _used(self):
        for key, (pid, _) in list(self._adopted.items()):
            if not self._alive(key, pid):
                del self._adopted[key]
        rqmts = [r["rqmt"] for r in self._running.values()] + [rq for _, rq in self._adopted.values()]
        return sum(rq.get("cpu", 1) for rq in rqmts), sum(rq.get("mem", 1) for rq in rqmts)

    def step(self) -> None:
        for key, entry in list(self._running.items()):
            if entry["proc"].poll() is not None:
                self._free_gpus.extend(entry["gpus"])
                del self._running[key]
        started = True
        while started and self._queue:
            started = False
            entry = self._queue[0]
            rq = entry["rqmt"]
            cpu, mem = self._used()
            need_cpu, need_mem, need_gpu = rq.get("cpu", 1), rq.get("mem", 1), rq.get("gpu", 0)
            busy = bool(self._running or self._adopted)
            fits = (cpu + need_cpu <= self.cpus or not busy) and \
                   (mem + need_mem <= self.mem or not busy) and need_gpu <= len(self._free_gpus)
            if need_gpu > self.gpus:
                logging.error("%s: task %s needs %d GPUs, this engine has %d",
                              entry["name"], entry["task"], need_gpu, self.gpus)
            if fits:
                self._queue.popleft()
                self._start(entry)
                started = True

    def task_ended(self) -> bool:
        return any(entry["proc"].poll() is not None for entry in self._running.values())

    def _start(self, entry: dict) -> None:
        gpus = [self._free_gpus.pop(0) for _ in range(entry["rqmt"].get("gpu", 0))]
        env = dict(os.environ)
        env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus))
        threads = str(max(1, int(entry["rqmt"].get("cpu", 1))))
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = threads
        os.makedirs(os.path.join(entry["job_dir"], "engine"), exist_ok=True)
        out = open(os.path.join(entry["job_dir"], "engine", f"stdout.{entry['task']}.{entry['task_id']}"), "ab")
        proc = subprocess.Popen(entry["call"], stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, cwd=os.environ.get("SIS_BASE_DIR") or os.getcwd())
        out.close()
        atomic_write_bytes(self._pid_file(entry["job_dir"], entry["task"], entry["task_id"]),
                           f"{proc.pid}\n{time.time()}\n".encode())  # never a truncated pid file
        key = (entry["job_dir"], entry["task"], entry["task_id"])
        self._running[key] = {**entry, "proc": proc, "gpus": gpus}

    @staticmethod
    def _pid_file(job_dir: str, task: str, task_id: int) -> str:
        return os.path.join(job_dir, "engine", f"pid.{task}.{task_id}")

    def _read_pid(self, job_dir, task, task_id):
        try:
            with open(self._pid_file(job_dir, task, task_id)) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None
