"""Simulated memristor crossbars (library): Synaptogen cells in PyTorch, crossbar linear layers
with DAC / ADC, whole-model conversion, diagnostics. See /work/shared/spec/memristor.md."""
from memristor_asr.crossbar.adc import AdcConfigError, TableAdcConfigV1, UniformAdcConfigV1, UniformAdcV1
from memristor_asr.crossbar.cells import Cells
from memristor_asr.crossbar.config import CrossbarConfigError, CrossbarConfigV1, CrossbarConfigV2, layer_hardware
from memristor_asr.crossbar.convert import convert_to_crossbars, crossbar_layers, load_crossbar_model, seed_read_noise
from memristor_asr.crossbar.dac import DacV1
from memristor_asr.crossbar.diagnostics import (
    PreAdcHistogram,
    clipping_report,
    enable_pre_adc_histograms,
    plot_pre_adc_histograms,
    pre_adc_histograms,
    reset_statistics,
)
from memristor_asr.crossbar.iv import IVModel, ideal_iv, make_iv, synaptogen_iv
from memristor_asr.crossbar.layer import CrossbarConversionError, CrossbarLinearV1
from memristor_asr.crossbar.noise import READ_NOISE_KINDS, ReadNoiseV1, read_noise_model
from memristor_asr.crossbar.params import SynaptogenParams, load_synaptogen_params
from memristor_asr.crossbar.programming import bit_planes, derive_seed, n_planes_for

__all__ = [
    "Cells", "SynaptogenParams", "load_synaptogen_params", "IVModel", "synaptogen_iv", "ideal_iv", "make_iv",
    "ReadNoiseV1", "READ_NOISE_KINDS", "read_noise_model", "CrossbarConfigV2", "CrossbarConfigV1",
    "CrossbarConfigError", "layer_hardware", "DacV1", "UniformAdcConfigV1", "TableAdcConfigV1", "AdcConfigError",
    "UniformAdcV1", "CrossbarLinearV1",
    "CrossbarConversionError", "convert_to_crossbars", "load_crossbar_model", "crossbar_layers", "seed_read_noise",
    "bit_planes",
    "derive_seed", "n_planes_for", "PreAdcHistogram", "enable_pre_adc_histograms", "reset_statistics",
    "clipping_report", "pre_adc_histograms", "plot_pre_adc_histograms",
]
