"""The "seed claims" table: what the papers this study builds on claim, checked against this run.

A claim is a plain dict (see :func:`validate_claims` for the keys); its ``test`` decides how this
run's numbers turn into one verdict of :data:`VERDICTS`:

- ``worse`` / ``better``: WER(a) >, < WER(b). "reproduced" when the paired two-level bootstrap
  interval of WER(a) - WER(b) (:func:`memristor_asr.scoring.significance.compare_wer`) excludes 0 in
  the claimed direction, "opposite" when it excludes 0 the other way, else "not significant".
- ``not_better``: a is not better than b: "reproduced" unless a is significantly better
  ("not reproduced").
- ``within_rel`` / ``beyond_rel``: the relative difference WER(a) / WER(b) - 1 (signed: a
  degradation of a against b) is below / above ``threshold``: decided by the interval of the
  relative difference lying wholly below or wholly above the threshold; "not significant" when it
  straddles it.
- ``max_rel_dev``: the largest |w - mean| / mean over the per-draw WERs ``wers`` is below
  ``threshold`` (a descriptive check of draw spread; no interval).
- ``compare``: no claim, a plain comparison for the report's comparison list (not in the claims
  table); its verdict is "significant" or "within noise".
- ``clipped_fraction``: the ADC clipped fraction pooled over the layers matching ``layer_pattern``
  (per draw, from clipping JSON reports), its mean and a t-interval over draws overlaps
  ``expected`` = [lo, hi]. Optional ``scope``: "layer" (every row tile, the default) or
  "full_tiles" (only row tiles with all their rows: a partial last tile sums fewer inputs and
  clips less, so a layer whose width is no multiple of the tile height dilutes the fraction).

Inputs are already resolved (paths as str, variables as values); the Sisyphus job resolves them.
"""
import fnmatch
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from memristor_asr.scoring.significance import WerComparison, compare_wer, read_utterance_errors

__all__ = ["VERDICTS", "COMPARISON_TESTS", "TESTS", "ClaimResult", "validate_claims", "evaluate_claims",
           "pooled_clipped_fraction", "claims_markdown", "comparisons_markdown", "claims_json"]

VERDICTS = ("reproduced", "not reproduced", "opposite", "not significant")
COMPARISON_TESTS = ("worse", "better", "not_better", "within_rel", "beyond_rel", "compare")
TESTS = COMPARISON_TESTS + ("max_rel_dev", "clipped_fraction")

