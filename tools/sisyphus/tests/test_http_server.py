"""The web console of a running `sis manager --http PORT`: pages, graph, live state, path safety,
confirmed actions; and a real headless Chromium (Selenium) that follows a link from the graph."""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest

from sis_helpers import make_setup, sis_env

TOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toy_recipe", "toy")

CONSOLE_JOBS = '''
import os
import time

from sisyphus import Job, Task, tk


class NoisyJob(Job):
    """Writes a long log and a small output file."""

    def __init__(self, value: tk.Variable, lines: int = 50000):
        self.value = value
        self.lines = lines
        self.out_count = self.output_var("count")
        self.out_text = self.output_path("text.txt")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 0.2})

    def run(self):
        with open(os.path.join(os.environ["SIS_BASE_DIR"], "runs.log"), "a") as f:
            f.write("NoisyJob\\n")
        for i in range(self.lines):
            print(f"noisy line {i} of {self.lines}")
        print("LAST LINE OF THE NOISY LOG", flush=True)
        with open(self.out_text.get_path(), "w") as f:
            f.write("hello from the noisy job\\n")
        self.out_count.set(self.lines + self.value.get())


class GateJob(Job):
    """Runs until the file ``gate.<name>`` appears in the setup dir (keeps the manager alive)."""

    def __init__(self, name: str, after=None):
        self.name = name
        self.after = after
        self.out_done = self.output_var("done")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 0.1})

    def info(self):
        return f"waiting for the file gate.{self.name}"

    def run(self):
        gate = os.path.join(os.environ["SIS_BASE_DIR"], f"gate.{self.name}")
        deadline = time.time() + 900  # never outlive a crashed test for long
        while not os.path.exists(gate):
            if time.time() > deadline:
                raise TimeoutError("gate never opened")
            time.sleep(0.1)
        self.out_done.set(True)
'''

GRAPH = """
from sisyphus import tk
from toy.jobs import WriteNumbersJob, AddJob, MultiplyJob
from consoletoy.jobs import NoisyJob, GateJob
def py():
    w = WriteNumbersJob(10)
    a = AddJob(w.out_numbers, offset=1)
    a.add_alias("add")
    m = MultiplyJob(a.out_sum, 3)
    n = NoisyJob(a.out_sum)
    g = GateJob("one", m.out_product)
    keep = GateJob("two")
    bad = AddJob(w.out_numbers, offset=2, fail=True)
    tk.register_output("product", m.out_product)
    tk.register_output("noisy.txt", n.out_text)
    tk.register_output("gate", g.out_done)
    tk.register_output("keepalive", keep.out_done)
    tk.register_output("bad", bad.out_sum)
    tk.register_report("report.txt", {"sum": a.out_sum, "product": m.out_product})
"""

