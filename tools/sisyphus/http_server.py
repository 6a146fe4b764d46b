"""The web console of a running manager (``sis manager CONFIG --http PORT``).

Pages: ``/`` registered outputs and state counts, ``/jobs`` every job in topological order,
``/job/<id>`` one job (arguments, inputs, outputs, variables, ``info()``, requirements, per-task
state, head and tail of each log), ``/graph`` the job graph as SVG (graphviz ``dot``; grouped by
module, or ``?view=modules`` / ``?job=<id>`` for large graphs), ``/file/<path>`` files below the
setup's work/output/alias dirs (never outside: paths are resolved, symlinks included).
Pages poll ``/api/version`` and swap in fresh content when the graph's state changes.

The HTTP thread only reads: the manager thread publishes a snapshot of jobs and states after every
check (the ``on_update`` hook). Actions (``--http-actions``: clear a job in error, rerun a job and
its descendants) need a confirmation page with a one-time token and a POST; they are queued and run
by the manager thread between two checks, and logged (``<work>/.console_actions.log``).
"""
import html
import json
import logging
import os
import re
import secrets
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple

from sisyphus import global_settings as gs
from sisyphus.graph import STATES, OutputTarget, ReportTarget, graph, next_task

__all__ = ["start_http_server", "ConsoleServer", "Console"]

log = logging.getLogger("sisyphus.http")
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

STATE_COLORS = {
    "finished": "#93c47d", "running": "#6fa8dc", "queue": "#b4a7d6", "runnable": "#ffe599", "waiting": "#e6e6e6",
    "error": "#e06666", "retry_error": "#cc4125", "queue_error": "#e06666", "interrupted_resumable": "#f6b26b",
    "interrupted_not_resumable": "#f9a05a", "hold": "#c9c9c9", "input_missing": "#ea9999", "unknown": "#ffffff",
    "started": "#f6b26b", "not started": "#ffffff",
}
#: a group (module) shows its most urgent member state
_URGENCY = ("error", "retry_error", "input_missing", "interrupted_not_resumable", "interrupted_resumable", "running",
            "queue", "runnable", "hold", "waiting", "unknown", "finished")
MAX_FULL_GRAPH = 150          # larger graphs default to the per-module view
LOG_HEAD = (20, 4096)         # lines, bytes
LOG_TAIL = (60, 16384)
FILE_LIMIT = 1 << 20          # a file view shows at most this many bytes (head and tail halves)
MAX_LOGS_SHOWN = 40
ACTION_WAIT = 60.0            # seconds a POST waits for the manager thread to run the action
_HEADER_RE = re.compile(r"\[sis worker\] (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)")


