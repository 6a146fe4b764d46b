"""Task times of a finished graph run, per job class: what the README's "measured run" figures
come from.

A task's time is its ``finished.<task>.<id>`` marker's mtime minus the start stamp the worker
writes in the first line of ``log.<task>.<id>`` (the console computes run times the same way).
Crossbar simulations are split by hardware regime (``read_noise='paper'`` = "synaptogenml").

Usage: ``python bench/graph_run_times.py SETUP_DIR [--markdown]``
"""
import argparse
import os
import re
import statistics
import time
from collections import defaultdict

HEADER = re.compile(r"\[sis worker\] (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)")


def task_times(work: str):
    """Yield (job class label, seconds, start, end) for every finished task under ``work``."""
    for root, dirs, files in os.walk(work):
        if ".trash" in root.split(os.sep):
            dirs[:] = []
            continue
        if "job.save" not in files:
            continue
        dirs[:] = []
        label = os.path.basename(root).split(".")[0]
        if label == "SimulateCrossbarLogProbsJob":
            try:
                with open(os.path.join(root, "info"), errors="replace") as f:
                    info = f.read()
                label += " [synaptogenml]" if "read_noise='paper'" in info else " [physical]"
            except OSError:
                pass
        for name in files:
            if not name.startswith("log."):
                continue
            marker = os.path.join(root, "finished." + name[len("log."):])
            if not os.path.exists(marker):
                continue
            with open(os.path.join(root, name), errors="replace") as f:
                m = HEADER.search(f.read(400))
            if not m:
                continue
            start = time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
            end = os.stat(marker).st_mtime
            yield label, max(0.0, end - start), start, end


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("setup", help="setup directory (holds work/)")
    args = ap.parse_args()
    by = defaultdict(list)
    first, last = float("inf"), 0.0
    for label, sec, start, end in task_times(os.path.join(args.setup, "work")):
        by[label].append(sec)
        first, last = min(first, start), max(last, end)
    total = sum(sum(v) for v in by.values())
    print(f"tasks: {sum(len(v) for v in by.values())}, task time {total / 60:.1f} core-min, "
          f"first start to last end {(last - first) / 60:.1f} min")
    print("| job class | tasks | core-min | median s | max s |\n|---|---|---|---|---|")
    for label, v in sorted(by.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {label} | {len(v)} | {sum(v) / 60:.1f} | {statistics.median(v):.1f} | {max(v):.1f} |")


if __name__ == "__main__":
    main()
