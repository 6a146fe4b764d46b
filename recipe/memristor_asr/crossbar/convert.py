"""Whole-model conversion: every ``QuantLinear`` becomes a :class:`CrossbarLinearV1`.

One call = one device draw: the same (model, config, seed) gives bit-identical crossbars on the
same kind of device (CPU and CUDA random streams differ). Layer seeds derive from the draw seed
and the layer's qualified name, so adding or reordering layers does not change the others.
"""
import logging
import time
from typing import Dict, Optional

import torch

from memristor_asr.crossbar.config import Hardware
from memristor_asr.crossbar.layer import CrossbarConversionError, CrossbarLinearV1
from memristor_asr.crossbar.programming import DEFAULT_MAX_CELLS_PER_CHUNK, derive_seed, n_planes_for

__all__ = ["convert_to_crossbars", "load_crossbar_model", "crossbar_layers", "seed_read_noise"]

_log = logging.getLogger(__name__)


def _quant_linears(model: torch.nn.Module) -> Dict[str, torch.nn.Module]:
    from memristor_asr.quant import QuantLinear

    return {n: m for n, m in model.named_modules() if isinstance(m, QuantLinear)}


def crossbar_layers(model: torch.nn.Module) -> Dict[str, CrossbarLinearV1]:
    """All crossbar layers of a converted model by qualified name."""
    return {n: m for n, m in model.named_modules() if isinstance(m, CrossbarLinearV1)}


@torch.no_grad()
def convert_to_crossbars(model: torch.nn.Module, config: Hardware, seed: int, *,
                         device: Optional[torch.device] = None,
                         max_cells_per_chunk: int = DEFAULT_MAX_CELLS_PER_CHUNK) -> torch.nn.Module:
    """Replace every QuantLinear of ``model`` (in place) by a crossbar layer programmed from it.

    :param model: a QAT model (its activation quantizers must have observed data)
    :param config: the hardware description (``CrossbarConfigV2``, or V1) with per-layer overrides
        (patterns must match)
    :param seed: the device-draw seed
    :param device: where to program and simulate (default: each layer's weight device)
    :param max_cells_per_chunk: cells simulated at once while programming (memory bound only;
        results do not depend on it)
    :return: the model (in eval mode); a bare QuantLinear is returned as its replacement
    """
    layers = _quant_linears(model)
    if not layers:
        raise ValueError("convert_to_crossbars: the model has no QuantLinear layer to put on crossbars")
    config.check_patterns_match(layers.keys())
    total = sum(2 * n_planes_for(int(m.weight_quantizer.q_max)) * m.in_features * m.out_features
                for m in layers.values())
    done, t0 = 0, time.time()
    replacement = None
    for i, (name, layer) in enumerate(layers.items()):
        xbar = CrossbarLinearV1.from_quant_linear(layer, config, seed, name or "layer", device=device,
                                                  max_cells_per_chunk=max_cells_per_chunk)
        if name == "":
            replacement = xbar
        else:
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name), child, xbar)
        done += xbar.n_cells
        elapsed = time.time() - t0
        rate = done / max(elapsed, 1e-9)
        _log.info("crossbars: %d/%d layers, %.1f/%.1f M cells, %.2f M cells/s, ETA %.0f s (%s)",
                  i + 1, len(layers), done / 1e6, total / 1e6, rate / 1e6, (total - done) / max(rate, 1e-9), name)
    out = replacement if replacement is not None else model
    return out.eval()


def load_crossbar_model(checkpoint_path: str, config: Hardware, seed: int, device: Optional[str] = None):
    """One device draw of a checkpoint: load it and convert its QAT layers to crossbars; errors
    name the checkpoint (a float model, or a QAT model never trained or calibrated, is refused).

    :return: (model in eval mode, its model config)
    """
    from memristor_asr.model import load_model

    model, model_cfg = load_model(checkpoint_path, device=device)
    try:
        return convert_to_crossbars(model, config, seed), model_cfg
    except CrossbarConversionError as e:
        raise CrossbarConversionError(f"checkpoint {checkpoint_path}: {e}") from None
    except ValueError as e:
        hint = ""
        if not _quant_linears(model):
            hint = (" (a float model: the simulation needs a QAT checkpoint, e.g. TrainQatConformerJob with "
                    "quant=QuantConfigV1(weight_bits=...))")
        raise ValueError(f"checkpoint {checkpoint_path}: {e}{hint}") from None


def seed_read_noise(model: torch.nn.Module, seed: int, key: str = "") -> None:
    """Restart every crossbar layer's read-noise stream from (draw seed, key, layer name); with
    ``key`` = utterance id, an utterance's noise does not depend on batching or order."""
    for name, m in crossbar_layers(model).items():
        m.seed_read_noise(derive_seed(seed, key, m.name or name, "read"))
