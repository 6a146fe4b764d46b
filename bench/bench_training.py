"""Training throughput (seconds of audio per second) of float vs QAT models, side by side.

One training step = log-mel features, SpecAugment, model forward, CTC loss, backward, gradient
clipping, RAdam step: exactly what ``memristor_asr.training.train`` does per batch. Audio is
random noise and targets random labels (throughput does not depend on content). Reports the
median over the measured steps after warm-up steps.

    .venv/bin/python bench/bench_training.py                      # demo and paper, float vs 3-bit
    .venv/bin/python bench/bench_training.py --profiles demo --steps 10 --bits 3 1.5
"""
import argparse
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "recipe"))

import torch

from memristor_asr.model import ConformerCtcModelV1, demo_config, paper_config
from memristor_asr.quant import QuantConfigV1
from memristor_asr.training import SpecAugConfigV1
from memristor_asr.training.trainer import ctc_loss_sum

VOCAB = ["<blank>"] + [f"P{i}" for i in range(39)]


class Runner:
    """One model + optimizer + fixed batch; ``step()`` times one full training step."""

    def __init__(self, profile, bits, args, device):
        make = demo_config if profile == "demo" else paper_config
        torch.manual_seed(0)
        self.model = ConformerCtcModelV1(make(VOCAB, QuantConfigV1(weight_bits=bits))).to(device).train()
        self.opt = torch.optim.RAdam(self.model.parameters(), lr=1e-4, weight_decay=1e-2, decoupled_weight_decay=True)
        n = max(1, int(args.batch_seconds // args.utt_seconds))
        g = torch.Generator().manual_seed(1)
        samples = int(args.utt_seconds * 16000)
        self.audio = (torch.randn(n, samples, generator=g) * 0.1).to(device)
        self.lens = torch.full((n,), samples, dtype=torch.long, device=device)
        tlen = int(args.utt_seconds * 12)  # ~12 phonemes per second
        self.targets = torch.randint(1, len(VOCAB), (n * tlen,), generator=g).to(device)
        self.tlens = torch.full((n,), tlen, dtype=torch.long, device=device)
        self.audio_seconds = n * args.utt_seconds
        self.device = device

    def step(self) -> float:
        sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        sync()
        t0 = time.perf_counter()
        loss = ctc_loss_sum(self.model, self.audio, self.lens, self.targets, self.tlens, specaug=SpecAugConfigV1())
        self.opt.zero_grad(set_to_none=True)
        (loss / self.tlens.sum()).backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 20.0)
        self.opt.step()
        sync()
        return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profiles", nargs="+", default=["demo", "paper"], choices=["demo", "paper"])
    p.add_argument("--bits", nargs="+", type=float, default=[3.0], help="QAT weight bits to compare with float")
    p.add_argument("--steps", type=int, default=5, help="measured steps per configuration")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch-seconds", type=float, default=32.0, help="audio seconds per batch")
    p.add_argument("--utt-seconds", type=float, default=4.0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--max-overhead", type=float, default=1.3, help="exit 1 if a QAT/float time ratio exceeds this")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores, batch {args.batch_seconds:g} s of {args.utt_seconds:g}-s utterances, "
          f"{args.warmup} warm-up + {args.steps} measured steps", flush=True)
    # QAT/float time: the median of the per-round ratios
    header = f"{'profile':8} {'model':10} {'step s (median)':>16} {'audio s/s':>10} {'QAT/float time':>15}"
    print(header)
    print("-" * len(header), flush=True)
    worst = 0.0
    for profile in args.profiles:
        # steps of the float and QAT models alternate, so load from other processes hits both alike;
        # the ratio is the median of the per-round ratios
        runners = {None: Runner(profile, None, args, device)}
        runners.update({b: Runner(profile, b, args, device) for b in args.bits})
        times = {b: [] for b in runners}
        for i in range(args.warmup + args.steps):
            for b, r in runners.items():
                t = r.step()
                if i >= args.warmup:
                    times[b].append(t)
        audio_s = runners[None].audio_seconds
        float_med = statistics.median(times[None])
        print(f"{profile:8} {'float':10} {float_med:16.3f} {audio_s / float_med:10.2f} {'1.00':>15}", flush=True)
        for bits in args.bits:
            med = statistics.median(times[bits])
            ratio = statistics.median(q / f for q, f in zip(times[bits], times[None]))
            worst = max(worst, ratio)
            print(f"{profile:8} {f'QAT {bits:g}-bit':10} {med:16.3f} {audio_s / med:10.2f} {ratio:15.2f}", flush=True)
    print(f"largest QAT overhead: {worst:.2f}x (limit {args.max_overhead:g}x)")
    sys.exit(0 if worst <= args.max_overhead else 1)


if __name__ == "__main__":
    main()
