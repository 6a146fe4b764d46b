"""Jobs: WER with NIST sclite, and WER statistics over device draws.

Thin wrappers over :mod:`memristor_asr.scoring`; the logic and its tests live there.

- :class:`ScliteScoringJob`: ``out_report_dir`` (sclite's sys/raw/pra/dtl reports and the
  normalised inputs), variables ``out_wer`` (percent), ``out_num_errors``,
  ``out_num_substitutions``, ``out_num_deletions``, ``out_num_insertions``, ``out_num_ref_words``,
  ``out_num_sentences``, ``out_num_sentence_errors``; ``out_summary`` (JSON of the same).
- :class:`AggregateWerJob`: variables ``out_mean``, ``out_std``, ``out_min``, ``out_max`` and
  ``out_values`` (per-draw list, in input order); ``out_table`` (markdown: statistics and draws).
"""
__all__ = ["ScliteScoringJob", "AggregateWerJob"]

from typing import Optional, Sequence, Union

from sisyphus import Job, Task, tk

from memristor_asr.jobs.common import write_json


class ScliteScoringJob(Job):
    """Score a CTM hypothesis against an STM reference with sclite.

    A hypothesis whose recordings are not in the reference is an error; utterances without
    hypothesis words score as deletions.

    :param ref: STM reference (e.g. ``ManifestToStmJob.out_stm``)
    :param hyp: CTM hypothesis (e.g. ``RecognizeCtcJob.out_ctm``)
    :param hyp_text: the recognizer's ``id<TAB>words`` file; if given, its utterance set must
        equal the reference's exactly (catches a hypothesis for another corpus split)
    :param case_sensitive: sclite ``-s``
    """

    def __init__(self, ref: tk.Path, hyp: tk.Path, hyp_text: Optional[tk.Path] = None,
                 case_sensitive: bool = False):
        self.ref = ref
        self.hyp = hyp
        self.hyp_text = hyp_text
        self.case_sensitive = case_sensitive
        self.out_report_dir = self.output_path("reports", directory=True)
        self.out_summary = self.output_path("summary.json")
        self.out_wer = self.output_var("wer")
        self.out_num_errors = self.output_var("num_errors")
        self.out_num_substitutions = self.output_var("num_substitutions")
        self.out_num_deletions = self.output_var("num_deletions")
        self.out_num_insertions = self.output_var("num_insertions")
        self.out_num_ref_words = self.output_var("num_ref_words")
        self.out_num_sentences = self.output_var("num_sentences")
        self.out_num_sentence_errors = self.output_var("num_sentence_errors")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.decoding.hypothesis import read_hypothesis_text
        from memristor_asr.scoring.sclite import run_sclite

        hyp_ids = list(read_hypothesis_text(self.hyp_text.get_path())) if self.hyp_text is not None else None
        res = run_sclite(self.ref.get_path(), self.hyp.get_path(), self.out_report_dir.get_path(),
                         case_sensitive=self.case_sensitive, hyp_ids=hyp_ids)
        summary = {"wer": res.wer, "errors": res.errors, "substitutions": res.substitutions,
                   "deletions": res.deletions, "insertions": res.insertions, "ref_words": res.ref_words,
                   "correct": res.correct, "sentences": res.sentences, "sentence_errors": res.sentence_errors}
        write_json(self.out_summary.get_path(), summary)
        print(f"WER {res.wer:.2f} % ({res.errors} errors: {res.substitutions} sub, {res.deletions} del, "
              f"{res.insertions} ins; {res.ref_words} reference words)", flush=True)
        self.out_wer.set(res.wer)
        self.out_num_errors.set(res.errors)
        self.out_num_substitutions.set(res.substitutions)
        self.out_num_deletions.set(res.deletions)
        self.out_num_insertions.set(res.insertions)
        self.out_num_ref_words.set(res.ref_words)
        self.out_num_sentences.set(res.sentences)
        self.out_num_sentence_errors.set(res.sentence_errors)


class AggregateWerJob(Job):
    """Average, standard deviation, minimum and maximum of WERs over device draws (Table 3).

    :param wers: one WER per draw (``ScliteScoringJob.out_wer`` variables or numbers)
    :param ddof: 0 = population std (numpy's default), 1 = sample std
    """

    def __init__(self, wers: Sequence[Union[tk.Variable, float]], ddof: int = 0):
        self.wers = list(wers)
        self.ddof = ddof
        self.out_mean = self.output_var("mean")
        self.out_std = self.output_var("std")
        self.out_min = self.output_var("min")
        self.out_max = self.output_var("max")
        self.out_values = self.output_var("values")
        self.out_table = self.output_path("wer_statistics.md")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        from memristor_asr.scoring.aggregate import aggregate_wers, wer_statistics_markdown
        from memristor_asr.util.atomic import atomic_write

        values = [float(w.get()) if isinstance(w, tk.Variable) else float(w) for w in self.wers]
        s = aggregate_wers(values, ddof=self.ddof)
        with atomic_write(self.out_table.get_path()) as f:
            f.write(wer_statistics_markdown(s))
        self.out_mean.set(s.mean)
        self.out_std.set(s.std)
        self.out_min.set(s.min)
        self.out_max.set(s.max)
        self.out_values.set(s.values)
