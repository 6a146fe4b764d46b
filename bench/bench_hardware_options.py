"""The hardware options of issue #18 against the code before them, side by side in one run.

One device draw of the demo model (4 x 144, 4-bit QAT layers with random weights, ADC 4+4,
physical read noise) as the simulation job does it: programming every layer, then the simulated
forward over ``--seconds`` of random audio, at one thread. Cases:

- ``baseline``: the code of ``--baseline`` (default 22f432f, the last commit before the options),
  extracted with ``git archive`` into a temporary folder; every option off;
- ``off``: this working tree, every option off (target: as fast as the baseline);
- ``wires 0.1`` / ``wires 1``: word- and bit-line resistance per segment [ohm] (IR drop;
  target: at most 2x a draw without it);
- ``stuck 1 %``: 1 % of the cells stuck at LRS and 1 % at HRS; ``c-``: the per-polarity factor;
- ``read disturb applied``: crossed cells switch (the crossing count runs in every case but the
  baseline, so ``off`` against ``baseline`` is its cost).

Each case runs in its own process (the two code versions cannot share one), cases interleaved
over ``--repeats`` rounds; medians are reported with their ratio to ``off``.

Usage: ``python bench/bench_hardware_options.py [--seconds 60] [--repeats 3] [--json out.json]``
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = {
    "baseline": {},
    "off": {},
    "wires 0.1 ohm": {"wordline_resistance": 0.1, "bitline_resistance": 0.1},
    "wires 1 ohm": {"wordline_resistance": 1.0, "bitline_resistance": 1.0},
    "stuck 1 % + 1 %": {"stuck_lrs_rate": 0.01, "stuck_hrs_rate": 0.01},
    "c- 8911": {"correction_factor_negative": 8911.2},
    "read disturb applied": {"apply_read_disturb": True},
}


def worker(recipe: str, options: dict, seconds: float) -> dict:
    """One draw in this process, with ``recipe`` first on the import path."""
    sys.path.insert(0, recipe)
    import torch

    from memristor_asr.crossbar import CrossbarConfigV2, convert_to_crossbars, crossbar_layers
    from memristor_asr.model import ConformerCtcModelV1, demo_config
    from memristor_asr.quant import QuantConfigV1, calibration

    torch.set_num_threads(1)

    def calibrated(sec):
        torch.manual_seed(0)
        m = ConformerCtcModelV1(demo_config(["<blank>"] + [f"t{i}" for i in range(30)], QuantConfigV1(weight_bits=4)))
        a = torch.randn(8, int(16000 * sec / 8)) * 0.1
        n = torch.full((8,), a.shape[1])
        with torch.no_grad(), calibration(m):
            m(a, n)
        return m.eval(), a, n

    warm, a, n = calibrated(0.5)  # compiles the numba kernels (a fresh folder has no cache)
    convert_to_crossbars(warm, CrossbarConfigV2(**options), seed=2)
    with torch.no_grad():
        warm(a, n)
    model, audio, lens = calibrated(seconds)
    t0 = time.perf_counter()
    convert_to_crossbars(model, CrossbarConfigV2(**options), seed=1)
    t_prog = time.perf_counter() - t0
    t0 = time.perf_counter()
    with torch.no_grad():
        model(audio, lens)
    t_fwd = time.perf_counter() - t0
    return {"programming_s": t_prog, "forward_s": t_fwd, "draw_s": t_prog + t_fwd,
            "cells": sum(m.n_cells for m in crossbar_layers(model).values())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default="22f432f")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--worker", nargs=2, metavar=("RECIPE", "OPTIONS_JSON"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], json.loads(args.worker[1]), args.seconds)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", REPO, "archive", args.baseline, "recipe"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        recipes = {"baseline": os.path.join(tmp, "recipe")}
        runs = {name: [] for name in CASES}
        for rnd in range(args.repeats):
            for name, options in CASES.items():
                recipe = recipes.get(name, os.path.join(REPO, "recipe"))
                out = subprocess.run([sys.executable, __file__, "--seconds", str(args.seconds), "--worker", recipe,
                                      json.dumps(options)], check=True, capture_output=True, text=True).stdout
                runs[name].append(json.loads(out.strip().splitlines()[-1]))
                r = runs[name][-1]
                print(f"[round {rnd + 1}/{args.repeats}] {name:16s} programming {r['programming_s']:.2f} s, "
                      f"forward {r['forward_s']:.2f} s", flush=True)
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("programming_s", "forward_s", "draw_s")}
           for name, rs in runs.items()}
    off = med["off"]
    print(f"\ndemo model draw, {args.seconds:g} s of audio, 1 thread, median of {args.repeats} "
          f"(baseline {args.baseline}); ratios to 'off'")
    print("| case | programming s | forward s | draw s | draw / off |")
    print("|---|---|---|---|---|")
    for name, m in med.items():
        print(f"| {name} | {m['programming_s']:.2f} | {m['forward_s']:.2f} | {m['draw_s']:.2f} | "
              f"{m['draw_s'] / off['draw_s']:.2f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seconds": args.seconds, "baseline": args.baseline, "runs": runs, "median": med}, f, indent=1)


if __name__ == "__main__":
    main()
