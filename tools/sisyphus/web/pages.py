"""The HTML pages of the console (GET): outputs, job list, one job, graph, action confirmation and file
views. A mixin of the request handler (``handler._Handler``), which supplies ``console``, ``_page``,
``_error``, ``_send`` and ``version``; kept apart so the routing and HTTP plumbing stay short."""
import html
import os
import re
import urllib.parse
from collections import Counter
from typing import List

from sisyphus import global_settings as gs
from sisyphus.graph import STATES, OutputTarget, ReportTarget, graph
from sisyphus.web.graph_dot import _module, _short_label
from sisyphus.web.snapshot import _file_task_state, _inputs
from sisyphus.web.util import (_badge, _file_url, _fmt_duration, _fmt_size, _job_url, _log_files,
                               _read_head_tail, _short_repr)

MAX_FULL_GRAPH = 150          # larger graphs default to the per-module view
LOG_HEAD = (20, 4096)         # lines, bytes
LOG_TAIL = (60, 16384)
FILE_LIMIT = 1 << 20          # a file view shows at most this many bytes (head and tail halves)
MAX_LOGS_SHOWN = 40
#: registered outputs shown in the overview page: images inline, Markdown rendered (other files are links)
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp", ".svg": "image/svg+xml"}
MARKDOWN_EXTS = (".md", ".markdown")
IMAGE_LIMIT = 32 << 20        # images are served whole, up to this size
MARKDOWN_LIMIT = 512 << 10    # larger Markdown files are only linked
PREVIEWS_OPEN = 8             # with at most this many previews they start open, with more closed
#: an image may be looked at directly: no scripts, no fetches (an SVG is a document)
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def _output_value_html(p) -> str:
    """What the job page shows after an output: a set variable's value, "(not set)", or nothing for a path."""
    from sisyphus.job_path import Variable

    if not isinstance(p, Variable):
        return ""
    if not p.is_set():
        return "(not set)"
    try:
        return "= " + html.escape(_short_repr(p.get(), 2000))
    except Exception as e:
        return f"(unreadable: {html.escape(type(e).__name__)})"


