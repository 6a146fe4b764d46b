"""Is one system's WER really different from another's? Paired two-level bootstrap over utterances
and device draws.

A memristor system's WER varies for two reasons: which utterances the test set happens to hold,
and which device draw (programming noise, cell variation) the crossbar got. A comparison that only
resamples utterances calls a lucky draw a "win"; one that only looks at per-draw WERs ignores that
the test set is a sample. :func:`compare_wer` resamples both levels at once.

Per-utterance errors come from sclite's ``pralign`` report (:func:`read_utterance_errors`), so the
numbers are exactly those of the reported WER (their sum is checked against the ``.raw`` Sum row).
"""
import glob
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from memristor_asr.scoring.sclite import ScliteError, parse_sclite_raw

__all__ = ["UtteranceErrors", "read_utterance_errors", "WerComparison", "compare_wer"]

#: utterance id -> (errors = substitutions + deletions + insertions, reference words)
UtteranceErrors = Dict[str, Tuple[int, int]]

_REL_INF = 1e12  # stands for an infinite relative difference inside the bootstrap distribution
_SCORES = re.compile(r"^Scores:\s*\(#C #S #D #I\)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")


def _find_pra(report_dir_or_file: str) -> str:
    path = os.fspath(report_dir_or_file)
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise ScliteError(f"{path}: neither an sclite report directory nor a .pra file")
    default = os.path.join(path, "sclite.pra")
    if os.path.isfile(default):
        return default
    found = sorted(glob.glob(os.path.join(path, "*.pra")))
    if len(found) != 1:
        raise ScliteError(f"{path}: expected sclite.pra or exactly one *.pra report (sclite -o pralign), "
                          f"found {[os.path.basename(f) for f in found]}")
    return found[0]


