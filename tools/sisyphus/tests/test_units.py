"""Unit tests of runtime pieces: settings overrides, variables, tasks, engine routing, local slots."""
import os
import sys
import time

import pytest

from sisyphus import Task, tk
from sisyphus import global_settings as gs
from sisyphus.engine import EngineSelector
from sisyphus.localengine import LocalEngine


def test_settings_file_and_env_override(tmp_path, monkeypatch):
    (tmp_path / "settings.py").write_text("WORK_DIR = 'jobs'\nMY_VALUE = 3\nWAIT_PERIOD_BETWEEN_CHECKS = 9\n")
    monkeypatch.setenv("SIS_MY_VALUE", "7")
    monkeypatch.setenv("SIS_SOME_TEXT", "hello world")
    old = {k: getattr(gs, k, None) for k in ("BASE_DIR", "WORK_DIR", "WAIT_PERIOD_BETWEEN_CHECKS")}
    try:
        gs.load_settings(str(tmp_path))
        assert gs.WORK_DIR == "jobs" and gs.WAIT_PERIOD_BETWEEN_CHECKS == 9
        assert gs.MY_VALUE == 7 and gs.SOME_TEXT == "hello world"
    finally:
        for k, v in old.items():
            setattr(gs, k, v)


def test_variable_roundtrip_repr_and_pickle(tmp_path):
    v = tk.Variable(str(tmp_path / "v"))
    assert not v.is_set()
    v.set({"wer": 12.5, "draws": [1, 2], "inf": float("inf")})
    assert v.get() == {"wer": 12.5, "draws": [1, 2], "inf": float("inf")}
    p = tk.Variable(str(tmp_path / "p"), pickle=True)
    p.set({1, 2, 3})
    assert p.get() == {1, 2, 3}


def test_task_ids_args_and_rqmt():
    t = Task("run", args=[(1, "a"), 2], rqmt={"cpu": 2})
    assert t.task_ids() == [1, 2]
    assert t.args_of(1) == [1, "a"] and t.args_of(2) == [2]
    assert t.rqmt()["cpu"] == 2 and t.rqmt()["mem"] == gs.DEFAULT_RQMT["mem"]
    assert Task("m", mini_task=True).rqmt()["engine"] == "short"


def test_engine_selector_routes_by_engine_key():
    short, long = LocalEngine(1), LocalEngine(2)
    sel = EngineSelector({"short": short, "long": long}, default_engine="long")
    assert sel.get_used_engine(None) is long and sel.get_used_engine("short") is short
    with pytest.raises(ValueError, match="unknown engine"):
        sel.get_used_engine("gpu")
    with pytest.raises(ValueError, match="default_engine"):
        EngineSelector({"a": short}, default_engine="b")


def test_local_engine_respects_cpu_slots(tmp_path):
    engine = LocalEngine(cpus=2, gpus=0, mem=8)
    job_dir = tmp_path / "job"
    (job_dir / "engine").mkdir(parents=True)
    call = [sys.executable, "-c", "import time; time.sleep(1.5)"]
    engine.submit_call(call, str(job_dir / "log.run"), {"cpu": 2, "mem": 1}, "j", "run", [1, 2])
    assert len(engine._running) == 1 and len(engine._queue) == 1  # second id waits for the cores
    deadline = time.time() + 30
    while (engine._running or engine._queue) and time.time() < deadline:
        engine.step()
        time.sleep(0.1)
    assert not engine._running and not engine._queue
    assert (job_dir / "engine" / "pid.run.1").exists() and (job_dir / "engine" / "pid.run.2").exists()


def test_restarted_engine_counts_tasks_an_earlier_manager_started(tmp_path):
    """A manager restarted mid-run finds a still-running task and keeps its cores busy: new tasks
    wait for it instead of oversubscribing the machine."""
    job_dir = tmp_path / "job"
    (job_dir / "engine").mkdir(parents=True)
    first = LocalEngine(cpus=2, gpus=0, mem=8)
    first.submit_call([sys.executable, "-c", f"import time; time.sleep(2.0)  # {job_dir}"],
                      str(job_dir / "log.run"), {"cpu": 2, "mem": 1}, "j", "run", [1])
    assert len(first._running) == 1

    class FakeJob:  # what task_state needs of a job
        def _sis_path(self, abspath=False):
            return str(job_dir)
        _sis_task_rqmt_overwrite = {}

    task = Task("run", rqmt={"cpu": 2, "mem": 1})
    task._job = FakeJob()
    second = LocalEngine(cpus=2, gpus=0, mem=8)  # a new manager: knows nothing of `first`
    assert second.task_state(task, 1) == "running"
    other = tmp_path / "other"
    (other / "engine").mkdir(parents=True)
    second.submit_call([sys.executable, "-c", "pass"], str(other / "log.run"), {"cpu": 1, "mem": 1}, "o", "run", [1])
    assert not second._running and len(second._queue) == 1  # the adopted task holds both cores
    deadline = time.time() + 30
    while second._queue and time.time() < deadline:
        first.step()  # reaps the old process (in real life: its own session, reaped by init)
        second.step()
        time.sleep(0.1)
    assert not second._queue, "the queued task never started after the adopted one ended"
    assert second.task_state(task, 1) == "unknown"


