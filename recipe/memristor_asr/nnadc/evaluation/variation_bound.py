"""The floor that independent cell variation sets on a design, from its cell counts alone.

Why: at sigma = 0.05 the measured Monte-Carlo ENOB of the pipelined designs stays far below their
targets however the blocks are trained. This module computes how far any training could get
without calibration: a passive column cannot average away the variation of its own cells.

Derivation (docs/nnadc.md, "The variation bound"). A column of ``n`` cells (conductances ``g_j``,
load ``g_L`` to the mid rail) divides its inputs ``u_j`` (rails ``+-1``) by the shares
``p_j = g_j / G``, ``G = sum g + g_L``: ``v = sum_j p_j u_j``. Under Eq. (12) every cell (and the
load) becomes ``g e^(-theta)``, ``theta ~ N(0, sigma)`` independent (:mod:`..circuit.variation`).
To first order the shares move by ``dp_j = p_j (theta_bar - theta_j)`` (``theta_bar`` the
share-weighted mean, the renormalisation), so

    dv = -sum_j p_j theta_j (u_j - v) + p_L theta_L v,
    E[dv^2] >= sigma^2 sum_j p_j^2 (u_j - v)^2 >= sigma^2 (sum_j p_j |u_j - v|)^2 / n   (Cauchy-Schwarz).

At mid-scale (``v = 0``) with the inputs at the rails the last sum is the column's total cell share
``P``, and the column's output range is at most ``[-P, P]``: the rms error is at least
``sigma / (2 sqrt(n))`` of the range, with equality for equal shares. A residue delivered at a
swing ``s <= P`` has its error relative to its own range ``2 s`` larger still, so the figure holds
for it too. It is a floor on the output column alone: the first crossbar, the inverters and the
training add to it.

Propagation through a pipeline (no redundancy, shift-and-add combiner): the residue of stage
``k`` spans the whole input range of the stages after it, i.e. ``2**B_k`` LSB of the output code,
``B_k`` the bits resolved after stage ``k``. A residue error ``e_k`` (fraction of its range)
therefore moves the code by ``e_k 2**B_k`` LSB (a redundant 1.5-bit stage alike: its residue too spans
the range of the ``B_k`` bits after it; only its digit weighs half); the blocks vary independently, so the mean-square
errors add to the quantization noise of ``1/12`` LSB^2:

    ENOB_bound (spectral) = N - log2(1 + 12 sum_k e_k^2 4**B_k) / 2,

the spectral ENOB of a full-scale sine (signal ``2**(2N) / 8`` LSB^2) with that error as noise;
the paper's Eq. (18) ENOB adds ``10 log10(3) / 6.02 = 0.79`` bit (its signal includes the DC).
Comparator (sub-ADC, mixed-ADC) outputs get the same relative floor at their decision point, but
what it costs depends on the slope of the column there (set by the inverter gain, not by cell
counts), and in a stage without redundancy a threshold shift ``t`` costs only ``O(t^3)`` of
mean-square error; decision floors are therefore listed per block but left out of the ENOB bound,
which stays an upper bound on what the design can reach (a sub-ranging design, having no residue,
gets ``N``: the bound says nothing about it).
"""
import math
from typing import Dict, List, Union

from ..design.config import PipelinedAdcV1Config, SubrangingAdcV1Config

__all__ = ["column_error_floor", "block_floors", "pipeline_enob_bound", "variation_bound", "PAPER_DC_GAIN_BITS"]

#: how much higher the paper's Eq. (18) ENOB reads for a full-scale unipolar sine: the DC (1/4 FS^2)
#: plus the AC power (1/8 FS^2) over the AC power alone is 3
PAPER_DC_GAIN_BITS = 10 * math.log10(3.0) / 6.02


def column_error_floor(n_cells: int, sigma: float) -> float:
    """rms output error of a passive column of ``n_cells`` independently varying cells, as a fraction
    of its output range, at mid-scale with its inputs at the rails: ``sigma / (2 sqrt(n))`` (module
    docstring; the exact first-order value for equal shares, a lower bound otherwise)."""
    if n_cells < 1:
        raise ValueError(f"column_error_floor: n_cells={n_cells} must be >= 1")
    if sigma < 0:
        raise ValueError(f"column_error_floor: sigma={sigma} must be >= 0")
    return sigma / (2 * math.sqrt(n_cells))


