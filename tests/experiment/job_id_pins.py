"""The job ids of the project's graphs, pinned to checked-in lists (as i6_core guards its hashes).

A change that alters a job id is deliberate: rerun this script with ``--update`` in the same
commit and say why in the commit message.

    .venv/bin/python tests/experiment/job_id_pins.py            # compare, print what changed
    .venv/bin/python tests/experiment/job_id_pins.py --update   # rewrite the lists
"""
import argparse
import os
import pathlib
import subprocess
import sys
from typing import Dict, List

REPO = pathlib.Path(__file__).resolve().parents[2]
PIN_DIR = pathlib.Path(__file__).resolve().parent / "job_ids"
#: graph entry points: (config module, function)
ENTRIES = (("memristor_adc", "py"), ("memristor_adc", "seed_study"), ("nnadc", "py"))

_LIST = """
import sys
sys.path[:0] = {paths!r}
from sisyphus import global_settings as gs
from sisyphus.job import created_jobs
gs.BASE_DIR = {repo!r}
import importlib
getattr(importlib.import_module("config." + {module!r}), {func!r})()
for job in created_jobs.values():
    print(job._sis_id())
"""


def current_job_ids(module: str, func: str) -> List[str]:
    """Sorted ids of every job the entry point creates (built in a fresh interpreter: the job
    registry is global)."""
    code = _LIST.format(paths=[str(REPO / "tools"), str(REPO / "recipe"), str(REPO)], repo=str(REPO),
                        module=module, func=func)
    env = dict(os.environ, PYTHONHASHSEED="0")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"building config/{module}.py:{func}() failed:\n{out.stderr[-3000:]}")
    return sorted(set(line for line in out.stdout.splitlines() if line.strip()))


def pin_file(module: str, func: str) -> pathlib.Path:
    return PIN_DIR / f"{module}.{func}.txt"


def diff(module: str, func: str) -> Dict[str, List[str]]:
    """``{"added": [...], "removed": [...]}`` of the current ids against the pinned list."""
    pinned = set(pin_file(module, func).read_text().split())
    now = set(current_job_ids(module, func))
    return {"added": sorted(now - pinned), "removed": sorted(pinned - now)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--update", action="store_true", help="rewrite the pinned lists")
    args = ap.parse_args()
    changed = False
    for module, func in ENTRIES:
        if args.update:
            ids = current_job_ids(module, func)
            PIN_DIR.mkdir(exist_ok=True)
            pin_file(module, func).write_text("\n".join(ids) + "\n")
            print(f"config/{module}.py:{func}(): {len(ids)} job ids written to {pin_file(module, func)}")
            continue
        d = diff(module, func)
        for k in ("added", "removed"):
            for i in d[k]:
                print(f"config/{module}.py:{func}(): {k} {i}")
        changed |= bool(d["added"] or d["removed"])
    sys.exit(1 if changed else 0)


if __name__ == "__main__":
    main()
