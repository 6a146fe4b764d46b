"""A personal graph: how much static column error recognition tolerates (README, "Results of the
default experiment", NNADC bullet).

    ./sis manager users/nnadc_study/adc_offsets.py

The crossbar ADC reads an ideal uniform 8-bit converter over the NNADC entry's range (4 range
bits, so the grid of the 4+4 split) whose 16 instances, one per column ADC in turn, carry a static
offset of +k or -k codes (half each, zero mean). Reuses the default graph's 4-bit QAT model and LM
tuning from the cache; WERs go to output/nnadc_study/offset<k>_wer.
"""
from sisyphus import tk

from config.memristor_adc import ExperimentSettings, Recognizer, build_data, memristor_wers, train_model
from memristor_asr.crossbar.config import CrossbarConfigV1
from memristor_asr.jobs.nnadc import ReferenceAdcTableJob
from memristor_asr.jobs.training import ComputeCtcLogProbsJob

#: offset magnitudes in codes of the 8-bit converter (0: the ideal converter through the same table path)
OFFSETS_LSB = (0, 1, 2, 3)
N_BITS, RANGE_BITS = 8, 4


def py():
    s = ExperimentSettings()
    data = build_data(s.corpus_preset)
    rec = Recognizer(data, s)
    ckpt = train_model(data, s, s.study_bits, init=train_model(data, s, None))
    tuned = rec.tune(ComputeCtcLogProbsJob(ckpt, data.manifests["dev"]).out_logprobs)
    for k in OFFSETS_LSB:
        table = ReferenceAdcTableJob(N_BITS, offset_lsb=k).out_table
        hw = CrossbarConfigV1(dac_bits=8, adc_precision_bits=N_BITS - RANGE_BITS, adc_range_bits=RANGE_BITS,
                              adc_kind="nnadc_table", adc_options=(("table", table),))
        wers, _ = memristor_wers(ckpt, data, rec, tuned, hw, s.study_draws)
        tk.register_output(f"nnadc_study/offset{k}_wer", wers[0])