def block_floors(cfg: Union[PipelinedAdcV1Config, SubrangingAdcV1Config], sigma: float) -> List[dict]:
    """Every block of a design with its cell counts (from the config) and its output-column floor.

    :return: one dict per block in signal order: ``name``, ``kind`` ("sub_adc", "mixed_adc",
        "residue"), ``stage``, ``n_in`` (input lines), ``hidden``, ``first_column_cells`` (cells per
        first-layer column: inputs + bias), ``output_columns``, ``output_column_cells`` (hidden +
        bias), ``floor_rel`` (:func:`column_error_floor` of the output column: residue error or
        decision-point error as a fraction of the range)
    """
    def entry(name, kind, stage, n_in, hidden, n_out):
        return {"name": name, "kind": kind, "stage": stage, "n_in": n_in, "hidden": hidden,
                "first_column_cells": n_in + 1, "output_columns": n_out, "output_column_cells": hidden + 1,
                "floor_rel": column_error_floor(hidden + 1, sigma)}

    out = []
    if isinstance(cfg, PipelinedAdcV1Config):
        for i, st in enumerate(cfg.stages):
            out.append(entry(f"stage{i}_sub_adc", "sub_adc", i, 1, st.hidden, st.out_bits))
            out.append(entry(f"stage{i}_residue", "residue", i, 1 + st.out_bits, st.residue_hidden, 1))
        k = len(cfg.stages)
        out.append(entry(f"stage{k}_sub_adc", "sub_adc", k, 1, cfg.final.hidden, cfg.final.out_bits))
    elif isinstance(cfg, SubrangingAdcV1Config):
        c = cfg.coarse
        out.append(entry("coarse_sub_adc", "sub_adc", 0, 1, c.hidden, c.out_bits))
        code_lines = c.n_bits if cfg.coarse_code == "binary" else c.out_bits
        out.append(entry("mixed_adc", "mixed_adc", 1, 1 + code_lines, cfg.fine_hidden, cfg.fine.out_bits))
    else:
        raise TypeError(f"variation bound: expected a PipelinedAdcV1Config or SubrangingAdcV1Config, "
                        f"got {type(cfg).__name__}")
    return out


def pipeline_enob_bound(stage_bits, residue_errors) -> float:
    """Spectral ENOB of a pipeline whose stage ``k`` residue carries rms error ``residue_errors[k]``
    (fraction of its range), stage ``k`` followed by ``B_k`` more bits: ``N - log2(1 + 12 sum_k
    e_k^2 4**B_k) / 2`` (module docstring). ``residue_errors`` lists the residue stages (all but
    the last)."""
    bits = list(stage_bits)
    if len(residue_errors) != len(bits) - 1:
        raise ValueError(f"pipeline_enob_bound: {len(residue_errors)} residue errors for {len(bits)} stages "
                         f"(need one per stage but the last)")
    n = sum(bits)
    noise = 1.0 / 12  # quantization, LSB^2
    done = 0
    for nb, e in zip(bits, residue_errors):
        done += nb
        noise += (e * 2.0 ** (n - done)) ** 2
    return n - 0.5 * math.log2(12 * noise)


def variation_bound(cfg: Union[PipelinedAdcV1Config, SubrangingAdcV1Config], sigma: float) -> Dict[str, object]:
    """The variation floor of a design at conductance variation ``sigma`` (JSON-ready).

    :return: ``sigma``, ``blocks`` (:func:`block_floors`), ``residue_floor_rel`` (per residue stage),
        ``residue_floor_lsb`` (the same in output LSB, ``e_k 2**B_k``), ``enob_bound`` (spectral) and
        ``enob_paper_bound`` (paper's Eq. (18)), ``limited_by`` ("residues", or "none" for a design
        without residue blocks, whose bound is then its resolution)
    """
    blocks = block_floors(cfg, sigma)
    bits = list(cfg.stage_bits)
    n = sum(bits)
    res = [b["floor_rel"] for b in blocks if b["kind"] == "residue"]
    after = [n - sum(bits[: k + 1]) for k in range(len(res))]
    enob = pipeline_enob_bound(bits, res) if res else float(n)
    return {
        "sigma": float(sigma),
        "blocks": blocks,
        "residue_floor_rel": res,
        "residue_floor_lsb": [e * 2.0**b for e, b in zip(res, after)],
        "enob_bound": enob,
        "enob_paper_bound": enob + PAPER_DC_GAIN_BITS,
        "limited_by": "residues" if res else "none",
    }
