"""Signal level at the ADC per layer kind, from the pre-ADC histograms of a finished graph run:
how large the column partial sums are relative to the ADC step, and how many round to zero or clip.

Reads every ``SimulateCrossbarLogProbsJob`` under ``SETUP/work`` whose converter matches
``--adc`` (default 4+4) and ``--noise`` (physical / paper), pools the histograms of the first
``--draws`` draws per job family, and prints per layer kind (block index pooled):
rms of the pre-ADC value in LSB, median |value| in LSB (histogram bins are 1/16 pair wide, so
medians are to half an LSB at p = 4), the fraction within 1 LSB of 0 (read as -1, 0 or +1 codes)
and the fraction beyond the clipping bound.

Usage: ``python bench/pre_adc_levels.py SETUP [--adc 4+4] [--noise physical]``
"""
import argparse
import json
import os
import re
from collections import defaultdict

import numpy as np


def _group(name: str) -> str:
    return re.sub(r"\.\d+(\.|$)", r".*\1", name)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("setup")
    ap.add_argument("--adc", default="4+4", help="precision+range bits of the global ADC")
    ap.add_argument("--noise", default="physical", choices=("physical", "paper"))
    args = ap.parse_args()
    p, r = (int(x) for x in args.adc.split("+"))
    lsb = 2.0 ** -p
    # the job's info holds the config's repr: CrossbarConfigV2 (typed ADC) or V1 (flat fields)
    adc_reprs = (f"adc=UniformAdcConfigV1(precision_bits={p}, range_bits={r})",
                 f"adc_precision_bits={p}, adc_range_bits={r}")
    pooled = defaultdict(lambda: None)
    meta = {}
    sim_dir = os.path.join(args.setup, "work", "memristor_asr", "jobs", "crossbar")
    n_jobs = 0
    for d in sorted(os.listdir(sim_dir)):
        if not d.startswith("SimulateCrossbarLogProbsJob"):
            continue
        path = os.path.join(sim_dir, d)
        hist = os.path.join(path, "output", "pre_adc_histogram.json")
        try:
            with open(os.path.join(path, "info"), errors="replace") as f:
                info = f.read()
        except OSError:
            continue
        # global split only: no per-layer override
        if (not os.path.exists(hist) or not any(w in info for w in adc_reprs)
                or f"read_noise='{args.noise}'" not in info
                or "per_layer=()" not in info or "adc_kind='nnadc_table'" in info):
            continue
        n_jobs += 1
        with open(hist) as f:
            data = json.load(f)
        for layer, h in data.items():
            g = _group(layer)
            counts = np.asarray(h["counts"], dtype=np.float64)
            pooled[g] = counts if pooled[g] is None else pooled[g] + counts
            meta[g] = (h["low"], h["high"], h["bins"], h.get("clip_value"))
    print(f"{n_jobs} simulation jobs with global ADC {args.adc}, {args.noise} read noise (all models and draws pooled)")
    print("| layer kind | rms [LSB] | median abs [LSB] | within 1 LSB of 0 | beyond clip |")
    print("|---|---|---|---|---|")
    for g in sorted(pooled):
        counts = pooled[g]
        low, high, bins, clip = meta[g]
        centers = low + (np.arange(bins) + 0.5) * (high - low) / bins
        w = counts / counts.sum()
        rms = float(np.sqrt((w * centers ** 2).sum())) / lsb
        order = np.argsort(np.abs(centers))
        cum = np.cumsum(w[order])
        med = float(np.abs(centers[order])[np.searchsorted(cum, 0.5)]) / lsb
        zero = float(w[np.abs(centers) < lsb].sum())
        beyond = float(w[np.abs(centers) > clip].sum()) if clip else 0.0
        print(f"| {g} | {rms:.1f} | {med:.1f} | {100 * zero:.1f} % | {100 * beyond:.2f} % |")


if __name__ == "__main__":
    main()