_COMMON_REQUIRED = ("id", "source", "claim", "seed", "test")
_COMMON_OPTIONAL = ("regime", "note")
_TEST_KEYS = {
    "worse": ("a", "b", "a_label", "b_label"),
    "better": ("a", "b", "a_label", "b_label"),
    "not_better": ("a", "b", "a_label", "b_label"),
    "compare": ("a", "b", "a_label", "b_label"),
    "within_rel": ("a", "b", "a_label", "b_label", "threshold"),
    "beyond_rel": ("a", "b", "a_label", "b_label", "threshold"),
    "max_rel_dev": ("wers", "threshold"),
    "clipped_fraction": ("clipping", "layer_pattern", "expected"),
}
#: optional keys per test
_TEST_OPTIONAL = {"clipped_fraction": ("scope",)}
#: ``scope`` values of a ``clipped_fraction`` claim
CLIP_SCOPES = ("layer", "full_tiles")


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def validate_claims(claims: Sequence[Mapping[str, Any]]) -> None:
    """Raise ValueError (naming the claim and the key) for a claim list that cannot be evaluated.

    Works on unresolved claims too (values may still be Sisyphus paths / variables): only the
    structure is checked. Keys of every claim: ``id`` (unique str), ``source``, ``claim``, ``seed``
    (str), ``test`` (one of :data:`TESTS`), optional ``regime`` (str or None) and ``note`` (str); per
    test: comparisons ``a``, ``b`` (non-empty lists, one sclite report per draw), ``a_label``,
    ``b_label`` (str), plus ``threshold`` (number) for ``within_rel`` / ``beyond_rel``;
    ``max_rel_dev``: ``wers`` (non-empty list, or one variable holding the list), ``threshold``;
    ``clipped_fraction``: ``clipping`` (non-empty list of report files), ``layer_pattern`` (fnmatch
    pattern), ``expected`` ([lo, hi] with 0 <= lo <= hi <= 1), optional ``scope`` (one of
    :data:`CLIP_SCOPES`). Other keys are an error (a typo would otherwise be ignored).
    """
    if not isinstance(claims, (list, tuple)) or not claims:
        raise ValueError(f"claims must be a non-empty list of dicts, got {type(claims).__name__} {claims!r:.80}")
    seen = set()
    for i, c in enumerate(claims):
        if not isinstance(c, Mapping):
            raise ValueError(f"claim #{i}: must be a dict, got {type(c).__name__}")
        cid = c.get("id")
        if not isinstance(cid, str) or not cid.strip():
            raise ValueError(f"claim #{i}: key 'id' must be a non-empty str, got {cid!r}")
        name = f"claim {cid!r}"
        if cid in seen:
            raise ValueError(f"{name}: duplicate 'id'")
        seen.add(cid)
        for k in _COMMON_REQUIRED:
            if k not in c:
                raise ValueError(f"{name}: missing key {k!r}")
        test = c["test"]
        if test not in _TEST_KEYS:
            raise ValueError(f"{name}: unknown 'test' {test!r}; known: {list(TESTS)}")
        for k in ("source", "claim", "seed"):
            if not isinstance(c[k], str):
                raise ValueError(f"{name}: key {k!r} must be a str, got {type(c[k]).__name__}")
        if c.get("regime") is not None and not isinstance(c["regime"], str):
            raise ValueError(f"{name}: key 'regime' must be a str or None, got {c['regime']!r}")
        if c.get("note") is not None and not isinstance(c["note"], str):
            raise ValueError(f"{name}: key 'note' must be a str, got {c['note']!r}")
        needed = _TEST_KEYS[test]
        for k in needed:
            if k not in c:
                raise ValueError(f"{name}: test {test!r} needs key {k!r}")
        optional = _TEST_OPTIONAL.get(test, ())
        unknown = sorted(set(c) - set(_COMMON_REQUIRED) - set(_COMMON_OPTIONAL) - set(needed) - set(optional))
        if unknown:
            raise ValueError(f"{name}: unexpected key(s) {unknown} for test {test!r} (expected {list(needed)} "
                             f"besides {list(_COMMON_REQUIRED + _COMMON_OPTIONAL + optional)})")
        if "scope" in c and c["scope"] not in CLIP_SCOPES:
            raise ValueError(f"{name}: key 'scope' must be one of {list(CLIP_SCOPES)}, got {c['scope']!r}")
        for k in ("a", "b", "clipping"):
            if k in needed and (not isinstance(c[k], (list, tuple)) or not c[k]):
                raise ValueError(f"{name}: key {k!r} must be a non-empty list (one entry per device draw), "
                                 f"got {c[k]!r:.80}")
        for k in ("a_label", "b_label", "layer_pattern"):
            if k in needed and (not isinstance(c[k], str) or not c[k]):
                raise ValueError(f"{name}: key {k!r} must be a non-empty str, got {c[k]!r}")
        if "threshold" in needed and (not _is_number(c["threshold"]) or c["threshold"] < (
                0 if test == "max_rel_dev" else -1)):
            raise ValueError(f"{name}: key 'threshold' must be a number "
                             f"({'>= 0' if test == 'max_rel_dev' else '> -1, a relative difference'}), "
                             f"got {c['threshold']!r}")
        if "wers" in needed:
            w = c["wers"]
            if isinstance(w, (list, tuple)):
                if not w:
                    raise ValueError(f"{name}: key 'wers' is an empty list")
            elif _is_number(w) or isinstance(w, (str, Mapping)):
                raise ValueError(f"{name}: key 'wers' must be a list of per-draw WERs (or a variable holding "
                                 f"one), got {w!r}")
        if "expected" in needed:
            e = c["expected"]
            if not (isinstance(e, (list, tuple)) and len(e) == 2 and all(_is_number(x) for x in e)
                    and 0 <= e[0] <= e[1] <= 1):
                raise ValueError(f"{name}: key 'expected' must be [lo, hi] with 0 <= lo <= hi <= 1, got {e!r}")


@dataclass
class ClaimResult:
    """One evaluated claim.

    Attributes:
        id, source, claim, seed, regime, note, test: from the claim
        this_run: this run's figure as text (the table cell)
        verdict: one of :data:`VERDICTS`
        comparison: the WER comparison (comparison tests), else None
        a_label, b_label: the compared systems (comparison tests)
        details: test-specific numbers (JSON-ready)
    """

    id: str
    source: str
    claim: str
    seed: str
    regime: Optional[str]
    note: str
    test: str
    this_run: str
    verdict: str
    comparison: Optional[WerComparison] = None
    a_label: str = ""
    b_label: str = ""
    details: Dict[str, Any] = field(default_factory=dict)


