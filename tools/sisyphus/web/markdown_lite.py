"""A small, safe Markdown renderer for the console's previews of registered ``.md`` outputs.

Covers what the recipes write: pipe tables (with alignment and ``\\|`` in cells), ATX headings,
paragraphs, bullet and numbered lists (nested by indentation), block quotes, fenced code, rules,
and inline code, bold, italic, strikethrough, links and relative images. Everything taken from the
file is HTML-escaped; raw HTML in the file is shown as text, never passed through. Links keep only
``http``, ``https`` and ``mailto`` URLs or relative ones (resolved against ``base_url``, a
``/file/...`` directory URL, and kept only if they stay below ``/file/``); images only relative
ones. Headings are shifted down two levels (``#`` -> ``<h3>``) to sit below the page's own headings.
"""
import html
import itertools
import posixpath
import re
import urllib.parse
from typing import List, Optional, Tuple

__all__ = ["render_markdown"]

HEADING_SHIFT = 2
MAX_NESTING = 8

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM = re.compile(r"^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$")
_QUOTE = re.compile(r"^ {0,3}> ?(.*)$")
_TABLE_SEP_CELL = re.compile(r"^\s*(:?)-+(:?)\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")

# bounds of a code span and of emphasised text: they bound the search for the closing mark, so that odd
# input (many unclosed marks on one long line) takes linear, not quadratic, time
_CODE_SPAN = 4000
_SPAN = 500
_INLINE = re.compile(
    (r"(?P<code>(?P<ticks>`+)(?P<codetext>.{1,%d}?)(?P=ticks))" % _CODE_SPAN)
    + r"|\\(?P<esc>[!-/:-@\[-`{-~])"
    + r"|(?P<bang>!?)\[(?P<text>[^\]\n]*)\]\(\s*<?(?P<url>[^\s()<>]*)>?(?:\s+\"[^\"\n]*\")?\s*\)"
    + r"|<(?P<auto>(?:https?://|mailto:)[^\s<>]+)>")
_EMPHASIS = [
    (re.compile(r"\*\*(?=\S)(.{1,%d}?)(?<=\S)\*\*" % _SPAN), "strong"),
    (re.compile(r"(?<!\w)__(?=\S)(.{1,%d}?)(?<=\S)__(?!\w)" % _SPAN), "strong"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])(.{1,%d}?)(?<=[^\s*])\*(?![\w*])" % _SPAN), "em"),
    (re.compile(r"(?<!\w)_(?=[^\s_])(.{1,%d}?)(?<=[^\s_])_(?!\w)" % _SPAN), "em"),
    (re.compile(r"~~(?=\S)(.{1,%d}?)(?<=\S)~~" % _SPAN), "del"),
]
_SLOT = re.compile(r"\x00(\d+)\x00")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _safe_url(url: str, base_url: str, image: bool = False) -> Optional[str]:
    """The URL to put into href/src, or None where it is not allowed."""
    url = url.strip()
    if not url or any(c in url for c in "\x00\r\n\t\\"):
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("//"):
        if image:
            return None  # the console's CSP would block it anyway
        return url if parts.scheme.lower() in ("http", "https", "mailto") else None
    if url.startswith("#"):
        return None if image else url
    if not base_url or url.startswith("/"):
        return None
    path = posixpath.normpath(posixpath.join(base_url, urllib.parse.unquote(parts.path)))
    if not path.startswith("/file/") or path == "/file/":
        return None
    out = urllib.parse.quote(path, safe="/")
    if parts.query:
        out += "?" + parts.query
    if parts.fragment and not image:
        out += "#" + parts.fragment
    return out


def _inline(text: str, base_url: str, links: bool = True) -> str:
    """One line (or paragraph) of inline Markdown as HTML."""
    slots: List[str] = []

    def slot(fragment: str) -> str:
        slots.append(fragment)
        return f"\x00{len(slots) - 1}\x00"

    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(_esc(text[pos:m.start()]))
        pos = m.end()
        if m.group("code"):
            out.append(slot(f"<code>{_esc(m.group('codetext').strip() or m.group('codetext'))}</code>"))
        elif m.group("esc") is not None:
            out.append(slot(_esc(m.group("esc"))))
        elif m.group("auto"):
            url = _safe_url(m.group("auto"), base_url)
            out.append(slot(f'<a href="{_esc(url)}">{_esc(m.group("auto"))}</a>' if url and links
                            else _esc(m.group(0))))
        else:  # a link or an image
            image = bool(m.group("bang"))
            url = _safe_url(m.group("url"), base_url, image=image)
            if image:
                if url is None:
                    out.append(slot(_inline(m.group("text"), base_url, links=False) or _esc(m.group(0))))
                else:
                    out.append(slot(f'<img src="{_esc(url)}" alt="{_esc(m.group("text"))}" loading="lazy">'))
            elif url is None or not links:
                out.append(slot(_inline(m.group("text"), base_url, links=False)))
            else:
                out.append(slot(f'<a href="{_esc(url)}">{_inline(m.group("text"), base_url, links=False)}</a>'))
    out.append(_esc(text[pos:]))
    result = "".join(out)
    for rx, tag in _EMPHASIS:
        result = rx.sub(lambda mm, t=tag: f"<{t}>{mm.group(1)}</{t}>", result)
    return _SLOT.sub(lambda mm: slots[int(mm.group(1))], result)  # slot contents are final HTML


