"""The job graph as graphviz: the ``dot`` source of the full graph (one cluster per module), the
per-module view and a job's neighbourhood, rendered to inline SVG by the ``dot`` binary; plus the
graph walks (descendants, neighbourhood) that the pages and actions share."""
import html
import subprocess
import urllib.parse
from collections import Counter
from typing import Dict, List, Optional

from sisyphus.web.snapshot import _inputs, _Snapshot
from sisyphus.web.util import STATE_COLORS, _job_url

#: a group (module) shows its most urgent member state
_URGENCY = ("error", "retry_error", "input_missing", "interrupted_not_resumable", "interrupted_resumable", "running",
            "queue", "runnable", "hold", "waiting", "unknown", "finished")


def _module(jid: str) -> str:
    return jid.rsplit("/", 1)[0] if "/" in jid else "(top)"


def _short_label(job) -> str:
    jid = job._sis_id()
    name = job.get_vis_name() or (sorted(job.get_aliases())[0] if job.get_aliases() else None)
    cls, _, digest = jid.rsplit("/", 1)[-1].partition(".")
    return f"{name}\\n{cls}" if name else f"{cls}\\n{digest[:6]}"


def _dot_esc(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\\\\n", "\\n")


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
            creators = {p.creator._sis_id() for p in _inputs(job) if p.creator is not None}
            nxt |= {c for c in creators if c in snap.by_id}
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


def _dot_source(snap: _Snapshot, view: str, focus: Optional[str], depth: int) -> str:
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
            fill = STATE_COLORS.get(st, "#fff")
            lines.append(f'{node[jid]} [label="{_dot_esc(_short_label(job))}" fillcolor="{fill}" '
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
