"""Benchmark: NNADC training time per block and per design, with the design's measured ENOB.

Usage (from the repo root; one torch thread, as on the shared development machine):

    .venv/bin/python bench/bench_nnadc.py --block                 # a 3-bit sub-ADC and a 1-bit residue
                                                                  # (STE / graph settings), 2e4 steps each
    .venv/bin/python bench/bench_nnadc.py --design pl14_rram3     # train + Monte-Carlo evaluate a paper design
    .venv/bin/python bench/bench_nnadc.py --design pl8_rram3 --iterations 2000 --instances 20 --out /tmp/nnadc
    .venv/bin/python bench/bench_nnadc.py --design pl8_rram3 --residue-train-sigma 0.05   # variation-aware residues

Designs are those of config/nnadc.py (``all_designs``: the paper's and the variants beside
them). Prints one JSON line per measurement;
with ``--out`` also writes the converter, metrics, curves and plots there.
"""
import argparse
import dataclasses
import importlib.util
import json
import logging
import os
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "recipe"))
sys.path.insert(0, str(REPO / "tools"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from memristor_asr.nnadc import (  # noqa: E402
    BlockTrainV1Config,
    EvalV1Config,
    PipelinedAdcV1Config,
    evaluate_converter,
    save_converter,
    train_pipelined,
    train_subranging,
)
from memristor_asr.nnadc.circuit.vtc import VtcFamilyV1Config  # noqa: E402
from memristor_asr.nnadc.training.stages import stratified_pool, train_comparator_block, train_residue_block  # noqa: E402


def _config():
    spec = importlib.util.spec_from_file_location("nnadc_config", REPO / "config" / "nnadc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _designs():
    return _config().all_designs()


def _residue_overrides(train_sigma, pvt_aware) -> dict:
    """Residue training settings overridden from the command line (None: the graph's value)."""
    out = {}
    if train_sigma is not None:
        out["train_sigma"] = train_sigma
    if pvt_aware is not None:
        out["pvt_aware"] = bool(pvt_aware)
    return out


def bench_blocks(iterations: int, residue_overrides: dict) -> None:
    a = stratified_pool(1 << 17, 0)
    x = (2 * a - 1).float()[:, None]
    cfg = BlockTrainV1Config(iterations=iterations, log_every=max(1, iterations // 4))
    levels = torch.floor(a * 8).long()
    t = time.time()
    _, _, _, rec = train_comparator_block(x, levels, 3, 4, 12, 3, VtcFamilyV1Config(), 1.05, cfg, "bench.sub_adc3")
    print(json.dumps({"block": "sub_adc 3-bit, H=12, A_R=3, PVT-aware", "iterations": iterations,
                      "seconds": round(time.time() - t, 2), "level_error_rate": rec["level_error_rate"]}), flush=True)
    d = (a >= 0.5).double()
    u = torch.cat([x, (2 * d - 1).float()[:, None]], 1)
    target = (2 * (2 * a - d) - 1).float()
    graph = _config().NnadcSettings().train  # the graph's residue settings (staged quantization, reduced swing)
    ste = BlockTrainV1Config(iterations=iterations, pvt_aware=False)
    staged = dataclasses.replace(graph.residue, **residue_overrides)
    staged_label = f"graph settings ({graph.residue.quant_schedule}, swing {graph.residue_swing})"
    if residue_overrides:
        staged_label += ", " + ", ".join(f"{k}={v}" for k, v in residue_overrides.items())
    for label, train_cfg, swing in (
        ("STE from the start, full swing", ste, 1.0),
        (staged_label, staged, graph.residue_swing),
    ):
        train_cfg = dataclasses.replace(train_cfg, iterations=iterations, log_every=max(1, iterations // 4))
        t = time.time()
        _, _, rec = train_residue_block(u, target, 12, 3, VtcFamilyV1Config(), 1.05, train_cfg, "bench.residue1",
                                        swing=swing)
        print(json.dumps({"block": f"residue 1-bit, H=12, A_R=3, {label}", "iterations": iterations,
                          "seconds": round(time.time() - t, 2), "mse": rec["mse"],
                          "rms_pct_of_range": round(rec["mse"] ** 0.5 / 2 * 100, 3)}), flush=True)


def bench_design(name: str, iterations: int, instances: int, out: str, residue_overrides: dict) -> None:
    mod = _config()
    cfg = mod.all_designs()[name]
    base = mod.NnadcSettings().train  # the graph's training settings, only the step count overridden
    log_every = max(1, iterations // 2)
    tc = dataclasses.replace(
        base,
        comparator=dataclasses.replace(base.comparator, iterations=iterations, log_every=log_every),
        residue=dataclasses.replace(base.residue, iterations=iterations, log_every=log_every, **residue_overrides),
    )
    t = time.time()
    conv = train_pipelined(cfg, tc) if isinstance(cfg, PipelinedAdcV1Config) else train_subranging(cfg, tc)
    train_s = time.time() - t
    t = time.time()
    metrics, curves = evaluate_converter(conv, EvalV1Config(n_instances=instances))
    eval_s = time.time() - t
    mc, cal, nom = metrics["mc"]["ideal"], metrics["mc"]["calibrated"], metrics["nominal"]["ideal"]
    print(json.dumps({
        "design": name, "iterations": iterations, "residue_overrides": residue_overrides,
        "train_seconds": round(train_s, 1), "eval_seconds": round(eval_s, 1),
        "enob_nominal": round(nom["enob"], 3), "enob_mc_median": round(mc["enob_median"], 3),
        "enob_mc_p10_p90": [round(mc["enob_p10"], 3), round(mc["enob_p90"], 3)],
        "enob_calibrated_mc_median": round(cal["enob_median"], 3),
        "dnl_nominal": [round(nom["dnl_min"], 2), round(nom["dnl_max"], 2)],
        "inl_nominal": [round(nom["inl_min"], 2), round(nom["inl_max"], 2)],
        "chips": mc["n"],
        # median ENOB with each variation source alone (VTC: every inverter draws its own curve)
        "enob_breakdown": {k: round(v, 3) for k, v in metrics["variation_breakdown"].items()},
    }), flush=True)
    if out:
        from memristor_asr.nnadc.evaluation.plots import plot_dnl_inl, plot_enob_hist, plot_transfer

        os.makedirs(out, exist_ok=True)
        save_converter(conv, os.path.join(out, f"{name}.pt"))
        with open(os.path.join(out, f"{name}_metrics.json"), "w") as f:
            json.dump(metrics, f, indent=1)
        np.savez(os.path.join(out, f"{name}_curves.npz"), **curves)
        plot_transfer(curves, metrics, os.path.join(out, f"{name}_transfer.png"), name)
        plot_dnl_inl(curves, metrics, os.path.join(out, f"{name}_dnl_inl.png"), name)
        plot_enob_hist(metrics, os.path.join(out, f"{name}_enob_hist.png"), name)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--block", action="store_true", help="time one sub-ADC and one residue block")
    p.add_argument("--design", action="append", default=[], help="paper design name (repeatable)")
    p.add_argument("--iterations", type=int, default=20000, help="Adam steps per block (paper: 2e4)")
    p.add_argument("--instances", type=int, default=100, help="Monte-Carlo chips")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="", help="directory for converters, metrics and plots")
    p.add_argument("--residue-train-sigma", type=float, default=None,
                   help="residue blocks: variation-aware training with this conductance sigma (default: the graph's)")
    p.add_argument("--residue-pvt", type=int, choices=(0, 1), default=None,
                   help="residue blocks: 1 = PVT-aware (corner-family inverter curves), 0 = nominal "
                        "(default: the graph's)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    if not args.block and not args.design:
        p.error("nothing to do: give --block and/or --design NAME")
    overrides = _residue_overrides(args.residue_train_sigma, args.residue_pvt)
    if args.block:
        bench_blocks(args.iterations, overrides)
    for name in args.design:
        bench_design(name, args.iterations, args.instances, args.out, overrides)


if __name__ == "__main__":
    main()