def read_utterance_errors(report_dir_or_file: str, check_raw: bool = True) -> UtteranceErrors:
    """Per-utterance error and reference-word counts from sclite's ``pralign`` (``.pra``) report.

    Each alignment block has ``id: (spk-NNN)``, ``File: <recording>``, ``Channel: <c>`` and
    ``Scores: (#C #S #D #I) c s d i`` lines. An utterance is named by its recording (``File``), as in
    the CTM/STM; when a recording holds several STM segments, by ``<recording>/<id>`` (the sclite
    segment id, which depends only on the reference, so two systems scored on the same STM agree).

    :param report_dir_or_file: a ``.pra`` file, or a report directory (``ScliteScoringJob.out_report_dir``)
        holding ``sclite.pra`` or exactly one ``*.pra``
    :param check_raw: when the ``.raw`` report of the same name lies beside the ``.pra``, require the
        summed counts to equal its Sum row (a truncated or mismatched report fails here)
    :return: utterance id -> (S + D + I, C + S + D)
    """
    pra = _find_pra(report_dir_or_file)
    blocks: List[Tuple[str, str, str, Tuple[int, int, int, int], int]] = []  # (id, file, channel, counts, line)
    cur: Dict[str, object] = {}
    with open(pra, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if s.startswith("id:"):
                if cur:
                    raise ScliteError(f"{pra}:{cur['line']}: alignment block without a 'Scores:' line")
                m = re.match(r"^id:\s*\((.*)\)\s*$", s)
                if not m:
                    raise ScliteError(f"{pra}:{lineno}: malformed id line {s!r} (expected 'id: (...)')")
                cur = {"id": m.group(1), "line": lineno}
            elif s.startswith("File:") and cur:
                cur["file"] = s[len("File:"):].strip()
            elif s.startswith("Channel:") and cur:
                cur["channel"] = s[len("Channel:"):].strip()
            elif s.startswith("Scores:"):
                if not cur:
                    raise ScliteError(f"{pra}:{lineno}: 'Scores:' line outside an alignment block (no 'id:' before it)")
                m = _SCORES.match(s)
                if not m:
                    raise ScliteError(f"{pra}:{lineno}: malformed scores line {s!r} "
                                      "(expected 'Scores: (#C #S #D #I) c s d i')")
                counts = tuple(int(g) for g in m.groups())
                blocks.append((str(cur["id"]), str(cur.get("file", "")), str(cur.get("channel", "")), counts,
                               int(cur["line"])))
                cur = {}
    if cur:
        raise ScliteError(f"{pra}:{cur['line']}: alignment block without a 'Scores:' line (truncated report?)")
    if not blocks:
        raise ScliteError(f"{pra}: no alignment blocks ('id:' / 'Scores:' lines); not an sclite pralign report?")
    per_file: Dict[str, int] = {}
    for _, file, _, _, _ in blocks:
        per_file[file] = per_file.get(file, 0) + 1
    out: UtteranceErrors = {}
    for seg_id, file, channel, (c, sub, d, ins), lineno in blocks:
        key = file if file and per_file[file] == 1 else (f"{file}/{seg_id}" if file else seg_id)
        if key in out:
            raise ScliteError(f"{pra}:{lineno}: utterance {key!r} appears twice")
        out[key] = (sub + d + ins, c + sub + d)
    if check_raw:
        raw = os.path.splitext(pra)[0] + ".raw"
        if os.path.isfile(raw):
            total = parse_sclite_raw(raw)
            errors, words = sum(e for e, _ in out.values()), sum(n for _, n in out.values())
            if (errors, words, len(out)) != (total.errors, total.ref_words, total.sentences):
                raise ScliteError(f"{pra}: per-utterance sums (errors {errors}, words {words}, utterances {len(out)}) "
                                  f"differ from the Sum row of {raw} (errors {total.errors}, words "
                                  f"{total.ref_words}, sentences {total.sentences})")
    return out


@dataclass
class WerComparison:
    """WER(a) - WER(b) with its bootstrap interval.

    Attributes:
        a_wer, b_wer: WER in percent, mean over the side's draws of each draw's pooled WER
        abs_diff: a_wer - b_wer (percent points); abs_ci: its (low, high) interval
        rel_diff: a_wer / b_wer - 1; rel_ci: its interval (upper bound inf when b has no errors in more
            than (1 - confidence) / 2 of the replicates; both nan when b has no errors at all)
        p_value: two-sided bootstrap p-value: twice the smaller fraction of resampled differences
            on either side of 0, as ``(k + 1) / (n_resamples + 1)`` so it is never 0 (capped at 1)
        significant: the abs interval excludes 0 (the rel interval then excludes 0 too)
        confidence: interval level, e.g. 0.95
        n_resamples: bootstrap resamples
        n_utterances, ref_words: the common utterance set
        a_draw_wers, b_draw_wers: per-draw WERs (percent)
        draws_paired: draws were resampled with the same indices on both sides
        resampled_draws: draws were resampled at all (False: utterance-only interval)
        method: scipy bootstrap interval method
    """

    a_wer: float
    b_wer: float
    abs_diff: float
    abs_ci: Tuple[float, float]
    rel_diff: float
    rel_ci: Tuple[float, float]
    p_value: float
    significant: bool
    confidence: float
    n_resamples: int
    n_utterances: int
    ref_words: int
    a_draw_wers: List[float] = field(default_factory=list)
    b_draw_wers: List[float] = field(default_factory=list)
    draws_paired: bool = False
    resampled_draws: bool = True
    method: str = "percentile"

    @property
    def abs_width(self) -> float:
        return self.abs_ci[1] - self.abs_ci[0]

    def describe(self) -> str:
        """``12.30 % vs 10.10 %: +2.20 abs [+1.10, +3.30], +21.8 % rel [+10.0, +33.0]``"""
        if not np.isfinite(self.rel_diff):
            rel = "n/a rel (b has no errors)"
        else:
            rel = f"{100 * self.rel_diff:+.1f} % rel [{100 * self.rel_ci[0]:+.1f}, {100 * self.rel_ci[1]:+.1f}]"
        return (f"{self.a_wer:.2f} % vs {self.b_wer:.2f} %: {self.abs_diff:+.2f} abs "
                f"[{self.abs_ci[0]:+.2f}, {self.abs_ci[1]:+.2f}], {rel}")

    def to_dict(self) -> dict:
        """JSON-ready fields (nan -> None, infinity -> "inf" / "-inf")."""
        def clean(v):
            if isinstance(v, float):
                return v if np.isfinite(v) else None if np.isnan(v) else ("inf" if v > 0 else "-inf")
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v
        return {k: clean(v) for k, v in self.__dict__.items()}


def _error_matrix(draws: Sequence[Mapping[str, Tuple[int, int]]], utts: List[str], side: str,
                  words: np.ndarray) -> np.ndarray:
    """(draws, utterances) error counts; every draw must hold exactly ``utts`` with the same word counts."""
    if not draws:
        raise ValueError(f"compare_wer: side {side} has no draws")
    ref = set(utts)
    out = np.zeros((len(draws), len(utts)), dtype=np.float64)  # [D, U]
    for i, d in enumerate(draws):
        missing, extra = sorted(ref - set(d)), sorted(set(d) - ref)
        if missing or extra:
            raise ValueError(f"compare_wer: side {side} draw {i} has a different utterance set than side a draw 0: "
                             f"{len(missing)} missing (e.g. {missing[:5]}), {len(extra)} extra (e.g. {extra[:5]})")
        n = np.array([d[u][1] for u in utts])
        if not np.array_equal(n, words):
            bad = [u for u, x, y in zip(utts, n, words) if x != y]
            raise ValueError(f"compare_wer: side {side} draw {i}: reference word counts differ from side a draw 0 "
                             f"for {len(bad)} utterance(s) (e.g. {bad[:5]}): scored against another reference?")
        out[i] = [d[u][0] for u in utts]
    return out


def compare_wer(a: Sequence[Mapping[str, Tuple[int, int]]], b: Sequence[Mapping[str, Tuple[int, int]]],
                confidence: float = 0.95, n_resamples: int = 4000, seed: int = 0,
                resample_draws: bool = True) -> WerComparison:
    """Paired two-level bootstrap interval of WER(a) - WER(b), absolute (percent points) and relative.

    Data: per system an error matrix ``E[draw, utterance]`` over a common utterance set with word
    counts ``N[utterance]``. A system's WER is the mean over its draws of each draw's pooled WER,
    ``mean_d sum_u E[d, u] / sum_u N[u]``.

    Resampling (one bootstrap replicate):

    - utterances: one resample of utterance indices, used for *both* systems (paired: an utterance
      that is hard for a is usually hard for b, and that shared part of the variance cancels);
    - draws: when both sides have the same number of draws > 1, one resample of draw indices used
      on both sides (the same device seeds were used across ADC settings of a model, so draw i of a
      and draw i of b share the programmed conductances); otherwise each multi-draw side's draws are
      resampled on their own; a single-draw side (a digital system) is fixed. The resampled draws'
      deviation from the mean of all draws is widened by ``sqrt(D / (D - 1))``: the plain bootstrap
      of a mean of D draws has (D - 1) / D of its variance, which matters for the usual 3-10 seeds
      (with 3 draws and a large device spread the uncorrected interval gave ~11 % false positives at
      95 % on simulated null data, the corrected one ~7 %; with 5 or more draws ~2-3 %).

    This is the "pigeonhole" bootstrap of a crossed design (rows and columns resampled
    independently); it counts the draw-by-utterance interaction in both levels, which makes it slightly
    conservative (intervals a bit too wide) once there are enough draws: the safe side for claiming a
    difference.

    ``scipy.stats.bootstrap`` does the resampling and the interval: the "samples" are the index
    vectors (utterance indices, draw indices per independent side) with ``paired=False`` so each is
    resampled on its own, and the vectorised statistic indexes the error matrices. Method
    ``percentile``: BCa's jackknife over 2-10 draws is unstable, BCa returns nan for degenerate
    distributions (identical systems give a bootstrap distribution that is all 0), and the percentile
    interval agrees with the reported two-sided bootstrap p-value (the interval excludes 0 about
    when p < 1 - confidence).

    :param a, b: one ``{utterance: (errors, ref_words)}`` per device draw (:func:`read_utterance_errors`);
        all draws of both sides over the same utterances with the same word counts
    :param confidence: interval level
    :param n_resamples: bootstrap replicates
    :param seed: the result is a deterministic function of the inputs and the seed
    :param resample_draws: False: utterance-level interval only (draws fixed), for comparison
    """
    from scipy import stats

    if not 0 < confidence < 1:
        raise ValueError(f"compare_wer: confidence must be in (0, 1), got {confidence}")
    if not a or not b:
        raise ValueError(f"compare_wer: both sides need at least one draw (a: {len(a)}, b: {len(b)})")
    utts = sorted(a[0])
    if len(utts) < 2:
        raise ValueError(f"compare_wer: need at least 2 utterances, got {len(utts)}")
    words = np.array([a[0][u][1] for u in utts])  # [U]
    if words.sum() <= 0:
        raise ValueError("compare_wer: the utterance set has no reference words")
    ea = _error_matrix(a, utts, "a", words)  # [Da, U]
    eb = _error_matrix(b, utts, "b", words)  # [Db, U]
    da, db = len(a), len(b)
    n_utt = len(utts)
    a_draw = 100.0 * ea.sum(1) / words.sum()  # [Da]
    b_draw = 100.0 * eb.sum(1) / words.sum()  # [Db]

    paired_draws = resample_draws and da == db > 1
    samples = [np.arange(n_utt)]
    roles = ["utt"]
    if paired_draws:
        samples.append(np.arange(da))
        roles.append("ab")
    elif resample_draws:
        if da > 1:
            samples.append(np.arange(da))
            roles.append("a")
        if db > 1:
            samples.append(np.arange(db))
            roles.append("b")

    def side_wer(e: np.ndarray, u_counts: np.ndarray, d_idx: Optional[np.ndarray]) -> np.ndarray:
        per_draw = u_counts @ e.T  # [B, D] errors of each draw on the resampled utterances
        mean = per_draw.mean(1)  # [B]
        if d_idx is None:
            return mean
        n_draws = e.shape[0]
        # resampled draws' mean, its spread about the all-draw mean widened by sqrt(D / (D - 1)): the
        # plain bootstrap variance of a mean of D draws is (D - 1) / D of the unbiased s^2 / D
        picked = np.take_along_axis(per_draw, d_idx, axis=1).mean(1)  # [B]
        return mean + np.sqrt(n_draws / (n_draws - 1)) * (picked - mean)

    def statistic(*idx, axis=-1):
        one = np.ndim(idx[0]) == 1  # scipy may evaluate the statistic on the original samples too
        idx = [np.atleast_2d(np.asarray(i)) for i in idx]  # each [B, n]
        u = idx[0]
        nb = u.shape[0]
        # utterance multiplicities per replicate: [B, U]
        u_counts = np.bincount((u + n_utt * np.arange(nb)[:, None]).ravel(),
                               minlength=nb * n_utt).reshape(nb, n_utt).astype(np.float64)
        d = dict(zip(roles[1:], idx[1:]))
        d_a = d.get("ab", d.get("a"))
        d_b = d.get("ab", d.get("b"))
        n_words = np.maximum(u_counts @ words, 1)  # [B] (a replicate of only empty segments counts 1 word)
        # the widened draw spread can push an extreme replicate below 0: a WER is never negative
        wa = np.maximum(100.0 * side_wer(ea, u_counts, d_a) / n_words, 0.0)  # [B]
        wb = np.maximum(100.0 * side_wer(eb, u_counts, d_b) / n_words, 0.0)  # [B]
        # b without errors in a replicate: relative difference "infinite" (a finite sentinel, so that
        # quantiles never interpolate between infinities), 0 when neither has errors
        rel = np.where(wb > 0, wa / np.where(wb > 0, wb, 1.0) - 1.0, np.where(wa > 0, _REL_INF, 0.0))
        out = np.stack([wa - wb, rel])  # [2, B]
        return out[:, 0] if one else out

    a_wer, b_wer = float(a_draw.mean()), float(b_draw.mean())
    abs_diff = a_wer - b_wer
    rel_diff = a_wer / b_wer - 1.0 if b_wer > 0 else float("nan")
    with warnings.catch_warnings():
        # scipy warns about degenerate distributions (identical systems: every replicate 0); the
        # percentile interval is well defined then ([0, 0])
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap(tuple(samples), statistic, n_resamples=n_resamples, paired=False, vectorized=True,
                              confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    dist = res.bootstrap_distribution  # [2, n_resamples]
    lo, hi = res.confidence_interval.low, res.confidence_interval.high
    diffs = dist[0]
    n = len(diffs)
    p = float(min(1.0, 2.0 * min(np.sum(diffs <= 0) + 1, np.sum(diffs >= 0) + 1) / (n + 1)))
    abs_ci = (float(lo[0]), float(hi[0]))
    if b_wer > 0:
        rel_ci = tuple(float("inf") if x >= _REL_INF / 2 else float(x) for x in (lo[1], hi[1]))
    else:
        rel_ci = (float("nan"), float("nan"))
    return WerComparison(
        a_wer=a_wer, b_wer=b_wer, abs_diff=abs_diff, abs_ci=abs_ci, rel_diff=rel_diff, rel_ci=rel_ci,
        p_value=p, significant=bool(abs_ci[0] > 0 or abs_ci[1] < 0), confidence=confidence,
        n_resamples=n_resamples, n_utterances=n_utt, ref_words=int(words.sum()),
        a_draw_wers=[float(x) for x in a_draw], b_draw_wers=[float(x) for x in b_draw],
        draws_paired=paired_draws, resampled_draws=resample_draws and len(roles) > 1)