class _Snapshot:
    def __init__(self, seq: int, jobs: list, states: Dict[str, str], task_states: Dict[str, dict], running: bool):
        self.seq = seq
        self.time = time.time()
        self.jobs = list(jobs)
        self.states = dict(states)
        self.by_id = {j._sis_id(): j for j in self.jobs}
        self.order = {j._sis_id(): i for i, j in enumerate(self.jobs)}
        self.task_states = task_states
        self.running = running
        # changes only when a state does (pages poll it and re-render on change)
        self.signature = f"{int(running)}:{len(self.jobs)}:{hash(tuple(sorted(self.states.items()))) & 0xffffffffffff:x}"

    def state(self, jid: str) -> str:
        return self.states.get(jid, "unknown")


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
        with self._lock:
            old = self._snapshot
            self._seq += 1
            self._snapshot = _Snapshot(self._seq, old.jobs, old.states, old.task_states, running=False)
            pending, self._pending = self._pending, []
        for action in pending:  # nobody will run them any more
            action["result"] = (False, "the manager stopped before it could run this action")
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
            return bool(cleared), "cleared the failed task ids (moved to cleared.<n>/)" if cleared else "nothing to clear"
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
            src = self._dot_source(snap, view, focus, depth)
            if len(self._svg_cache) > 64:
                self._svg_cache.clear()
            self._svg_cache[key] = _run_dot(src)
        return self._svg_cache[key]

    def _dot_source(self, snap: _Snapshot, view: str, focus: Optional[str], depth: int) -> str:
        lines = ["digraph sis {", "rankdir=LR; bgcolor=transparent;",
                 'node [shape=box style="rounded,filled" fontname="Helvetica" fontsize=10];',
                 'edge [color="#777777" arrowsize=0.7];']
        if view == "modules":
            groups: Dict[str, List[str]] = {}
            for j in snap.jobs:
                groups.setdefault(_module(j._sis_id()), []).append(j._sis_id())
            names = {m: f"m{i}" for i, m in enumerate(groups)}
            for m, ids in groups.items():
                counts = Counter(snap.state(i) for i in ids)
                worst = next((s for s in _URGENCY if counts.get(s)), "unknown")
                label = f"{m}\\n{len(ids)} job(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
                url = "/jobs?" + urllib.parse.urlencode({"module": m})
                lines.append(f'{names[m]} [label="{_dot_esc(label)}" fillcolor="{STATE_COLORS.get(worst, "#fff")}" '
                             f'URL="{_dot_esc(url)}" tooltip="{_dot_esc(m)}" id="{names[m]}"];')
            edges = Counter()
            for j in snap.jobs:
                for p in _inputs(j):
                    if p.creator is not None and p.creator._sis_id() in snap.by_id:
                        a, b = _module(p.creator._sis_id()), _module(j._sis_id())
                        if a != b:
                            edges[(a, b)] += 1
            for (a, b), n in sorted(edges.items()):
                lines.append(f'{names[a]} -> {names[b]} [label="{n}" fontsize=8];')
            lines.append("}")
            return "\n".join(lines)

        ids = list(snap.by_id)
        if focus is not None:
            ids = _neighbourhood(snap, focus, depth)
        keep = set(ids)
        node = {jid: f"n{snap.order[jid]}" for jid in ids}
        by_module: Dict[str, List[str]] = {}
        for jid in ids:
            by_module.setdefault(_module(jid), []).append(jid)
        for ci, (module, members) in enumerate(by_module.items()):
            lines.append(f'subgraph cluster_{ci} {{ label="{_dot_esc(module)}"; style="dashed"; color="#aaaaaa"; '
                         f'fontname="Helvetica"; fontsize=9; fontcolor="#666666";')
            for jid in members:
                job = snap.by_id[jid]
                st = snap.state(jid)
                extra = ' penwidth=3 color="#222222"' if jid == focus else ""
                lines.append(f'{node[jid]} [label="{_dot_esc(_short_label(job))}" fillcolor="{STATE_COLORS.get(st, "#fff")}" '
                             f'URL="{_dot_esc(_job_url(jid))}" tooltip="{_dot_esc(jid + " [" + st + "]")}" '
                             f'id="{node[jid]}" class="job st-{st}"{extra}];')
            lines.append("}")
        seen = set()
        for jid in ids:
            for p in _inputs(snap.by_id[jid]):
                c = p.creator._sis_id() if p.creator is not None else None
                if c in keep and (c, jid) not in seen:
                    seen.add((c, jid))
                    lines.append(f"{node[c]} -> {node[jid]};")
        lines.append("}")
        return "\n".join(lines)


# ---- helpers -------------------------------------------------------------------------------------------
def _module(jid: str) -> str:
    return jid.rsplit("/", 1)[0] if "/" in jid else "(top)"


def _short_label(job) -> str:
    jid = job._sis_id()
    name = job.get_vis_name() or (sorted(job.get_aliases())[0] if job.get_aliases() else None)
    cls, _, digest = jid.rsplit("/", 1)[-1].partition(".")
    return f"{name}\\n{cls}" if name else f"{cls}\\n{digest[:6]}"


