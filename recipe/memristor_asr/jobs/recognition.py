"""Jobs: CTC recognition with flashlight's lexicon search, and LM-scale tuning on a dev set.

Thin wrappers over :mod:`memristor_asr.decoding`; the logic and its tests live there.

- :class:`RecognizeCtcJob`: ``out_ctm`` (CTM, recording = utterance id, channel 1),
  ``out_text`` (``id<TAB>words``, every utterance), ``out_stats`` (JSON: utterances, audio
  seconds, wall and search CPU time, real-time factors, the effective search settings).
- :class:`TuneLmScaleJob`: ``out_lm_weight`` and ``out_word_score`` (variables, the dev-best
  values, to feed :class:`RecognizeCtcJob` on test), ``out_wer`` (variable: dev WER at the best
  point, in-process scoring), ``out_grid`` (TSV of every grid point).
"""
__all__ = ["RecognizeCtcJob", "TuneLmScaleJob"]

import dataclasses
from typing import Optional, Sequence, Union

from sisyphus import Task, tk

from memristor_asr.jobs.common import ResourceArgsJob, write_json
from memristor_asr.decoding.search_config import SearchConfigV1



def _value(x):
    """A tk.Variable's value, a tk.Path's location, anything else unchanged."""
    if isinstance(x, tk.Variable):
        return x.get()
    if isinstance(x, tk.Path):
        return x.get_path()
    return x



class _SearchJob(ResourceArgsJob):
    """Worker count, memory and time do not change results and are not hashed."""


    def _rqmt(self):
        return {"cpu": self.num_workers, "mem": self.mem_rqmt, "time": self.time_rqmt}


class RecognizeCtcJob(_SearchJob):
    """Decode a CTC log-prob file (digital model or one memristor device draw) into words.

    :param logprobs: :class:`memristor_asr.decoding.logprobs.CtcLogProbs` file
    :param search_config: search mode and beam settings
    :param lexicon: ``word<TAB>units`` lexicon (mode "lexicon")
    :param lm: KenLM binary or ARPA LM (words for "lexicon", units for "lexicon_free"; optional)
    :param tokens: token file to check against the log-prob vocab (optional)
    :param lm_weight: overrides ``search_config.lm_weight`` (e.g. ``TuneLmScaleJob.out_lm_weight``)
    :param word_score: overrides ``search_config.word_score``
    :param num_workers: decoding processes (= requested CPUs; not hashed)
    """

    def __init__(self, logprobs: tk.Path, search_config: SearchConfigV1, lexicon: Optional[tk.Path] = None,
                 lm: Optional[tk.Path] = None, tokens: Optional[tk.Path] = None,
                 lm_weight: Optional[Union[float, tk.Variable]] = None,
                 word_score: Optional[Union[float, tk.Variable]] = None,
                 num_workers: int = 2, mem_rqmt: float = 4, time_rqmt: float = 4):
        self.logprobs = logprobs
        self.search_config = search_config
        self.lexicon = lexicon
        self.lm = lm
        self.tokens = tokens
        self.lm_weight = lm_weight
        self.word_score = word_score
        self.num_workers = num_workers
        self.mem_rqmt = mem_rqmt
        self.time_rqmt = time_rqmt
        self.out_ctm = self.output_path("hyp.ctm")
        self.out_text = self.output_path("hyp.txt")
        self.out_stats = self.output_path("stats.json")

    def tasks(self):
        yield Task("run", rqmt=self._rqmt())

    def run(self):
        from memristor_asr.decoding.hypothesis import write_hypothesis_ctm, write_hypothesis_text
        from memristor_asr.decoding.logprobs import load_logprobs
        from memristor_asr.decoding.recognize import recognize

        cfg = self.search_config
        overrides = {k: float(_value(v)) for k, v in (("lm_weight", self.lm_weight), ("word_score", self.word_score))
                     if v is not None}
        cfg = dataclasses.replace(cfg, **overrides)
        lp = load_logprobs(self.logprobs.get_path())
        hyps, stats = recognize(lp, cfg, _value(self.lexicon), _value(self.lm), _value(self.tokens),
                                num_workers=self.num_workers)
        write_hypothesis_text(self.out_text.get_path(), hyps)
        write_hypothesis_ctm(self.out_ctm.get_path(), hyps, lp.frame_shift)
        write_json(self.out_stats.get_path(), {
            "utterances": stats.utterances, "empty_hypotheses": sum(1 for h in hyps.values() if not h.words),
            "words": sum(len(h.words) for h in hyps.values()), "frames": stats.frames,
            "audio_seconds": stats.audio_seconds, "wall_seconds": stats.wall_seconds,
            "search_cpu_seconds": stats.cpu_seconds, "workers": stats.workers, "rtf_per_core": stats.rtf_per_core,
            "rtf_wall": stats.rtf_wall, "search_config": dataclasses.asdict(cfg),
            "logprobs_meta": {k: v for k, v in lp.meta.items() if isinstance(v, (str, int, float, bool, type(None)))},
        })


class TuneLmScaleJob(_SearchJob):
    """Grid search of LM weight and word score on a dev set (lowest in-process WER wins; ties: first).

    :param logprobs: dev-set log-prob file
    :param ref_stm: dev-set STM reference (recording = utterance id)
    :param search_config: search settings (mode "lexicon"); its lm_weight/word_score are replaced
    :param lexicon: ``word<TAB>units`` lexicon
    :param lm: KenLM word LM
    :param lm_weights: grid values of the LM weight
    :param word_scores: grid values of the word score
    :param tokens: token file to check against the log-prob vocab (optional)
    """

    def __init__(self, logprobs: tk.Path, ref_stm: tk.Path, search_config: SearchConfigV1, lexicon: tk.Path,
                 lm: Optional[tk.Path], lm_weights: Sequence[float], word_scores: Sequence[float] = (0.0,),
                 tokens: Optional[tk.Path] = None, num_workers: int = 2, mem_rqmt: float = 4,
                 time_rqmt: float = 4):
        self.logprobs = logprobs
        self.ref_stm = ref_stm
        self.search_config = search_config
        self.lexicon = lexicon
        self.lm = lm
        self.lm_weights = lm_weights
        self.word_scores = word_scores
        self.tokens = tokens
        self.num_workers = num_workers
        self.mem_rqmt = mem_rqmt
        self.time_rqmt = time_rqmt
        self.out_lm_weight = self.output_var("lm_weight")
        self.out_word_score = self.output_var("word_score")
        self.out_wer = self.output_var("wer")
        self.out_grid = self.output_path("grid.tsv")

    def tasks(self):
        yield Task("run", rqmt=self._rqmt())

    def run(self):
        from memristor_asr.data.stm import read_stm
        from memristor_asr.decoding.logprobs import load_logprobs
        from memristor_asr.decoding.tuning import tune_lm_scale
        from memristor_asr.util.atomic import atomic_write

        refs = {}
        for seg in read_stm(self.ref_stm.get_path()):
            refs.setdefault(seg.recording, []).extend(seg.text.split())
        lp = load_logprobs(self.logprobs.get_path())
        res = tune_lm_scale(lp, refs, self.search_config, list(self.lm_weights), list(self.word_scores),
                            _value(self.lexicon), _value(self.lm), _value(self.tokens), num_workers=self.num_workers)
        with atomic_write(self.out_grid.get_path()) as f:
            f.write(res.table())
        print(res.table(), flush=True)
        self.out_lm_weight.set(res.best.lm_weight)
        self.out_word_score.set(res.best.word_score)
        self.out_wer.set(res.best.wer)
