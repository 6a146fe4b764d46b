"""Where a crossbar layer's forward spends its time: one line per operation, fused path and
torch path side by side, at each thread count, interleaved repeats (medians).

Layer: 384 -> 1536, 4-bit weights (3 planes), 250 frames, ADC 4+4, DAC 8, 128 x 128 tiles,
physical read noise (the issue #20 setting). Reference line: float ``nn.Linear`` of the same size.

Usage: ``python bench/profile_crossbar_layer.py [--threads 1 2] [--repeats 15] [--noise paper]``
"""
import argparse
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "recipe"))

import torch  # noqa: E402

from memristor_asr.crossbar import CrossbarConfigV2, CrossbarLinearV1, fused_adc  # noqa: E402
from memristor_asr.crossbar.programming import derive_seed  # noqa: E402
from memristor_asr.quant import QuantLinear, calibration  # noqa: E402


def build(noise: str):
    torch.manual_seed(0)
    q = QuantLinear(384, 1536, weight_bits=4, name="ff")
    with calibration(q):
        q(torch.randn(512, 384))
    return CrossbarLinearV1.from_quant_linear(q, CrossbarConfigV2(read_noise=noise), seed=1, name="ff")


def stages(xb: CrossbarLinearV1, x: torch.Tensor):
    """The operations of both paths as separate callables on prepared inputs."""
    codes, levels = xb.dac.codes(x, xb.act_scale, xb.act_q_max)
    d_tab, c0_tab, c1_tab, _ = xb._level_tables(levels, x.device)
    idx = codes + levels
    d_in, c0_in, c1_in = d_tab[idx], c0_tab[idx], c1_tab[idx]
    n, cols, rows = x.shape[0], xb.r_diff.shape[2], xb.tile_row_counts
    v, var = torch.empty(n, cols), torch.empty(n, cols)
    y = torch.zeros(n, xb.out_features)
    sig = xb.significance.numpy()

    def dac_and_tables():
        c, lv = xb.dac.codes(x, xb.act_scale, xb.act_q_max)
        i = c + lv
        return d_tab[i], c0_tab[i], c1_tab[i]

    def mean_products():
        r0 = 0
        for j, r in enumerate(rows):
            torch.mm(d_in[:, r0:r0 + r], xb.r_diff[j, :r], out=v)
            r0 += r

    def variance_products():
        r0 = 0
        for j, r in enumerate(rows):
            torch.mm(c1_in[:, r0:r0 + r], xb.r_sum[j, :r], out=var)
            var.add_(2.0 * c0_in[:, r0:r0 + r].sum(1, keepdim=True))
            r0 += r

    torch.mm(d_in[:, :128], xb.r_diff[0], out=v)
    torch.mm(c1_in[:, :128], xb.r_sum[0], out=var)
    vn, varn = v.numpy(), var.numpy()
    v_keep = v.clone()

    def fused_kernel():  # noise + ADC + significance + tile sum, once per row tile
        for j in range(len(rows)):
            vn[:] = v_keep.numpy()
            fused_adc.adc_accumulate(vn, varn, y.numpy(), sig, xb.out_features, derive_seed(1, j), True,
                                     xb.adc.max_code)

    def copy_only():  # the kernel's input refresh above, to subtract
        for _ in range(len(rows)):
            vn[:] = v_keep.numpy()

    blocks = xb._blocks(d_in).transpose(0, 1)
    cur = torch.bmm(blocks, xb.r_diff)
    gen = torch.Generator()
    gen.manual_seed(0)

    torch_ops = {
        "torch: mean bmm (padded tiles)": lambda: torch.bmm(blocks, xb.r_diff),
        "torch: variance bmm + sqrt": lambda: xb._read_noise_std(c0_in, c1_in),
        "torch: randn (Mersenne Twister)": lambda: torch.randn(cur.shape, generator=gen),
        "torch: addcmul + ADC + combine": lambda: xb._digitize_and_combine(cur.clone().addcmul_(cur, cur.mul(0))),
    }
    fused_ops = {
        "fused: DAC codes + table gather": dac_and_tables,
        "fused: mean products (fp32 mm per tile)": mean_products,
        "fused: variance products (fp32 mm per tile)": variance_products,
        "fused: noise + ADC + combine kernel": fused_kernel,
        "  (input copy inside the line above)": copy_only,
    }
    return fused_ops, torch_ops


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--noise", default="physical")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, capability {torch.backends.cpu.get_cpu_capability()}, "
          f"load average {os.getloadavg()}")
    xb = build(args.noise)
    x = torch.randn(250, 384)
    lin = torch.nn.Linear(384, 1536)
    fused_ops, torch_ops = stages(xb, x)
    ops = {"float nn.Linear": lambda: lin(x), "fused: whole forward": lambda: xb(x),
           "torch path: whole forward": lambda: xb._digitize_and_combine(xb._column_codes(x)),
           **fused_ops, **torch_ops}
    for threads in args.threads:
        torch.set_num_threads(threads)
        times = {k: [] for k in ops}
        with torch.no_grad():
            for f in ops.values():
                f()
            for _ in range(args.repeats):
                for k, f in ops.items():
                    t0 = time.perf_counter()
                    f()
                    times[k].append(time.perf_counter() - t0)
        med = {k: 1000 * statistics.median(v) for k, v in times.items()}
        ref = med["float nn.Linear"]
        print(f"\n{threads} thread(s), {args.noise} noise: ms (x float)")
        for k, v in med.items():
            print(f"  {k:48s} {v:8.2f}  ({v / ref:5.1f}x)")
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
