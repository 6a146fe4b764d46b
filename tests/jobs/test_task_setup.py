"""Task setup every heavy job shares (``jobs/common.py``): torch threads from the cpu request (at
least one), the device from the gpu request, library log lines to the task log and a log file;
and a job argument checked when the graph is built, not when the task runs."""
import logging
import sys

import pytest
import torch

from memristor_asr.jobs.common import prepare_task, set_torch_threads, write_json

LOG = logging.getLogger("memristor_asr")


@pytest.fixture
def clean_log():
    """The library logger and torch's thread count as they were before the test."""
    handlers, level, propagate, threads = list(LOG.handlers), LOG.level, LOG.propagate, torch.get_num_threads()
    for h in handlers:
        LOG.removeHandler(h)
    yield LOG
    for h in list(LOG.handlers):
        LOG.removeHandler(h)
        h.close()
    for h in handlers:
        LOG.addHandler(h)
    LOG.setLevel(level)
    LOG.propagate = propagate
    torch.set_num_threads(threads)


@pytest.mark.parametrize("cpus, threads", [(1, 1), (2, 2), ("3", 3), (0, 1)])
def test_threads_follow_the_cpu_request_at_least_one(clean_log, cpus, threads):
    prepare_task(cpus)
    assert torch.get_num_threads() == threads
    set_torch_threads(cpus)
    assert torch.get_num_threads() == threads


def test_no_cpu_request_leaves_the_thread_count(clean_log):
    torch.set_num_threads(2)
    prepare_task(None)
    assert torch.get_num_threads() == 2


def test_device_cuda_only_when_asked_for_and_present(clean_log):
    assert prepare_task(1) == torch.device("cpu")
    assert prepare_task(1, gpus=0) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert prepare_task(1, gpus=1).type == expected


def test_log_lines_reach_stdout_and_the_log_file_once(clean_log, tmp_path, capsys):
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    prepare_task(1, log_file=str(first))
    prepare_task(1, log_file=str(first))  # a second setup in the same process adds nothing
    logging.getLogger("memristor_asr.training.trainer").info("epoch 1/2 done")
    assert capsys.readouterr().out.count("epoch 1/2 done") == 1
    assert first.read_text().count("INFO memristor_asr.training.trainer: epoch 1/2 done") == 1
    # the next task's file replaces the earlier one; stdout keeps one handler
    prepare_task(1, log_file=str(second))
    logging.getLogger("memristor_asr.data").warning("resumed")
    assert "resumed" not in first.read_text() and "WARNING memristor_asr.data: resumed" in second.read_text()
    assert sum(type(h) is logging.StreamHandler and h.stream is sys.stdout for h in clean_log.handlers) == 1
    assert not clean_log.propagate


def test_write_json_is_indented_with_final_newline(tmp_path):
    p = tmp_path / "out.json"
    write_json(str(p), {"a": [1, 2], "b": None})
    assert p.read_text() == '{\n "a": [\n  1,\n  2\n ],\n "b": null\n}\n'
    assert not list(tmp_path.glob("*.tmp*"))


def test_feature_cache_job_refuses_a_bad_dtype_at_graph_time():
    from sisyphus import tk

    from memristor_asr.jobs.features import CacheLogMelFeaturesJob

    with pytest.raises(ValueError, match="CacheLogMelFeaturesJob: dtype .*'bfloat16'"):
        CacheLogMelFeaturesJob(tk.Path("/nonexistent/dev.jsonl"), dtype="bfloat16")
