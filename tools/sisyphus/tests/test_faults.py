"""Faults in the local runtime, measured (issue #17, item 3).

* The manager is killed with SIGKILL at 5 seeded random points of a run and restarted each time:
  the graph finishes, its outputs equal those of an uninterrupted run byte for byte, and no task
  id ran twice (counted from the job directories: the ``executions`` journal each test task
  appends to, the worker's start lines in the logs, the ``finished.<task>.<id>`` markers).
* A worker killed while it writes a large output leaves no file under the output's name and the
  job not finished; a restarted manager reruns it to a complete output.
* A full disk during a job's output write (an injected ``OSError(ENOSPC)``, and a real full
  tmpfs where this process may mount one) leaves the job in error, with a log that names the error
  and the file, and no half-written output.

The graph is purpose-built (toy_recipe/toy/fault_jobs.py): 13 cheap jobs, 31 task ids, a diamond
per branch (seed -> two power jobs -> combine), multi-id tasks, two tasks per job, file and
variable outputs, each task sleeping a little so that kills land while tasks run.
"""
import collections
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import pytest

from sis_helpers import make_setup, run_manager, sis_env

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "toy_recipe"))
from toy.fault_jobs import ENOSPC_ENV, big_payload

TOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toy_recipe", "toy")
#: seed of the kill points; change it to explore other interleavings (each run logs its points)
KILL_SEED = int(os.environ.get("SIS_FAULT_SEED", "17"))
N_KILLS = 5
#: against hangs only, never a pass/fail criterion
HANG_GUARD_S = 600

GRAPH = """
from sisyphus import tk
from toy.fault_jobs import SeedJob, PowerJob, CombineJob, SummaryJob
SLEEP = {sleep}
def py():
    files, checksums = [], {{}}
    for name in ("alpha", "beta", "gamma"):
        seed = SeedJob(name, sleep=SLEEP)
        square = PowerJob(seed.out_numbers, 2, parts=3, sleep=SLEEP)
        cube = PowerJob(seed.out_numbers, 3, parts=2, sleep=SLEEP)
        combine = CombineJob(square.out_values, cube.out_values, square.out_total, cube.out_total, sleep=SLEEP)
        tk.register_output(name + "/combined.txt", combine.out_combined)
        files.append(combine.out_combined)
        checksums[name] = combine.out_checksum
    summary = SummaryJob(files, list(checksums.values()), sleep=SLEEP)
    tk.register_output("summary.txt", summary.out_summary)
    tk.register_report("checksums.txt", checksums)
"""
N_JOBS = 13
N_TASK_IDS = 3 * 1 + 3 * (3 + 1) + 3 * (2 + 1) + 3 * 2 + 1


# ---- reading a setup's job directories ----------------------------------------------------------------
def job_dirs(setup: pathlib.Path):
    return sorted(p.parent for p in (setup / "work").rglob("job.save"))


def finished_task_ids(setup: pathlib.Path) -> int:
    return sum(1 for d in job_dirs(setup) for f in d.iterdir() if f.name.startswith("finished."))


def executions(setup: pathlib.Path) -> collections.Counter:
    """(job id, task, task id) -> how often the task's code started (from ``executions``)."""
    counts = collections.Counter()
    for d in job_dirs(setup):
        journal = d / "executions"
        if journal.exists():
            for line in journal.read_text().splitlines():
                task, tid, _pid = line.split()
                counts[(str(d.relative_to(setup / "work")), task, int(tid))] += 1
    return counts


def worker_starts(setup: pathlib.Path) -> collections.Counter:
    """(job id, task, task id) -> worker start lines in ``log.<task>.<id>`` and its moved-aside copies."""
    counts = collections.Counter()
    for d in job_dirs(setup):
        for log in d.glob("log.*"):
            parts = log.name.split(".")
            task, tid = parts[1], int(parts[2])
            n = sum(1 for line in log.read_text(errors="replace").splitlines() if line.startswith("[sis worker] 20"))
            counts[(str(d.relative_to(setup / "work")), task, tid)] += n
    return counts


def outputs(setup: pathlib.Path) -> dict:
    """Every published file: job outputs and the setup's ``output/`` (links followed) -> bytes."""
    files = {}
    for d in job_dirs(setup):
        for f in (d / "output").rglob("*"):
            if f.is_file():
                files[str(f.relative_to(setup / "work"))] = f.read_bytes()
    for f in (setup / "output").rglob("*"):
        if f.is_file():
            files["output/" + str(f.relative_to(setup / "output"))] = f.read_bytes()
    return files


def leftover_temporaries(setup: pathlib.Path):
    return sorted(str(f) for d in job_dirs(setup) for f in (d / "output").rglob("*") if f.name.endswith(".tmp"))


