"""The engine interface, and ``EngineSelector`` which routes tasks to named engines.

An engine runs ``call + [task id]`` for each task id somewhere (local processes, SLURM) and
reports per task id whether it is ``queue``, ``running``, ``unknown`` (not known to the engine:
then the job directory's files decide) or ``queue_error``.
"""
from typing import Dict, List

__all__ = ["EngineBase", "EngineSelector"]


class EngineBase:
    def submit_call(self, call: List[str], logpath: str, rqmt: dict, name: str, task_name: str,
                    task_ids: List[int]) -> None:
        raise NotImplementedError

    def task_state(self, task, task_id: int) -> str:
        raise NotImplementedError

    def start_engine(self) -> None:
        pass

    def stop_engine(self) -> None:
        pass

    def reset_cache(self) -> None:
        pass

    def get_default_rqmt(self, task) -> dict:
        return {}

    def step(self) -> None:
        """Called once per manager loop (start queued work, reap processes)."""

    def task_ended(self) -> bool:
        """Cheap check between manager loops: has a task this engine started ended since the
        last :meth:`step`? True lets the manager look at the graph at once instead of after its
        full wait period (engines that cannot tell cheaply keep the default False)."""
        return False


class EngineSelector(EngineBase):
    """Routes each task by ``rqmt["engine"]``; ``mini_task=True`` tasks go to ``"short"``."""

    def __init__(self, engines: Dict[str, EngineBase], default_engine: str):
        if default_engine not in engines:
            raise ValueError(f"EngineSelector: default_engine {default_engine!r} not in {sorted(engines)}")
        self.engines = engines
        self.default_engine = default_engine

    def get_used_engine(self, engine_selector: str | None) -> EngineBase:
        name = engine_selector or self.default_engine
        if name not in self.engines:
            raise ValueError(f"EngineSelector: unknown engine {name!r} (have {sorted(self.engines)})")
        return self.engines[name]

    def _for_task(self, task) -> EngineBase:
        return self.get_used_engine(task.rqmt().get("engine"))

    def _unique(self):
        seen = []
        for e in self.engines.values():
            if all(e is not s for s in seen):
                seen.append(e)
        return seen

    def submit_call(self, call, logpath, rqmt, name, task_name, task_ids):
        self.get_used_engine(rqmt.get("engine")).submit_call(call, logpath, rqmt, name, task_name, task_ids)

    def task_state(self, task, task_id):
        return self._for_task(task).task_state(task, task_id)

    def start_engine(self):
        for e in self._unique():
            e.start_engine()

    def stop_engine(self):
        for e in self._unique():
            e.stop_engine()

    def reset_cache(self):
        for e in self._unique():
            e.reset_cache()

    def step(self):
        for e in self._unique():
            e.step()

    def task_ended(self):
        return any(e.task_ended() for e in self._unique())

    def get_default_rqmt(self, task):
        return self._for_task(task).get_default_rqmt(task)
