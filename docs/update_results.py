"""Refresh the generated parts of a results page (``docs/results.md``) from a finished run.

The tables between ``<!-- BEGIN generated:KEY -->`` and ``<!-- END generated:KEY -->`` are
replaced by what the run produced (nothing is typed by hand), and the report's plots are copied
next to this file:

- ``wer_table``, ``seed_claims``, ``comparisons``: ``output/<prefix>/*.md`` of the run;
- ``run_times``: ``bench/graph_run_times.py SETUP`` (task time per job class);
- ``pre_adc_levels``: ``bench/pre_adc_levels.py SETUP`` (signal level at the ADC, 4+4 draws);
- ``hardware_effects``, ``wer_vs_energy``: ``output/<prefix>/*.md`` (only where the page has
  their markers).

Usage: ``.venv/bin/python docs/update_results.py SETUP [--prefix memristor_adc] [--page results.md]
[--plot-prefix results_] [--only KEY,...]`` (the full study: ``--prefix seed_study --page seed_study.md
--plot-prefix seed_study_``)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PLOTS = ("wer_vs_bits.png", "wer_vs_adc.png", "clipping.png")
OPTIONAL_PLOTS = ("wer_vs_energy.png",)
OPTIONAL_BLOCKS = ("hardware_effects", "wer_vs_energy")


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError as e:
        sys.exit(f"update_results: cannot read {path}: {e.strerror} (is the run finished?)")


def _bench(script: str, setup: str) -> str:
    out = subprocess.run([sys.executable, os.path.join(REPO, "bench", script), setup], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"update_results: bench/{script} failed:\n{out.stderr[-2000:]}")
    return out.stdout.strip()


def replace_block(doc: str, key: str, body: str, page: str = "results.md") -> str:
    """``doc`` (the text of ``docs/<page>``) with the text between the markers of ``key`` replaced by ``body``."""
    pattern = re.compile(rf"(<!-- BEGIN generated:{key} -->\n)(?:.*?\n)?(<!-- END generated:{key} -->)", re.S)
    if not pattern.search(doc):
        sys.exit(f"update_results: docs/{page} has no block 'generated:{key}'")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("setup", help="setup directory of the finished run (holds work/ and output/)")
    ap.add_argument("--prefix", default="memristor_adc", help="output prefix of the report")
    ap.add_argument("--page", default="results.md", help="the page under docs/ to refresh")
    ap.add_argument("--plot-prefix", default="results_", help="file name prefix of the plots copied to docs/")
    ap.add_argument("--only", default=None,
                    help="comma-separated blocks to refresh (e.g. wer_vs_energy after rerunning its job); "
                         "the others and their plots stay as they are")
    args = ap.parse_args()
    out = os.path.join(args.setup, "output", args.prefix)
    path = os.path.join(HERE, args.page)
    doc = _read(path) + "\n"
    keys = ["wer_table", "seed_claims", "comparisons", "run_times", "pre_adc_levels"]
    keys += [k for k in OPTIONAL_BLOCKS if f"<!-- BEGIN generated:{k} -->" in doc]
    if args.only is not None:
        wanted = [k.strip() for k in args.only.split(",") if k.strip()]
        unknown = sorted(set(wanted) - set(keys))
        if unknown:
            sys.exit(f"update_results: --only {','.join(unknown)}: not a block of docs/{args.page} "
                     f"(blocks: {', '.join(keys)})")
        keys = wanted
    benches = {"run_times": "graph_run_times.py", "pre_adc_levels": "pre_adc_levels.py"}
    blocks = {k: _bench(benches[k], args.setup) if k in benches else _read(os.path.join(out, f"{k}.md")) for k in keys}
    for key, body in blocks.items():
        doc = replace_block(doc, key, body, args.page)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(doc)
    os.replace(path + ".tmp", path)
    plots = list(PLOTS) + [p for p in OPTIONAL_PLOTS if os.path.exists(os.path.join(out, p))]
    if args.only is not None:  # a block's own plot only
        plots = [p for p in plots if p[:-len(".png")] in keys]
    for src in plots:
        shutil.copyfile(os.path.join(out, src), os.path.join(HERE, args.plot_prefix + src))
    print(f"update_results: {len(blocks)} blocks of {path} and {len(plots)} plots refreshed from {out}")


if __name__ == "__main__":
    main()
