"""Neural-network-inspired ADCs (NNADCs) from low-precision RRAM crossbars and CMOS inverters.

Behavioural PyTorch model of the converters of Cao et al. (TCAD 2020 / arXiv 1911.12815), see
/work/shared/spec/nnadc.md: building blocks (sub-ADC, mixed-ADC, residue) as three-layer
crossbar networks under RRAM precision, column-budget and inverter-corner constraints;
sub-ranging, pipelined and logarithmic converters trained stage by stage; Monte-Carlo
evaluation (ENOB, DNL, INL); an ngspice cross-check; code-transfer tables for other simulators.

Layout: :mod:`.circuit` (the physics of a block, written once), :mod:`.design` (what a converter
is), :mod:`.training`, :mod:`.evaluation`, :mod:`.export` (ngspice netlist, transfer tables, the
crossbar-simulation ADC). The modules ``converter_config``, ``evaluate``, ``pipelined``,
``sigma_sweep``, ``sweep``, ``train``, ``vtc`` and ``crossbar_adc`` at this level only re-export
moved names (old job.save files pickle config classes by those module paths).

Main entry points::

    cfg = PipelinedAdcV1Config(stages=(StageV1Config(1),) * 7, final=StageV1Config(1))
    conv = train_pipelined(cfg, ConverterTrainV1Config())
    metrics, curves = evaluate_converter(conv, EvalV1Config())
    levels, codes = nnadc_transfer_table(conv, n_points=4096, seed=0)
"""
from .circuit.block import BlockHardware, CrossbarMlpV1, CrossbarMlpV1Config
from .circuit.smooth_code import decode_bits, encode_levels, smooth_code
from .circuit.vtc import VtcFamilyV1Config
from .design.combiner import apply_calibration, fit_calibration, ideal_combine
from .design.config import PipelinedAdcV1Config, StageV1Config, SubrangingAdcV1Config
from .design.converter import NnadcConverter, load_converter, save_converter
from .evaluation.block_sweep import BlockSweepV1Config, sweep_blocks
from .evaluation.monte_carlo import EvalV1Config, evaluate_converter
from .export.transfer_table import apply_transfer_table, load_transfer_table, nnadc_transfer_table, save_transfer_table
from .training.block import train_block
from .training.config import BlockTrainV1Config, ConverterTrainV1Config
from .training.pipelined import train_pipelined
from .training.subranging import train_subranging

__all__ = [
    "BlockHardware", "CrossbarMlpV1", "CrossbarMlpV1Config", "apply_calibration", "fit_calibration", "ideal_combine",
    "NnadcConverter", "load_converter", "save_converter", "PipelinedAdcV1Config", "StageV1Config",
    "SubrangingAdcV1Config", "EvalV1Config", "evaluate_converter", "ConverterTrainV1Config", "train_pipelined",
    "decode_bits", "encode_levels", "smooth_code", "train_subranging", "BlockSweepV1Config", "sweep_blocks",
    "BlockTrainV1Config", "train_block", "apply_transfer_table", "load_transfer_table", "nnadc_transfer_table",
    "save_transfer_table", "VtcFamilyV1Config",
]
