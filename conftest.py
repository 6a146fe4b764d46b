"""Import paths for every test: the recipe packages, the bundled runtime, and tests/ helpers.

Under CI (the environment variable ``CI`` set, and not to ``0``/``false``/``no``/``off``) a skipped
test or module is reported as a failure, so a missing tool or module cannot pass unnoticed. The one
exception is a missing CUDA device: a skip whose reason starts with "CUDA" (what ``@pytest.mark.cuda``
gives) or "no CUDA device" stays a skip. xfail is not affected.
"""
import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.abspath(__file__))
for sub in ("tests", "tools", "recipe"):
    path = os.path.join(ROOT, sub)
    if path not in sys.path:
        sys.path.insert(0, path)

CUDA_SKIP_REASON = re.compile(r"(CUDA\b|no CUDA device\b)")


def ci_forbids_skips() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def _skip_location_and_reason(rep):
    longrepr = rep.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, lineno, reason = longrepr
        where = f"{path}:{lineno}"
    else:
        where, reason = rep.nodeid, str(longrepr)
    reason = str(reason)
    return where, reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason


def _skip_to_failure(rep):
    """Turn a skipped report into a failed one under CI, unless it is a CUDA skip."""
    if not rep.skipped or hasattr(rep, "wasxfail") or not ci_forbids_skips():
        return
    where, reason = _skip_location_and_reason(rep)
    if CUDA_SKIP_REASON.match(reason):
        return
    rep.outcome = "failed"
    rep.skip_forbidden_by_ci = True
    rep.longrepr = (f"skipped under CI={os.environ['CI']}, where only CUDA skips are allowed: {reason} "
                    f"(skip at {where}; install what is missing, see setup.sh)")


def pytest_report_header(config):
    if ci_forbids_skips():
        return f"CI={os.environ['CI']}: a skipped test fails unless the skip reason is CUDA (conftest.py)"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report, config):
    # a forbidden skip happens mostly at setup (skipif marks, fixtures), which pytest would call an
    # ERROR; it is the test that cannot run, so count and show it as FAILED
    if getattr(report, "skip_forbidden_by_ci", False) and report.when in ("setup", "call", "teardown"):
        return "failed", "F", "FAILED"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:  # the SLURM cluster takes seconds to start and its tests minutes: slow, too
        if item.get_closest_marker("slurm") is not None and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)
    cuda_items = [item for item in items if item.get_closest_marker("cuda") is not None]
    if cuda_items:
        import torch

        if not torch.cuda.is_available():
            for item in cuda_items:
                item.add_marker(pytest.mark.skip(reason="CUDA device not available"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    _skip_to_failure(rep)
    return rep


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(collector):
    rep = yield
    _skip_to_failure(rep)
    return rep
