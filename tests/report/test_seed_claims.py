"""Seed-claims verdicts on real sclite reports and constructed clipping files; the job via the manager."""
import json
import pathlib
import random

import numpy as np
import pytest

from memristor_asr.report.seed_claims import (VERDICTS, claims_json, claims_markdown, comparisons_markdown,
                                              evaluate_claims, pooled_clipped_fraction, validate_claims)
from sclite_synth import corrupt, make_refs, score
from sis_helpers import make_setup, run_manager

REFS = make_refs(40, seed=3)


def _draws(tmp_path, name, n_draws, errors_per_utt, seed):
    """sclite report dirs of ``n_draws`` hypotheses with 0..errors_per_utt substitutions per utterance."""
    rng = random.Random(seed)
    return [score(tmp_path, REFS, {u: corrupt(w, rng.randint(0, errors_per_utt), rng) for u, w in REFS.items()},
                  f"{name}{d}") for d in range(n_draws)]


@pytest.fixture(scope="module")
def systems(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("systems")
    return {"bad": _draws(tmp, "bad", 3, 4, seed=1), "good": _draws(tmp, "good", 3, 1, seed=2),
            "digital": _draws(tmp, "digital", 1, 1, seed=3)}


def _claim(cid, test, a, b, **kw):
    return dict(id=cid, source="Paper, Table 1", claim=f"{cid} claim", seed="x % vs y %", regime="physical",
                test=test, a=a, b=b, a_label="A", b_label="B", **kw)


def test_comparison_verdicts(systems):
    bad, good, dig = systems["bad"], systems["good"], systems["digital"]
    claims = [_claim("worse", "worse", bad, good), _claim("better", "better", bad, good),
              _claim("better-rev", "better", good, bad), _claim("same", "worse", good, good),
              _claim("notbetter", "not_better", bad, good), _claim("notbetter-rev", "not_better", good, bad),
              _claim("notbetter-same", "not_better", good, good), _claim("vs-digital", "worse", bad, dig),
              _claim("within-big", "within_rel", bad, good, threshold=10.0),
              _claim("within-small", "within_rel", bad, good, threshold=0.15),
              _claim("beyond-small", "beyond_rel", bad, good, threshold=0.15),
              _claim("beyond-big", "beyond_rel", bad, good, threshold=10.0),
              _claim("within-same", "within_rel", good, good, threshold=0.0)]
    res = {r.id: r for r in evaluate_claims(claims, n_resamples=2000)}
    expect = {"worse": "reproduced", "better": "opposite", "better-rev": "reproduced", "same": "not significant",
              "notbetter": "reproduced", "notbetter-rev": "not reproduced", "notbetter-same": "reproduced",
              "vs-digital": "reproduced", "within-big": "reproduced", "within-small": "not reproduced",
              "beyond-small": "reproduced", "beyond-big": "not reproduced", "within-same": "not significant"}
    assert {k: r.verdict for k, r in res.items()} == expect
    c = res["worse"].comparison
    assert c.a_wer > 2 * c.b_wer and c.draws_paired and c.abs_ci[0] > 0
    assert not res["vs-digital"].comparison.draws_paired and len(res["vs-digital"].comparison.b_draw_wers) == 1
    assert "draws 3 vs 3 (paired)" in res["worse"].this_run and "abs [" in res["worse"].this_run

    results = list(res.values())
    md = claims_markdown(results, "Seeds")
    assert md.startswith("## Seeds") and md.count("\n| ") == len(claims) + 1
    assert "**opposite**" in md and "physical" in md
    cmp_md = comparisons_markdown(results, "Seeds")
    assert cmp_md.count("| significant |") == 10 and cmp_md.count("| within noise |") == 3
    js = json.loads(json.dumps(claims_json(results)))
    assert [c["verdict"] for c in js["claims"]] == [expect[c["id"]] for c in claims]
    assert set(expect.values()) <= set(VERDICTS)


def test_dict_inputs_and_max_rel_dev():
    a = [{"u1": (3, 10), "u2": (2, 10)}] * 2
    res = evaluate_claims([
        _claim("dicts", "worse", a, [{"u1": (3, 10), "u2": (2, 10)}]),
        dict(id="spread", source="s", claim="c", seed="< 5 %", regime=None, test="max_rel_dev",
             wers=[10.0, 10.4, 9.8], threshold=0.05),
        dict(id="spread-bad", source="s", claim="c", seed="< 5 %", test="max_rel_dev", wers=[10.0, 14.0],
             threshold=0.05)])
    assert [r.verdict for r in res] == ["not significant", "reproduced", "not reproduced"]
    assert res[1].details["max_rel_dev"] == pytest.approx((10.4 - 30.2 / 3) / (30.2 / 3))
    assert res[2].details["max_rel_dev"] == pytest.approx(2 / 12)
    assert "3 draw(s)" in res[1].this_run and res[1].regime is None
    assert "| digital |" in claims_markdown(res)


def _clip(path, pos_clipped, outputs=1000):
    rep = {"blocks.0.linear_pos": {"clipped": pos_clipped, "outputs": outputs, "fraction": pos_clipped / outputs,
                                   "adc": "8+8"},
           "blocks.1.linear_pos": {"clipped": pos_clipped // 2, "outputs": outputs,
                                   "fraction": pos_clipped / 2 / outputs, "adc": "8+8"},
           "blocks.0.linear_neg": {"clipped": 900, "outputs": outputs, "fraction": 0.9, "adc": "8+8"}}
    tot_c = sum(v["clipped"] for v in rep.values())
    rep["__total__"] = {"clipped": tot_c, "outputs": 3 * outputs, "fraction": tot_c / 3 / outputs}
    path.write_text(json.dumps(rep))
    return str(path)


def test_clipped_fraction(tmp_path):
    files = [_clip(tmp_path / f"c{i}.json", c) for i, c in enumerate((40, 44, 38, 42))]
    base = dict(source="s", claim="c", seed="2-5 %", regime="physical", test="clipped_fraction",
                clipping=files, layer_pattern="*.linear_pos")
    res = evaluate_claims([dict(base, id="in", expected=[0.02, 0.05]), dict(base, id="out", expected=[0.1, 0.2]),
                           dict(base, id="one", clipping=files[:1], expected=[0.0, 0.01]),
                           dict(base, id="total", layer_pattern="__total__", expected=[0.3, 0.4])])
    assert [r.verdict for r in res] == ["reproduced", "not reproduced", "not reproduced", "reproduced"]
    pooled = [(c + c // 2) / 2000 for c in (40, 44, 38, 42)]
    assert res[0].details["fractions"] == pytest.approx(pooled)
    lo, hi = res[0].details["ci"]
    assert lo < np.mean(pooled) < hi and res[0].details["layers"] == ["blocks.0.linear_pos", "blocks.1.linear_pos"]
    assert res[2].details["ci"] is None and "1 draw: no interval" in res[2].this_run
    with pytest.raises(ValueError, match=r"claim 'nomatch', clipping\[0\] .*no layer matches pattern '\*\.conv'"):
        evaluate_claims([dict(base, id="nomatch", layer_pattern="*.conv", expected=[0, 1])])


def test_clipped_fraction_of_full_tiles(tmp_path):
    """scope="full_tiles" pools only the full row tiles' counts; older reports fall back to the
    layer counts and say so; an unknown scope is refused."""
    rep = {"b.0.linear_pos": {"clipped": 300, "outputs": 2000, "fraction": 0.15,
                              "full_tiles": {"tiles": 1, "clipped": 300, "outputs": 1000, "fraction": 0.3}},
           "b.1.linear_pos": {"clipped": 100, "outputs": 2000, "fraction": 0.05,
                              "full_tiles": {"tiles": 1, "clipped": 100, "outputs": 1000, "fraction": 0.1}}}
    got = pooled_clipped_fraction(rep, "*.linear_pos", "r", scope="full_tiles")
    assert got["fraction"] == pytest.approx(0.2) and got["layer_fraction"] == pytest.approx(0.1)
    old = {k: {kk: vv for kk, vv in v.items() if kk != "full_tiles"} for k, v in rep.items()}
    fell = pooled_clipped_fraction(old, "*.linear_pos", "r", scope="full_tiles")
    assert fell["fraction"] == pytest.approx(0.1) and fell["scope"].startswith("layer (")
    files = []
    for i, scale in enumerate((1.0, 1.1, 0.9)):
        r = json.loads(json.dumps(rep))
        r["b.0.linear_pos"]["full_tiles"]["clipped"] = int(300 * scale)
        files.append(str(tmp_path / f"f{i}.json"))
        pathlib.Path(files[-1]).write_text(json.dumps(r))
    base = dict(id="full", source="s", claim="c", seed="~20 %", test="clipped_fraction", clipping=files,
                layer_pattern="*.linear_pos", scope="full_tiles")
    res = evaluate_claims([dict(base, expected=[0.15, 0.25]), dict(base, id="layer", scope="layer",
                                                                     expected=[0.15, 0.25])])
    assert [r.verdict for r in res] == ["reproduced", "not reproduced"]
    assert res[0].this_run.startswith("full row tiles: 20.0") and "all tiles: 10.0" in res[0].this_run
    with pytest.raises(ValueError, match="claim 'full': key 'scope' must be one of"):
        validate_claims([dict(base, scope="tiles", expected=[0, 1])])


def test_validation_names_claim_and_key():
    ok = _claim("x", "worse", ["d0"], ["d1"])
    validate_claims([ok])
    cases = [
        ({**ok, "test": "bigger"}, r"claim 'x': unknown 'test' 'bigger'"),
        ({k: v for k, v in ok.items() if k != "b_label"}, r"claim 'x': test 'worse' needs key 'b_label'"),
        ({**ok, "a": []}, r"claim 'x': key 'a' must be a non-empty list"),
        ({**ok, "treshold": 0.1}, r"claim 'x': unexpected key\(s\) \['treshold'\]"),
        ({**ok, "test": "within_rel"}, r"claim 'x': test 'within_rel' needs key 'threshold'"),
        ({k: v for k, v in ok.items() if k != "seed"}, r"claim 'x': missing key 'seed'"),
        (dict(id="m", source="s", claim="c", seed="s", test="max_rel_dev", wers=[], threshold=0.1),
         r"claim 'm': key 'wers' is an empty list"),
        (dict(id="k", source="s", claim="c", seed="s", test="clipped_fraction", clipping=["f"], layer_pattern="*",
              expected=[0.5, 0.1]), r"claim 'k': key 'expected' must be \[lo, hi\]"),
    ]
    for claim, msg in cases:
        with pytest.raises(ValueError, match=msg):
            validate_claims([claim])
    with pytest.raises(ValueError, match="claim 'x': duplicate 'id'"):
        validate_claims([ok, ok])


CONFIG = """
from sisyphus import tk
from memristor_asr.jobs.significance import SeedClaimsReportJob

def py():
    bad = [tk.Path(p) for p in {bad!r}]
    good = [tk.Path(p) for p in {good!r}]
    job = SeedClaimsReportJob([
        dict(id="adc", source="Paper, Table 2", claim="a is worse", seed="30 % vs 8 %", regime="physical",
             test="worse", a=bad, b=good, a_label="PTQ", b_label="QAT"),
        dict(id="clip", source="Paper, Fig. 3", claim="few clip", seed="2-5 %", regime="physical",
             test="clipped_fraction", clipping=[tk.Path({clip!r})], layer_pattern="*.linear_pos",
             expected=[0.02, 0.05]),
    ], title="Mini claims")
    tk.register_output("claims.md", job.out_claims_md)
    tk.register_output("claims.json", job.out_claims_json)
    tk.register_output("comparisons.md", job.out_comparisons_md)
"""


def test_job_through_manager(systems, tmp_path):
    clip = _clip(tmp_path / "clip.json", 40)
    setup = make_setup(tmp_path, CONFIG.format(bad=systems["bad"], good=systems["good"], clip=clip))
    run_manager(setup)
    out = setup / "output"
    js = json.loads((out / "claims.json").read_text())
    assert [c["verdict"] for c in js["claims"]] == ["reproduced", "reproduced"]
    assert js["claims"][0]["comparison"]["draws_paired"] is True
    assert "| adc | Paper, Table 2 |" in (out / "claims.md").read_text()
    assert "significant |" in (out / "comparisons.md").read_text()


def test_job_rejects_bad_claims_at_construction():
    from memristor_asr.jobs.significance import SeedClaimsReportJob

    with pytest.raises(ValueError, match=r"claim 'x': unknown 'test' 'bigger'"):
        SeedClaimsReportJob([{**_claim("x", "worse", ["d0"], ["d1"]), "test": "bigger"}])
