"""A personal graph: the NNADC study entry over its input range (README, "Results of the default
experiment", NNADC bullet).

    ./sis manager users/nnadc_study/adc_range.py

Reuses the default graph's 4-bit QAT model, LM tuning and NNADC code-transfer table from the cache;
only the crossbar simulations, searches and scoring of the new ranges run. WERs go to
output/nnadc_study/range<r>_wer.
"""
from sisyphus import tk

from config.memristor_adc import ExperimentSettings, Recognizer, build_data, memristor_wers, nnadc_hardware, train_model
from memristor_asr.jobs.training import ComputeCtcLogProbsJob

#: NNADC input range bits: the converter spans +-2^(r-1) full-scale pairs (default graph: 4)
RANGE_BITS = (1, 2, 3, 4)


def py():
    s = ExperimentSettings()
    data = build_data(s.corpus_preset)
    rec = Recognizer(data, s)
    ckpt = train_model(data, s, s.study_bits, init=train_model(data, s, None))
    tuned = rec.tune(ComputeCtcLogProbsJob(ckpt, data.manifests["dev"]).out_logprobs)
    for r in RANGE_BITS:
        hw, _ = nnadc_hardware(s.study_nnadc, r)
        wers, _ = memristor_wers(ckpt, data, rec, tuned, hw, s.study_draws)
        tk.register_output(f"nnadc_study/range{r}_wer", wers[0])
