"""Job: the seed-claims table, every claim's comparison with its paired two-level bootstrap interval.

Thin wrapper over :mod:`memristor_asr.report.seed_claims` (logic and tests live there and in
:mod:`memristor_asr.scoring.significance`).

- :class:`SeedClaimsReportJob`: ``out_claims_md`` (markdown: claim, source, seed figure, regime,
  this run, verdict), ``out_claims_json`` (the same with all numbers), ``out_comparisons_md``
  (every WER comparison: interval, p-value, "significant" / "within noise", per-draw WERs).
"""
__all__ = ["SeedClaimsReportJob"]

from typing import Any, Dict, List

from sisyphus import Job, Task

from memristor_asr.jobs.common import resolve, write_json


class SeedClaimsReportJob(Job):
    """Check the papers' claims against this run's results.

    :param claims: list of claim dicts (keys in :func:`memristor_asr.report.seed_claims.validate_claims`;
        ``a`` / ``b``: per-draw sclite report dirs such as ``ScliteScoringJob.out_report_dir``;
        ``wers``: numbers or tk.Variables; ``clipping``: per-draw clipping JSON files); checked here,
        so a malformed claim fails when the graph is built
    :param title: heading of the tables
    """

    def __init__(self, claims: List[Dict[str, Any]], title: str = "Seed claims"):
        from memristor_asr.report.seed_claims import validate_claims

        validate_claims(claims)
        self.claims = claims
        self.title = title
        self.out_claims_md = self.output_path("seed_claims.md")
        self.out_claims_json = self.output_path("seed_claims.json")
        self.out_comparisons_md = self.output_path("comparisons.md")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.report.seed_claims import claims_json, claims_markdown, comparisons_markdown, \
            evaluate_claims
        from memristor_asr.util.atomic import atomic_write

        results = evaluate_claims(resolve(self.claims))
        with atomic_write(self.out_claims_md.get_path()) as f:
            f.write(claims_markdown(results, self.title))
        with atomic_write(self.out_comparisons_md.get_path()) as f:
            f.write(comparisons_markdown(results, self.title))
        write_json(self.out_claims_json.get_path(), claims_json(results, self.title))
        for r in results:
            print(f"{r.id}: {r.verdict} ({r.this_run})", flush=True)