def _cells(line: str) -> List[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    return [c.strip() for c in _CELL_SPLIT.split(s)]


def _table_alignments(line: str, n: int) -> Optional[List[str]]:
    if "-" not in line or not re.fullmatch(r"[\s|:\-]+", line) or ("|" not in line and n > 1):
        return None
    cells = _cells(line)
    if len(cells) != n:
        return None
    aligns = []
    for c in cells:
        m = _TABLE_SEP_CELL.match(c)
        if not m:
            return None
        left, right = m.group(1), m.group(2)
        aligns.append("center" if left and right else "right" if right else "left" if left else "")
    return aligns


def _starts_block(line: str, next_line: Optional[str]) -> bool:
    if _FENCE.match(line) or _HEADING.match(line) or _RULE.match(line) or _QUOTE.match(line):
        return True
    m = _LIST_ITEM.match(line)
    if m and m.group(3):
        return True
    return "|" in line and next_line is not None and _table_alignments(next_line, len(_cells(line))) is not None


def _render_table(header: List[str], aligns: List[str], rows: List[List[str]], base_url: str) -> str:
    def cell(tag: str, text: str, align: str) -> str:
        style = f' style="text-align:{align}"' if align else ""
        return f"<{tag}{style}>{_inline(text, base_url)}</{tag}>"

    out = ['<table class="md">', "<thead><tr>" + "".join(cell("th", h, a) for h, a in zip(header, aligns))
           + "</tr></thead>"]
    if rows:
        out.append("<tbody>")
        for r in rows:
            r = (r + [""] * len(header))[:len(header)]
            out.append("<tr>" + "".join(cell("td", c, a) for c, a in zip(r, aligns)) + "</tr>")
        out.append("</tbody>")
    out.append("</table>")
    return "".join(out)


def _render_list(lines: List[str], base_url: str, depth: int) -> str:
    """``lines``: a run of list items and their continuation lines (indentation kept). Where the kind of
    list (bullets, numbers) changes at the first item's level, a new list starts: rendered one after
    the other in a loop, so that many changes cannot exhaust the recursion limit."""
    out, pos = [], 0
    while pos < len(lines):
        html_list, pos = _render_one_list(lines, pos, base_url, depth)
        out.append(html_list)
    return "".join(out)


def _render_one_list(lines: List[str], pos: int, base_url: str, depth: int) -> Tuple[str, int]:
    """The list whose first item is ``lines[pos]``, up to an item of the other kind at its level:
    ``(html, index after it)``."""
    first = _LIST_ITEM.match(lines[pos])
    indent = len(first.group(1))
    ordered = first.group(2)[0].isdigit()
    items: List[List[str]] = []
    for line in itertools.islice(lines, pos, None):
        m = _LIST_ITEM.match(line)
        if m and len(m.group(1)) <= indent and m.group(2)[0].isdigit() == ordered:
            items.append([m.group(3) or ""])
        elif m and len(m.group(1)) <= indent:  # the other kind of list at the same level: a new list
            break
        else:
            items[-1].append(line)
    consumed = sum(len(i) for i in items)
    out = []
    for item in items:
        text, nested = [item[0]], []
        for line in item[1:]:
            if nested or (_LIST_ITEM.match(line) and len(_LIST_ITEM.match(line).group(1)) > indent):
                nested.append(line)
            else:
                text.append(line.strip())
        inner = _inline("\n".join(t for t in text if t), base_url)
        if nested and depth < MAX_NESTING:
            inner += _render_blocks(nested, base_url, depth + 1)
        elif nested:
            inner += "<br>" + _esc("\n".join(nested))
        out.append(f"<li>{inner}</li>")
    start = ""
    if ordered:
        n = int(first.group(2)[:-1])
        start = f' start="{n}"' if n != 1 else ""
    tag = "ol" if ordered else "ul"
    return f"<{tag}{start}>" + "".join(out) + f"</{tag}>", pos + consumed


def _render_blocks(lines: List[str], base_url: str, depth: int = 0) -> str:
    """Block-level Markdown: each line starts a block (see :func:`_block_at`) or continues a paragraph;
    blank lines end paragraphs."""
    out: List[str] = []
    para: List[str] = []

    def flush():
        if para:
            out.append(f"<p>{_inline(chr(10).join(para), base_url)}</p>")
            para.clear()

    i = 0
    while i < len(lines):
        if not lines[i].strip():
            flush()
            i += 1
            continue
        block = _block_at(lines, i, base_url, depth, in_paragraph=bool(para))
        if block is None:
            para.append(lines[i].strip())
            i += 1
            continue
        flush()
        out.append(block[0])
        i = block[1]
    flush()
    return "\n".join(out)


def _block_at(lines: List[str], i: int, base_url: str, depth: int, in_paragraph: bool) -> Optional[Tuple[str, int]]:
    """The block starting at line ``i`` as ``(html, index of the line after it)``; None: a paragraph line.

    Tried in this order: fenced code, heading, rule, table, block quote, list (a list item with no text
    does not interrupt a paragraph).
    """
    return (_fenced_code(lines, i) or _heading(lines, i, base_url) or _rule(lines, i) or _table(lines, i, base_url)
            or _quote(lines, i, base_url, depth) or _list(lines, i, base_url, depth, in_paragraph))


def _fenced_code(lines: List[str], i: int) -> Optional[Tuple[str, int]]:
    """Code up to a closing fence of the same character, at least as long (or to the end)."""
    m = _FENCE.match(lines[i])
    if not m:
        return None
    fence = m.group(1)
    body = []
    i += 1
    while i < len(lines) and not (lines[i].strip().startswith(fence[0] * len(fence)) and
                                  not lines[i].strip().strip(fence[0])):
        body.append(lines[i])
        i += 1
    return f"<pre><code>{_esc(chr(10).join(body))}</code></pre>", i + 1  # past the closing fence (or the end)


def _heading(lines: List[str], i: int, base_url: str) -> Optional[Tuple[str, int]]:
    m = _HEADING.match(lines[i])
    if not m:
        return None
    level = min(6, len(m.group(1)) + HEADING_SHIFT)
    return f"<h{level}>{_inline(m.group(2) or '', base_url)}</h{level}>", i + 1


def _rule(lines: List[str], i: int) -> Optional[Tuple[str, int]]:
    return ("<hr>", i + 1) if _RULE.match(lines[i]) else None


def _table(lines: List[str], i: int, base_url: str) -> Optional[Tuple[str, int]]:
    """A header line with ``|``, an alignment line with as many cells, then rows up to a line without ``|``."""
    if "|" not in lines[i] or i + 1 >= len(lines):
        return None
    header = _cells(lines[i])
    aligns = _table_alignments(lines[i + 1], len(header))
    if aligns is None:
        return None
    rows = []
    i += 2
    while i < len(lines) and lines[i].strip() and "|" in lines[i]:
        rows.append(_cells(lines[i]))
        i += 1
    return _render_table(header, aligns, rows, base_url), i


def _quote(lines: List[str], i: int, base_url: str, depth: int) -> Optional[Tuple[str, int]]:
    """``>`` lines and the lazy continuation lines after them, up to a blank line, rendered as blocks."""
    if not _QUOTE.match(lines[i]):
        return None
    quoted = []
    while i < len(lines) and lines[i].strip() and (_QUOTE.match(lines[i]) or quoted):
        qm = _QUOTE.match(lines[i])
        quoted.append(qm.group(1) if qm else lines[i])
        i += 1
    inner = _render_blocks(quoted, base_url, depth + 1) if depth < MAX_NESTING else _esc("\n".join(quoted))
    return f"<blockquote>{inner}</blockquote>", i


def _list(lines: List[str], i: int, base_url: str, depth: int, in_paragraph: bool) -> Optional[Tuple[str, int]]:
    m = _LIST_ITEM.match(lines[i])
    if not (m and (m.group(3) or not in_paragraph)):
        return None
    block, i = _list_lines(lines, i, len(m.group(1)))
    return _render_list(block, base_url, depth), i


def _list_lines(lines: List[str], i: int, base_indent: int) -> Tuple[List[str], int]:
    """The lines of the list starting at ``i`` (blank lines dropped) and the index after it.

    A blank line ends the list unless a list item or a line indented deeper than ``base_indent`` follows;
    an unindented line that starts another block ends it, and so does an item left of ``base_indent``.
    """
    n = len(lines)
    block = []
    while i < n:
        cur = lines[i]
        if not cur.strip():
            j = i + 1
            while j < n and not lines[j].strip():
                j += 1
            if j < n and (_LIST_ITEM.match(lines[j]) or len(lines[j]) - len(lines[j].lstrip(" ")) > base_indent):
                i = j
                continue
            break
        lm = _LIST_ITEM.match(cur)
        cur_indent = len(cur) - len(cur.lstrip(" "))
        nxt = lines[i + 1] if i + 1 < n else None
        if block and not lm and cur_indent <= base_indent and _starts_block(cur, nxt):
            break
        if lm and len(lm.group(1)) < base_indent:
            break
        block.append(cur)
        i += 1
    return block, i


def render_markdown(text: str, base_url: str = "") -> str:
    """``text`` (Markdown) as an HTML fragment; ``base_url``: the ``/file/...`` directory that relative
    links and images are resolved against (none: relative links become plain text)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd").expandtabs(4)
    if base_url and not base_url.endswith("/"):
        base_url += "/"
    return _render_blocks(text.split("\n"), base_url)
