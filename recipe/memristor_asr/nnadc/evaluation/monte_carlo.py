"""Monte-Carlo evaluation of a converter: nominal chip, 100 varied chips, inverter corners.

Why several combiners: per chip, the ramp that measures DNL/INL also serves as the foreground
calibration record, so every instance is reported with the ideal shift-and-add combiner (what the
analog design alone achieves) and with the calibrated combiners of :data:`COMBINERS` (what a
calibrated chip achieves: per-bit weights, per-stage gain and offset, per-segment weights, a code
lookup table).

Every chip carries both ENOB figures: ``enob`` (spectral, :func:`.metrics.sndr_enob`) and
``enob_paper`` (the paper's Eq. (18), :func:`.metrics.paper_enob`). ``variation_bound`` gives the
floor that independent cell variation alone sets (:mod:`.variation_bound`).
"""
import logging
import time
from dataclasses import asdict, dataclass
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from ..circuit.vtc import corner_vtc
from ..design.combiner import calibrate, ideal_combine, ideal_stage_digits
from ..design.conversion_law import fraction_of_range, input_voltage, stage_residue, target_fraction
from ..design.converter import NnadcConverter
from .metrics import dnl_inl_from_transitions, paper_enob, ramp_dnl_inl, sine_inputs, sndr_enob, transition_levels
from .variation_bound import variation_bound

__all__ = ["EvalV1Config", "evaluate_converter", "summarize", "variation_breakdown", "block_errors", "calibration_ramp",
           "COMBINERS", "combine_all"]

