"""The console of a finished graph: with ``--http`` the manager keeps serving once every target is finished
(until SIGINT/SIGTERM, then exit 0), and shows registered images inline and Markdown tables rendered;
without ``--http`` it exits as before. Also the Markdown renderer on its own (escaping, safe links)."""
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from sis_helpers import make_setup, run_manager, sis_env
from sisyphus.web.markdown_lite import render_markdown

RESULT_JOBS = r'''
import struct
import zlib

from sisyphus import Job, Task, tk


def png(width, height, rgb=(200, 40, 40)):
    """A small valid PNG, without any imaging library."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class ResultsJob(Job):
    """Writes a plot (PNG and SVG), a Markdown results table and a text note."""

    def __init__(self, wer: float):
        self.wer = wer
        self.out_plot = self.output_path("plot.png")
        self.out_svg = self.output_path("diagram.svg")
        self.out_table = self.output_path("results.md")
        self.out_note = self.output_path("note.txt")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        with open(self.out_plot.get_path(), "wb") as f:
            f.write(png(40, 30))
        with open(self.out_svg.get_path(), "w") as f:
            f.write('<svg xmlns="http://www.w3.org/2000/svg" width="60" height="20">'
                    '<rect width="60" height="20" fill="#36c"/><script>alert(1)</script></svg>')
        with open(self.out_table.get_path(), "w") as f:
            f.write("## Results of the finished graph\n\n"
                    "| system | WER | note |\n|---|---:|---|\n"
                    f"| baseline | {self.wer:.2f} | **best** |\n"
                    "| adc \\| 4 bit | 12.50 | <script>alert('x')</script> |\n\n"
                    "- see [the plot](plot.png) and `results.json`\n"
                    "- [evil](javascript:alert(1)) [escape](../../../../../../etc/passwd)\n")
        with open(self.out_note.get_path(), "w") as f:
            f.write("just a note\n")
'''

GRAPH = """
from sisyphus import tk
from resulttoy.jobs import ResultsJob
def py():
    r = ResultsJob(10.25)
    tk.register_output("study/plot.png", r.out_plot)
    tk.register_output("study/diagram.svg", r.out_svg)
    tk.register_output("study/results.md", r.out_table)
    tk.register_output("study/note.txt", r.out_note)
"""