def _comparison_verdict(test: str, c: WerComparison, threshold: Optional[float]) -> str:
    lo, hi = c.abs_ci
    if test == "worse":
        return "reproduced" if lo > 0 else "opposite" if hi < 0 else "not significant"
    if test == "better":
        return "reproduced" if hi < 0 else "opposite" if lo > 0 else "not significant"
    if test == "not_better":
        return "not reproduced" if hi < 0 else "reproduced"
    if test == "compare":
        return "significant" if c.significant else "within noise"
    rlo, rhi = c.rel_ci
    if math.isnan(rlo) or math.isnan(rhi):
        return "not significant"  # b has no errors at all: no relative difference
    if test == "within_rel":
        return "reproduced" if rhi < threshold else "not reproduced" if rlo > threshold else "not significant"
    if test == "beyond_rel":
        return "reproduced" if rlo > threshold else "not reproduced" if rhi < threshold else "not significant"
    raise ValueError(f"not a comparison test: {test!r}")


def pooled_clipped_fraction(report: Mapping[str, Any], layer_pattern: str, where: str,
                            scope: str = "layer") -> Dict[str, Any]:
    """Clipped ADC outputs / all outputs over the layers whose names match ``layer_pattern``.

    The pooled ``__total__`` entry only counts when the pattern is exactly ``"__total__"`` (``"*"``
    would count every output twice otherwise).

    :param report: ``{layer: {"clipped": int, "outputs": int, "full_tiles": {...}, ...}, "__total__": {...}}``
    :param where: names the report in errors (file, claim)
    :param scope: "layer" (all row tiles) or "full_tiles" (the layers' ``full_tiles`` counts;
        reports written before those counts existed fall back to "layer", said in ``scope``)
    :return: ``{"fraction", "clipped", "outputs", "layers", "scope", "layer_fraction"}``
    """
    if scope not in CLIP_SCOPES:
        raise ValueError(f"{where}: scope must be one of {list(CLIP_SCOPES)}, got {scope!r}")
    if not isinstance(report, Mapping):
        raise ValueError(f"{where}: clipping report must be a JSON object, got {type(report).__name__}")
    names = [k for k in report if (k == "__total__") == (layer_pattern == "__total__")
             and fnmatch.fnmatchcase(str(k), layer_pattern)]
    if not names:
        raise ValueError(f"{where}: no layer matches pattern {layer_pattern!r} (layers: {sorted(report)[:12]})")
    if scope == "full_tiles" and not all(isinstance(report[k], Mapping) and "full_tiles" in report[k] for k in names):
        scope = "layer (report has no per-tile counts)"
    totals = {"layer": [0, 0], "full": [0, 0]}
    for k in names:
        v = report[k]
        if not isinstance(v, Mapping) or not _is_number(v.get("clipped")) or not _is_number(v.get("outputs")):
            raise ValueError(f"{where}: layer {k!r} lacks numeric 'clipped' and 'outputs' (got {v!r:.120})")
        totals["layer"][0] += v["clipped"]
        totals["layer"][1] += v["outputs"]
        if scope == "full_tiles":
            f = v["full_tiles"]
            if not isinstance(f, Mapping) or not _is_number(f.get("clipped")) or not _is_number(f.get("outputs")):
                raise ValueError(f"{where}: layer {k!r}: 'full_tiles' lacks numeric 'clipped' and 'outputs'")
            totals["full"][0] += f["clipped"]
            totals["full"][1] += f["outputs"]
    for key, (clipped, outputs) in totals.items():
        if key == "layer" or scope == "full_tiles":
            if outputs <= 0:
                raise ValueError(f"{where}: layers matching {layer_pattern!r} have no ADC outputs"
                                 + (" in full row tiles" if key == "full" else ""))
            if not 0 <= clipped <= outputs:
                raise ValueError(f"{where}: {clipped} clipped of {outputs} outputs is not a fraction")
    clipped, outputs = totals["full" if scope == "full_tiles" else "layer"]
    return {"fraction": clipped / outputs, "clipped": clipped, "outputs": outputs, "layers": sorted(names),
            "scope": scope, "layer_fraction": totals["layer"][0] / totals["layer"][1]}


