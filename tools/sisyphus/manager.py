"""The manager loop: find jobs by state, submit what can run, report, stop when done or stuck."""
import logging
import os
import sys
import time
from collections import Counter
from typing import Dict, List

from sisyphus import global_settings as gs
from sisyphus.graph import OutputTarget, ReportTarget, graph, interruptions, job_state, next_task
from sisyphus.toolkit import clear_errors

__all__ = ["Manager"]

log = logging.getLogger("sisyphus.manager")
TOOLS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: seconds between the cheap "has a task ended?" checks while the manager waits
ENGINE_POLL_INTERVAL = 0.1


def _ask(question: str) -> bool:
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


class Manager:
    """
    :param engine: engine (or EngineSelector) that runs the tasks
    :param ask: ask before starting and before clearing jobs in error (False with ``-r``)
    :param clear_errors_once: clear jobs in error once at start without asking
    """

    #: jobs listed by name per state in the summary (the rest are counted)
    MAX_LISTED_PER_STATE = 8

    def __init__(self, engine, ask: bool = True, clear_errors_once: bool = False, on_update=None):
        self.engine = engine
        self.ask = ask
        self.clear_errors_once = clear_errors_once
        self.on_update = on_update
        self.states: Dict[str, str] = {}
        self.jobs: List = []
        self._last_summary = None
        self._updated = set()
        os.environ["SIS_BASE_DIR"] = gs.BASE_DIR
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [TOOLS_DIR] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != TOOLS_DIR])

    # ---- one look at the graph ------------------------------------------------------------------
    def refresh(self) -> Dict[str, str]:
        self.engine.reset_cache()
        for _ in range(100):  # update() may add inputs, which may add jobs
            self.jobs = graph.jobs()
            changed = False
            for job in self.jobs:
                jid = job._sis_id()
                if job._sis_update_possible() and jid not in self._updated and not job._sis_finished() \
                        and all(p.available() for p in job._sis_inputs):
                    job.update()
                    self._updated.add(jid)
                    changed |= job._sis_collect_inputs()
            if not changed:
                break
        self.states = {j._sis_id(): job_state(j, self.engine) for j in self.jobs}
        self._link_outputs()
        return self.states

    def _link_outputs(self) -> None:
        out_dir = os.path.join(gs.BASE_DIR, gs.OUTPUT_DIR)
        for target in graph.targets.values():
            dest = os.path.join(out_dir, target.name)
            if isinstance(target, OutputTarget):
                if target.available():
                    _symlink(target.path.get_path(), dest)
            elif isinstance(target, ReportTarget):
                self._write_report(target, dest)
        alias_dir = os.path.join(gs.BASE_DIR, gs.ALIAS_DIR)
        for job in self.jobs:
            if job._sis_aliases and os.path.isdir(job._sis_path(abspath=True)):
                for alias in job._sis_aliases:
                    _symlink(job._sis_path(abspath=True), os.path.join(alias_dir, alias))

    @staticmethod
    def _write_report(target: ReportTarget, dest: str) -> None:
        from sisyphus.tools import atomic_write_bytes, extract_paths

        needed = extract_paths([target.required] if callable(target.values) else [target.values, target.required])
        if not all(p.available() for p in needed):
            return
        values = target.values() if callable(target.values) else target.values
        values = _resolve_values(values)
        if target.template is not None:
            text = target.template.format(**values)
        elif isinstance(values, dict):
            text = "\n".join(f"{k}: {v}" for k, v in values.items())
        else:
            text = str(values)
        text += "\n"
        if os.path.exists(dest) and not os.path.islink(dest):
            with open(dest, encoding="utf-8") as f:
                if f.read() == text:
                    return
        atomic_write_bytes(dest, text.encode())

    # ---- reporting --------------------------------------------------------------------------------
    def summary(self) -> str:
        counts = Counter(self.states.values())
        lines = [" ".join(f"{s}: {counts[s]}" for s in sorted(counts))]
        shown = Counter()
        for jid, state in sorted(self.states.items()):
            if state not in ("finished", "waiting"):
                shown[state] += 1
                if shown[state] <= self.MAX_LISTED_PER_STATE:
                    lines.append(f"  [{state}] {jid}")
        for state, n in sorted(shown.items()):
            if n > self.MAX_LISTED_PER_STATE:
                lines.append(f"  [{state}] ... and {n - self.MAX_LISTED_PER_STATE} more")
        return "\n".join(lines)

    def _print_summary(self) -> None:
        text = self.summary()
        if text != self._last_summary:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)
            self._last_summary = text

    def targets_done(self) -> bool:
        from sisyphus.tools import extract_paths

        for t in graph.targets.values():
            paths = [t.path] if isinstance(t, OutputTarget) else \
                extract_paths([t.required] if callable(t.values) else [t.values, t.required])
            if not all(p.available() for p in paths):
                return False
        return True

    # ---- submission ---------------------------------------------------------------------------------
    def _submit(self, job, state: str) -> None:
        task = next_task(job)
        if task is None:
            return
        job._sis_setup_directory()
        base = job._sis_path(abspath=True)
        todo = []
        active = 0
        for tid in task.task_ids():
            if job._sis_task_finished(task, tid):
                continue
            st = self.engine.task_state(task, tid)
            if st in ("queue", "running"):
                active += 1
                continue
            todo.append(tid)
        if task.parallel:
            todo = todo[:max(0, task.parallel - active)]
        if not todo:
            return
        with open(os.path.join(base, f"submit_log.{task.name()}"), "a") as f:
            for tid in todo:
                log_file = os.path.join(base, f"log.{task.name()}.{tid}")
                if os.path.exists(log_file):  # started before and interrupted
                    f.write(f"restart {tid} {time.time():.0f}\n")
                    if not task.resumable():
                        n = interruptions(job, task, tid)
                        os.replace(log_file, f"{log_file}.interrupted.{n}")
                else:
                    f.write(f"submit {tid} {time.time():.0f}\n")
        call = [sys.executable, "-m", "sisyphus", "worker", base, task.name()]
        self.engine.submit_call(call, os.path.join(base, f"log.{task.name()}"), task.rqmt(), job._sis_id(),
                                task.name(), todo)

    # ---- the loop ---------------------------------------------------------------------------------------
    def run(self) -> int:
        """Run until every target is available (0) or nothing more can run (1)."""
        self.engine.start_engine()
        asked = not self.ask
        cleared_once = False
        try:
            while True:
                self.refresh()
                self._print_summary()
                if self.on_update:
                    self.on_update(self)
                if self.targets_done():
                    self._link_outputs()  # a job may have finished after this round's links were made
                    print("All targets are finished.", flush=True)
                    return 0
                errors = [j for j in self.jobs if self.states[j._sis_id()] == "error"]
                if errors and not cleared_once and (
                        self.clear_errors_once
                        or (self.ask and _ask(f"Clear {len(errors)} job(s) in error and rerun them?"))):
                    clear_errors(errors)
                    cleared_once = True
                    continue
                startable_states = ("runnable", "interrupted_resumable", "interrupted_not_resumable")
                startable = [j for j in self.jobs if self.states[j._sis_id()] in startable_states]
                busy = [j for j in self.jobs if self.states[j._sis_id()] in ("queue", "running")]
                if startable and not asked:
                    if not _ask(f"Start {len(startable)} runnable job(s)?"):
                        print("Not starting (use -r to run without asking).")
                        return 1
                    asked = True
                for job in startable:
                    self._submit(job, self.states[job._sis_id()])
                if not startable and not busy:
                    return self._report_stuck()
                self.engine.step()
                pending_mini = any(t.mini_task for j in startable + busy if (t := next_task(j)) is not None)
                self._wait(gs.WAIT_PERIOD_MINI_TASK_CHECK if pending_mini else gs.WAIT_PERIOD_BETWEEN_CHECKS)
        finally:
            self.engine.stop_engine()

    def _wait(self, period: float) -> None:
        """Sleep up to ``period`` seconds, but return as soon as the engine reports an ended task:
        its slot is refilled and its dependents submitted at once. (A fixed sleep left a core idle
        for a second on average after each of the default graph's ~470 jobs.)"""
        deadline = time.monotonic() + period
        while True:
            if self.engine.task_ended():
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(ENGINE_POLL_INTERVAL, left))

    def _report_stuck(self) -> int:
        print("Nothing more can run, but not all targets are finished:", flush=True)
        for job in self.jobs:
            state = self.states[job._sis_id()]
            if state == "error":
                logs = sorted(f for f in os.listdir(job._sis_path(abspath=True)) if f.startswith("log."))
                where = os.path.join(job._sis_path(abspath=True), logs[-1]) if logs else "its job dir"
                print(f"  [error] {job._sis_id()} (see {where})")
            elif state == "input_missing":
                missing = [p.get_path() for p in job._sis_inputs if p.creator is None and not p.available()]
                print(f"  [input_missing] {job._sis_id()}: input path(s) do not exist: {', '.join(missing)}")
            elif state in ("retry_error", "hold"):
                print(f"  [{state}] {job._sis_id()}")
        return 1


def _resolve_values(values):
    from sisyphus.job_path import Path, Variable

    if isinstance(values, Variable):
        return values.get()
    if isinstance(values, Path):
        return values.get_path()
    if isinstance(values, dict):
        return {k: _resolve_values(v) for k, v in values.items()}
    if isinstance(values, (list, tuple)):
        return type(values)(_resolve_values(v) for v in values)
    return values


def _symlink(src: str, dest: str) -> None:
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.islink(dest):
        if os.readlink(dest) == src:
            return
        os.unlink(dest)
    elif os.path.exists(dest):
        return
    tmp = dest + ".tmp-link"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(src, tmp)
    os.replace(tmp, dest)
