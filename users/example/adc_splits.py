"""A personal graph: the default experiment plus ADC splits of my own.

    ./sis manager users/example/adc_splits.py

Everything the default graph already computed (corpus, LM, trained models, existing splits) comes
from the cache; only the conversion, recognition, scoring and report jobs of the new splits run.
The report goes to output/example/ next to the default one.
"""
from config.memristor_adc import ExperimentSettings, build_experiment

#: (precision bits, range bits) of the whole crossbar ADC, beyond the default sweep
MY_GLOBAL_ADCS = ((5, 5), (6, 4))
#: ADC of the positional-encoding projection only (the rest stays at the base 4+4)
MY_POS_ADCS = ((5, 7),)


def py():
    build_experiment(ExperimentSettings(), prefix="example", extra_study_adcs=MY_GLOBAL_ADCS,
                     extra_pos_adcs=MY_POS_ADCS)
