"""Small, stateless helpers shared by the console's pages and graph: state colours, URLs, bounded
reads of logs and files, short text formatting, and the static files in ``sisyphus/templates/``."""
import html
import os
import urllib.parse
from typing import List, Optional, Tuple

from sisyphus import global_settings as gs

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")

STATE_COLORS = {
    "finished": "#93c47d", "running": "#6fa8dc", "queue": "#b4a7d6", "runnable": "#ffe599", "waiting": "#e6e6e6",
    "error": "#e06666", "retry_error": "#cc4125", "queue_error": "#e06666", "interrupted_resumable": "#f6b26b",
    "interrupted_not_resumable": "#f9a05a", "hold": "#c9c9c9", "input_missing": "#ea9999", "unknown": "#ffffff",
    "started": "#f6b26b", "not started": "#ffffff",
}


def _job_url(jid: str) -> str:
    return "/job/" + urllib.parse.quote(jid, safe="/")


def _file_url(rel: str) -> str:
    return "/file/" + urllib.parse.quote(rel, safe="/")


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


def _fmt_size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    return f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


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