def _load_json(path: str, where: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{where}: cannot read clipping report {path}: {e}") from None


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def evaluate_claims(claims: Sequence[Mapping[str, Any]], confidence: float = 0.95, n_resamples: int = 4000,
                    seed: int = 0, reader: Callable[[str], Mapping] = read_utterance_errors) -> List[ClaimResult]:
    """Verdict of every claim (inputs resolved: report dirs / clipping files as paths, WERs as numbers).

    Draw entries of ``a`` / ``b`` are sclite report directories (read with ``reader``, each once) or
    already-read ``{utterance: (errors, words)}`` dicts. ``clipping`` entries are JSON files or dicts.
    """
    from scipy import stats

    validate_claims(claims)
    cache: Dict[str, Mapping] = {}

    def draws(c, key):
        out = []
        for i, d in enumerate(c[key]):
            if isinstance(d, Mapping):
                out.append(d)
                continue
            p = os.fspath(d)
            if p not in cache:
                try:
                    cache[p] = reader(p)
                except (OSError, ValueError) as e:
                    raise type(e)(f"claim {c['id']!r}, {key}[{i}]: {e}") from None
            out.append(cache[p])
        return out

    results = []
    for c in claims:
        cid, test = c["id"], c["test"]
        base = dict(id=cid, source=c["source"], claim=c["claim"], seed=c["seed"], regime=c.get("regime"),
                    note=c.get("note") or "", test=test)
        if test in COMPARISON_TESTS:
            try:
                cmp = compare_wer(draws(c, "a"), draws(c, "b"), confidence=confidence, n_resamples=n_resamples,
                                  seed=seed)
            except ValueError as e:
                raise ValueError(f"claim {cid!r}: {e}") from None
            verdict = _comparison_verdict(test, cmp, c.get("threshold"))
            da, db = len(cmp.a_draw_wers), len(cmp.b_draw_wers)
            text = (f"{cmp.describe()}; draws {da} vs {db}{' (paired)' if cmp.draws_paired else ''}, "
                    f"p = {cmp.p_value:.3g}")
            if "threshold" in c:
                text += f"; threshold {100 * c['threshold']:+.1f} % rel"
            results.append(ClaimResult(**base, this_run=text, verdict=verdict, comparison=cmp,
                                       a_label=c["a_label"], b_label=c["b_label"],
                                       details={"threshold": c.get("threshold")}))
        elif test == "max_rel_dev":
            wers = c["wers"]
            if not isinstance(wers, (list, tuple)) or not wers or not all(_is_number(w) for w in wers):
                raise ValueError(f"claim {cid!r}: key 'wers' must resolve to a non-empty list of numbers, got {wers!r}")
            mean = sum(wers) / len(wers)
            if mean <= 0:
                raise ValueError(f"claim {cid!r}: mean WER over draws is {mean}; relative deviation undefined")
            dev = max(abs(w - mean) for w in wers) / mean
            verdict = "reproduced" if dev < c["threshold"] else "not reproduced"
            text = (f"max |w - mean| / mean = {100 * dev:.1f} % over {len(wers)} draw(s) (mean {mean:.2f} %, "
                    f"range {min(wers):.2f}-{max(wers):.2f} %); threshold {100 * c['threshold']:.1f} %")
            results.append(ClaimResult(**base, this_run=text, verdict=verdict,
                                       details={"max_rel_dev": dev, "mean": mean, "wers": list(wers),
                                                "threshold": c["threshold"]}))
        else:  # clipped_fraction
            lo, hi = c["expected"]
            per_draw = []
            for i, rep in enumerate(c["clipping"]):
                where = f"claim {cid!r}, clipping[{i}]"
                if not isinstance(rep, Mapping):
                    where += f" ({os.fspath(rep)})"
                    rep = _load_json(os.fspath(rep), where)
                per_draw.append(pooled_clipped_fraction(rep, c["layer_pattern"], where, c.get("scope", "layer")))
            fr = [d["fraction"] for d in per_draw]
            n = len(fr)
            mean = sum(fr) / n
            if n > 1:
                sd = math.sqrt(sum((x - mean) ** 2 for x in fr) / (n - 1))
                half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
                ci = (mean - half, mean + half)
                text = (f"{_pct(mean)} [{_pct(ci[0])}, {_pct(ci[1])}] ({100 * confidence:g} % t-interval over {n} "
                        f"draws)")
            else:
                ci = (mean, mean)
                text = f"{_pct(mean)} (1 draw: no interval)"
            scope = per_draw[0]["scope"]
            layer_fr = [d["layer_fraction"] for d in per_draw]
            if scope == "full_tiles":
                text = (f"full row tiles: {text}; all tiles: {_pct(sum(layer_fr) / n)}")
            elif scope != "layer":
                text += f" ({scope})"
            text += (f"; {len(per_draw[0]['layers'])} layer(s) match {c['layer_pattern']!r}; "
                     f"expected {_pct(lo)}-{_pct(hi)}")
            verdict = "reproduced" if ci[1] >= lo and ci[0] <= hi else "not reproduced"
            results.append(ClaimResult(**base, this_run=text, verdict=verdict,
                                       details={"fractions": fr, "mean": mean, "ci": list(ci) if n > 1 else None,
                                                "expected": [lo, hi], "layers": per_draw[0]["layers"],
                                                "layer_pattern": c["layer_pattern"], "scope": scope,
                                                "layer_fractions": layer_fr}))
    return results


def _cell(x: Any) -> str:
    return str("" if x is None else x).replace("|", "\\|").replace("\n", " ")


def claims_markdown(results: Sequence[ClaimResult], title: str = "Seed claims") -> str:
    """The claims table: id, source, claim, seed figure, regime, this run, verdict (notes below)."""
    lines = [f"## {title}", "", "| claim | source | claim text | seed figure | regime | this run | verdict |",
             "|---|---|---|---|---|---|---|"]
    results = [r for r in results if r.test != "compare"]
    for r in results:
        lines.append("| " + " | ".join(_cell(x) for x in (r.id, r.source, r.claim, r.seed, r.regime or "digital",
                                                          r.this_run, f"**{r.verdict}**")) + " |")
    counts = {v: sum(r.verdict == v for r in results) for v in VERDICTS}
    lines += ["", "Verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + "."]
    notes = [r for r in results if r.note]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {r.id}: {r.note}" for r in notes]
    lines.append("")
    return "\n".join(lines)


def comparisons_markdown(results: Sequence[ClaimResult], title: str = "Seed claims") -> str:
    """Every WER comparison with its interval, p-value and "significant" / "within noise"."""
    comps = [r for r in results if r.comparison is not None]
    lines = [f"## {title}: WER comparisons", ""]
    if not comps:
        return "\n".join(lines + ["No WER comparisons.", ""])
    c0 = comps[0].comparison
    lines += [f"Paired two-level bootstrap ({c0.n_resamples} resamples of utterances and device draws), "
              f"{100 * c0.confidence:g} % percentile intervals; WER of a system = mean over its draws.", "",
              "| claim | a | b | WER a | WER b | a - b (abs) | a / b - 1 (rel) | p | draws a / b | utterances | "
              "significance |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in comps:
        c = r.comparison
        rel = "n/a (b has no errors)" if not math.isfinite(c.rel_diff) else \
            f"{100 * c.rel_diff:+.1f} % [{100 * c.rel_ci[0]:+.1f}, {100 * c.rel_ci[1]:+.1f}]"
        draws = f"{len(c.a_draw_wers)} / {len(c.b_draw_wers)}" + (" paired" if c.draws_paired else "")
        lines.append("| " + " | ".join(_cell(x) for x in (
            r.id, r.a_label, r.b_label, f"{c.a_wer:.2f} %", f"{c.b_wer:.2f} %",
            f"{c.abs_diff:+.2f} [{c.abs_ci[0]:+.2f}, {c.abs_ci[1]:+.2f}]", rel, f"{c.p_value:.3g}", draws,
            c.n_utterances, "significant" if c.significant else "within noise")) + " |")
    lines += ["", "Per-draw WERs (%):", ""]
    for r in comps:
        c = r.comparison
        lines.append(f"- {_cell(r.id)}: {_cell(r.a_label)} " + ", ".join(f"{w:.2f}" for w in c.a_draw_wers)
                     + f"; {_cell(r.b_label)} " + ", ".join(f"{w:.2f}" for w in c.b_draw_wers))
    lines.append("")
    return "\n".join(lines)


def claims_json(results: Sequence[ClaimResult], title: str = "Seed claims") -> dict:
    """JSON-ready summary: every claim with verdict, text and numbers."""
    out = []
    for r in results:
        d = {k: getattr(r, k) for k in ("id", "source", "claim", "seed", "regime", "note", "test", "this_run",
                                        "verdict", "a_label", "b_label", "details")}
        d["comparison"] = r.comparison.to_dict() if r.comparison is not None else None
        out.append(d)
    return {"title": title, "verdicts": list(VERDICTS), "claims": out}
