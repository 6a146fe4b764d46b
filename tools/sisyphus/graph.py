"""The job graph of a loaded config: registered targets, all jobs they need, and job states.

States are derived from the files in each job directory (plus the engine's view of queued and
running task ids), never kept only in memory.
"""
import os
from collections import OrderedDict
from typing import Dict, List, Optional

from sisyphus import global_settings as gs

__all__ = ["OutputTarget", "ReportTarget", "SISGraph", "graph", "STATES"]

STATES = ("input_missing", "error", "retry_error", "interrupted_not_resumable", "interrupted_resumable",
          "hold", "waiting", "runnable", "queue", "running", "finished")


class OutputTarget:
    def __init__(self, name: str, path):
        self.name = name
        self.path = path

    def available(self) -> bool:
        return self.path.available()


class ReportTarget:
    def __init__(self, name: str, values, template: Optional[str] = None, required=None):
        self.name = name
        self.values = values
        self.template = template
        self.required = required


class SISGraph:
    def __init__(self):
        self.targets: "OrderedDict[str, object]" = OrderedDict()

    def add_target(self, target) -> None:
        if target.name in self.targets:
            old = self.targets[target.name]
            if getattr(old, "path", None) is not None and getattr(target, "path", None) is not None \
                    and old.path != target.path:
                raise ValueError(f"output name {target.name!r} registered twice for different paths "
                                 f"({old.path!r} and {target.path!r})")
        self.targets[target.name] = target

    def clear(self) -> None:
        self.targets.clear()

    def _target_paths(self):
        from sisyphus.tools import extract_paths

        for t in self.targets.values():
            if isinstance(t, OutputTarget):
                yield t.path
            else:  # a report needs the paths in its values (or, for a callable, in ``required``)
                yield from extract_paths([t.required] if callable(t.values) else [t.values, t.required])

    def jobs(self) -> List:
        """All jobs the targets need, in topological order (inputs before users)."""
        order, seen = [], set()

        def visit(job):
            stack = [(job, False)]
            while stack:
                j, expanded = stack.pop()
                jid = j._sis_id()
                if expanded:
                    order.append(j)
                    continue
                if jid in seen:
                    continue
                seen.add(jid)
                stack.append((j, True))
                for p in sorted(j._sis_inputs, reverse=True):
                    if p.creator is not None and p.creator._sis_id() not in seen:
                        stack.append((p.creator, False))

        for p in self._target_paths():
            if p.creator is not None:
                visit(p.creator)
        return order

    def job_by_id(self) -> Dict[str, object]:
        return {j._sis_id(): j for j in self.jobs()}

    def descendants(self, roots) -> List:
        """The given jobs and every job (in the graph) that depends on them, topologically."""
        ids = {r._sis_id() for r in roots}
        result = []
        for j in self.jobs():
            if j._sis_id() in ids or any(p.creator is not None and p.creator._sis_id() in ids for p in j._sis_inputs):
                ids.add(j._sis_id())
                result.append(j)
        return result


def job_state(job, engine=None) -> str:
    """State of a job from its directory's files and the engine's answers."""
    if job._sis_finished():
        return "finished"
    for p in job._sis_inputs:
        if p.creator is None and not p.available():
            return "input_missing"
    if not all(p.available() for p in job._sis_inputs):
        return "waiting"
    if job._sis_is_set_to_hold():
        return "hold"
    base = job._sis_path(abspath=True)
    if not os.path.isdir(base):
        return "runnable"
    task = next_task(job)
    if task is None:
        return "finished"
    states = []
    for tid in task.task_ids():
        if job._sis_task_finished(task, tid):
            continue
        if os.path.exists(os.path.join(base, f"error.{task.name()}.{tid}")):
            return "error"
        engine_state = engine.task_state(task, tid) if engine is not None else "unknown"
        if engine_state in ("queue", "running"):
            states.append(engine_state)
        elif engine_state == "queue_error":
            states.append("error")
        elif os.path.exists(os.path.join(base, f"log.{task.name()}.{tid}")):
            if interruptions(job, task, tid) > gs.MAX_SUBMIT_RETRIES:
                return "retry_error"
            states.append("interrupted_resumable" if task.resumable() else "interrupted_not_resumable")
        else:
            states.append("runnable")
    for s in ("error", "running", "queue", "interrupted_not_resumable", "interrupted_resumable", "runnable"):
        if s in states:
            # a partially running array task is "running"; its other ids are started as they fit
            return s
    return "finished"


def next_task(job):
    for task in job._sis_tasks():
        if not all(job._sis_task_finished(task, i) for i in task.task_ids()):
            return task
    return None


def interruptions(job, task, task_id) -> int:
    path = os.path.join(job._sis_path(abspath=True), f"submit_log.{task.name()}")
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(1 for line in f if line.startswith(f"restart {task_id} "))


#: the graph of the currently loaded config
graph = SISGraph()
