"""The runtime end to end: the real `sis manager` on a toy recipe of three chained jobs."""
import os
import signal
import subprocess
import sys
import time

from sis_helpers import make_setup, run_manager, sis_env, start_manager

TOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toy_recipe", "toy")

GRAPH = """
from sisyphus import tk
from toy.jobs import WriteNumbersJob, AddJob, MultiplyJob
N = {n}
OFFSET = {offset}
FACTOR = {factor}
SLEEP = {sleep}
def py():
    w = WriteNumbersJob(N)
    a = AddJob(w.out_numbers, offset=OFFSET, sleep=SLEEP)
    m = MultiplyJob(a.out_sum, FACTOR)
    a.add_alias("add")
    tk.register_output("product", m.out_product)
    tk.register_report("report.txt", {{"sum": a.out_sum, "product": m.out_product}})
"""


def toy_setup(tmp_path, n=10, offset=1, factor=3, sleep=0.0):
    return make_setup(tmp_path, GRAPH.format(n=n, offset=offset, factor=factor, sleep=sleep), recipe_dirs=[TOY])


def set_graph(setup, **kw):
    params = dict(n=10, offset=1, factor=3, sleep=0.0)
    params.update(kw)
    (setup / "config" / "graph.py").write_text(GRAPH.format(**params))


def runs(setup):
    p = setup / "runs.log"
    return p.read_text().splitlines() if p.exists() else []


def product(setup):
    return int((setup / "output" / "product").read_text())


def test_chain_runs_to_completion_and_second_run_does_nothing(tmp_path):
    setup = toy_setup(tmp_path)
    proc = run_manager(setup)
    assert "All targets are finished" in proc.stdout
    assert product(setup) == (55 + 1) * 3
    assert (setup / "output" / "report.txt").read_text() == "sum: 56\nproduct: 168\n"
    assert os.path.islink(setup / "alias" / "add")
    first = runs(setup)
    assert sorted(first) == sorted(["WriteNumbersJob 10", "AddJob.partial 0 1", "AddJob.partial 1 1",
                                    "AddJob.total 1", "MultiplyJob 3"])
    run_manager(setup)
    assert runs(setup) == first  # nothing ran again


def test_changing_one_parameter_reruns_exactly_that_job_and_descendants(tmp_path):
    setup = toy_setup(tmp_path)
    run_manager(setup)
    before = set(os.listdir(setup / "work" / "toy" / "jobs"))
    n_runs = len(runs(setup))
    set_graph(setup, offset=5)
    run_manager(setup)
    new_runs = runs(setup)[n_runs:]
    assert sorted(new_runs) == sorted(["AddJob.partial 0 5", "AddJob.partial 1 5", "AddJob.total 5", "MultiplyJob 3"])
    assert product(setup) == (55 + 5) * 3
    after = set(os.listdir(setup / "work" / "toy" / "jobs"))
    added = after - before
    assert len(added) == 2 and {a.split(".")[0] for a in added} == {"AddJob", "MultiplyJob"}


def test_killed_manager_restarted_mid_run_finishes_without_redoing_finished_tasks(tmp_path):
    setup = toy_setup(tmp_path, sleep=3.0)
    proc = start_manager(setup)
    # wait until the slow AddJob.partial tasks run, then kill the manager hard
    deadline = time.time() + 120
    while time.time() < deadline and not any(r.startswith("AddJob.partial") for r in runs(setup)):
        time.sleep(0.2)
    assert any(r.startswith("AddJob.partial") for r in runs(setup)), "tasks never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    out = run_manager(setup)
    assert product(setup) == 168
    r = runs(setup)
    for name in ("WriteNumbersJob 10", "AddJob.partial 0 1", "AddJob.partial 1 1", "AddJob.total 1", "MultiplyJob 3"):
        assert r.count(name) == 1, (name, r, out.stdout)


