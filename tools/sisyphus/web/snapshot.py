"""What the HTTP threads may read: a read-only snapshot of the manager's jobs and states (published
by the manager thread after every check), and the per-task state read from a job dir's marker files."""
import os
import time
from typing import Dict


class _Snapshot:
    def __init__(self, seq: int, jobs: list, states: Dict[str, str], task_states: Dict[str, dict], running: bool,
                 finished: bool = False):
        self.seq = seq
        self.time = time.time()
        self.jobs = list(jobs)
        self.states = dict(states)
        self.by_id = {j._sis_id(): j for j in self.jobs}
        self.order = {j._sis_id(): i for i, j in enumerate(self.jobs)}
        self.task_states = task_states
        self.running = running
        #: the manager found every target finished and now only serves the console (until interrupted)
        self.finished = finished
        # changes only when a state does (pages poll it and re-render on change)
        states_hash = hash(tuple(sorted(self.states.items()))) & 0xffffffffffff
        self.signature = f"{int(running)}{int(finished)}:{len(self.jobs)}:{states_hash:x}"

    def state(self, jid: str) -> str:
        return self.states.get(jid, "unknown")


def _inputs(job) -> tuple:
    """A copy of a job's input paths (the manager thread may add inputs while a page is rendered)."""
    return tuple(job._sis_inputs)


def _file_task_state(job, task, tid: int) -> str:
    base = job._sis_path(abspath=True)
    if job._sis_task_finished(task, tid):
        return "finished"
    if os.path.exists(os.path.join(base, f"error.{task.name()}.{tid}")):
        return "error"
    if os.path.exists(os.path.join(base, f"log.{task.name()}.{tid}")):
        return "started"
    return "not started"
