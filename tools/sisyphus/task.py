"""A task: one step of a job (a method), possibly split into several task ids."""
from typing import Any, Dict, List, Optional

from sisyphus import global_settings as gs

__all__ = ["Task"]


class Task:
    """
    :param start: name of the job method to run
    :param resume: method to run instead when a started task is restarted after an interruption
    :param rqmt: requirements: cpu, gpu, mem (GB), time (hours), plus engine extras
    :param args: one entry per task id (1..N); each entry is splatted into the method
    :param mini_task: small bookkeeping task, runs on the "short" engine
    :param parallel: at most this many task ids submitted at once (0 = all)
    :param tries: how often a failing task id is run before it is marked as error
    """

    def __init__(self, start: str, resume: Optional[str] = None, rqmt: Optional[Dict[str, Any]] = None,
                 args: Optional[List[Any]] = None, mini_task: bool = False, parallel: int = 0, tries: int = 1,
                 continuable: bool = False):
        self._start = start
        self._resume = resume
        self._rqmt = dict(rqmt or {})
        self._args = [[]] if args is None else list(args)
        if not self._args:
            raise ValueError(f"Task {start!r}: args must not be empty")
        self.mini_task = mini_task
        self.parallel = parallel
        self.tries = max(1, int(tries))
        self.continuable = continuable
        self._job = None

    def set_job(self, job) -> "Task":
        self._job = job
        return self

    def name(self) -> str:
        return self._start

    @property
    def start(self) -> str:
        return self._start

    @property
    def resume(self) -> Optional[str]:
        return self._resume

    def resumable(self) -> bool:
        return self._resume is not None

    def task_ids(self) -> List[int]:
        return list(range(1, len(self._args) + 1))

    def args_of(self, task_id: int) -> list:
        a = self._args[task_id - 1]
        return list(a) if isinstance(a, (list, tuple)) else [a]

    def rqmt(self) -> Dict[str, Any]:
        base = dict(gs.MINI_TASK_RQMT if self.mini_task else gs.DEFAULT_RQMT)
        base.update(self._rqmt)
        if self._job is not None:
            over = self._job._sis_task_rqmt_overwrite.get(self._start)
            if over is not None:
                new, replace = over
                base = dict(new) if replace else {**base, **new}
        if self.mini_task:
            base.setdefault("engine", "short")
        return base

    def __repr__(self):
        return f"Task({self._start!r}, ids={len(self._args)})"
