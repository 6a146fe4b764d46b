"""SlurmEngine: the sbatch command and state logic against fake SLURM commands, then the real thing:
a single-node SLURM cluster (slurm_cluster.py) runs the toy graph, survives a cancelled and a killed
task, and doubles the memory of a task that SLURM kills for exceeding it."""
import json
import math
import os
import re
import signal
import stat
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # slurm_cluster, test_manager (importlib mode)
from sis_helpers import make_setup, start_manager
from slurm_cluster import LocalSlurmCluster, missing_slurm_reason

from test_manager import GRAPH
from sisyphus.slurm_engine import SlurmEngine, _array_spec, squeue_state_to_sis

TOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toy_recipe", "toy")


# ---- without SLURM: fake commands on PATH ------------------------------------------------------------
def test_squeue_states_and_array_spec():
    assert [squeue_state_to_sis(s) for s in ("RUNNING", "COMPLETING", "PENDING", "CONFIGURING")] == \
        ["running", "running", "queue", "queue"]
    assert {squeue_state_to_sis(s) for s in ("SUSPENDED", "STOPPED", "FAILED", "PREEMPTED")} == {"queue_error"}
    assert _array_spec([5, 1, 2, 3, 9, 10]) == "1-3,5,9-10"
    assert _array_spec([4]) == "4"


FAKE = {
    # sbatch: record the arguments, answer with the next array job id
    "sbatch": 'n=$(cat "$FAKE/next_id"); echo $((n+1)) > "$FAKE/next_id"; '
              'printf "%s\\n" "$@" > "$FAKE/sbatch.$n"; echo "$n"',
    "squeue": 'cat "$FAKE/squeue" 2>/dev/null; true',
    "sacct": 'grep "^$5 " "$FAKE/sacct" | cut -d" " -f2; true',
    "scontrol": 'exit 1',
}


class _FakeJob:
    def __init__(self, path):
        self.path = path

    def _sis_path(self, abspath=False):
        return self.path


class _FakeTask:
    def __init__(self, job, name):
        self._job, self._name = job, name

    def name(self):
        return self._name


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in FAKE.items():
        p = bin_dir / name
        p.write_text("#!/bin/bash\n" + body + "\n")
        p.chmod(p.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "next_id").write_text("100\n")
    monkeypatch.setenv("FAKE", str(tmp_path))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SIS_BASE_DIR", str(tmp_path))
    return tmp_path


def _sbatch_args(fake, n):
    return (fake / f"sbatch.{n}").read_text().splitlines()


def test_sbatch_command_states_and_doubling_with_fake_commands(fake_slurm):
    job_dir = fake_slurm / "work" / "some" / "Job.abc"
    job_dir.mkdir(parents=True)
    engine = SlurmEngine(sbatch_args="--qos=short --account=x", max_doublings=2)
    call = ["python3", "-m", "sisyphus", "worker", str(job_dir), "train"]
    rqmt = {"cpu": 2, "mem": 1.5, "time": 1.5, "gpu": 1, "sbatch_args": ["--exclusive"]}
    task = _FakeTask(_FakeJob(str(job_dir)), "train")
    assert engine.task_state(task, 1) == "unknown"  # never submitted
    engine._queue()  # the manager's check asked squeue (for other tasks) just before this submission
    engine.submit_call(call, str(job_dir / "log.train"), rqmt, "some/Job.abc", "train", [1, 2, 3])
    args = _sbatch_args(fake_slurm, 100)
    for expected in ("--parsable", "--job-name=some/Job.abc", "--array=1-3", "--cpus-per-task=2", "--mem=1536M",
                     "--time=90", "--gres=gpu:1", "--qos=short", "--account=x", "--exclusive", "--open-mode=append",
                     f"--output={job_dir}/engine/slurm.train.%a.%A.log", f"--chdir={fake_slurm}"):
        assert expected in args, (expected, args)
    assert args[-1] == "--wrap=" + " ".join(call)  # the worker reads SLURM_ARRAY_TASK_ID itself
    record = json.loads((job_dir / "engine" / "slurm.train.2.json").read_text())
    assert record["slurm_id"] == "100_2"

    # submitted after the last squeue answer: queued even before squeue lists it
    assert [engine.task_state(task, i) for i in (1, 2, 3)] == ["queue"] * 3
    (fake_slurm / "squeue").write_text("100_1|RUNNING\n100_2|PENDING\n100_3|SUSPENDED\n77|RUNNING\n")
    engine.reset_cache()
    assert [engine.task_state(task, i) for i in (1, 2, 3)] == ["running", "queue", "queue_error"]
    (fake_slurm / "squeue").write_text("100_2|COMPLETING\n")
    assert engine.task_state(task, 1) == "running", "squeue answer is cached until reset_cache"
    engine.reset_cache()
    assert [engine.task_state(task, i) for i in (1, 2, 3)] == ["unknown", "running", "unknown"]
    assert engine.task_state(_FakeTask(_FakeJob(str(job_dir)), "other"), 1) == "unknown"

    # a new engine (restarted manager) finds the recorded SLURM ids again
    engine2 = SlurmEngine()
    assert engine2.task_state(task, 2) == "running"

    # task 1 ran out of memory, task 3 out of time: resubmitted with doubled mem / time, in two arrays
    (fake_slurm / "sacct").write_text("100_1 OUT_OF_MEMORY\n100_3 TIMEOUT\n")
    engine.submit_call(call, str(job_dir / "log.train"), rqmt, "some/Job.abc", "train", [1, 3])
    by_array = {a: _sbatch_args(fake_slurm, n) for n in (101, 102)
                for a in _sbatch_args(fake_slurm, n) if a.startswith("--array=")}
    assert "--mem=3072M" in by_array["--array=1"] and "--time=90" in by_array["--array=1"]
    assert "--mem=1536M" in by_array["--array=3"] and "--time=180" in by_array["--array=3"]
    # doubling is bounded: after max_doublings (2) the requirement stays
    oom_id = next(n for n in (101, 102) if "--array=1" in _sbatch_args(fake_slurm, n))
    for n, expected_mb in ((103, 6144), (104, 6144)):
        (fake_slurm / "sacct").write_text(f"{oom_id}_1 OUT_OF_MEMORY\n")
        engine.submit_call(call, str(job_dir / "log.train"), rqmt, "some/Job.abc", "train", [1])
        assert f"--mem={expected_mb}M" in _sbatch_args(fake_slurm, n)
        oom_id = n
    hist = json.loads((job_dir / "engine" / "slurm.train.1.json").read_text())["history"]
    assert [h["end"] for h in hist] == ["OUT_OF_MEMORY"] * 3