def test_failing_task_leaves_job_in_error_with_traceback_and_nonzero_exit(tmp_path):
    code = GRAPH.format(n=4, offset=0, factor=2, sleep=0).replace("sleep=SLEEP)", "sleep=SLEEP, fail=True)")
    setup = make_setup(tmp_path, code, recipe_dirs=[TOY])
    proc = run_manager(setup, check=False)
    assert proc.returncode != 0
    assert "[error]" in proc.stdout
    job_dirs = [d for d in (setup / "work" / "toy" / "jobs").iterdir() if d.name.startswith("AddJob")]
    assert len(job_dirs) == 1
    assert (job_dirs[0] / "error.partial.1").exists()
    log = (job_dirs[0] / "log.partial.1").read_text()
    assert "Traceback" in log and "deliberate failure in AddJob.partial" in log
    assert not (job_dirs[0] / "finished").exists()
    # clearing the error moves the failed logs aside and reruns; the job fails again the same way
    proc = run_manager(setup, check=False, extra_args=("-r", "--clear-errors-once"))
    assert proc.returncode != 0
    assert (job_dirs[0] / "cleared.1" / "log.partial.1").exists()


def test_config_that_fails_to_import_gives_one_clear_message(tmp_path):
    setup = make_setup(tmp_path, "import not_a_module_anywhere\ndef py():\n    pass\n")
    proc = run_manager(setup, check=False)
    assert proc.returncode == 2
    assert "failed to import config" in proc.stderr and "not_a_module_anywhere" in proc.stderr
    assert not (setup / "work").exists()


def test_unhashable_argument_is_reported_before_anything_runs(tmp_path):
    code = "from toy.jobs import WriteNumbersJob\nfrom sisyphus import tk\n" \
           "def py():\n    tk.register_output('x', WriteNumbersJob(lambda: 3).out_numbers)\n"
    setup = make_setup(tmp_path, code, recipe_dirs=[TOY])
    proc = run_manager(setup, check=False)
    assert proc.returncode == 2
    assert "argument 'n'" in proc.stderr and "lambda" in proc.stderr
    assert not (setup / "work").exists()


def test_missing_raw_input_is_named(tmp_path):
    code = "from toy.jobs import AddJob\nfrom sisyphus import tk\n" \
           "def py():\n    tk.register_output('s', AddJob(tk.Path('/nonexistent/numbers.txt')).out_sum)\n"
    setup = make_setup(tmp_path, code, recipe_dirs=[TOY])
    proc = run_manager(setup, check=False)
    assert proc.returncode == 1
    assert "input_missing" in proc.stdout and "/nonexistent/numbers.txt" in proc.stdout


def test_second_manager_on_same_setup_is_refused(tmp_path):
    setup = toy_setup(tmp_path, sleep=2.0)
    first = start_manager(setup)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (setup / ".sis_manager.lock").exists():
            time.sleep(0.1)
        time.sleep(0.5)
        proc = run_manager(setup, check=False)
        assert proc.returncode == 3
        assert "another manager is already running" in proc.stderr and f"pid {first.pid}" in proc.stderr
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0
    assert product(setup) == 168


def test_remove_job_and_descendants_modes(tmp_path):
    setup = toy_setup(tmp_path)
    run_manager(setup)
    console = [sys.executable, "-m", "sisyphus", "console", "config/graph.py", "-c"]
    env = sis_env(setup)
    dry = subprocess.run(console + ["tk.remove_job_and_descendants('AddJob', mode='dryrun')"], cwd=setup, env=env,
                         capture_output=True, text=True, check=True)
    assert dry.stdout.count("would remove") == 2 and "MultiplyJob" in dry.stdout and "WriteNumbers" not in dry.stdout
    assert len(list((setup / "work" / "toy" / "jobs").iterdir())) == 3
    subprocess.run(console + ["tk.remove_job_and_descendants('AddJob', mode='move')"], cwd=setup, env=env, check=True)
    remaining = sorted(d.name.split(".")[0] for d in (setup / "work" / "toy" / "jobs").iterdir())
    assert remaining == ["WriteNumbersJob"]
    assert len(list((setup / "work" / ".trash").rglob("MultiplyJob.*"))) == 1
    n = len(runs(setup))
    run_manager(setup)
    expected = ["AddJob.partial 0 1", "AddJob.partial 1 1", "AddJob.total 1", "MultiplyJob 3"]
    assert sorted(runs(setup)[n:]) == sorted(expected)


def test_manager_without_r_asks_and_stops_on_no(tmp_path):
    setup = toy_setup(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "sisyphus", "manager", "config/graph.py"], cwd=setup,
                          env=sis_env(setup), input="n\n", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Start 1 runnable job(s)?" in proc.stdout
    assert runs(setup) == []