SETTINGS = """
def engine():
    local = LocalEngine(cpus=4, gpus=0, mem=8)
    return EngineSelector(engines={"short": local, "long": local}, default_engine="long")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningConsole:
    def __init__(self, setup, port, proc):
        self.setup, self.port, self.proc = setup, port, proc
        self.url = f"http://127.0.0.1:{port}"

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        """A raw request: ``path`` is sent exactly as given (no client-side normalisation)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        hdrs = {"Host": f"127.0.0.1:{self.port}"}
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs.update(headers or {})
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        data = body.encode() if body is not None else b""
        if body is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data if body is not None else None)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        conn.close()
        return resp.status, text

    def get(self, path: str):
        return self.request("GET", path)

    def states(self) -> dict:
        return json.loads(self.get("/api/states")[1])["states"]

    def job_id(self, prefix: str) -> str:
        ids = [j for j in self.states() if prefix in j]
        assert len(ids) == 1, (prefix, ids)
        return ids[0]

    def wait_for(self, cond, what: str, timeout: float = 120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"manager exited ({self.proc.returncode}) before {what}:\n"
                                     f"{self.proc.stdout.read()}")
            try:
                if cond():
                    return
            except (OSError, ValueError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")


def _start(tmp_path, actions: bool) -> RunningConsole:
    pkg = tmp_path / "consoletoy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "jobs.py").write_text(CONSOLE_JOBS)
    setup = make_setup(tmp_path, GRAPH, recipe_dirs=[TOY, pkg], settings=SETTINGS)
    port = _free_port()
    cmd = [sys.executable, "-m", "sisyphus", "manager", "-r", "--http", str(port)] + \
        (["--http-actions"] if actions else []) + ["config/graph.py"]
    proc = subprocess.Popen(cmd, cwd=setup, env=sis_env(setup), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, stdin=subprocess.DEVNULL)
    con = RunningConsole(setup, port, proc)

    def settled():
        st = con.states()
        by = {k.split("/")[-1].split(".")[0] + ("bad" if v == "error" else ""): v for k, v in st.items()}
        return (len(st) == 7 and sum(v == "finished" for v in st.values()) == 4
                and list(st.values()).count("running") == 2 and list(st.values()).count("error") == 1 and by)

    con.wait_for(settled, "the graph to settle (4 finished, 2 gates running, 1 error)")
    return con


def _stop(con: RunningConsole):
    for name in ("one", "two"):
        (con.setup / f"gate.{name}").touch()
    try:
        con.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        con.proc.kill()
        con.proc.wait()


@pytest.fixture
def console(tmp_path):
    con = _start(tmp_path, actions=True)
    yield con
    _stop(con)


def _hrefs(page: str):
    return re.findall(r'href="([^"]+)"', page)


# ---- pages ------------------------------------------------------------------------------------------------
def _ids(con):
    states = con.states()
    ids = {"add": next(j for j, s in states.items() if "AddJob" in j and s == "finished"),
           "bad": next(j for j, s in states.items() if "AddJob" in j and s == "error"),
           "mult": con.job_id("MultiplyJob"), "noisy": con.job_id("NoisyJob"), "write": con.job_id("WriteNumbersJob")}
    gates = [j for j in states if "GateJob" in j]
    ids["gate_one"] = next(j for j in gates if "gate.one" in con.get(f"/job/{j}")[1])
    ids["gate_two"] = next(j for j in gates if j != ids["gate_one"])
    return ids


def test_pages_show_outputs_jobs_job_details_and_graph(console):
    ids = _ids(console)
    status, page = console.get("/")
    assert status == 200
    for name in ("product", "noisy.txt", "gate", "keepalive", "report.txt", "bad"):
        assert f">{name}<" in page
    assert f'href="/job/{ids["mult"]}"' in page and "/output/product" in page
    assert 'href="/file/output/noisy.txt"' in page and 'href="/file/output/report.txt"' in page

    status, page = console.get("/jobs")
    pos = {k: page.index(f'href="/job/{j}"') for k, j in ids.items()}
    assert pos["write"] < pos["add"] < pos["mult"] < pos["gate_one"] and pos["add"] < pos["noisy"]  # topological
    assert "partial 2/2 · total 1/1" in page and "partial 0/2 · total 0/1" in page
    assert page.count(">finished</span>") == 4 and page.count(">running</span>") == 2
    assert "<i>add</i>" in page
    assert re.search(r'<td class="num">\d+s</td>', page)  # run times
    assert console.get("/jobs?state=error")[1].count('href="/job/') == 1

    # a job page: arguments, inputs, outputs with values, requirements, per-task states, logs
    status, page = console.get(f"/job/{ids['add']}")
    assert status == 200
    assert f"work/{ids['add']}" in page and "<td>add</td>" in page
    assert "<th>offset</th><td><code>1</code></td>" in page and "<th>fail</th><td><code>False</code></td>" in page
    assert f'href="/job/{ids["write"]}"' in page  # its input's creator
    assert f'href="/file/work/{ids["write"]}/output/numbers.txt"' in page
    assert "output/sum&gt;</a> = 56" in page
    assert "cpu=1, mem=0.5, time=1, gpu=0" in page and "(mini task)" in page
    assert "[sis worker]" in page and "log.partial.1" in page
    status, page = console.get(f"/job/{ids['gate_one']}")
    assert "waiting for the file gate.one" in page  # info()
    assert re.search(r"<td>run</td><td>1</td><td><span[^>]*>running</span>", page)
    status, page = console.get(f"/job/{ids['bad']}")
    assert "deliberate failure in AddJob.partial" in page and "Traceback" in page
    assert re.search(r"<td>partial</td><td>1</td><td><span[^>]*>error</span>", page)

    # a long log: head and tail only, bounded
    status, page = console.get(f"/job/{ids['noisy']}")
    assert "noisy line 0 of 50000" in page and "LAST LINE OF THE NOISY LOG" in page and "noisy line 49999" in page
    assert "noisy line 25000 " not in page and len(page) < 60_000
    assert "count&gt;</a> = 50056" in page

    # the graph: every job a node linking to its page, coloured by state
    status, page = console.get("/graph")
    assert status == 200 and "<svg" in page
    for jid in ids.values():
        assert f'href="/job/{jid}"' in page
    assert 'fill="#e06666"' in page and 'fill="#6fa8dc"' in page and 'fill="#93c47d"' in page
    status, page = console.get("/graph?view=modules")
    assert "consoletoy/jobs" in page and "toy/jobs" in page and 'href="/jobs?module=toy%2Fjobs"' in page
    status, page = console.get("/graph?" + urllib.parse.urlencode({"job": ids["mult"]}))
    linked = {j for k, j in ids.items() if f'href="/job/{j}"' in page.split('<div class="graph">')[1]}
    assert linked == {ids["mult"], ids["add"], ids["gate_one"]}  # its input's creator and its user

    status, page = console.get("/file/output/noisy.txt")
    assert status == 200 and page == "hello from the noisy job\n"
    status, page = console.get(f"/file/work/{ids['add']}")
    assert status == 200 and "log.partial.1" in page
    api = json.loads(console.get("/api/states")[1])
    assert api["manager_running"] and api["counts"] == {"finished": 4, "running": 2, "error": 1}


def test_unknown_jobs_and_paths_outside_the_setup_are_refused(console, tmp_path):
    setup = console.setup
    (tmp_path / "outside.txt").write_text("SECRET OUTSIDE")
    (setup / "secret.txt").write_text("SECRET IN SETUP ROOT")
    os.symlink("/etc", setup / "work" / "evil")
    os.symlink(tmp_path / "outside.txt", setup / "output" / "escape.txt")
    for path in ("/job/nope/NoJob.abc", "/job/..%2F..%2F..%2Fetc%2Fpasswd", "/graph?job=nope", "/nothing",
                 "/static/../manager.py", "/static/console.py"):
        assert console.get(path)[0] == 404, path
    attempts = ["/file/../secret.txt", "/file/work/../secret.txt", "/file/work/..%2Fsecret.txt",
                "/file/work%2F..%2Fsecret.txt", "/file/%2e%2e/outside.txt", "/file/work/..%2F..%2Foutside.txt",
                "/file/output/../../outside.txt", "/file/work/evil/passwd", "/file/work/evil/",
                "/file/output/escape.txt", "/file//etc/passwd", "/file/%2Fetc%2Fpasswd", "/file/settings.py",
                "/file/config/graph.py", "/file/work/%00", "/file/work/..%252F..%252Fsecret.txt",
                "/file/output/..%5C..%5Coutside.txt"]
    for path in attempts:
        status, body = console.get(path)
        assert status in (403, 404), (path, status)
        assert "SECRET" not in body and "root:" not in body, path
    # a DNS-rebinding page cannot talk to the loopback console
    assert console.request("GET", "/", headers={"Host": "attacker.example:80"})[0] == 403
    # a full log file is served bounded (first and last half MiB)
    noisy = console.job_id("NoisyJob")
    status, body = console.get(f"/file/work/{noisy}/log.run.1")
    assert status == 200 and "LAST LINE OF THE NOISY LOG" in body and len(body.encode()) <= (1 << 20) + 200


def test_actions_need_a_confirmed_post_and_are_logged(console):
    ids = _ids(console)
    noisy_dir = console.setup / "work" / ids["noisy"]
    status, page = console.get("/action?" + urllib.parse.urlencode({"kind": "rerun", "job": ids["noisy"]}))
    assert status == 200 and "yes, rerun" in page
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    assert (noisy_dir / "finished").exists()  # the confirmation page changed nothing
    form = {"kind": "rerun", "job": ids["noisy"]}
    assert console.request("POST", "/action", urllib.parse.urlencode(form))[0] == 403  # no token
    assert console.request("POST", "/action", urllib.parse.urlencode({**form, "token": "guess"}))[0] == 403
    # a token is for one action on one job, and a misuse burns it
    other_job = urllib.parse.urlencode({**form, "job": ids["mult"], "token": token})
    assert console.request("POST", "/action", other_job)[0] == 403
    assert console.request("POST", "/action", urllib.parse.urlencode({**form, "token": token}))[0] == 403
    status, page = console.get("/action?" + urllib.parse.urlencode(form))
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    assert console.request("GET", "/action?" + urllib.parse.urlencode({**form, "token": token}))[1].count("moved") == 0
    assert (noisy_dir / "finished").exists()
    status, page = console.request("POST", "/action", urllib.parse.urlencode({**form, "token": token}))
    assert status == 200 and "moved 1 job dir" in page, page
    assert list((console.setup / "work" / ".trash").rglob("NoisyJob.*"))
    assert console.request("POST", "/action", urllib.parse.urlencode({**form, "token": token}))[0] == 403  # used
    console.wait_for(lambda: (console.setup / "runs.log").read_text().count("NoisyJob") == 2 and
                     console.states()[ids["noisy"]] == "finished", "the noisy job to run again")

    # a job whose descendant is running cannot be rerun now
    status, page = console.get("/action?" + urllib.parse.urlencode({"kind": "rerun", "job": ids["mult"]}))
    assert "Not possible now" in page and ids["gate_one"] in page and 'name="token"' not in page

    # clearing an error: moved aside, run again (and it fails again, deterministically)
    bad_dir = console.setup / "work" / ids["bad"]
    status, page = console.get("/action?" + urllib.parse.urlencode({"kind": "clear", "job": ids["bad"]}))
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    status, page = console.request("POST", "/action", urllib.parse.urlencode({"kind": "clear", "job": ids["bad"],
                                                                              "token": token}))
    assert status == 200 and "cleared" in page, page
    assert (bad_dir / "cleared.1" / "error.partial.1").exists()
    console.wait_for(lambda: (bad_dir / "error.partial.1").exists(), "the cleared job to fail again")
    actions_log = (console.setup / "work" / ".console_actions.log").read_text().splitlines()
    assert len(actions_log) == 2
    assert "action=rerun" in actions_log[0] and ids["noisy"] in actions_log[0] and "ok=True" in actions_log[0]
    assert "action=clear" in actions_log[1] and "client=127.0.0.1" in actions_log[1]


def test_actions_are_off_and_console_binds_loopback_by_default(tmp_path):
    from sisyphus.web import start_http_server

    class _Manager:
        jobs, states, engine, on_update = [], {}, None, None

    server = start_http_server(_Manager(), 0)
    try:
        assert server.httpd.server_address[0] == "127.0.0.1"
        con = RunningConsole(tmp_path, server.port, None)
        assert con.get("/action?kind=rerun&job=x")[0] == 403
        assert con.request("POST", "/action", "kind=rerun&job=x&token=y")[0] == 403
        assert con.get("/")[0] == 200
    finally:
        server.shutdown()


# ---- in a real browser ---------------------------------------------------------------------------------------
# the ``browser`` fixture (headless Chromium via Selenium) is in conftest.py


@pytest.mark.browser
def test_browser_follows_graph_link_to_job_page_and_sees_live_state(console, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    ids = _ids(console)
    browser.get(console.url + "/graph")
    assert "job graph" in browser.find_element(By.TAG_NAME, "h1").text
    nodes = browser.find_elements(By.CSS_SELECTOR, ".graph svg g.node")
    assert len(nodes) == 7
    shot = tmp_path / "console.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("SIS_CONSOLE_SCREENSHOT"):  # how docs/console.png is made
        shutil.copy(shot, os.environ["SIS_CONSOLE_SCREENSHOT"])
    # click the node of the job aliased "add"
    link = next(n for n in nodes if "add" in n.text.split("\n")).find_element(By.CSS_SELECTOR, "a")
    link.click()
    WebDriverWait(browser, 30).until(lambda d: "/job/" in d.current_url)
    assert urllib.parse.unquote(browser.current_url).endswith("/job/" + ids["add"])
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "add · AddJob" in main and "finished" in main and "offset" in main and "= 56" in main
    # back to the job list: a state changes while the page is open, without a reload
    browser.get(console.url + "/jobs")
    browser.execute_script("window.notReloaded = true;")
    badge = f'span.badge[data-job="{ids["gate_one"]}"]'
    assert browser.find_element(By.CSS_SELECTOR, badge).text == "running"
    (console.setup / "gate.one").touch()
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, badge).text == "finished")
    assert browser.execute_script("return window.notReloaded === true;")