#: combiner name -> calibration method of :func:`..design.combiner.calibrate` (None: shift-and-add).
#: "calibrated" (per-bit weights) keeps the name it had before the others were added.
COMBINERS = {"ideal": None, "calibrated": "bits", "calibrated_stage": "stage", "calibrated_segment": "segment",
             "calibrated_lut": "lut"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalV1Config:
    """Evaluation settings.

    Attributes:
        n_instances: Monte-Carlo chips
        sigma: lognormal resistance variation, ``R <- R * exp(N(0, sigma))``
        seed: seed of the Monte-Carlo draws
        n_fft: sine record length; None: :func:`default_fft_size`
        amplitude: sine amplitude as a fraction of half the code range
        ramp_points_per_code: ramp density for DNL/INL and calibration
        corners: inverter corners evaluated on the nominal chip (nominal supply and temperature)
        chunk: instances processed together (memory bound)
    """

    n_instances: int = 100
    sigma: float = 0.05
    seed: int = 1234
    n_fft: Optional[int] = None
    amplitude: float = 0.999
    ramp_points_per_code: int = 16
    corners: Tuple[str, ...] = ("ss", "ff", "sf", "fs")
    chunk: int = 10

    def __post_init__(self):
        if self.n_instances < 1:
            raise ValueError(f"n_instances={self.n_instances}: must be >= 1")
        if self.sigma < 0:
            raise ValueError(f"sigma={self.sigma}: must be >= 0")


def calibration_ramp(conv: NnadcConverter, points_per_code: int) -> Tuple[np.ndarray, np.ndarray]:
    """The per-chip calibration (and DNL / INL) record: ramp inputs ``a`` uniform in the code domain,
    and the ideal continuous code value of each sample (in LSB)."""
    a_ramp = conv.ramp_inputs(points_per_code)
    return a_ramp, target_fraction(a_ramp, conv.transfer) * 2**conv.n_bits - 0.5


def combine_all(stage_bits, d_ramp: np.ndarray, target: np.ndarray, *records: np.ndarray) -> Dict[str, list]:
    """Codes of digit records (``[M, T, stages]`` each) under every combiner of :data:`COMBINERS`,
    the calibrations fitted per chip on the ramp digits ``d_ramp`` against ``target`` (LSB).

    :return: combiner name -> list of code arrays ``[M, T]``, one per record
    """
    out = {}
    for comb, method in COMBINERS.items():
        if method is None:
            out[comb] = [ideal_combine(r, stage_bits) for r in records]
        else:
            out[comb] = calibrate(method, d_ramp, target, stage_bits, *records)
    return out


def _chip_metrics(conv: NnadcConverter, d_ramp: np.ndarray, d_sine: np.ndarray, target: np.ndarray,
                  y_sine: np.ndarray):
    """Metrics of chips ``d_ramp [M, T_r, stages]``, ``d_sine [M, T_s, stages]`` for every combiner.

    :param y_sine: the sine's ideal signal ``[T_s]`` (code fraction), the reference of the Eq. (18) ENOB
    :return: per-combiner lists of per-chip metric dicts, and per-combiner ramp codes ``[M, T_r]``
    """
    codes = combine_all(conv.layout, d_ramp, target, d_ramp, d_sine)
    out = {comb: [] for comb in codes}
    for comb, (cr, cs) in codes.items():
        pap = paper_enob(cs, y_sine, conv.n_bits)
        for m in range(cr.shape[0]):
            s = sndr_enob(cs[m])
            d = ramp_dnl_inl(cr[m], conv.n_bits)
            out[comb].append({**s, "enob_paper": float(pap["enob"][m]), "snr_paper_db": float(pap["snr_db"][m]),
                              **{k: d[k] for k in ("dnl_min", "dnl_max", "inl_min", "inl_max", "missing_codes")}})
    return out, {comb: c[0] for comb, c in codes.items()}


def evaluate_converter(conv: NnadcConverter, cfg: EvalV1Config = EvalV1Config()) -> Tuple[dict, Dict[str, np.ndarray]]:
    """Evaluate ``conv``.

    :return: (metrics, curves). ``metrics`` is JSON-ready: ``nominal`` (ideal combiner, no
        variation), ``mc`` (per combiner: per-chip lists and medians / percentiles), ``corners``.
        ``curves`` holds arrays for plots: ramp transition levels, DNL, INL of the nominal chip
        and of the median-ENOB chip, transfer curves of a few chips.
    """
    t0 = time.time()
    a_sine, _ = sine_inputs(conv.n_bits, conv.transfer, cfg.n_fft, cfg.amplitude)
    a_ramp, target = calibration_ramp(conv, cfg.ramp_points_per_code)
    stim = (a_ramp, a_sine, target, np.asarray(target_fraction(a_sine, conv.transfer), dtype=np.float64))
    nominal = conv.instances(1, 0.0, 0)
    nom, nom_curves = _nominal_chip(conv, nominal, *stim)
    per_chip, transitions = _monte_carlo_chips(conv, cfg, *stim, t0)
    mc, mc_curves = _summarize_monte_carlo(per_chip, transitions)
    curves = {**nom_curves, **mc_curves}

    breakdown = variation_breakdown(conv, cfg, a_sine)
    breakdown["conductance_only"] = mc["ideal"]["enob_median"]

    metrics = {
        "kind": conv.kind,
        "n_bits": conv.n_bits,
        "stage_bits": list(conv.stage_bits),
        **({"redundant_stages": list(conv.layout.redundant)} if conv.layout.any_redundant else {}),
        "transfer": conv.transfer,
        "nominal": {comb: chips[0] for comb, chips in nom.items()},
        "mc": mc,
        "variation_bound": variation_bound(conv.cfg, cfg.sigma),
        "corners_enob": _corner_enobs(conv, cfg.corners, nominal, a_sine),
        "variation_breakdown": breakdown,
        "block_errors": {"nominal": block_errors(conv), "mc": block_errors(conv, cfg.n_instances, cfg.sigma, cfg.seed)},
        "eval_cfg": asdict(cfg),
        "eval_seconds": time.time() - t0,
        "train_seconds": float(sum(r.get("seconds", 0.0) for r in conv.train_log)),
        "train_log": conv.train_log,
    }
    return metrics, curves


def _nominal_chip(conv: NnadcConverter, nominal, a_ramp: np.ndarray, a_sine: np.ndarray, target: np.ndarray,
                  y_sine: np.ndarray):
    """Metrics of the nominal chip (every combiner) and its curves: ramp transition levels, DNL and INL
    (ideal combiner).

    :return: (per-combiner one-element lists of metric dicts, curves)
    """
    nom, nom_codes = _chip_metrics(conv, conv.digits(a_ramp, nominal), conv.digits(a_sine, nominal), target, y_sine)
    nom_lv = transition_levels(nom_codes["ideal"][0], conv.n_bits)
    curves = {"nominal_transitions": nom_lv}
    curves["nominal_dnl"], curves["nominal_inl"] = dnl_inl_from_transitions(nom_lv)
    return nom, curves


def _monte_carlo_chips(conv: NnadcConverter, cfg: EvalV1Config, a_ramp: np.ndarray, a_sine: np.ndarray,
                       target: np.ndarray, y_sine: np.ndarray, t0: float):
    """The ``cfg.n_instances`` varied chips, ``cfg.chunk`` at a time (progress logged since ``t0``).

    :return: per combiner: the per-chip metric dicts, and each chip's ramp transition levels
    """
    inst = conv.instances(cfg.n_instances, cfg.sigma, cfg.seed)
    per_chip = {comb: [] for comb in COMBINERS}
    transitions = {comb: [] for comb in COMBINERS}
    for start in range(0, cfg.n_instances, cfg.chunk):
        sub = inst.subset(start, start + cfg.chunk)
        res, ramp_codes = _chip_metrics(conv, conv.digits(a_ramp, sub), conv.digits(a_sine, sub), target, y_sine)
        for comb in COMBINERS:
            per_chip[comb] += res[comb]
            transitions[comb] += [transition_levels(c, conv.n_bits) for c in ramp_codes[comb]]
        done = min(start + cfg.chunk, cfg.n_instances)
        el = time.time() - t0
        log.info("MC %d/%d chips (%.1f s, ETA %.0f s)", done, cfg.n_instances, el, el / done * (cfg.n_instances - done))
    return per_chip, transitions


def _summarize_monte_carlo(per_chip: dict, transitions: dict) -> Tuple[dict, Dict[str, np.ndarray]]:
    """Per combiner: :func:`summarize` of the chips with the index of the median-ENOB chip, and as curves
    the transition levels of the first ten chips and the transitions, DNL and INL of the median chip."""
    mc = {comb: summarize(chips) for comb, chips in per_chip.items()}
    curves = {}
    for comb in per_chip:
        enobs = np.array([c["enob"] for c in per_chip[comb]])
        med = int(np.argsort(enobs)[len(enobs) // 2])
        mc[comb]["median_chip"] = med
        curves[f"mc_{comb}_transitions"] = np.stack(transitions[comb][: min(10, len(enobs))])
        curves[f"mc_{comb}_median_transitions"] = transitions[comb][med]
        # DNL/INL curves of the median chip (endpoint definition, like the nominal curves)
        dnl_inl = dnl_inl_from_transitions(transitions[comb][med])
        curves[f"mc_{comb}_median_dnl"], curves[f"mc_{comb}_median_inl"] = dnl_inl
    return mc, curves


def _corner_enobs(conv: NnadcConverter, corners, nominal, a_sine: np.ndarray) -> Dict[str, float]:
    """Sine-test ENOB (ideal combiner) of the nominal chip at each inverter corner (nominal supply and temperature)."""
    out = {}
    for c in corners:
        p = corner_vtc(conv.cfg.vtc, c, conv.cfg.vtc.vdd_nominal, conv.cfg.vtc.temp_nominal)
        out[c] = sndr_enob(ideal_combine(conv.digits(a_sine, nominal, p), conv.layout)[0])["enob"]
    return out


def _median_enob(conv: NnadcConverter, a_sine: np.ndarray, inst, chunk: int) -> float:
    enobs = []
    for start in range(0, inst.n, chunk):
        codes = ideal_combine(conv.digits(a_sine, inst.subset(start, start + chunk)), conv.layout)
        enobs += [sndr_enob(c)["enob"] for c in codes]
    return float(np.median(enobs))


def variation_breakdown(conv: NnadcConverter, cfg: EvalV1Config,
                        a_sine: Optional[np.ndarray] = None) -> Dict[str, float]:
    """Median ENOB (sine test, ideal combiner) under each source of variation on its own.

    ``nominal``: no variation; ``vtc_only``: every inverter of every chip draws its curve from
    the corner family (as in PVT-aware training), nominal conductances; ``both``: those curves
    and lognormal conductance variation ``cfg.sigma`` (the conductance-only case is the main
    Monte-Carlo result, ``mc.ideal.enob_median``). Same seeds as the main Monte-Carlo run.
    """
    if a_sine is None:
        a_sine, _ = sine_inputs(conv.n_bits, conv.transfer, cfg.n_fft, cfg.amplitude)
    return {
        "nominal": _median_enob(conv, a_sine, conv.instances(1, 0.0, 0), cfg.chunk),
        "vtc_only": _median_enob(conv, a_sine, conv.instances(cfg.n_instances, 0.0, cfg.seed, vtc_draws=True),
                                 cfg.chunk),
        "both": _median_enob(conv, a_sine, conv.instances(cfg.n_instances, cfg.sigma, cfg.seed, vtc_draws=True),
                             cfg.chunk),
    }


@torch.no_grad()
def block_errors(conv: NnadcConverter, n_instances: int = 1, sigma: float = 0.0, seed: int = 1234,
                 n_points: int = 4096) -> Dict[str, list]:
    """Per-block errors on a uniform ramp, averaged over ``n_instances`` chips (``sigma = 0``: nominal).

    ``digit_error_rate[i]``: fraction of inputs where stage ``i``'s digit differs from the ideal
    converter's (so an error of an earlier stage shows up in later stages too).
    ``residue_rms_pct[i]`` (pipelined): rms error of residue block ``i`` against the ideal residue
    of *its own* input and digit (``2 * (2**N * r - d) - 1``, a redundant stage ``4 r - d - 1``; full-range
    units, ``r`` is the stage input as a fraction of its range, for the first stage the converter's code fraction),
    in percent of the full range: the block's own accuracy, not what earlier stages did to its input.
    """
    a = (np.arange(n_points) + 0.5) / n_points
    y = np.asarray(target_fraction(a, conv.transfer))
    ideal = ideal_stage_digits(y, conv.layout)  # [T, stages]
    inst = conv.instances(n_instances, sigma, seed)
    out = {"digit_error_rate": []}
    if conv.kind != "pipelined":
        d = conv.digits(a, inst)  # [M, T, 2]
        out["digit_error_rate"] = [float((d[..., i] != ideal[None, :, i]).mean()) for i in range(d.shape[-1])]
        return out
    out["residue_rms_pct"] = []
    stages = conv.trace(input_voltage(a), inst)
    scale = 1.0  # hardware volts per full-range unit of the current stage input
    for i, st in enumerate(stages):
        out["digit_error_rate"].append(float((st.digit.numpy() != ideal[None, :, i]).mean()))
        if st.residue is None:
            break
        if i == 0:  # the converter input, through the conversion law (log2 designs)
            r_in = torch.as_tensor(y, dtype=torch.float32)[None].expand(n_instances, -1)
        else:  # the previous residue as a fraction of its range
            r_in = fraction_of_range(st.input[..., 0], scale)
        want = stage_residue(r_in, st.digit.to(torch.float32), conv.stage_bits[i], conv.layout.redundant[i])
        scale = float(conv.residues[i].out_scale[0])
        err = st.residue[..., 0] / scale - want
        out["residue_rms_pct"].append(float(err.pow(2).mean().sqrt()) / 2 * 100)
    return out


def summarize(chips: list) -> dict:
    """Medians and spreads of per-chip metrics (ENOB percentiles, DNL/INL medians of extremes; the
    ``enob_paper_*`` entries are the paper's Eq. (18) ENOB, where the chips carry it)."""
    enob = np.array([c["enob"] for c in chips])
    out = {
        "n": len(chips),
        "enob_median": float(np.median(enob)),
        "enob_p10": float(np.percentile(enob, 10)),
        "enob_p90": float(np.percentile(enob, 90)),
        "enob_min": float(enob.min()),
        "enob_max": float(enob.max()),
        "enob": enob.tolist(),
    }
    if all("enob_paper" in c for c in chips):
        ep = np.array([c["enob_paper"] for c in chips])
        out.update({"enob_paper_median": float(np.median(ep)), "enob_paper_p10": float(np.percentile(ep, 10)),
                    "enob_paper_p90": float(np.percentile(ep, 90)), "enob_paper": ep.tolist()})
    for k in ("sndr_db", "dnl_min", "dnl_max", "inl_min", "inl_max", "missing_codes"):
        out[f"{k}_median"] = float(np.median([c[k] for c in chips]))
    return out