class _Pages:
    """``page_*``: one method per page; each renders from ``self.console.snapshot()``."""

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
                rows.append(f'<tr><td>{path_cell}</td><td>output</td>'
                            f'<td><a href="{_job_url(jid)}">{html.escape(jid)}</a>'
                            f'/output/{html.escape(t.path.path)}</td><td>{_badge(snap.state(jid), jid)}</td></tr>')
            elif isinstance(t, ReportTarget):
                from sisyphus.tools import extract_paths

                paths = extract_paths([t.required] if callable(t.values) else [t.values, t.required])
                creators = sorted({p.creator._sis_id() for p in paths if p.creator is not None})
                links = ", ".join(f'<a href="{_job_url(c)}">{html.escape(c)}</a> {_badge(snap.state(c), c)}'
                                  for c in creators)
                path = os.path.join(gs.OUTPUT_DIR, t.name)
                cell = (f'<a href="{_file_url(path)}">{html.escape(t.name)}</a>'
                        if os.path.exists(os.path.join(gs.BASE_DIR, path)) else html.escape(t.name))
                rows.append(f"<tr><td>{cell}</td><td>report</td><td>{links}</td><td></td></tr>")
        body = ('<table class="list"><tr><th>name</th><th>kind</th><th>created by</th><th>state</th></tr>'
                + "".join(rows) + "</table>")
        counts = Counter(snap.states.values())
        body += "<h2>states</h2><p>" + " ".join(f'<a href="/jobs?state={s}">{_badge(s)} {counts[s]}</a>'
                                                for s in STATES if counts.get(s)) + "</p>"
        body += self._previews_html()
        self._page("registered outputs", body, poll="/api/version", version=snap.signature)

    def _previews(self):
        """(name, url, real path, kind) of each registered output that exists and is an image or Markdown."""
        found, seen = [], set()
        for t in graph.targets.values():
            if not isinstance(t, (OutputTarget, ReportTarget)) or t.name in seen:
                continue
            seen.add(t.name)
            rel = os.path.join(gs.OUTPUT_DIR, t.name)
            real = self.console.resolve(rel)  # the sandbox: only what /file/ would serve
            if real is None or not os.path.isfile(real):
                continue
            ext = os.path.splitext(t.name)[1].lower() or os.path.splitext(real)[1].lower()
            kind = "image" if ext in IMAGE_TYPES else "markdown" if ext in MARKDOWN_EXTS else None
            if kind:
                found.append((t.name, _file_url(rel), real, kind))
        return found

    def _previews_html(self) -> str:
        previews = self._previews()
        if not previews:
            return ""
        is_open = " open" if len(previews) <= PREVIEWS_OPEN else ""
        out = [f'<h2 id="previews">results ({len(previews)} images and tables)</h2>'
               '<p class="views"><button type="button" data-details="open">open all</button> '
               '<button type="button" data-details="close">close all</button></p>']
        used = set()
        for name, url, real, kind in previews:
            anchor = "preview-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
            while anchor in used:
                anchor += "_"
            used.add(anchor)
            try:
                size = os.path.getsize(real)
            except OSError:
                continue
            if kind == "image":
                content = (f'<img src="{html.escape(url)}" alt="{html.escape(name)}" loading="lazy">'
                           if size <= IMAGE_LIMIT else f'<p class="warn">too large to show ({size} bytes)</p>')
            else:
                rel_real = self.console.inside(real)
                base_url = _file_url(os.path.dirname(rel_real)) + "/" if rel_real else ""
                rendered = self.console.preview_markdown(real, base_url, MARKDOWN_LIMIT)
                content = (f'<div class="md">{rendered}</div>' if rendered is not None else
                           f'<p class="warn">too large or unreadable to render ({size} bytes); open the file</p>')
            out.append(f'<details class="preview" id="{anchor}" data-kind="{kind}"{is_open}>'
                       f'<summary><a href="{html.escape(url)}">{html.escape(name)}</a> '
                       f'<span class="muted">{kind} · {_fmt_size(size)}</span></summary>{content}</details>')
        return "\n".join(out)

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
                    f"{t.name()} {sum(job._sis_task_finished(t, k) for k in t.task_ids())}/{len(t.task_ids())}"
                    for t in tasks)
            except Exception as e:
                counts = f"tasks() failed: {type(e).__name__}"
            aliases = ", ".join(sorted(job.get_aliases()))
            run_time = _fmt_duration(self.console.job_run_time(job, st))
            rows.append(f'<tr><td class="num">{i + 1}</td><td><a href="{_job_url(jid)}">{html.escape(jid)}</a>'
                        f'{" <i>" + html.escape(aliases) + "</i>" if aliases else ""}</td><td>{_badge(st, jid)}</td>'
                        f'<td>{html.escape(counts)}</td><td class="num">{run_time}</td></tr>')
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
        st = snap.state(jid)
        base = job._sis_path(abspath=True)
        rel_base = os.path.relpath(base, gs.BASE_DIR)
        out = (self._job_summary(job, jid, st, base, rel_base) + self._job_tasks(job, jid, snap)
               + self._job_io(job, snap) + self._job_logs(base, rel_base) + self._job_actions(jid, st, snap))
        title = _short_label(job).replace("\\n", " · ")
        self._page(title, "\n".join(out), poll="/api/version?" + urllib.parse.urlencode({"job": jid}),
                   version=self.version(jid))

    # -- the sections of the job page: each a list of HTML pieces, the page joins them with newlines
    def _job_summary(self, job, jid: str, st: str, base: str, rel_base: str) -> List[str]:
        """State, id, and a table of work dir, aliases, name, graph link and ``info()``."""
        out = [f'<p>{_badge(st, jid)} <code>{html.escape(jid)}</code></p><table class="kv">',
               f'<tr><th>work dir</th><td><a href="{_file_url(rel_base)}">{html.escape(base)}</a></td></tr>']
        if job.get_aliases():
            out.append(f'<tr><th>aliases</th><td>{html.escape(", ".join(sorted(job.get_aliases())))}</td></tr>')
        if job.get_vis_name():
            out.append(f'<tr><th>name</th><td>{html.escape(job.get_vis_name())}</td></tr>')
        graph_url = "/graph?" + urllib.parse.urlencode({"job": jid})
        out.append(f'<tr><th>graph</th><td><a href="{graph_url}">neighbourhood</a></td></tr>')
        try:
            info = job.info()
        except Exception as e:
            info = f"info() failed: {type(e).__name__}: {e}"
        if info:
            out.append(f'<tr><th>info</th><td><pre>{html.escape(str(info)[:4000])}</pre></td></tr>')
        out.append("</table>")
        return out

    def _job_tasks(self, job, jid: str, snap) -> List[str]:
        """One row per task id: state, run time, and the task's requirements on its first id."""
        out = []
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
                runtime = _fmt_duration(self.console.task_times(job, t, tid, running=ts == "running"))
                rq_cell = html.escape(", ".join(f"{k}={v}" for k, v in rq.items()) + flags) if tid == 1 else ""
                out.append(f"<tr><td>{html.escape(t.name())}</td><td>{tid}</td><td>{_badge(ts)}</td>"
                           f'<td class="num">{runtime}</td><td>{rq_cell}</td></tr>')
        out.append("</table>")
        return out

    def _job_io(self, job, snap) -> List[str]:
        """The hashed arguments, the inputs with the jobs that make them, the outputs with their values."""
        return (['<h2>arguments (hashed)</h2><table class="kv">']
                + [f"<tr><th>{html.escape(str(k))}</th><td>{self._value_html(v)}</td></tr>"
                   for k, v in job._sis_kwargs.items()]
                + ['</table><h2>inputs</h2><ul>'] + [self._input_html(p, snap) for p in sorted(_inputs(job))]
                + ['</ul><h2>outputs</h2><table class="kv">']
                + [f"<tr><th>{html.escape(name)}</th><td>{self._path_html(p)} {_output_value_html(p)}</td></tr>"
                   for name, p in sorted(job._sis_outputs.items())]
                + ["</table>"])

    def _input_html(self, p, snap) -> str:
        """One input: a link to its creator (with its state), or a raw input (and whether it is missing)."""
        if p.creator is not None:
            cj = p.creator._sis_id()
            return (f'<li>{self._path_html(p)} from <a href="{_job_url(cj)}">{html.escape(cj)}</a> '
                    f'{_badge(snap.state(cj), cj)}</li>')
        return f'<li>{self._path_html(p)} (raw input{"" if p.available() else ", missing"})</li>'

    def _job_logs(self, base: str, rel_base: str) -> List[str]:
        """Head and tail of each log file (at most ``MAX_LOGS_SHOWN``), each linked to the whole file."""
        out = ["<h2>logs</h2>"]
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
            out.append(f"<p>{len(logs) - MAX_LOGS_SHOWN} more logs in the "
                       f"<a href=\"{_file_url(rel_base)}\">job dir</a></p>")
        return out

    def _job_actions(self, jid: str, st: str, snap) -> List[str]:
        """Links to the confirmation pages of clear (errors only) and rerun, where actions are on."""
        if not self.console.actions_enabled:
            return []
        if not snap.running:
            return ['<h2>actions</h2><p class="warn">The manager is not running (all targets are finished, or it '
                    'stopped): actions need a running manager.</p>']
        out = ["<h2>actions</h2><p>"]
        if st == "error":
            out.append(f'<a class="button" href="/action?{urllib.parse.urlencode({"kind": "clear", "job": jid})}">'
                       "clear error…</a> ")
        out.append(f'<a class="button" href="/action?{urllib.parse.urlencode({"kind": "rerun", "job": jid})}">'
                   "rerun with descendants…</a></p>")
        return out

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
            items = (f"{html.escape(_short_repr(k, 100))}: {self._value_html(x, depth + 1)}" for k, x in v.items())
            return "{" + ", ".join(items) + "}"
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
            depths = " ".join(f'<a href="/graph?{urllib.parse.urlencode({"job": focus, "depth": d})}">{d}</a>'
                              for d in (1, 2, 3, 5))
            links += f' · neighbourhood of <a href="{_job_url(focus)}">{html.escape(focus)}</a>, depth ' + depths
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
            body += ('<form method="post" action="/action">'
                     f'<input type="hidden" name="kind" value="{html.escape(kind)}">'
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
        ext = os.path.splitext(full)[1].lower()
        ctype = IMAGE_TYPES.get(ext) or IMAGE_TYPES.get(os.path.splitext(rel)[1].lower())
        if ctype is not None:  # served whole, so that it can be shown
            if size > IMAGE_LIMIT:
                return self._error(413, f"image too large to serve ({size} bytes)")
            with open(full, "rb") as f:
                return self._send(200, f.read(IMAGE_LIMIT), ctype, csp=IMAGE_CSP)
        with open(full, "rb") as f:
            if size <= FILE_LIMIT:
                data = f.read(FILE_LIMIT)
            else:
                half = FILE_LIMIT // 2
                data = f.read(half)
                f.seek(size - half)
                data += f"\n\n[… {size - 2 * half} bytes skipped …]\n\n".encode() + f.read(half)
        self._send(200, data, "text/plain; charset=utf-8")