def _dot_esc(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\\\\n", "\\n")


def _job_url(jid: str) -> str:
    return "/job/" + urllib.parse.quote(jid, safe="/")


def _file_url(rel: str) -> str:
    return "/file/" + urllib.parse.quote(rel, safe="/")


def _inputs(job) -> tuple:
    """A copy of a job's input paths (the manager thread may add inputs while a page is rendered)."""
    return tuple(job._sis_inputs)


def _descendants(snap: "_Snapshot", job) -> list:
    """``job`` and every job of the snapshot that depends on it, in topological order."""
    ids = {job._sis_id()}
    out = [job]
    for j in snap.jobs:
        jid = j._sis_id()
        if jid not in ids and any(p.creator is not None and p.creator._sis_id() in ids for p in _inputs(j)):
            ids.add(jid)
            out.append(j)
    return out


def _neighbourhood(snap: _Snapshot, focus: str, depth: int) -> List[str]:
    users: Dict[str, set] = {}
    for j in snap.jobs:
        for p in _inputs(j):
            if p.creator is not None:
                users.setdefault(p.creator._sis_id(), set()).add(j._sis_id())
    keep, frontier = {focus}, {focus}
    for _ in range(depth):
        nxt = set()
        for jid in frontier:
            job = snap.by_id.get(jid)
            if job is None:
                continue
            nxt |= {p.creator._sis_id() for p in _inputs(job) if p.creator is not None and p.creator._sis_id() in snap.by_id}
            nxt |= users.get(jid, set())
        frontier = nxt - keep
        keep |= nxt
    return [j._sis_id() for j in snap.jobs if j._sis_id() in keep]


def _run_dot(src: str) -> str:
    try:
        proc = subprocess.run(["dot", "-Tsvg"], input=src.encode(), capture_output=True, timeout=60)
    except FileNotFoundError:
        return '<p class="warn">graphviz <code>dot</code> is not installed; the graph cannot be drawn.</p>'
    except subprocess.TimeoutExpired:
        return '<p class="warn">graphviz took too long; try the per-module view.</p>'
    if proc.returncode != 0:
        return f'<p class="warn">dot failed: {html.escape(proc.stderr.decode(errors="replace")[:2000])}</p>'
    svg = proc.stdout.decode("utf-8", "replace")
    return svg[svg.find("<svg"):]


def _file_task_state(job, task, tid: int) -> str:
    base = job._sis_path(abspath=True)
    if job._sis_task_finished(task, tid):
        return "finished"
    if os.path.exists(os.path.join(base, f"error.{task.name()}.{tid}")):
        return "error"
    if os.path.exists(os.path.join(base, f"log.{task.name()}.{tid}")):
        return "started"
    return "not started"


def _read_head_tail(path: str, head: Tuple[int, int], tail: Tuple[int, int]) -> Tuple[str, str, int]:
    """(head, tail, size): first/last lines of a file, each bounded in lines and bytes."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(0)
        first = f.read(head[1]).decode("utf-8", "replace")
        head_text = "".join(first.splitlines(keepends=True)[:head[0]])
        if size <= head[1]:
            lines = first.splitlines(keepends=True)
            if len(lines) <= head[0]:
                return head_text, "", size
            return head_text, "".join(lines[head[0]:][-tail[0]:]), size
        f.seek(max(0, size - tail[1]))
        last = f.read(tail[1]).decode("utf-8", "replace")
    lines = last.splitlines(keepends=True)
    if size > tail[1] and lines:
        lines = lines[1:]  # probably a partial line
    return head_text, "".join(lines[-tail[0]:]), size


def _fmt_duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _short_repr(value, limit: int = 400) -> str:
    try:
        text = repr(value)
    except Exception as e:
        text = f"<repr failed: {type(e).__name__}>"
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _badge(state: str, jid: Optional[str] = None) -> str:
    data = f' data-job="{html.escape(jid)}"' if jid else ""
    return f'<span class="badge" style="background:{STATE_COLORS.get(state, "#fff")}"{data}>{html.escape(state)}</span>'


def _static(name: str) -> bytes:
    with open(os.path.join(TEMPLATES, name), "rb") as f:
        return f.read()


# ---- the request handler ---------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    server_version = "sis-console/1"
    console: Console = None  # set per server

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.address_string(), fmt % args)

    # -- plumbing
    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", extra: Optional[dict] = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _page(self, title: str, body: str, status: int = 200, poll: Optional[str] = None, version: str = ""):
        snap = self.console.snapshot()
        counts = Counter(snap.states.values())
        summary = " · ".join(f'<a href="/jobs?state={s}">{n} {s}</a>' for s, n in sorted(counts.items()))
        mstate = (f"manager running · last check {time.strftime('%H:%M:%S', time.localtime(snap.time))}"
                  if snap.running else "manager stopped")
        poll_attr = f' data-poll="{html.escape(poll)}" data-version="{html.escape(version)}"' if poll else ""
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} · sis console</title>
<link rel="stylesheet" href="/static/console.css"><script src="/static/console.js" defer></script></head>
<body{poll_attr}>
<header><nav><b>sis console</b> <a href="/">outputs</a> <a href="/jobs">jobs</a> <a href="/graph">graph</a></nav>
<div class="status"><span id="live">{mstate}</span> · {len(snap.jobs)} jobs: {summary}</div></header>
<main><h1>{html.escape(title)}</h1>
{body}
</main></body></html>"""
        self._send(status, page.encode("utf-8"))

    def _error(self, status: int, message: str):
        self._page(f"{status} {HTTPStatus(status).phrase}", f"<p>{html.escape(message)}</p>", status=status)

    def _host_ok(self) -> bool:
        """DNS rebinding guard: on a loopback bind, only loopback host names are served."""
        if not self.server.loopback:
            return True
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in ("127.0.0.1", "localhost", "::1", "")

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        try:
            if not self._host_ok():
                return self._error(403, "unexpected Host header")
            parts = urllib.parse.urlsplit(self.path)
            path, query = parts.path, urllib.parse.parse_qs(parts.query)
            q = {k: v[-1] for k, v in query.items()}
            if path == "/":
                return self.page_overview()
            if path == "/jobs":
                return self.page_jobs(q)
            if path.startswith("/job/"):
                return self.page_job(urllib.parse.unquote(path[len("/job/"):]))
            if path == "/graph":
                return self.page_graph(q)
            if path.startswith("/file/"):
                return self.page_file(urllib.parse.unquote(path[len("/file/"):]))
            if path == "/action":
                return self.page_confirm(q)
            if path == "/api/states":
                return self.api_states()
            if path == "/api/version":
                return self._send(200, json.dumps({"version": self.version(q.get("job"))}).encode(), "application/json")
            if path in ("/static/console.css", "/static/console.js"):
                ctype = "text/css" if path.endswith(".css") else "text/javascript"
                return self._send(200, _static(os.path.basename(path)), ctype + "; charset=utf-8")
            return self._error(404, "no such page")
        except BrokenPipeError:
            pass
        except Exception as e:
            log.exception("web console: error serving %s", self.path)
            self._error(500, f"{type(e).__name__}: {e}")

    def do_POST(self):
        try:
            if not self._host_ok():
                return self._error(403, "unexpected Host header")
            if urllib.parse.urlsplit(self.path).path != "/action":
                return self._error(404, "no such page")
            if not self.console.actions_enabled:
                return self._error(403, "actions are disabled; start the manager with --http-actions")
            length = int(self.headers.get("Content-Length") or 0)
            if length > 4096:
                return self._error(413, "request too large")
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace")).items()}
            kind, jid, token = form.get("kind", ""), form.get("job", ""), form.get("token", "")
            if kind not in ("clear", "rerun"):
                return self._error(400, "unknown action")
            if not self.console.take_token(token, kind, jid):
                return self._error(403, "missing, used or expired confirmation token; open the action page again")
            action = self.console.submit_action(kind, jid, self.client_address[0])
            if action["result"] is None:
                msg = "queued; the manager runs it at its next check"
                ok = True
            else:
                ok, msg = action["result"]
            body = (f'<p class="{"ok" if ok else "warn"}">{html.escape(kind)} {html.escape(jid)}: {html.escape(msg)}</p>'
                    f'<p><a href="{_job_url(jid)}">back to the job</a></p>')
            self._page("action " + ("done" if ok else "refused"), body, status=200 if ok else 409)
        except BrokenPipeError:
            pass
        except Exception as e:
            log.exception("web console: error in POST %s", self.path)
            self._error(500, f"{type(e).__name__}: {e}")

    def version(self, jid: Optional[str]) -> str:
        snap = self.console.snapshot()
        v = snap.signature
        job = snap.by_id.get(jid) if jid else None
        if job is not None:
            base = job._sis_path(abspath=True)
            try:
                names = sorted(os.listdir(base))
            except OSError:
                names = []
            sig = []
            for n in names:
                if n.startswith(("log.", "finished", "error.")):
                    try:
                        st = os.stat(os.path.join(base, n))
                        sig.append((n, st.st_size, int(st.st_mtime)))
                    except OSError:
                        pass
            v += f":{hash(tuple(sig))}"
        return v

    # -- pages
    def api_states(self):
        snap = self.console.snapshot()
        body = {"time": snap.time, "manager_running": snap.running, "version": snap.signature,
                "states": {j._sis_id(): snap.state(j._sis_id()) for j in snap.jobs},
                "counts": dict(Counter(snap.states.values()))}
        self._send(200, json.dumps(body).encode(), "application/json")

    def page_overview(self):
        snap = self.console.snapshot()
        rows = []
        for t in graph.targets.values():
            if isinstance(t, OutputTarget):
                creator = t.path.creator
                link = os.path.join(gs.BASE_DIR, gs.OUTPUT_DIR, t.name)
                path_cell = (f'<a href="{_file_url(os.path.join(gs.OUTPUT_DIR, t.name))}">{html.escape(t.name)}</a>'
                             if os.path.lexists(link) else html.escape(t.name))
                if creator is None:
                    rows.append(f"<tr><td>{path_cell}</td><td>input</td><td>{html.escape(t.path.get_path())}</td><td></td></tr>")
                    continue
                jid = creator._sis_id()
                rows.append(f'<tr><td>{path_cell}</td><td>output</td><td><a href="{_job_url(jid)}">{html.escape(jid)}</a>'
                            f'/output/{html.escape(t.path.path)}</td><td>{_badge(snap.state(jid), jid)}</td></tr>')
            elif isinstance(t, ReportTarget):
                from sisyphus.tools import extract_paths

                paths = extract_paths([t.required] if callable(t.values) else [t.values, t.required])
                creators = sorted({p.creator._sis_id() for p in paths if p.creator is not None})
                links = ", ".join(f'<a href="{_job_url(c)}">{html.escape(c)}</a> {_badge(snap.state(c), c)}' for c in creators)
                path = os.path.join(gs.OUTPUT_DIR, t.name)
                cell = (f'<a href="{_file_url(path)}">{html.escape(t.name)}</a>'
                        if os.path.exists(os.path.join(gs.BASE_DIR, path)) else html.escape(t.name))
                rows.append(f"<tr><td>{cell}</td><td>report</td><td>{links}</td><td></td></tr>")
        body = ('<table class="list"><tr><th>name</th><th>kind</th><th>created by</th><th>state</th></tr>'
                + "".join(rows) + "</table>")
        counts = Counter(snap.states.values())
        body += "<h2>states</h2><p>" + " ".join(f'<a href="/jobs?state={s}">{_badge(s)} {counts[s]}</a>'
                                                for s in STATES if counts.get(s)) + "</p>"
        self._page("registered outputs", body, poll="/api/version", version=snap.signature)

    def page_jobs(self, q: dict):
        snap = self.console.snapshot()
        rows = []
        for i, job in enumerate(snap.jobs):
            jid = job._sis_id()
            st = snap.state(jid)
            if q.get("state") and st != q["state"]:
                continue
            if q.get("module") and _module(jid) != q["module"]:
                continue
            if q.get("q") and q["q"] not in jid:
                continue
            try:
                tasks = job._sis_tasks()
                counts = " · ".join(
                    f"{t.name()} {sum(job._sis_task_finished(t, k) for k in t.task_ids())}/{len(t.task_ids())}" for t in tasks)
            except Exception as e:
                counts = f"tasks() failed: {type(e).__name__}"
            aliases = ", ".join(sorted(job.get_aliases()))
            rows.append(f'<tr><td class="num">{i + 1}</td><td><a href="{_job_url(jid)}">{html.escape(jid)}</a>'
                        f'{" <i>" + html.escape(aliases) + "</i>" if aliases else ""}</td><td>{_badge(st, jid)}</td>'
                        f'<td>{html.escape(counts)}</td><td class="num">{_fmt_duration(self.console.job_run_time(job, st))}</td></tr>')
        filt = ", ".join(f"{k}={v}" for k, v in q.items() if k in ("state", "module", "q"))
        body = (f'<form class="filter" method="get" action="/jobs"><input name="q" placeholder="id contains" '
                f'value="{html.escape(q.get("q", ""))}"><button>filter</button> {html.escape(filt)} '
                f'<a href="/jobs">all</a></form>'
                '<table class="list" id="jobs"><tr><th>#</th><th>job (topological order)</th><th>state</th>'
                '<th>tasks finished</th><th>run time</th></tr>' + "".join(rows) + "</table>")
        self._page(f"jobs ({len(rows)})", body, poll="/api/version", version=snap.signature)

    def page_job(self, jid: str):
        snap = self.console.snapshot()
        job = snap.by_id.get(jid)
        if job is None:
            return self._error(404, "no job with this id in the graph")
        c = self.console
        st = snap.state(jid)
        base = job._sis_path(abspath=True)
        rel_base = os.path.relpath(base, gs.BASE_DIR)
        out = [f'<p>{_badge(st, jid)} <code>{html.escape(jid)}</code></p><table class="kv">',
               f'<tr><th>work dir</th><td><a href="{_file_url(rel_base)}">{html.escape(base)}</a></td></tr>']
        if job.get_aliases():
            out.append(f'<tr><th>aliases</th><td>{html.escape(", ".join(sorted(job.get_aliases())))}</td></tr>')
        if job.get_vis_name():
            out.append(f'<tr><th>name</th><td>{html.escape(job.get_vis_name())}</td></tr>')
        out.append(f'<tr><th>graph</th><td><a href="/graph?{urllib.parse.urlencode({"job": jid})}">neighbourhood</a></td></tr>')
        try:
            info = job.info()
        except Exception as e:
            info = f"info() failed: {type(e).__name__}: {e}"
        if info:
            out.append(f'<tr><th>info</th><td><pre>{html.escape(str(info)[:4000])}</pre></td></tr>')
        out.append("</table>")

        # tasks
        try:
            tasks = job._sis_tasks()
        except Exception as e:
            tasks = []
            out.append(f'<p class="warn">tasks() failed: {html.escape(repr(e))}</p>')
        tstates = snap.task_states.get(jid, {})
        out.append('<h2>tasks</h2><table class="list"><tr><th>task</th><th>id</th><th>state</th><th>run time</th>'
                   '<th>requirements</th></tr>')
        for t in tasks:
            try:
                rq = t.rqmt()
            except Exception as e:
                rq = {"error": repr(e)}
            flags = " (mini task)" if t.mini_task else ""
            for tid in t.task_ids():
                ts = tstates.get((t.name(), tid)) or _file_task_state(job, t, tid)
                runtime = _fmt_duration(c.task_times(job, t, tid, running=ts == "running"))
                rq_cell = html.escape(", ".join(f"{k}={v}" for k, v in rq.items()) + flags) if tid == 1 else ""
                out.append(f"<tr><td>{html.escape(t.name())}</td><td>{tid}</td><td>{_badge(ts)}</td>"
                           f'<td class="num">{runtime}</td><td>{rq_cell}</td></tr>')
        out.append("</table>")

        # arguments, inputs, outputs
        out.append('<h2>arguments (hashed)</h2><table class="kv">')
        for k, v in job._sis_kwargs.items():
            out.append(f"<tr><th>{html.escape(str(k))}</th><td>{self._value_html(v)}</td></tr>")
        out.append('</table><h2>inputs</h2><ul>')
        for p in sorted(_inputs(job)):
            if p.creator is not None:
                cj = p.creator._sis_id()
                out.append(f'<li>{self._path_html(p)} from <a href="{_job_url(cj)}">{html.escape(cj)}</a> '
                           f'{_badge(snap.state(cj), cj)}</li>')
            else:
                out.append(f'<li>{self._path_html(p)} (raw input{"" if p.available() else ", missing"})</li>')
        out.append('</ul><h2>outputs</h2><table class="kv">')
        from sisyphus.job_path import Variable

        for name, p in sorted(job._sis_outputs.items()):
            value = ""
            if isinstance(p, Variable):
                if p.is_set():
                    try:
                        value = "= " + html.escape(_short_repr(p.get(), 2000))
                    except Exception as e:
                        value = f"(unreadable: {html.escape(type(e).__name__)})"
                else:
                    value = "(not set)"
            out.append(f"<tr><th>{html.escape(name)}</th><td>{self._path_html(p)} {value}</td></tr>")
        out.append("</table>")

        # logs
        out.append("<h2>logs</h2>")
        logs = _log_files(base)
        if not logs:
            out.append("<p>no logs yet</p>")
        for rel in logs[:MAX_LOGS_SHOWN]:
            full = os.path.join(base, rel)
            try:
                head, tail, size = _read_head_tail(full, LOG_HEAD, LOG_TAIL)
            except OSError:
                continue
            link = _file_url(os.path.join(rel_base, rel))
            if size == 0:
                out.append(f'<p><a href="{link}">{html.escape(rel)}</a> (empty)</p>')
                continue
            out.append(f'<details open><summary><a href="{link}">{html.escape(rel)}</a> ({size} bytes)</summary>'
                       f'<pre class="log">{html.escape(head)}</pre>')
            if tail:
                out.append(f'<div class="gap">…</div><pre class="log">{html.escape(tail)}</pre>')
            out.append("</details>")
        if len(logs) > MAX_LOGS_SHOWN:
            out.append(f"<p>{len(logs) - MAX_LOGS_SHOWN} more logs in the <a href=\"{_file_url(rel_base)}\">job dir</a></p>")

        if c.actions_enabled:
            out.append("<h2>actions</h2><p>")
            if st == "error":
                out.append(f'<a class="button" href="/action?{urllib.parse.urlencode({"kind": "clear", "job": jid})}">'
                           "clear error…</a> ")
            out.append(f'<a class="button" href="/action?{urllib.parse.urlencode({"kind": "rerun", "job": jid})}">'
                       "rerun with descendants…</a></p>")
        self._page(_short_label(job).replace("\\n", " · "), "\n".join(out), poll="/api/version?" + urllib.parse.urlencode({"job": jid}),
                   version=self.version(jid))

    def _path_html(self, p) -> str:
        full = p.get_path()
        rel = self.console.inside(full)
        text = html.escape(repr(p))
        if rel is not None and os.path.exists(full):
            return f'<a href="{_file_url(rel)}">{text}</a>'
        return text

    def _value_html(self, v, depth: int = 0) -> str:
        from sisyphus.job import Job
        from sisyphus.job_path import Path

        if isinstance(v, Path):
            return self._path_html(v)
        if isinstance(v, Job):
            return f'<a href="{_job_url(v._sis_id())}">{html.escape(v._sis_id())}</a>'
        if depth < 3 and isinstance(v, dict) and len(v) <= 20:
            return "{" + ", ".join(f"{html.escape(_short_repr(k, 100))}: {self._value_html(x, depth + 1)}" for k, x in v.items()) + "}"
        if depth < 3 and isinstance(v, (list, tuple)) and len(v) <= 20:
            inner = ", ".join(self._value_html(x, depth + 1) for x in v)
            return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
        return f"<code>{html.escape(_short_repr(v))}</code>"

    def page_graph(self, q: dict):
        snap = self.console.snapshot()
        focus = q.get("job")
        if focus is not None and focus not in snap.by_id:
            return self._error(404, "no job with this id in the graph")
        try:
            depth = max(1, min(10, int(q.get("depth", "1"))))
        except ValueError:
            depth = 1
        view = q.get("view") or ("modules" if len(snap.jobs) > MAX_FULL_GRAPH and focus is None else "jobs")
        if view not in ("jobs", "modules"):
            view = "jobs"
        note = ""
        if view == "modules" and not q.get("view"):
            note = (f'<p class="warn">{len(snap.jobs)} jobs: showing one node per module. '
                    f'<a href="/graph?view=jobs">draw every job</a> (slow) or open a job\'s neighbourhood.</p>')
        links = ('<p class="views">view: <a href="/graph?view=jobs">all jobs (grouped by module)</a> · '
                 '<a href="/graph?view=modules">modules</a>')
        if focus:
            links += (f' · neighbourhood of <a href="{_job_url(focus)}">{html.escape(focus)}</a>, depth '
                      + " ".join(f'<a href="/graph?{urllib.parse.urlencode({"job": focus, "depth": d})}">{d}</a>' for d in (1, 2, 3, 5)))
        links += "</p>"
        legend = "<p class=\"legend\">" + " ".join(_badge(s) for s in STATES) + "</p>"
        svg = self.console.graph_svg(snap, view, focus, depth)
        self._page("job graph", note + links + legend + f'<div class="graph">{svg}</div>', poll="/api/version",
                   version=snap.signature)

    def page_confirm(self, q: dict):
        c = self.console
        if not c.actions_enabled:
            return self._error(403, "actions are disabled; start the manager with --http-actions")
        kind, jid = q.get("kind", ""), q.get("job", "")
        snap = c.snapshot()
        job = snap.by_id.get(jid)
        if kind not in ("clear", "rerun"):
            return self._error(400, "unknown action")
        if job is None:
            return self._error(404, "no job with this id in the graph")
        affected, problems = c.action_blockers(kind, job, snap)
        what = ("Clear the error of this job: its failed task ids' logs and markers move to cleared.&lt;n&gt;/, "
                "and the manager runs them again." if kind == "clear" else
                f"Rerun this job and everything that depends on it: {len(affected)} job dir(s) move to "
                f"{html.escape(gs.WORK_DIR)}/.trash/ and the manager computes them again.")
        items = "".join(f'<li><a href="{_job_url(a._sis_id())}">{html.escape(a._sis_id())}</a> '
                        f'{_badge(snap.state(a._sis_id()))}</li>' for a in affected)
        body = f"<p>{what}</p><ul>{items}</ul>"
        if problems:
            body += '<p class="warn">Not possible now: ' + html.escape("; ".join(problems)) + "</p>"
        else:
            token = c.new_token(kind, jid)
            body += (f'<form method="post" action="/action"><input type="hidden" name="kind" value="{html.escape(kind)}">'
                     f'<input type="hidden" name="job" value="{html.escape(jid)}">'
                     f'<input type="hidden" name="token" value="{html.escape(token)}">'
                     f'<button type="submit" id="confirm">yes, {html.escape(kind)}</button> '
                     f'<a href="{_job_url(jid)}">cancel</a></form>')
        self._page(f"confirm: {kind}", body)

    def page_file(self, rel: str):
        c = self.console
        full = c.resolve(rel)
        if full is None:
            return self._error(404, "no such file in the setup's work, output or alias directories")
        if os.path.isdir(full):
            try:
                names = sorted(os.listdir(full))
            except OSError as e:
                return self._error(403, str(e))
            rel = rel.strip("/")
            items = []
            if "/" in rel:
                items.append(f'<li><a href="{_file_url(rel.rsplit("/", 1)[0])}">..</a></li>')
            for n in names[:5000]:
                suffix = "/" if os.path.isdir(os.path.join(full, n)) else ""
                items.append(f'<li><a href="{_file_url(rel + "/" + n)}">{html.escape(n)}{suffix}</a></li>')
            return self._page(rel + "/", "<ul class=\"files\">" + "".join(items) + "</ul>")
        if not os.path.isfile(full):
            return self._error(404, "not a regular file")
        size = os.path.getsize(full)
        with open(full, "rb") as f:
            if size <= FILE_LIMIT:
                data = f.read(FILE_LIMIT)
            else:
                half = FILE_LIMIT // 2
                data = f.read(half)
                f.seek(size - half)
                data += f"\n\n[… {size - 2 * half} bytes skipped …]\n\n".encode() + f.read(half)
        self._send(200, data, "text/plain; charset=utf-8")


def _log_files(base: str) -> List[str]:
    """Logs of a job dir, relative to it: task logs (current, interrupted, cleared) and engine output."""
    found = []
    try:
        for n in os.listdir(base):
            if n.startswith("log."):
                found.append(n)
            elif n.startswith("cleared.") and os.path.isdir(os.path.join(base, n)):
                found += [f"{n}/{m}" for m in os.listdir(os.path.join(base, n)) if m.startswith("log.")]
        engine = os.path.join(base, gs.JOB_ENGINE_DIR)
        if os.path.isdir(engine):
            found += [f"{gs.JOB_ENGINE_DIR}/{m}" for m in os.listdir(engine)
                      if m.endswith(".log") or m.startswith("stdout.")]
    except OSError:
        pass
    return sorted(found, key=lambda n: (n.count("/"), n))


# ---- the server ------------------------------------------------------------------------------------------------
class ConsoleServer:
    """The running console: ``url``, ``port``, ``console``; ``shutdown()`` stops it."""

    def __init__(self, console: Console, port: int, host: str):
        handler = type("Handler", (_Handler,), {"console": console})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.httpd.loopback = host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")
        self.console = console
        self.host, self.port = host, self.httpd.server_address[1]
        self.url = f"http://{'[' + host + ']' if ':' in host else host}:{self.port}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="sis-http", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        self.console.manager_stopped()
        self.httpd.shutdown()
        self.httpd.server_close()


def start_http_server(manager, port: int, host: str = "127.0.0.1", actions: bool = False) -> ConsoleServer:
    """Serve the console of ``manager`` in a daemon thread; hooks into ``manager.on_update``."""
    console = Console(manager, actions=actions)
    previous = manager.on_update

    def on_update(m):
        if previous is not None:
            previous(m)
        try:
            console.on_manager_update(m)
        except Exception:  # the console must never stop the manager
            log.exception("web console: failed to take a snapshot")

    manager.on_update = on_update
    server = ConsoleServer(console, port, host)
    if not server.httpd.loopback:
        print(f"sis: WARNING: the web console listens on {host}: anyone who can reach this machine can read job "
              f"arguments and logs{' and run actions' if actions else ''} (no authentication)", flush=True)
    print(f"sis: web console at {server.url}{' (actions enabled)' if actions else ''}", flush=True)
    return server
