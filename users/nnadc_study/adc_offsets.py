"""A personal graph: how much static column error recognition tolerates (README, "Results of the
default experiment", NNADC bullet).

    ./sis manager users/nnadc_study/adc_offsets.py

The crossbar ADC reads an ideal uniform 8-bit converter over the NNADC entry's range (4 range
bits, so the grid of the 4+4 split) whose 16 instances, one per column ADC in turn, carry a static
offset of +k or -k codes (half each, zero mean). Reuses the default graph's 4-bit QAT model and LM
tuning from the cache; WERs go to output/nnadc_study/offset<k>_wer.
"""
from sisyphus import tk

from config.memristor_adc import ExperimentSettings, memristor_wers, study_model, table_adc_hardware
from memristor_asr.jobs.nnadc import ReferenceAdcTableJob

#: offset magnitudes in codes of the 8-bit converter (0: the ideal converter through the same table path)
OFFSETS_LSB = (0, 1, 2, 3)
N_BITS, RANGE_BITS = 8, 4


def py():
    s = ExperimentSettings()
    data, rec, ckpt, tuned = study_model(s)
    for k in OFFSETS_LSB:
        hw = table_adc_hardware(ReferenceAdcTableJob(N_BITS, offset_lsb=k).out_table, RANGE_BITS)
        wers, _ = memristor_wers(ckpt, data, rec, tuned, hw, s.study_draws)
        tk.register_output(f"nnadc_study/offset{k}_wer", wers[0])
