"""Wiring of the seed-claims table: which results of the default graph test which claim of the
papers (`../shared/spec/memristor.md` section 6), and which plain comparisons the report lists.

Only wiring: the tests, intervals and verdicts live in `memristor_asr.report.seed_claims` and
`memristor_asr.scoring.significance`. A claim whose systems are not in the graph (a personal graph
without that ADC split) is left out.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

POS_PATTERN = "*.linear_pos"


@dataclass
class Results:
    """Evaluated systems of one graph (values: ``config.memristor_adc.Draws``).

    Attributes:
        digital: ``(system, bits)`` -> draws; systems "float" (bits None), "QAT", "PTQ",
            "study rel-pos", "study none-pos"
        table3: ``(regime, bits, (p, r))`` -> draws
        study: ``(regime, pos_enc, (p, r), pos_adc or None)`` -> draws
        nnadc: the NNADC study entry (ideal combiner), or None
        nnadc_calibrated: ``calibration method -> (label, draws)``: the NNADC entries with a
            calibrated combiner
        no_lm: the same kinds of results searched without the LM (a subset), or None
        beyond: issue #18's study entries, ``key -> (label, draws)`` (rel-pos model, base 4+4)
    """

    digital: Dict[Tuple[str, Any], Any] = field(default_factory=dict)
    table3: Dict[Tuple[str, float, Tuple[int, int]], Any] = field(default_factory=dict)
    study: Dict[Tuple[str, str, Tuple[int, int], Optional[Tuple[int, int]]], Any] = field(default_factory=dict)
    nnadc: Any = None
    nnadc_calibrated: Dict[str, Tuple[str, Any]] = field(default_factory=dict)
    no_lm: Optional["Results"] = None
    beyond: Dict[str, Tuple[str, Any]] = field(default_factory=dict)


def _adc(a) -> str:
    return f"{a[0]}+{a[1]}"


def seed_claims(res: Results, s) -> List[Dict[str, Any]]:
    """The claims (and plain comparisons) of the report for the settings ``s``."""
    out: List[Dict[str, Any]] = []
    r2, hilmes = "Rossenbach et al., Table 2", "Hilmes et al."

    def cmp(cid, source, claim, seed, test, a, b, a_label, b_label, regime=None, note=None, **extra):
        if a is None or b is None:
            return
        c = {"id": cid, "source": source, "claim": claim, "seed": seed, "test": test, "a": a.reports,
             "b": b.reports, "a_label": a_label, "b_label": b_label, "regime": regime, **extra}
        if note:
            c["note"] = note
        out.append(c)

    dig = res.digital
    # --- Rossenbach et al., Table 2 (digital)
    for bits, seed in ((4, "PTQ 11.4 % vs QAT 7.8 %"), (3, "PTQ 30.7 % vs QAT 8.3 %")):
        cmp(f"T2-ptq{bits}", r2, f"PTQ degrades below 5 bits: {bits}-bit PTQ is worse than {bits}-bit QAT", seed,
            "worse", dig.get(("PTQ", bits)), dig.get(("QAT", bits)), f"PTQ {bits}-bit", f"QAT {bits}-bit")
    cmp("T2-qat3", r2, "QAT stays within 15 % relative of float down to 3 bits", "QAT 3-bit 8.3 % vs float 7.2 %",
        "within_rel", dig.get(("QAT", 3)), dig.get(("float", None)), "QAT 3-bit", "float", threshold=0.15)
    cmp("T2-qat2", r2, "2-bit QAT breaks (more than +50 % relative over float)", "QAT 2-bit 22.1 % vs float 7.2 %",
        "beyond_rel", dig.get(("QAT", 2)), dig.get(("float", None)), "QAT 2-bit", "float", threshold=0.5)

    # --- Rossenbach et al., Table 3 (memristor vs digital QAT, the paper's 8-bit converters)
    for regime in s.regimes:
        for bits, seed in ((3, "9.2 +- 0.12 % vs digital 8.3 % (+11 % rel)"),
                           (8, "8.3 % vs digital 7.3 % (+14 % rel)")):
            mem = res.table3.get((regime, bits, (8, 8)))
            cmp(f"T3-mem{bits}-{regime}", "Rossenbach et al., Table 3",
                f"{bits}-bit QAT model on memristors (ADC 8+8) is worse than digital", seed, "worse",
                mem, dig.get(("QAT", bits)), f"memristor {bits}-bit 8+8", f"QAT {bits}-bit digital", regime)
            if mem is not None:
                out.append({"id": f"T3-outliers{bits}-{regime}", "source": "Rossenbach et al., Table 3",
                            "claim": f"{bits}-bit draws stay within 5 % relative of their mean",
                            "seed": "std 0.09-0.16 over 10 draws", "test": "max_rel_dev", "wers": mem.wers,
                            "threshold": 0.05, "regime": regime})

    # --- Hilmes et al. (ADC study, 4-bit study models)
    sb = s.study_bits
    cmp("H-pos-digital", hilmes, "digitally, the model with rel-pos encoding is better than without",
        "13.8 % (no pos) vs 12.8 % (rel-pos)", "worse", dig.get(("study none-pos", sb)), dig.get(("study rel-pos", sb)),
        "no-pos digital", "rel-pos digital", note=f"both study models trained with the {s.study_recipe!r} recipe")
    for regime in s.regimes:
        st = res.study

        def g(pos, a, pos_adc=None):
            return st.get((regime, pos, a, pos_adc))

        base = g("rel", (4, 4))
        if base is not None:
            out.append({"id": f"H-clip-{regime}", "source": hilmes,
                        "claim": "about 40 % of the pos-enc projection's ADC outputs are clipped at 4+4",
                        "seed": "~40 %", "test": "clipped_fraction", "clipping": base.clipping,
                        "layer_pattern": POS_PATTERN, "expected": [0.3, 0.5], "regime": regime,
                        # the papers' 384-wide layers fill whole 128-row tiles; the demo model's 144
                        # inputs leave a 16-row tile that sums few inputs and hardly clips
                        "scope": "full_tiles"})
        cmp(f"H-nopos-device-{regime}", hilmes, "on devices (ADC 4+4) the model without pos-enc beats the one with it",
            "15.4 % (no pos) vs 15.9 % (rel-pos)", "better", g("none", (4, 4)), base, "no-pos 4+4", "rel-pos 4+4",
            regime)
        cmp(f"H-range-global-{regime}", hilmes, "more range bits (global 4+8) recover from 4+4",
            "15.9 % -> 14.1 %", "better", g("rel", (4, 8)), base, "rel-pos 4+8", "rel-pos 4+4", regime)
        cmp(f"H-range-pos-{regime}", hilmes, "more range bits for the pos-enc projection only (4+8) recover",
            "15.9 % -> 14.1 %", "better", g("rel", (4, 4), (4, 8)), base, "pos-proj 4+8", "rel-pos 4+4", regime)
        cmp(f"H-precision-{regime}", hilmes, "more precision (8+4) does not help", "no gain", "not_better",
            g("rel", (8, 4)), base, "rel-pos 8+4", "rel-pos 4+4", regime)
        cmp(f"H-low-precision-{regime}", hilmes, "precision below 3 bits (2+6) degrades significantly",
            "significant degradation", "worse", g("rel", (2, 6)), base, "rel-pos 2+6", "rel-pos 4+4", regime)
        cmp(f"H-shift-pos-{regime}", hilmes,
            "moving bits from precision to range for the pos-enc projection only (2+6) helps at no extra bits",
            "improvement", "better", g("rel", (4, 4), (2, 6)), base, "pos-proj 2+6", "rel-pos 4+4", regime)

    # --- the no-LM condition: the memristor degradation and the range effect with the 4-gram removed
    nl = res.no_lm
    if nl is not None:
        ref = s.regimes[0]
        tag = f"{ref}, no LM"
        for bits, seed in ((3, "+11 % rel (with LM)"), (8, "+14 % rel (with LM)")):
            cmp(f"T3-mem{bits}-{ref}-nolm", "Rossenbach et al., Table 3",
                f"{bits}-bit QAT model on memristors (ADC 8+8) is worse than digital, searched without the LM",
                seed, "worse", nl.table3.get((ref, bits, (8, 8))), nl.digital.get(("QAT", bits)),
                f"memristor {bits}-bit 8+8, no LM", f"QAT {bits}-bit digital, no LM", tag)
        base = nl.study.get((ref, "rel", (4, 4), None))
        cmp(f"H-range-global-{ref}-nolm", hilmes, "more range bits (global 4+8) recover from 4+4, without the LM",
            "15.9 % -> 14.1 % (with LM)", "better", nl.study.get((ref, "rel", (4, 8), None)), base,
            "rel-pos 4+8, no LM", "rel-pos 4+4, no LM", tag)
        cmp(f"H-range-pos-{ref}-nolm", hilmes,
            "more range bits for the pos-enc projection only (4+8) recover, without the LM",
            "15.9 % -> 14.1 % (with LM)", "better", nl.study.get((ref, "rel", (4, 4), (4, 8))), base,
            "pos-proj 4+8, no LM", "rel-pos 4+4, no LM", tag)
        cmp(f"C-study-4+4-vs-digital-{ref}-nolm", "this study", "rel-pos 4+4 on memristors vs digital, without the LM",
            "-", "compare", base, nl.digital.get(("study rel-pos", sb)), "rel-pos 4+4, no LM", "digital, no LM", tag)

    # --- plain comparisons: every ADC split against 4+4, regime against regime
    for (regime, pos, a, pos_adc), d in res.study.items():
        base = res.study.get((regime, pos, (4, 4), None))
        if d is base or base is None:
            continue
        what = f"pos-proj {_adc(pos_adc)}" if pos_adc else f"{pos}-pos {_adc(a)}"
        cmp(f"C-{what.replace(' ', '-')}-vs-4+4-{regime}", "this study", f"{what} vs 4+4", "-", "compare",
            d, base, what, f"{pos}-pos 4+4", regime)
    for bits in s.qat_bits:
        cmp(f"C-qat{bits:g}-vs-ptq", "this study", f"QAT vs PTQ at {bits:g} bits", "-", "compare",
            dig.get(("QAT", bits)), dig.get(("PTQ", bits)), f"QAT {bits:g}-bit", f"PTQ {bits:g}-bit")
    if len(s.regimes) > 1:
        ref = s.regimes[0]
        for other in s.regimes[1:]:
            for (regime, bits, a), d in res.table3.items():
                if regime == other:
                    cmp(f"C-table3-{bits:g}bit-{_adc(a)}-{other}-vs-{ref}", "this study",
                        f"{other} vs {ref} regime, {bits:g}-bit {_adc(a)}", "-", "compare", d,
                        res.table3.get((ref, bits, a)), f"{other}", f"{ref}", other)
                    cmp(f"C-table3-{bits:g}bit-{_adc(a)}-{other}-vs-digital", "this study",
                        f"memristor ({other}) vs digital, {bits:g}-bit {_adc(a)}", "-", "compare", d,
                        dig.get(("QAT", bits)), f"memristor {bits:g}-bit {_adc(a)}", "digital", other)
            for (regime, pos, a, pos_adc), d in res.study.items():
                if regime == other:
                    what = f"pos-proj {_adc(pos_adc)}" if pos_adc else f"{pos}-pos {_adc(a)}"
                    cmp(f"C-{what.replace(' ', '-')}-{other}-vs-{ref}", "this study",
                        f"{other} vs {ref} regime, {what}", "-", "compare", d,
                        res.study.get((ref, pos, a, pos_adc)), other, ref, other)
    for (regime, bits, a), d in res.table3.items():
        if regime == s.regimes[0]:
            cmp(f"C-table3-{bits:g}bit-{_adc(a)}-vs-digital", "this study",
                f"memristor ({regime}) vs digital, {bits:g}-bit {_adc(a)}", "-", "compare", d,
                dig.get(("QAT", bits)), f"memristor {bits:g}-bit {_adc(a)}", "digital", regime)
    base44 = res.study.get((s.regimes[0], "rel", (4, 4), None))
    for key, (label, d) in res.beyond.items():
        cmp(f"C-{key}-vs-4+4", "this study", f"{label} vs the base 4+4 (rel-pos)", "-", "compare", d, base44,
            label, "rel-pos 4+4", s.regimes[0])
    if res.nnadc is not None:
        cmp("C-nnadc-vs-4+4", "this study", "NNADC entry vs uniform 4+4", "-", "compare", res.nnadc,
            res.study.get((s.regimes[0], "rel", (4, 4), None)), "NNADC", "uniform 4+4", s.regimes[0])
    for cal, (label, d) in res.nnadc_calibrated.items():
        cmp(f"C-nnadc-{cal}-vs-4+4", "this study", f"{label} vs uniform 4+4", "-", "compare", d,
            res.study.get((s.regimes[0], "rel", (4, 4), None)), label, "uniform 4+4", s.regimes[0])
        if res.nnadc is not None:
            cmp(f"C-nnadc-{cal}-vs-nnadc", "this study", f"{label} vs the uncalibrated NNADC", "-", "compare", d,
                res.nnadc, label, "NNADC (ideal combiner)", s.regimes[0])
    return out
