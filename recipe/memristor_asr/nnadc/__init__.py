"""Neural-network-inspired ADCs (NNADCs) from low-precision RRAM crossbars and CMOS inverters.

Behavioural PyTorch model of the converters of Cao et al. (TCAD 2020 / arXiv 1911.12815), see
/work/shared/spec/nnadc.md: building blocks (sub-ADC, mixed-ADC, residue) as three-layer
crossbar networks under RRAM precision, column-budget and inverter-corner constraints;
sub-ranging, pipelined and logarithmic converters trained stage by stage; Monte-Carlo
evaluation (ENOB, DNL, INL); an ngspice cross-check; code-transfer tables for other simulators.

Main entry points::

    cfg = PipelinedAdcV1Config(stages=(StageV1Config(1),) * 7, final=StageV1Config(1))
    conv = train_pipelined(cfg, ConverterTrainV1Config())
    metrics, curves = evaluate_converter(conv, EvalV1Config())
    levels, codes = nnadc_transfer_table(conv, n_points=4096, seed=0)
"""
from .block import BlockHardware, CrossbarMlpV1, CrossbarMlpV1Config
from .combiner import apply_calibration, fit_calibration, ideal_combine
from .converter import NnadcConverter, load_converter, save_converter
from .converter_config import PipelinedAdcV1Config, StageV1Config, SubrangingAdcV1Config
from .evaluate import EvalV1Config, evaluate_converter
from .pipelined import ConverterTrainV1Config, train_pipelined
from .smooth_code import decode_bits, encode_levels, smooth_code
from .subranging import train_subranging
from .sweep import BlockSweepV1Config, sweep_blocks
from .train import BlockTrainV1Config, train_block
from .transfer_table import apply_transfer_table, load_transfer_table, nnadc_transfer_table, save_transfer_table
from .vtc import VtcFamilyV1Config

__all__ = [
    "BlockHardware", "CrossbarMlpV1", "CrossbarMlpV1Config", "apply_calibration", "fit_calibration", "ideal_combine",
    "NnadcConverter", "load_converter", "save_converter", "PipelinedAdcV1Config", "StageV1Config",
    "SubrangingAdcV1Config", "EvalV1Config", "evaluate_converter", "ConverterTrainV1Config", "train_pipelined",
    "decode_bits", "encode_levels", "smooth_code", "train_subranging", "BlockSweepV1Config", "sweep_blocks",
    "BlockTrainV1Config", "train_block", "apply_transfer_table", "load_transfer_table", "nnadc_transfer_table",
    "save_transfer_table", "VtcFamilyV1Config",
]
