"""A personal graph: the NNADC study entry over its input range (README, "Results of the default
experiment", NNADC bullet).

    ./sis manager users/nnadc_study/adc_range.py

Reuses the default graph's 4-bit QAT model and LM tuning and the NNADC code-transfer table of
`config/nnadc.py` (and `seed_study()`) from the cache; only the crossbar simulations, searches and
scoring of the new ranges run. WERs go to
output/nnadc_study/range<r>_wer.
"""
from sisyphus import tk

from config.memristor_adc import ExperimentSettings, memristor_wers, nnadc_hardware, study_model
from config.nnadc import NnadcSettings

#: NNADC input range bits: the converter spans +-2^(r-1) full-scale pairs (default graph: 4)
RANGE_BITS = (1, 2, 3, 4)


def py():
    s = ExperimentSettings()
    data, rec, ckpt, tuned = study_model(s)
    for r in RANGE_BITS:
        hw, _, _ = nnadc_hardware(NnadcSettings(), r)
        wers, _ = memristor_wers(ckpt, data, rec, tuned, hw, s.study_draws)
        tk.register_output(f"nnadc_study/range{r}_wer", wers[0])