def test_slurm_kill_message_in_output_counts_as_oom_without_accounting(fake_slurm):
    log = fake_slurm / "slurm.log"
    log.write_text("slurmstepd-vm: error: StepId=3.batch exceeded memory limit (392531968 > 104857600), being killed\n")
    assert SlurmEngine().failure_reason("3_1", str(log)) == "OUT_OF_MEMORY"
    log.write_text("slurmstepd: error: *** JOB 5 ON vm CANCELLED AT 2026-01-01T00:00:00 DUE TO TIME LIMIT ***\n")
    assert SlurmEngine().failure_reason("5_1", str(log)) == "TIMEOUT"
    log.write_text("slurmstepd: error: *** JOB 6 ON vm CANCELLED AT 2026-01-01T00:00:00 ***\n")
    assert SlurmEngine().failure_reason("6_1", str(log)) == "UNKNOWN"


def test_sacct_answer_that_is_not_final_yet_defers_to_scontrol(fake_slurm):
    # accounting trails the controller: right after a job left squeue, sacct may still call it RUNNING
    scontrol = fake_slurm / "bin" / "scontrol"
    scontrol.write_text('#!/bin/bash\necho "JobId=8 ArrayJobId=7 ArrayTaskId=1 JobState=TIMEOUT Reason=TimeLimit"\n')
    (fake_slurm / "sacct").write_text("7_1 RUNNING\n")
    assert SlurmEngine().failure_reason("7_1") == "TIMEOUT"
    (fake_slurm / "sacct").write_text("7_1 COMPLETED\n")
    assert SlurmEngine().failure_reason("7_1") == "COMPLETED", "a final sacct state stands"
    scontrol.write_text("#!/bin/bash\necho 'slurm_load_jobs error: Invalid job id specified' >&2\nexit 1\n")
    (fake_slurm / "sacct").write_text("7_1 COMPLETING\n")
    assert SlurmEngine().failure_reason("7_1") == "COMPLETING", "the controller forgot the job: sacct's answer"
    (fake_slurm / "sacct").write_text("")
    assert SlurmEngine().failure_reason("7_1") == "UNKNOWN"


def test_sbatch_failure_puts_the_task_in_error_with_the_reason(fake_slurm, monkeypatch):
    (fake_slurm / "bin" / "sbatch").write_text("#!/bin/bash\necho 'sbatch: error: invalid partition' >&2\nexit 1\n")
    monkeypatch.setattr("sisyphus.slurm_engine.time.sleep", lambda s: None)
    job_dir = fake_slurm / "work" / "J.x"
    job_dir.mkdir(parents=True)
    SlurmEngine().submit_call(["true"], str(job_dir / "log.run"), {}, "J.x", "run", [1])
    assert (job_dir / "error.run.1").exists()
    assert "invalid partition" in (job_dir / "log.run.1").read_text()


# ---- a real single-node SLURM cluster ------------------------------------------------------------------------
SETTINGS = """
def engine():
    from sisyphus.slurm_engine import SlurmEngine
    local = LocalEngine(cpus=1, gpus=0, mem=4)
    slurm = SlurmEngine(default_rqmt={"cpu": 1, "mem": 0.25, "time": 0.5})
    return EngineSelector(engines={"short": local, "long": slurm}, default_engine="long")
"""


@pytest.fixture(scope="module")
def slurm_cluster():
    reason = missing_slurm_reason()
    if reason:
        pytest.skip(reason)
    cluster = LocalSlurmCluster(cpus=2, mem_mb=4096).start()
    with cluster.in_environment():
        yield cluster