def test_local_engine_reports_an_ended_task_until_the_next_step(tmp_path):
    engine = LocalEngine(cpus=1, gpus=0, mem=8)
    job_dir = tmp_path / "job"
    (job_dir / "engine").mkdir(parents=True)
    engine.submit_call([sys.executable, "-c", "pass"], str(job_dir / "log.run"), {"cpu": 1, "mem": 1}, "j", "run", [1])
    engine._running[next(iter(engine._running))]["proc"].wait(timeout=60)
    assert engine.task_ended()
    engine.step()  # reaps it
    assert not engine.task_ended() and not engine._running


def test_manager_wait_returns_when_a_task_ends_and_sleeps_the_period_otherwise(monkeypatch):
    """Between graph refreshes the manager polls the engine, so a freed slot is refilled at once
    rather than after the full wait period."""
    from sisyphus import manager as manager_module

    clock = {"t": 0.0, "slept": []}

    def fake_sleep(s):
        clock["slept"].append(s)
        clock["t"] += s

    monkeypatch.setattr(manager_module.time, "sleep", fake_sleep)
    monkeypatch.setattr(manager_module.time, "monotonic", lambda: clock["t"])

    class Engine:
        def __init__(self, ends_after):
            self.calls, self.ends_after = 0, ends_after

        def task_ended(self):
            self.calls += 1
            return self.ends_after is not None and self.calls > self.ends_after

    m = manager_module.Manager.__new__(manager_module.Manager)
    m.engine = Engine(ends_after=3)
    m._wait(2.0)
    assert m.engine.calls == 4 and abs(sum(clock["slept"]) - 3 * manager_module.ENGINE_POLL_INTERVAL) < 1e-9
    clock["slept"].clear()
    m.engine = Engine(ends_after=None)
    m._wait(2.0)
    assert abs(sum(clock["slept"]) - 2.0) < 1e-9


def test_pickled_job_holds_its_inputs_creators_only_as_references(tmp_path, monkeypatch):
    """A worker loads its job without the upstream graph: creators become id + location."""
    import gzip

    from sisyphus.job import JobReference, load_job
    from toy.jobs import AddJob, WriteNumbersJob

    monkeypatch.setattr(gs, "BASE_DIR", str(tmp_path))
    monkeypatch.setattr(gs, "WORK_DIR", "work")
    upstream = WriteNumbersJob(7919, sleep=0.123)
    job = AddJob(upstream.out_numbers, offset=3)
    job._sis_setup_directory()
    job_dir = job._sis_path(abspath=True)
    raw = gzip.decompress((tmp_path / job._sis_path(gs.JOB_SAVE)).read_bytes())
    assert b"WriteNumbersJob" in raw and b"0.123" not in raw  # the upstream job's arguments stay out
    import sisyphus.job

    monkeypatch.setattr(sisyphus.job, "created_jobs", {})  # load as a fresh worker process would
    fresh = load_job(job_dir)
    assert fresh is not job and fresh.offset == 3
    ref = fresh.numbers.creator
    assert isinstance(ref, JobReference) and ref._sis_id() == upstream._sis_id()
    assert fresh.numbers.get_path() == upstream.out_numbers.get_path()
    assert fresh.numbers._sis_hash() == upstream.out_numbers._sis_hash()
    assert not fresh.numbers.available()
    os.makedirs(upstream._sis_path(abspath=True))
    open(upstream._sis_path(gs.JOB_FINISHED_MARKER, abspath=True), "w").close()
    assert fresh.numbers.available()
    with pytest.raises(AttributeError, match="WriteNumbersJob .*only a reference.*'sleep'"):
        ref.sleep
