"""The console's state, shared by the manager thread and the HTTP threads: the latest snapshot,
confirmation tokens and queued actions (run by the manager thread between two checks), the
setup-dir sandbox for file views, task run times and the SVG cache."""
import logging
import os
import re
import secrets
import threading
import time
from typing import Dict, List, Optional, Tuple

from sisyphus import global_settings as gs
from sisyphus.graph import graph, next_task
from sisyphus.web.graph_dot import _descendants, _dot_source, _run_dot
from sisyphus.web.snapshot import _file_task_state, _Snapshot

log = logging.getLogger("sisyphus.http")

ACTION_WAIT = 60.0            # seconds a POST waits for the manager thread to run the action
_HEADER_RE = re.compile(r"\[sis worker\] (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)")


class Console:
    """Renders pages from the latest snapshot and runs confirmed actions in the manager thread."""

    def __init__(self, manager, actions: bool = False):
        self.manager = manager
        self.actions_enabled = actions
        self.base = os.path.realpath(gs.BASE_DIR)
        self._lock = threading.Lock()
        self._seq = 0
        self._snapshot = _Snapshot(0, manager.jobs or graph.jobs(), manager.states, {}, running=True)
        self._tokens: Dict[str, Tuple[str, str, float]] = {}
        self._pending: List[dict] = []
        self._svg_cache: Dict[tuple, str] = {}
        self._time_cache: Dict[tuple, Optional[float]] = {}
        self._md_cache: Dict[tuple, str] = {}

    # ---- manager thread --------------------------------------------------------------------------
    def on_manager_update(self, manager) -> None:
        """Called by the manager after every check: run queued actions, publish a new snapshot."""
        with self._lock:
            pending, self._pending = self._pending, []
        for action in pending:
            try:
                action["result"] = self._run_action(action)
            except Exception as e:  # report, never kill the manager
                log.exception("console action failed")
                action["result"] = (False, f"{type(e).__name__}: {e}")
            self._log_action(action)
            action["done"].set()
        if pending:
            manager.refresh()
        self.publish(manager)

    def publish(self, manager, running: bool = True) -> None:
        task_states = {}
        for job in manager.jobs:
            jid = job._sis_id()
            if manager.states.get(jid) in ("queue", "running", "error", "interrupted_resumable",
                                           "interrupted_not_resumable", "retry_error"):
                task_states[jid] = self._engine_task_states(job, manager.engine)
        with self._lock:
            self._seq += 1
            self._snapshot = _Snapshot(self._seq, manager.jobs, manager.states, task_states, running)

    def manager_stopped(self) -> None:
        self._stop_snapshot(finished=False, why="the manager stopped before it could run this action")

    def manager_finished(self) -> None:
        """Every target is finished: the manager loop has ended, the console goes on serving (read-only)."""
        self._stop_snapshot(finished=True, why="the manager has finished (all targets are); it runs no more actions")

    def _stop_snapshot(self, finished: bool, why: str) -> None:
        with self._lock:
            old = self._snapshot
            self._seq += 1
            self._snapshot = _Snapshot(self._seq, old.jobs, old.states, old.task_states, running=False,
                                       finished=finished or old.finished)
            pending, self._pending = self._pending, []
        for action in pending:  # nobody will run them any more
            action["result"] = (False, why)
            action["done"].set()

    @staticmethod
    def _engine_task_states(job, engine) -> Dict[Tuple[str, int], str]:
        out = {}
        base = job._sis_path(abspath=True)
        current = next_task(job)
        for task in job._sis_tasks():
            for tid in task.task_ids():
                st = _file_task_state(job, task, tid)
                if st == "started" or (st == "not started" and current is not None and task.name() == current.name()):
                    engine_state = engine.task_state(task, tid) if engine is not None else "unknown"
                    if engine_state in ("queue", "running", "queue_error"):
                        st = engine_state
                    elif os.path.exists(os.path.join(base, f"log.{task.name()}.{tid}")):
                        st = "interrupted"
                out[(task.name(), tid)] = st
        return out

    def snapshot(self) -> _Snapshot:
        with self._lock:
            return self._snapshot

    # ---- actions -------------------------------------------------------------------------------------
    def action_blockers(self, kind: str, job, snap: _Snapshot) -> Tuple[List, List[str]]:
        """(jobs the action touches, reasons it cannot run now)."""
        jid = job._sis_id()
        if not snap.running:
            return [job], ["the manager is not running (all targets finished, or it stopped); actions need a "
                           "running manager: start it again with --http-actions"]
        if kind == "clear":
            problems = [] if snap.state(jid) == "error" else [f"the job is {snap.state(jid)}, not in error"]
            return [job], problems
        affected = _descendants(snap, job)
        busy = [a._sis_id() for a in affected if snap.state(a._sis_id()) in ("queue", "running")]
        return affected, [f"{b} is {snap.state(b)}; wait until it has stopped" for b in busy]

    def new_token(self, kind: str, jid: str) -> str:
        token = secrets.token_urlsafe(24)
        now = time.time()
        with self._lock:
            self._tokens = {t: v for t, v in self._tokens.items() if v[2] > now}
            self._tokens[token] = (kind, jid, now + 600)
        return token

    def take_token(self, token: str, kind: str, jid: str) -> bool:
        with self._lock:
            entry = self._tokens.pop(token, None)
        return entry is not None and entry[0] == kind and entry[1] == jid and entry[2] > time.time()

    def submit_action(self, kind: str, jid: str, client: str) -> dict:
        action = {"kind": kind, "job": jid, "client": client, "done": threading.Event(), "result": None}
        with self._lock:
            if not self._snapshot.running:  # nobody would run it
                action["result"] = (False, "the manager is not running (all targets finished, or it stopped)")
                return action
            self._pending.append(action)
        action["done"].wait(ACTION_WAIT)
        return action

    def _run_action(self, action: dict) -> Tuple[bool, str]:
        from sisyphus.toolkit import clear_errors, remove_job_and_descendants

        job = self.manager_job(action["job"])
        if job is None:
            return False, "job is no longer in the graph"
        snap = _Snapshot(-1, self.manager.jobs, self.manager.states, {}, True)  # fresh states
        affected, problems = self.action_blockers(action["kind"], job, snap)
        if problems:
            return False, "; ".join(problems)
        if action["kind"] == "clear":
            cleared = clear_errors([job])
            msg = "cleared the failed task ids (moved to cleared.<n>/)" if cleared else "nothing to clear"
            return bool(cleared), msg
        moved = remove_job_and_descendants(job, mode="move")
        return True, f"moved {len(moved)} job dir(s) to {gs.WORK_DIR}/.trash/: " + ", ".join(j._sis_id() for j in moved)

    # ---- files ---------------------------------------------------------------------------------------
    def _roots(self) -> List[str]:
        return [os.path.realpath(os.path.join(self.base, sub)) for sub in (gs.WORK_DIR, gs.OUTPUT_DIR, gs.ALIAS_DIR)]

    def resolve(self, rel: str) -> Optional[str]:
        """The real path of ``rel`` (relative to the setup dir) if it exists inside work/, output/ or alias/
        after resolving ``..`` and symlinks; else None."""
        if "\x00" in rel or os.path.isabs(rel):
            return None
        real = os.path.realpath(os.path.join(self.base, rel))
        if any(real == root or real.startswith(root + os.sep) for root in self._roots()):
            return real if os.path.exists(real) else None
        return None

    def inside(self, full: str) -> Optional[str]:
        """``full`` relative to the setup dir, if the console may show it."""
        real = os.path.realpath(full)
        if any(real == root or real.startswith(root + os.sep) for root in self._roots()):
            return os.path.relpath(os.path.abspath(full), os.path.abspath(gs.BASE_DIR))
        return None

    def preview_markdown(self, real: str, base_url: str, limit: int) -> Optional[str]:
        """``real`` (a resolved file inside the sandbox) rendered as HTML, cached by size and mtime; None if
        it is larger than ``limit`` bytes or unreadable."""
        from sisyphus.web.markdown_lite import render_markdown

        try:
            st = os.stat(real)
        except OSError:
            return None
        if st.st_size > limit:
            return None
        key = (real, st.st_size, st.st_mtime_ns, base_url)
        with self._lock:
            cached = self._md_cache.get(key)
        if cached is not None:
            return cached
        try:
            with open(real, "rb") as f:
                text = f.read(limit + 1).decode("utf-8", "replace")
        except OSError:
            return None
        rendered = render_markdown(text, base_url)
        with self._lock:
            if len(self._md_cache) > 256:
                self._md_cache.clear()
            self._md_cache[key] = rendered
        return rendered

    def manager_job(self, jid: str):
        return next((j for j in self.manager.jobs if j._sis_id() == jid), None)

    def _log_action(self, action: dict) -> None:
        ok, msg = action["result"]
        line = (f"{time.strftime('%Y-%m-%d %H:%M:%S')} client={action['client']} action={action['kind']} "
                f"job={action['job']} ok={ok} {msg}")
        log.warning("web console: %s", line)
        path = os.path.join(gs.BASE_DIR, gs.WORK_DIR, ".console_actions.log")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as f:
            f.write(line + "\n")

    # ---- run times -----------------------------------------------------------------------------------
    def task_times(self, job, task, tid: int, running: bool) -> Optional[float]:
        base = job._sis_path(abspath=True)
        log_path = os.path.join(base, f"log.{task.name()}.{tid}")
        try:
            log_mtime = os.stat(log_path).st_mtime
        except OSError:
            return None
        key = (log_path, log_mtime)
        start = self._time_cache.get(key)
        if key not in self._time_cache:
            start = None
            try:
                with open(log_path, errors="replace") as f:
                    m = _HEADER_RE.search(f.read(400))
                if m:
                    start = time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
            except OSError:
                pass
            if len(self._time_cache) > 20000:
                self._time_cache.clear()
            self._time_cache[key] = start
        if start is None:
            return None
        for marker in (f"finished.{task.name()}.{tid}", f"error.{task.name()}.{tid}"):
            try:
                return max(0.0, os.stat(os.path.join(base, marker)).st_mtime - start)
            except OSError:
                pass
        return max(0.0, (time.time() if running else log_mtime) - start)

    def job_run_time(self, job, state: str) -> Optional[float]:
        total, any_time = 0.0, False
        try:
            tasks = job._sis_tasks()
        except Exception:
            return None
        for task in tasks:
            for tid in task.task_ids():
                t = self.task_times(job, task, tid, running=state == "running")
                if t is not None:
                    total += t
                    any_time = True
        return total if any_time else None

    # ---- graph ----------------------------------------------------------------------------------------
    def graph_svg(self, snap: _Snapshot, view: str, focus: Optional[str], depth: int) -> str:
        key = (snap.signature, view, focus, depth)
        if key not in self._svg_cache:
            src = _dot_source(snap, view, focus, depth)
            if len(self._svg_cache) > 64:
                self._svg_cache.clear()
            self._svg_cache[key] = _run_dot(src)
        return self._svg_cache[key]