def start_manager_logged(setup: pathlib.Path, log_path: pathlib.Path, env=None) -> subprocess.Popen:
    out = open(log_path, "w")
    try:
        return subprocess.Popen([sys.executable, "-m", "sisyphus", "manager", "-r", "config/graph.py"], cwd=setup,
                                env=env or sis_env(setup), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    finally:
        out.close()


def kill_hard(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


def pid_running(pid: int) -> bool:
    from sisyphus.tools import pid_alive

    return pid_alive(pid)


def wait_until(condition, what: str, proc: subprocess.Popen | None = None, log_path=None) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not condition():
        if proc is not None and proc.poll() is not None:
            text = log_path.read_text() if log_path else ""
            raise AssertionError(f"manager exited ({proc.returncode}) while waiting for {what}\n{text}")
        if time.monotonic() > deadline:
            raise AssertionError(f"hang guard: still waiting for {what} after {HANG_GUARD_S} s")
        time.sleep(0.02)


# ---- 1. the manager killed at random points -----------------------------------------------------------------
def kill_plan(seed: int):
    """N_KILLS kill points: kill once at least ``target`` task ids are finished and the manager has
    lived ``delay`` seconds (so some kills hit its start-up, some its loop)."""
    rng = random.Random(seed)
    targets = sorted(rng.sample(range(1, N_TASK_IDS - 6), N_KILLS))
    return [(t, round(rng.uniform(0.05, 1.5), 2)) for t in targets]


@pytest.mark.slow
def test_manager_killed_at_random_points_finishes_with_identical_outputs_and_no_rerun(tmp_path):
    config = GRAPH.format(sleep=0.3)
    ref = make_setup(tmp_path / "reference", config, recipe_dirs=[TOY])
    proc = run_manager(ref)
    assert "All targets are finished" in proc.stdout
    reference = outputs(ref)
    assert len(job_dirs(ref)) == N_JOBS and finished_task_ids(ref) == N_TASK_IDS
    assert sum(executions(ref).values()) == N_TASK_IDS
    assert len(reference) == 2 * N_JOBS - 1 + 5  # 12 jobs x (file + variable), the summary, 4 in output/

    setup = make_setup(tmp_path / "faulty", config, recipe_dirs=[TOY])
    plan = kill_plan(KILL_SEED)
    kills = []
    journal = tmp_path / "kills.log"
    for i, (target, delay) in enumerate(plan, 1):
        log_path = tmp_path / f"manager.{i}.log"
        started = time.monotonic()
        proc = start_manager_logged(setup, log_path)
        wait_until(lambda: finished_task_ids(setup) >= target and time.monotonic() - started >= delay,
                   f"kill point {i} (target {target} finished task ids, delay {delay} s)", proc, log_path)
        assert proc.poll() is None, f"manager {i} ended before its kill point"
        kill_hard(proc)
        kills.append(dict(kill=i, target=target, delay=delay, finished_at_kill=finished_task_ids(setup),
                          manager_alive_s=round(time.monotonic() - started, 2),
                          manager_output_lines=len(log_path.read_text().splitlines())))
        with open(journal, "a") as f:
            f.write(f"seed {KILL_SEED} {kills[-1]}\n")
        print(f"seed {KILL_SEED} {kills[-1]}")
    assert finished_task_ids(setup) < N_TASK_IDS, f"the graph finished before the last kill: {kills}"

    proc = run_manager(setup)
    assert "All targets are finished" in proc.stdout, kills
    context = f"seed {KILL_SEED}, kill points {kills}"
    got = outputs(setup)
    assert sorted(got) == sorted(reference), context
    for name in reference:
        assert got[name] == reference[name], f"{name} differs from the uninterrupted run ({context})"
    assert leftover_temporaries(setup) == [], context

    # no task id ran twice: the tasks' own journal, the worker logs and the markers agree
    ran = executions(setup)
    assert set(ran) == set(executions(ref)), context
    twice = {k: n for k, n in ran.items() if n != 1}
    assert not twice, f"task ids run more than once: {twice} ({context})"
    starts = worker_starts(setup)
    assert {k: n for k, n in starts.items() if n != 1} == {}, context
    assert finished_task_ids(setup) == N_TASK_IDS
    interrupted = sorted(str(p) for d in job_dirs(setup) for p in d.glob("log.*.interrupted.*"))
    assert interrupted == [], f"tasks taken for interrupted: {interrupted} ({context})"

    # a further run does nothing
    run_manager(setup)
    assert executions(setup) == ran


# ---- 2. a worker killed mid-write --------------------------------------------------------------------------
BIG_GRAPH = """
from sisyphus import tk
from toy.fault_jobs import SlowWriteJob
def py():
    job = SlowWriteJob({size}, gate={gate!r})
    tk.register_output("big.bin", job.out_big)
    tk.register_output("digest", job.out_digest)
"""
BIG = 4 * 1024 * 1024


def the_job_dir(setup):
    dirs = job_dirs(setup)
    assert len(dirs) == 1, dirs
    return dirs[0]


def test_worker_killed_mid_write_leaves_no_finished_looking_file_and_reruns(tmp_path):
    setup = make_setup(tmp_path, BIG_GRAPH.format(size=BIG, gate="release_writer"), recipe_dirs=[TOY])
    log_path = tmp_path / "manager.1.log"
    manager = start_manager_logged(setup, log_path)
    wait_until(lambda: any((d / "half_written").exists() for d in job_dirs(setup)), "the task to write half its output",
               manager, log_path)
    job = the_job_dir(setup)
    tmp_files = [f for f in (job / "output").iterdir() if f.name.endswith(".tmp")]
    assert len(tmp_files) == 1 and tmp_files[0].name.startswith(".big.bin."), list((job / "output").iterdir())
    assert tmp_files[0].stat().st_size == BIG // 2
    # the manager goes first (else it would notice the dead worker and rerun it at once), then the worker
    kill_hard(manager)
    pid = int((job / "engine" / "pid.run.1").read_text().split()[0])
    assert pid_running(pid)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_running(pid), "the killed worker to end")

    assert not (job / "output" / "big.bin").exists()
    assert not (job / "output" / "digest").exists()
    assert not (setup / "output" / "big.bin").exists()
    assert sorted(f.name for f in job.iterdir() if f.name.startswith(("finished", "error"))) == []
    # what is left is a hidden temporary, which never looks like the output
    left = [f.name for f in (job / "output").iterdir()]
    assert all(name.startswith(".") and name.endswith(".tmp") for name in left), left

    (setup / "release_writer").touch()
    proc = run_manager(setup)
    assert "All targets are finished" in proc.stdout
    assert (job / "output" / "big.bin").read_bytes() == big_payload(BIG)
    assert (setup / "output" / "big.bin").read_bytes() == big_payload(BIG)
    assert (job / "finished").exists() and (job / "finished.run.1").exists()
    assert len(list(job.glob("log.run.1.interrupted.*"))) == 1  # the killed attempt's log, set aside
    assert "restart 1 " in (job / "submit_log.run").read_text()
    assert executions(setup)[(str(job.relative_to(setup / "work")), "run", 1)] == 2
    # the rerun's atomic write removed the dead writer's temporary
    assert leftover_temporaries(setup) == []
    assert sorted(os.listdir(job / "output")) == ["big.bin", "digest"]


# ---- 3. disk full during an output write -------------------------------------------------------------------
def assert_failed_with_enospc(setup, proc, job):
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "[error]" in out and job.name in out, out
    assert (job / "error.run.1").exists()
    assert not (job / "finished").exists() and not (job / "finished.run.1").exists()
    log = (job / "log.run.1").read_text()
    final = str(job / "output" / "big.bin")
    assert "No space left on device" in log and "Errno 28" in log, log
    assert final in log, f"the log does not name the file being written ({final}):\n{log}"
    assert sorted(os.listdir(job / "output")) == [], "a half-written output is left behind"
    assert not (setup / "output" / "big.bin").exists()


def test_disk_full_injected_leaves_job_in_error_with_clear_message_and_no_partial_output(tmp_path):
    setup = make_setup(tmp_path, BIG_GRAPH.format(size=BIG, gate=None), recipe_dirs=[TOY])
    env = sis_env(setup)
    env[ENOSPC_ENV] = str(BIG // 3)
    proc = subprocess.run([sys.executable, "-m", "sisyphus", "manager", "-r", "config/graph.py"], cwd=setup, env=env,
                          capture_output=True, text=True, timeout=HANG_GUARD_S, stdin=subprocess.DEVNULL)
    job = the_job_dir(setup)
    assert_failed_with_enospc(setup, proc, job)
    # once there is room again, clearing the error reruns the job to a complete output
    proc = run_manager(setup, extra_args=("-r", "--clear-errors-once"))
    assert (job / "output" / "big.bin").read_bytes() == big_payload(BIG)


def _mount_reason():
    if not sys.platform.startswith("linux"):
        return "a tmpfs needs Linux"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    return None


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 2 MiB tmpfs at ``tmp_path/setup`` (where make_setup puts the setup dir)."""
    reason = _mount_reason()
    if reason:
        pytest.skip(reason)
    mount_point = tmp_path / "setup"
    mount_point.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True,
                         text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_disk_full_on_a_real_small_tmpfs_leaves_job_in_error_and_no_partial_output(tmp_path, small_tmpfs):
    setup = make_setup(tmp_path, BIG_GRAPH.format(size=BIG, gate=None), recipe_dirs=[TOY])
    assert setup == small_tmpfs
    proc = run_manager(setup, check=False)
    job = the_job_dir(setup)
    assert_failed_with_enospc(setup, proc, job)
    # the failed write gave its space back
    st = os.statvfs(setup)
    assert st.f_bfree * st.f_frsize > 1024 * 1024


# ---- 4. the manager killed between starting a worker and recording its pid ------------------------------------
KILL_AFTER_SPAWN_SETTINGS = """
import os, signal, subprocess
_Popen = subprocess.Popen
class _KillManagerAfterSpawn(_Popen):
    # the manager dies right after it started a worker, before LocalEngine wrote engine/pid.*
    def __init__(self, args, *a, **kw):
        super().__init__(args, *a, **kw)
        marker = os.environ.get("FAULT_KILL_AFTER_SPAWN")
        if marker and "worker" in args and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
subprocess.Popen = _KillManagerAfterSpawn
"""
SPAWN_GRAPH = """
from sisyphus import tk
from toy.fault_jobs import SeedJob
def py():
    tk.register_output("numbers.txt", SeedJob("spawn", sleep={sleep}).out_numbers)
"""


def test_manager_killed_right_after_spawning_a_worker_does_not_run_the_task_twice(tmp_path):
    setup = make_setup(tmp_path, SPAWN_GRAPH.format(sleep=3.0), recipe_dirs=[TOY], settings=KILL_AFTER_SPAWN_SETTINGS)
    env = sis_env(setup)
    env["FAULT_KILL_AFTER_SPAWN"] = str(tmp_path / "killed_once")
    first = subprocess.run([sys.executable, "-m", "sisyphus", "manager", "-r", "config/graph.py"], cwd=setup, env=env,
                           capture_output=True, text=True, timeout=HANG_GUARD_S, stdin=subprocess.DEVNULL)
    assert first.returncode == -signal.SIGKILL, first.stdout + first.stderr
    job = the_job_dir(setup)
    assert not (job / "engine" / "pid.run.1").exists()  # the window this test is about
    proc = run_manager(setup)  # the worker started above still runs
    assert "All targets are finished" in proc.stdout
    ran = executions(setup)
    assert list(ran.values()) == [1], f"{ran}\n{proc.stdout}"
    assert list(job.glob("log.*.interrupted.*")) == []


# ---- 5. a worker killed between its task's marker and the job's marker -------------------------------------
def test_worker_killed_between_task_marker_and_job_marker_does_not_stall_the_graph(tmp_path):
    """The worker writes ``finished.<task>.<id>`` and then, once all task ids are done, the job's
    ``finished``. Killed in between (or seen in between by the manager), every task id of the job
    is finished but the job is not marked: its outputs must still count as available."""
    setup = make_setup(tmp_path, GRAPH.format(sleep=0.0), recipe_dirs=[TOY])
    run_manager(setup)
    reference = outputs(setup)
    ran = executions(setup)
    for d in job_dirs(setup):
        (d / "finished").unlink()  # every job as if its last worker died right after its task marker
    for f in (setup / "output").iterdir():
        if f.is_symlink():
            f.unlink()
    proc = run_manager(setup)
    assert "All targets are finished" in proc.stdout
    assert executions(setup) == ran  # nothing ran again
    assert outputs(setup) == reference
    assert all((d / "finished").exists() for d in job_dirs(setup))


def test_second_worker_for_a_running_task_id_waits_and_does_not_run_it_again(tmp_path):
    setup = make_setup(tmp_path, SPAWN_GRAPH.format(sleep=3.0), recipe_dirs=[TOY])
    log_path = tmp_path / "manager.log"
    manager = start_manager_logged(setup, log_path)
    wait_until(lambda: sum(executions(setup).values()) == 1, "the task to start", manager, log_path)
    job = the_job_dir(setup)
    # what an engine's duplicate submission would run
    second = subprocess.run([sys.executable, "-m", "sisyphus", "worker", str(job), "run", "1"], cwd=setup,
                            env=sis_env(setup), capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "being run by another worker" in second.stdout and "another worker ended it (finished)" in second.stdout
    assert (job / "finished.run.1").exists()  # it returned only once the first had finished
    manager.wait(timeout=HANG_GUARD_S)
    assert manager.returncode == 0, log_path.read_text()
    assert list(executions(setup).values()) == [1]
    assert (job / "log.run.1").read_text().count("[sis worker] 20") == 1
