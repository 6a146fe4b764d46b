"""Worker start-up benchmark: loading a job of the default graph in a fresh process.

Every task runs as ``sis worker``: a new Python process that unpickles its job's ``job.save``.
Side by side in one run, for one job of each kind of the default graph
(`config/memristor_adc.py`), the time of a fresh process that loads

- the job pickled together with its whole upstream graph (plain ``pickle``, what the runtime
  wrote before), and
- the job as the runtime writes it now (other jobs only as ``JobReference``: id and location).

The default graph has ~280 light tasks (scoring, aggregation, search) whose own work takes well
under a second or two, so the load time is a large part of their cost.

Usage: ``python bench/bench_worker_load.py [--repeats 3] [--json out.json]``
"""
import argparse
import gzip
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "tools"), os.path.join(REPO, "recipe"), REPO]

from sisyphus import global_settings as gs  # noqa: E402
from sisyphus.job import _dumps_job, created_jobs  # noqa: E402

KINDS = ("ScliteScoringJob", "AggregateWerJob", "RecognizeCtcJob", "TuneLmScaleJob", "SimulateCrossbarLogProbsJob")
LOAD = ("import sys, gzip, pickle, time; sys.path[:0] = {paths!r}; t = time.perf_counter(); "
        "pickle.loads(gzip.decompress(open({file!r}, 'rb').read())); print(time.perf_counter() - t)")


def fresh_process_load(path: str) -> float:
    """Wall time of a new interpreter that loads ``path`` (start-up included)."""
    code = LOAD.format(paths=[os.path.join(REPO, "tools"), os.path.join(REPO, "recipe")], file=path)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=REPO)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    gs.BASE_DIR = REPO
    from config.memristor_adc import ExperimentSettings, build_experiment

    build_experiment(ExperimentSettings())  # builds the graph in memory; nothing runs
    picked = {}
    for job in created_jobs.values():
        picked.setdefault(type(job).__name__, job)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:
            job = picked[kind]
            files = {}
            for label, data in (("full graph", pickle.dumps(job)), ("references", _dumps_job(job))):
                files[label] = os.path.join(tmp, f"{kind}.{label.replace(' ', '_')}.save")
                with open(files[label], "wb") as f:
                    f.write(gzip.compress(data))
            times = {label: statistics.median(fresh_process_load(p) for _ in range(args.repeats))
                     for label, p in files.items()}
            sizes = {label: os.path.getsize(p) for label, p in files.items()}
            rows.append({"job": kind, **{f"{k} s": v for k, v in times.items()},
                         **{f"{k} bytes": v for k, v in sizes.items()},
                         "speed-up": times["full graph"] / times["references"]})
            print(f"{kind:30s} full graph {times['full graph']:5.2f} s ({sizes['full graph']:6d} B)   "
                  f"references {times['references']:5.2f} s ({sizes['references']:5d} B)   "
                  f"{rows[-1]['speed-up']:5.1f}x", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
