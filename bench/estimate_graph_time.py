"""Estimate the wall time of a graph entry point on this machine from a finished run's task times.

Builds the entry point's graph in memory (nothing runs), gives every job the median task time of
its kind in the finished run (``bench/graph_run_times.py``'s labels; training split into float,
QAT fine-tune and QAT from scratch), and list-schedules the graph on ``--cpus`` cores, longest
runnable job first. A kind the finished run lacks gets a stated fallback (QAT from scratch: the
float model's time x ``--qat-overhead``, ``bench/bench_training.py``'s measured 1.20x for the demo
model). Calibrate by estimating the run itself: its own entry point should come out near its
measured time.

Usage: ``.venv/bin/python bench/estimate_graph_time.py SETUP [--entry memristor_adc.seed_study]
[--assume TrainNnadcConverterJob=1463]``
"""
import argparse
import heapq
import os
import statistics
import sys
from collections import Counter, defaultdict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "tools"), os.path.join(REPO, "recipe"), REPO, os.path.join(REPO, "bench")]

from graph_run_times import task_times  # noqa: E402
from sisyphus import global_settings as gs  # noqa: E402
from sisyphus.job import created_jobs  # noqa: E402


def kind(job) -> str:
    """The label of a job, as graph_run_times labels finished tasks (training split further)."""
    name = type(job).__name__
    if name == "SimulateCrossbarLogProbsJob":
        return name + (" [synaptogenml]" if job.hardware.read_noise == "paper" else " [physical]")
    if name == "TrainQatConformerJob":
        kw = job._sis_kwargs
        if kw["quant"].weight_bits is None:
            return name + " [float]"
        return name + (" [finetune]" if kw.get("init_checkpoint") is not None else " [qat scratch]")
    return name


def measured_medians(setup: str) -> dict:
    """Median task seconds per label of a finished run; training split by the epochs it ran."""
    by = defaultdict(list)
    for label, sec, _, _ in task_times(os.path.join(setup, "work")):
        by[label].append(sec)
    out = {k: statistics.median(v) for k, v in by.items()}
    train = sorted(by.get("TrainQatConformerJob", []))
    if train:  # the long ones are the 9-epoch float models, the short ones 1-epoch fine-tunes
        cut = (train[0] + train[-1]) / 2
        out["TrainQatConformerJob [float]"] = statistics.median([t for t in train if t >= cut])
        out["TrainQatConformerJob [finetune]"] = statistics.median([t for t in train if t < cut] or train)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("setup", help="setup directory of a finished run (its work/ holds the task times)")
    ap.add_argument("--entry", default="memristor_adc.py", help="config module and function, e.g. memristor_adc.py")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--qat-overhead", type=float, default=1.20)
    ap.add_argument("--fallback", type=float, default=3.0, help="seconds for a kind the run lacks")
    ap.add_argument("--assume", action="append", default=[], metavar="KIND=SECONDS",
                    help="task time of a kind the run lacks, measured elsewhere (repeatable)")
    args = ap.parse_args()
    module, _, func = args.entry.rpartition(".")
    gs.BASE_DIR = REPO
    import importlib

    getattr(importlib.import_module("config." + module), func)()
    med = measured_medians(args.setup)
    for item in args.assume:
        name, _, sec = item.rpartition("=")
        if not name:
            sys.exit(f"estimate_graph_time: --assume wants KIND=SECONDS, got {item!r}")
        med[name] = float(sec)
    if "TrainQatConformerJob [float]" in med:
        med.setdefault("TrainQatConformerJob [qat scratch]", med["TrainQatConformerJob [float]"] * args.qat_overhead)
    jobs = list(created_jobs.values())
    dur = {j: med.get(kind(j), args.fallback) for j in jobs}
    deps = {j: {p.creator for p in j._sis_inputs if p.creator is not None} for j in jobs}
    missing = sorted({kind(j) for j in jobs if kind(j) not in med})
    done, running, waiting, t = set(), [], set(jobs), 0.0
    while waiting or running:
        for j in sorted((j for j in waiting if deps[j] <= done), key=lambda j: -dur[j]):
            if len(running) >= args.cpus:
                break
            heapq.heappush(running, (t + dur[j], id(j), j))
            waiting.discard(j)
        if not running:
            sys.exit("estimate_graph_time: a job waits on one that is not in the graph")
        t, _, j = heapq.heappop(running)
        done.add(j)
    counts = Counter(kind(j) for j in jobs)
    print(f"config/{module}: {func}(): {len(jobs)} jobs, {sum(dur.values()) / 60:.1f} core-min, "
          f"estimated {t / 60:.1f} min on {args.cpus} cores (task times of {args.setup})")
    for k, n in counts.most_common():
        print(f"  {k}: {n} x {med.get(k, args.fallback):.1f} s" + (" (fallback)" if k in missing else ""))


if __name__ == "__main__":
    main()
