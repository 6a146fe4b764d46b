"""Programming speed of one device draw (``program_planes``), old vs new implementation, one core.

Measured side by side in one run (M cells/s, best of ``--repeats``; a cell is one memristor, two
per differential pair), with the check that old and new give bit-identical states (the default procedure; cycled
programming draws its cycle innovations counter-based since the cycle-draw speed work, so old and
new cycled states differ by design and the column says "new stream"):
1. a 384 x 1536 layer with 4-bit weights (3 planes) and a 144 x 576 layer with 8-bit weights
   (7 planes), default procedure (full RESET, then SET; no cycling);
2. the same layers with ``--cycles`` random-voltage pulses per cell before programming;
3. the "synaptogenml" hardware regime (``--cycles`` pulses per bitline array; new code only,
   the old code had no per-array cycling).

"old" is the implementation of commit ``OLD_COMMIT`` (``cells.py`` and ``programming.py`` read
with ``git show`` into a temporary module); "new" is the working tree.
Targets on one core: default procedure >= 10 M cells/s; synaptogenml regime >= 1.5 M cells/s.

Usage: ``python bench/bench_programming.py [--repeats 3] [--cycles 15] [--profile]``
"""
import argparse
import cProfile
import dataclasses
import importlib.util
import os
import pstats
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "recipe"))

import torch  # noqa: E402

from memristor_asr.crossbar import CrossbarConfigV2, synaptogen_iv  # noqa: E402
from memristor_asr.crossbar import programming as new_programming  # noqa: E402
from memristor_asr.crossbar.programming import bit_planes  # noqa: E402
from memristor_asr.crossbar.regimes import apply_regime, program_options  # noqa: E402

OLD_COMMIT = "5afee10"  # last commit before the programming speed work


def load_old():
    """The old ``program_planes``, with the old ``Cells`` behind it."""
    tmp = tempfile.mkdtemp(prefix="old_programming_")
    mods = {}
    for name in ("cells", "programming"):
        src = subprocess.run(["git", "-C", REPO, "show", f"{OLD_COMMIT}:recipe/memristor_asr/crossbar/{name}.py"],
                             check=True, capture_output=True, text=True).stdout
        path = os.path.join(tmp, f"old_{name}.py")
        with open(path, "w") as f:
            f.write(src)
        spec = importlib.util.spec_from_file_location(f"old_{name}", path)
        mods[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mods[name])
    mods["programming"].Cells = mods["cells"].Cells
    return mods["programming"].program_planes


def layer(n_out, n_in, bits, seed=0):
    q = 2 ** (bits - 1) - 1
    g = torch.Generator().manual_seed(seed)
    planes, _ = bit_planes(torch.randint(-q, q + 1, (n_out, n_in), generator=g), q)
    return planes


def measure(fn, planes, cfg, repeats, **kw):
    iv = synaptogen_iv()
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn(planes, cfg, iv, seed=1, layer_name="bench", **kw)
        best = min(best, time.perf_counter() - t)
    return 2 * planes.numel() / best / 1e6, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cycles", type=int, default=15)
    ap.add_argument("--profile", action="store_true", help="cProfile the new default procedure, 384x1536")
    args = ap.parse_args()
    torch.set_num_threads(1)
    old = load_old()
    new = new_programming.program_planes
    layers = {"384x1536 4-bit (3 planes)": layer(1536, 384, 4), "144x576 8-bit (7 planes)": layer(576, 144, 8)}
    plain = CrossbarConfigV2()
    cycled = CrossbarConfigV2(cycles_before_programming=args.cycles)
    sml = apply_regime(CrossbarConfigV2(), "synaptogenml", strict=False)
    if sml.cycles_before_programming != args.cycles:
        sml = dataclasses.replace(sml, cycles_before_programming=args.cycles)
    print(f"torch {torch.__version__}, 1 thread, best of {args.repeats}; M cells/s (cells = 2 x pairs)")
    print(f"{'case':52s} {'old':>8s} {'new':>8s} {'new/old':>8s}  identical")
    for lname, planes in layers.items():
        for label, cfg in (("no cycling", plain), (f"{args.cycles} pulses per cell", cycled)):
            reps = args.repeats if cfg is plain else 1
            m_old, s_old = measure(old, planes, cfg, reps)
            m_new, s_new = measure(new, planes, cfg, reps)
            same = torch.equal(s_old.r_diff, s_new.r_diff) and torch.equal(s_old.r_sum, s_new.r_sum)
            same = same if cfg is plain else ("new stream" if not same else "True (?)")
            print(f"{lname + ', ' + label:52s} {m_old:8.2f} {m_new:8.2f} {m_new / m_old:7.2f}x  {same}")
        m_new, _ = measure(new, planes, sml, 1, **program_options("synaptogenml"))
        print(f"{lname + ', synaptogenml regime (' + str(sml.cycles_before_programming) + ' per array)':52s} "
              f"{'-':>8s} {m_new:8.2f} {'':>8s}  (new only)")
    if args.profile:
        planes = layers["384x1536 4-bit (3 planes)"]
        pr = cProfile.Profile()
        pr.enable()
        new(planes, plain, synaptogen_iv(), seed=1, layer_name="bench")
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
