"""The HTTP request handler: security headers, page chrome, routing of GET requests to the pages
(``pages._Pages``), the JSON API, and the POST that runs a confirmed action."""
import html
import json
import logging
import os
import time
import urllib.parse
from collections import Counter
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Optional

from sisyphus.web.console import Console
from sisyphus.web.pages import _Pages
from sisyphus.web.util import _job_url, _static

log = logging.getLogger("sisyphus.http")


class _Handler(_Pages, BaseHTTPRequestHandler):
    server_version = "sis-console/1"
    console: Console = None  # set per server

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.address_string(), fmt % args)

    # -- plumbing
    CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'"

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", extra: Optional[dict] = None,
              csp: Optional[str] = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", csp or self.CSP)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _page(self, title: str, body: str, status: int = 200, poll: Optional[str] = None, version: str = ""):
        snap = self.console.snapshot()
        counts = Counter(snap.states.values())
        summary = " · ".join(f'<a href="/jobs?state={s}">{n} {s}</a>' for s, n in sorted(counts.items()))
        if snap.running:
            mstate = f"manager running · last check {time.strftime('%H:%M:%S', time.localtime(snap.time))}"
        elif snap.finished:
            mstate = (f"all targets finished at {time.strftime('%H:%M:%S', time.localtime(snap.time))} · "
                      "serving until interrupted")
        else:
            mstate = "manager stopped"
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
            raw_form = self.rfile.read(length).decode("utf-8", "replace")
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw_form).items()}
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
            body = (f'<p class="{"ok" if ok else "warn"}">'
                    f'{html.escape(kind)} {html.escape(jid)}: {html.escape(msg)}</p>'
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

    # -- JSON API (the HTML pages are in pages._Pages)
    def api_states(self):
        snap = self.console.snapshot()
        body = {"time": snap.time, "manager_running": snap.running, "finished": snap.finished,
                "version": snap.signature,
                "states": {j._sis_id(): snap.state(j._sis_id()) for j in snap.jobs},
                "counts": dict(Counter(snap.states.values()))}
        self._send(200, json.dumps(body).encode(), "application/json")