def _wait_for(cond, proc, what, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        if proc.poll() is not None:
            raise AssertionError(f"manager exited ({proc.returncode}) while waiting for {what}:\n{proc.stdout.read()}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _finish(proc, timeout=180):
    try:
        out, _ = proc.communicate(timeout=timeout)
    except Exception:
        proc.kill()
        raise
    return out


@pytest.mark.slurm
def test_toy_graph_on_slurm_survives_cancelled_and_killed_tasks(tmp_path, slurm_cluster):
    setup = make_setup(tmp_path, GRAPH.format(n=10, offset=1, factor=3, sleep=8.0), recipe_dirs=[TOY],
                       settings=SETTINGS)
    proc = start_manager(setup)
    runs = setup / "runs.log"
    both_partials = {"AddJob.partial 0 1", "AddJob.partial 1 1"}
    _wait_for(lambda: runs.exists() and both_partials <= set(runs.read_text().splitlines()),
              proc, "both AddJob.partial tasks to run on SLURM")
    add_dir = next((setup / "work" / "toy" / "jobs").glob("AddJob.*"))
    rec1 = json.loads((add_dir / "engine" / "slurm.partial.1.json").read_text())
    q = slurm_cluster.run("squeue", "-h", "-r", "-o", "%i|%T|%j").stdout
    assert f"{rec1['slurm_id']}|RUNNING|toy/jobs/{add_dir.name}" in q, q
    # task id 1: cancelled through SLURM; task id 2: its worker process killed
    slurm_cluster.run("scancel", rec1["slurm_id"])
    pid = int(re.search(r"pid=(\d+)", (add_dir / "log.partial.2").read_text()).group(1))
    os.kill(pid, signal.SIGKILL)
    out = _finish(proc)
    assert proc.returncode == 0, out
    assert int((setup / "output" / "product").read_text()) == (55 + 1) * 3
    lines = runs.read_text().splitlines()
    assert lines.count("AddJob.partial 0 1") == 2 and lines.count("AddJob.partial 1 1") == 2, lines
    assert lines.count("MultiplyJob 3") == 1 and lines.count("WriteNumbersJob 10") == 1
    submit_log = (add_dir / "submit_log.partial").read_text()
    assert re.search(r"^restart 1 ", submit_log, re.M) and re.search(r"^restart 2 ", submit_log, re.M), submit_log
    assert list(add_dir.glob("log.partial.1.interrupted.*")) and list(add_dir.glob("log.partial.2.interrupted.*"))
    rec1 = json.loads((add_dir / "engine" / "slurm.partial.1.json").read_text())
    assert rec1["history"][0]["end"] == "CANCELLED" and rec1["slurm_id"] != rec1["history"][0]["slurm_id"]
    rec2 = json.loads((add_dir / "engine" / "slurm.partial.2.json").read_text())
    assert rec2["history"][0]["end"] == "FAILED" and rec2.get("mem_factor", 1) == 1
    # the multiply job ran on SLURM too (one-element array), its SLURM output lies in its job dir
    mult_dir = next((setup / "work" / "toy" / "jobs").glob("MultiplyJob.*"))
    assert list((mult_dir / "engine").glob("slurm.run.1.*.log"))
    assert (mult_dir / "engine" / "slurm.run.1.json").exists()


HOG = '''
import os
import time
from sisyphus import Job, Task


class HogJob(Job):
    """Touches ``mb`` MiB, so SLURM kills it until its memory requirement is large enough."""

    def __init__(self, mb: int):
        self.mb = mb
        self.out_mem = self.output_var("slurm_mem")

    def tasks(self):
        yield Task("run", rqmt={"cpu": 1, "mem": 0.1, "time": 0.1})

    def run(self):
        block = bytearray(self.mb * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(4)
        self.out_mem.set(int(os.environ["SLURM_MEM_PER_NODE"]))
'''


@pytest.mark.slurm
def test_out_of_memory_task_is_resubmitted_with_doubled_memory(tmp_path, slurm_cluster):
    pkg = tmp_path / "hogs"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "jobs.py").write_text(HOG)
    code = "from sisyphus import tk\nfrom hogs.jobs import HogJob\n" \
           "def py():\n    tk.register_output('mem', HogJob(250).out_mem)\n"
    setup = make_setup(tmp_path, code, recipe_dirs=[pkg], settings=SETTINGS)
    proc = start_manager(setup)
    out = _finish(proc)
    assert proc.returncode == 0, out
    # 0.1 GB and 0.2 GB were killed by SLURM, 0.4 GB fits 250 MiB
    assert int((setup / "output" / "mem").read_text()) == math.ceil(0.4 * 1024)
    job_dir = next((setup / "work" / "hogs" / "jobs").glob("HogJob.*"))
    record = json.loads((job_dir / "engine" / "slurm.run.1.json").read_text())
    assert [h["end"] for h in record["history"]] == ["OUT_OF_MEMORY", "OUT_OF_MEMORY"]
    assert record["mem_factor"] == 4 and record["rqmt"]["mem"] == pytest.approx(0.4)
    assert "exceeded memory limit" in "".join(p.read_text() for p in (job_dir / "engine").glob("slurm.run.1.*.log"))