def _setup(tmp_path):
    pkg = tmp_path / "resulttoy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "jobs.py").write_text(RESULT_JOBS)
    return make_setup(tmp_path, GRAPH, recipe_dirs=[pkg])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A `sis manager --http PORT` process; its output is read by a thread (so that it never blocks)."""

    def __init__(self, setup, args=("-r",)):
        self.port = _free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "sisyphus", "manager", *args, "--http", str(self.port),
                                      "config/graph.py"], cwd=setup, env=sis_env(setup), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.output = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for_line(self, pattern: str, timeout: float = 300) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"manager exited ({self.proc.wait()}) before printing {pattern!r}:\n"
                                     + "".join(self.output))
            self.output.append(line)
            m = re.search(pattern, line)
            if m:
                return m
        raise AssertionError(f"no line {pattern!r} in time:\n" + "".join(self.output))

    def get(self, path: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=60) as r:
            return r.status, r.headers, r.read()

    def stop(self, sig=signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def rest(self) -> str:
        """All output after the process has ended."""
        while True:
            try:
                line = self.lines.get(timeout=30)
            except queue.Empty:
                break
            if line is None:
                break
            self.output.append(line)
        return "".join(self.output)


@pytest.fixture
def served(tmp_path):
    """A manager with --http that has run the graph to the end and now only serves the console."""
    setup = _setup(tmp_path)
    s = Served(setup)
    s.setup = setup
    s.wait_for_line(r"All targets are finished\.")
    m = s.wait_for_line(r"^Console: (http://127\.0\.0\.1:(\d+)/) \(serving until interrupted, Ctrl-C to stop\)")
    assert int(m.group(2)) == s.port
    yield s
    if s.proc.poll() is None:
        s.proc.kill()
        s.proc.wait()


def test_finished_graph_keeps_serving_with_images_and_tables_until_sigint(served):
    assert served.proc.poll() is None  # still there after "All targets are finished."
    status, headers, page = served.get("/")
    page = page.decode()
    assert status == 200 and "all targets finished" in page and "serving until interrupted" in page
    # the image outputs inline, the Markdown output rendered, the text output only linked
    assert '<img src="/file/output/study/plot.png"' in page and '<img src="/file/output/study/diagram.svg"' in page
    md = page[page.index('data-kind="markdown"'):]
    md = md[:md.index("</details>")]
    assert "<table" in md and "<th>system</th>" in md and '<td style="text-align:right">10.25</td>' in md
    assert "<td><strong>best</strong></td>" in md and "<td>adc | 4 bit</td>" in md
    assert "<h4>Results of the finished graph</h4>" in md and "<code>results.json</code>" in md
    assert "<script" not in md and "&lt;script&gt;" in md  # HTML in the file is shown as text
    assert 'href="javascript' not in page and "etc/passwd" not in page  # unsafe links are not links
    job_out = re.search(r'<a href="(/file/work/[^"]+/output/)plot\.png">the plot</a>', md)
    assert job_out, md  # a relative link resolves against the job's output dir
    assert 'href="/file/output/study/note.txt"' in page and 'data-kind="text"' not in page
    assert page.count('<details class="preview"') == 3

    # the files behind them: whole, with image types; the SVG cannot run scripts even when opened directly
    status, headers, data = served.get("/file/output/study/plot.png")
    assert headers["Content-Type"] == "image/png" and data.startswith(b"\x89PNG") and len(data) > 50
    assert data == (served.setup / "output" / "study" / "plot.png").read_bytes()
    status, headers, data = served.get("/file/output/study/diagram.svg")
    assert headers["Content-Type"] == "image/svg+xml" and "sandbox" in headers["Content-Security-Policy"]
    status, headers, data = served.get(job_out.group(1) + "plot.png")
    assert headers["Content-Type"] == "image/png"
    status, headers, data = served.get("/file/output/study/results.md")
    assert headers["Content-Type"].startswith("text/plain") and b"| baseline |" in data
    for bad in ("/file/output/../settings.py", "/file/output/study/..%2F..%2Fsettings.py", "/file/work/../../x.png"):
        with pytest.raises(urllib.error.HTTPError) as e:
            served.get(bad)
        assert e.value.code in (403, 404)

    # the manager loop has ended: actions are refused, the API says so
    status, headers, data = served.get("/api/states")
    assert b'"manager_running": false' in data and b'"finished": true' in data

    assert served.stop(signal.SIGINT) == 0
    out = served.rest()
    assert "console stopped" in out and "Traceback" not in out


def test_finished_at_start_without_r_serves_and_sigterm_exits_cleanly(served):
    assert served.stop(signal.SIGINT) == 0
    # a second manager on the finished setup, interactive (no -r): nothing to ask, so it serves at once
    again = Served(served.setup, args=())
    try:
        again.wait_for_line(r"All targets are finished\.")
        again.wait_for_line(r"^Console: http://127\.0\.0\.1:\d+/ \(serving until interrupted")
        status, headers, page = again.get("/")
        assert status == 200 and b"<table" in page and b'<img src="/file/output/study/plot.png"' in page
        assert again.stop(signal.SIGTERM) == 0
        out = again.rest()
        assert "Start " not in out and "Traceback" not in out
    finally:
        if again.proc.poll() is None:
            again.proc.kill()
            again.proc.wait()


def test_without_http_a_finished_graph_still_exits(tmp_path):
    setup = _setup(tmp_path)
    first = run_manager(setup, timeout=300)
    second = run_manager(setup, timeout=300)
    for proc in (first, second):
        assert "All targets are finished." in proc.stdout and "Console:" not in proc.stdout
    assert (setup / "output" / "study" / "results.md").exists()


def test_console_actions_are_refused_once_the_graph_is_finished(tmp_path):
    setup = _setup(tmp_path)
    s = Served(setup, args=("-r", "--http-actions"))
    try:
        s.wait_for_line(r"^Console: ")
        page = s.get("/")[2].decode()
        jid = re.search(r'href="/file/work/([^"]+)/output/plot\.png"', page).group(1)
        page = s.get(f"/job/{jid}")[2].decode()
        assert "actions need a running manager" in page and "rerun with descendants" not in page
        page = s.get(f"/action?kind=rerun&job={urllib.request.quote(jid)}")[2].decode()
        assert "Not possible now" in page and 'name="token"' not in page
        assert (setup / "work" / jid / "finished").exists()
        assert s.stop() == 0
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


@pytest.mark.browser
def test_browser_shows_the_image_and_the_table_of_a_finished_graph(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"http://127.0.0.1:{served.port}/")
    assert "registered outputs" in browser.find_element(By.TAG_NAME, "h1").text
    assert "all targets finished" in browser.find_element(By.ID, "live").text
    for name in ("plot.png", "diagram.svg"):
        img = browser.find_element(By.CSS_SELECTOR, f'details.preview img[src="/file/output/study/{name}"]')
        browser.execute_script("arguments[0].scrollIntoView();", img)
        WebDriverWait(browser, 60).until(lambda d: d.execute_script("return arguments[0].complete;", img))
        assert browser.execute_script("return arguments[0].naturalWidth;", img) > 0, name
    assert browser.execute_script("return arguments[0].naturalWidth;", browser.find_element(
        By.CSS_SELECTOR, 'img[src="/file/output/study/plot.png"]')) == 40
    table = browser.find_element(By.CSS_SELECTOR, 'details[data-kind="markdown"] table')
    cells = [c.text for c in table.find_elements(By.CSS_SELECTOR, "td")]
    assert cells[:3] == ["baseline", "10.25", "best"] and "adc | 4 bit" in cells
    assert table.find_element(By.CSS_SELECTOR, "strong").text == "best"
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):  # neither the table's nor the SVG's <script> ran
        browser.switch_to.alert.text
    # close all / open all
    browser.find_element(By.CSS_SELECTOR, 'button[data-details="close"]').click()
    assert not any(d.get_attribute("open") for d in browser.find_elements(By.CSS_SELECTOR, "details.preview"))
    browser.find_element(By.CSS_SELECTOR, 'button[data-details="open"]').click()
    assert all(d.get_attribute("open") for d in browser.find_elements(By.CSS_SELECTOR, "details.preview"))
    assert served.stop() == 0


# ---- the Markdown renderer -----------------------------------------------------------------------------------
BASE = "/file/work/toy/jobs/ResultsJob.abc/output/"


def test_markdown_tables_headings_lists_and_inline_markup():
    out = render_markdown("# Title\n\nSome *em* and **bold** text with `co|de` and snake_case_name.\n\n"
                          "| a | b \\| c | n |\n|:--|:-:|--:|\n| x | **y** | 1 |\n| only one |\n\n"
                          "1. first\n2. second\n   - nested\n\n- [x](https://example.org/?a=1&b=2)\n"
                          "> quoted\n\n```\n<b>raw</b>\n```\n---\n", BASE)
    assert "<h3>Title</h3>" in out
    assert "<em>em</em>" in out and "<strong>bold</strong>" in out and "<code>co|de</code>" in out
    assert "snake_case_name" in out and "<em>case</em>" not in out
    assert ('<th style="text-align:left">a</th><th style="text-align:center">b | c</th>'
            '<th style="text-align:right">n</th>') in out
    assert '<td style="text-align:center"><strong>y</strong></td>' in out
    assert "<tr><td style=\"text-align:left\">only one</td><td style=\"text-align:center\"></td>" in out
    assert re.search(r"<ol><li>first</li><li>second<ul><li>nested</li></ul></li></ol>", out)
    assert '<a href="https://example.org/?a=1&amp;b=2">x</a>' in out
    assert "<blockquote><p>quoted</p></blockquote>" in out
    assert "<pre><code>&lt;b&gt;raw&lt;/b&gt;</code></pre>" in out and "<hr>" in out


@pytest.mark.parametrize("src", [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[a](javascript:alert(1))",
    "[a](JavaScript:alert)", "[a](data:text/html,<script>alert(1)</script>)", "![a](javascript:alert)",
    "[a](vbscript:x)", '[a](" onmouseover="alert(1))', "`<script>`", "| <b>x</b> |\n|---|\n| <i>y</i> |",
    "<https://e.org/\"onmouseover=\"alert(1)>", "**<svg onload=alert(1)>**", "[<b>t</b>](https://e.org)",
])
def test_markdown_never_passes_html_through(src):
    out = render_markdown(src, BASE)
    # every tag is one the renderer writes itself, with attribute values that cannot break out
    for tag in re.findall(r"<\s*[a-zA-Z][^>]*>", out):
        assert re.fullmatch(r'<(p|strong|em|del|code|thead|tbody|tr|table class="md"|'
                            r'(th|td)( style="text-align:(left|right|center)")?|a href="[^"<>]*"|'
                            r'img src="[^"<>]*" alt="[^"<>]*" loading="lazy")>', tag), (tag, out)
    assert not re.search(r'href="(?!https?://|/file/|#|mailto:)', out), out
    assert "javascript:" not in "".join(re.findall(r'(?:href|src)="([^"]*)"', out)).lower()


def test_markdown_links_and_images_stay_below_file():
    out = render_markdown("[p](plot.png) [up](../../x.txt) [far](../../../../../../etc/passwd) [abs](/etc/passwd) "
                          "[frag](#top) ![i](plot.png) ![ext](https://e.org/x.png) [m](mailto:a@b.c)", BASE)
    assert f'<a href="{BASE}plot.png">p</a>' in out
    assert '<a href="/file/work/toy/jobs/x.txt">up</a>' in out
    assert "etc/passwd" not in "".join(re.findall(r'href="([^"]*)"', out)) and "far" in out and "abs" in out
    assert '<a href="#top">frag</a>' in out and '<a href="mailto:a@b.c">m</a>' in out
    assert f'<img src="{BASE}plot.png" alt="i" loading="lazy">' in out
    assert "https://e.org/x.png" not in out and "ext" in out  # external images: text only (the CSP blocks them)
    assert "<a" not in render_markdown("[p](plot.png)")  # no base: relative links are text


def test_markdown_lists_that_switch_kind_render_in_order_however_many():
    # each switch between bullets and numbers at one level starts a new list; 3000 of them once
    # exhausted the recursion limit (a RecursionError instead of a preview)
    out = render_markdown("- a\n1. b\n" * 1500)
    assert out == "<ul><li>a</li></ul><ol><li>b</li></ol>" * 1500
    assert render_markdown("- a\n  - n\n3. b\n4. c\n") == \
        '<ul><li>a<ul><li>n</li></ul></li></ul><ol start="3"><li>b</li><li>c</li></ol>'
