"""Redundant ("1.5-bit") pipelined stages with digital error correction (issue 15, item 3).

The idealised chains below are computed here from the stage law (thresholds 3/8 and 5/8, residue
``2 r - d / 2``) with exact residues and injected comparator offsets, then combined by the project's
combiners; nothing is compared against stored numbers except the one pinned job hash of a config
written before the field existed.
"""
import dataclasses

import numpy as np
import pytest
import torch

from memristor_asr.nnadc.circuit.smooth_code import read_comparators, smooth_code, thermometer_code
from memristor_asr.nnadc.design.combiner import (
    CALIBRATIONS,
    calibrate,
    digit_bit_features,
    ideal_combine,
    ideal_stage_digits,
)
from memristor_asr.nnadc.design.config import DigitLayout, PipelinedAdcV1Config, StageV1Config, SubrangingAdcV1Config
from memristor_asr.nnadc.design.conversion_law import ideal_codes, redundant_digits, redundant_residue
from memristor_asr.nnadc.evaluation.metrics import ramp_dnl_inl
from memristor_asr.nnadc.evaluation.variation_bound import pipeline_enob_bound, variation_bound


# -- config ---------------------------------------------------------------------------------------------
def test_redundant_is_only_valid_on_one_bit_residue_stages():
    ok = PipelinedAdcV1Config(stages=(StageV1Config(1, redundant=True), StageV1Config(2)), final=StageV1Config(1))
    assert ok.n_bits == 4 and ok.layout.redundant == (True, False, False)
    with pytest.raises(ValueError, match=r"stages\[1\]\.redundant.*n_bits=1.*n_bits=2"):
        PipelinedAdcV1Config(stages=(StageV1Config(1), StageV1Config(2, redundant=True)), final=StageV1Config(1))
    with pytest.raises(ValueError, match=r"final\.redundant"):
        PipelinedAdcV1Config(stages=(StageV1Config(1),), final=StageV1Config(1, redundant=True))
    with pytest.raises(ValueError, match=r"coarse\.redundant"):
        SubrangingAdcV1Config(coarse=StageV1Config(1, redundant=True), fine_bits=3)
    with pytest.raises(ValueError, match=r"stages\[0\]\.smooth_bits"):
        PipelinedAdcV1Config(stages=(StageV1Config(1, redundant=True, smooth_bits=3),), final=StageV1Config(1))
    with pytest.raises(ValueError, match="redundant"):
        StageV1Config(1, redundant=1)  # type-checked like every field
    assert StageV1Config(1, redundant=True).out_bits == 2 and StageV1Config(1, redundant=True).n_levels == 3


def test_hash_of_configs_without_redundant_stages_is_unchanged():
    from sisyphus.hash import short_hash

    st = StageV1Config(n_bits=1)
    state = st.__sis_state__()
    assert "redundant" not in state
    assert state == {f.name: getattr(st, f.name) for f in dataclasses.fields(st) if f.name != "redundant"}
    # the id StageV1Config(n_bits=1) had before the field existed (computed with that code)
    assert short_hash(st) == "JLeaz7frZXdo"
    red = StageV1Config(n_bits=1, redundant=True)
    assert red.__sis_state__()["redundant"] is True and short_hash(red) != short_hash(st)
    plain = PipelinedAdcV1Config(stages=(st,) * 2, final=st)
    assert short_hash(plain) != short_hash(dataclasses.replace(plain, stages=(red, st)))


def test_layout_levels_and_weights():
    lay = DigitLayout((1, 2, 1, 1, 2), (True, False, True, False, False))
    assert lay.n_bits == 7 and lay.levels == (3, 4, 3, 2, 4)
    # bits after each stage: 6, 4, 3, 2, 0; a redundant digit weighs half
    assert lay.shifts == (5, 4, 2, 2, 0)
    assert DigitLayout((2, 1, 3)).shifts == (4, 3, 0) and DigitLayout((2, 1, 3)).redundant == (False,) * 3
    with pytest.raises(ValueError):
        DigitLayout((1, 1), (False, True))  # the last stage cannot be redundant


def test_thermometer_sub_adc_code():
    code = thermometer_code(3)
    assert code.tolist() == [[0, 0], [1, 0], [1, 1]]  # 00, 01, 11 (bit 0 rightmost)
    assert (code == smooth_code(2, 2)[:3]).all()
    out = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    bits, level = read_comparators(out, 1, thermometer=True)
    assert level.tolist() == [0, 1, 2, 1]  # the bubble 10 reads as the middle level
    assert bits.tolist() == out.tolist()


# -- idealised chains -----------------------------------------------------------------------------------
def _chain(y, layout, offsets):
    """Digits ``[T, stages]`` of a pipeline with exact residues and comparator threshold offsets
    ``offsets[i]`` (fractions of the stage range: two per redundant stage, one per plain 1-bit stage,
    None: exact). Residues are not clipped: an out-of-range residue is what a real stage passes on."""
    r = np.asarray(y, dtype=np.float64).copy()
    out = []
    for i, (nb, red) in enumerate(zip(layout.bits, layout.redundant)):
        off = offsets[i]
        if red:
            d = redundant_digits(r, off if off is not None else (0.0, 0.0))
            r = 2 * r - d / 2
        else:
            if nb == 1 and off is not None:
                d = (r >= 0.5 + off).astype(np.int64)
            else:
                d = np.clip(np.floor(r * 2**nb), 0, 2**nb - 1).astype(np.int64)
            r = r * 2**nb - d
        out.append(d)
    return np.stack(out, -1)


def _offsets(layout, gen, bound=0.1):
    """Random threshold offsets up to +-bound on every stage but the last, the extremes included."""
    out = []
    for i, red in enumerate(layout.redundant[:-1]):
        if red:
            o = gen.uniform(-bound, bound, 2)
            o[i % 2] = bound if i % 4 < 2 else -bound
            out.append(tuple(o))
        else:
            out.append(bound if i % 2 else -bound)
    return out + [None]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_redundancy_absorbs_threshold_offsets_the_plain_stages_cannot(seed):
    n = 10
    y = (np.arange(2**n * 16) + 0.5) / (2**n * 16)
    ideal = ideal_codes(y, n, "linear")
    red = DigitLayout((1,) * 8 + (2,), (True,) * 8 + (False,))
    plain = DigitLayout((1,) * 8 + (2,))
    gen = np.random.default_rng(seed)
    offs = _offsets(red, gen)
    d_red = _chain(y, red, offs)
    assert set(np.unique(d_red[:, 0])) == {0, 1, 2}
    assert (ideal_combine(d_red, red) == ideal).all()
    # plain 1-bit stages (one threshold, at 1/2) with offsets drawn the same way
    plain_offs = [o[0] for o in offs[:-1]] + [None]
    codes = ideal_combine(_chain(y, plain, plain_offs), plain)
    assert (codes != ideal).mean() > 0.05
    assert ramp_dnl_inl(codes, n)["missing_codes"] > 0
    # without offsets both are the ideal quantizer
    assert (ideal_combine(_chain(y, plain, [None] * 9), plain) == ideal).all()
    assert (ideal_combine(_chain(y, red, [None] * 9), red) == ideal).all()
    assert (ideal_stage_digits(y, red) == _chain(y, red, [None] * 9)).all()


def test_mixed_layout_with_offsets_and_every_calibration():
    lay = DigitLayout((1, 2, 1, 1, 2), (True, False, True, False, False))
    n = lay.n_bits
    y = (np.arange(2**n * 16) + 0.5) / (2**n * 16)
    ideal = ideal_codes(y, n, "linear")
    offs = [(0.1, -0.1), None, (-0.08, 0.05), None, None]
    digits = _chain(y, lay, offs)
    assert (ideal_combine(digits, lay) == ideal).all()
    feats = digit_bit_features(digits, lay)
    assert feats.shape == (len(y), 2 + 2 + 2 + 1 + 2 + 1)
    target = y * 2**n - 0.5
    for method in CALIBRATIONS:
        (codes,) = calibrate(method, digits[None], target, lay, digits[None])
        err = codes[0] - ideal
        assert np.abs(err).max() <= 1 and np.sqrt(np.mean(err**2)) < 0.2, method


def test_digital_correction_clips_to_the_code_range():
    lay = DigitLayout((1, 1, 1), (True, True, False))
    top = ideal_combine(np.array([[2, 2, 1]]), lay)  # 2*2 + 2*1 + 1 = 7
    assert top.tolist() == [7]
    assert ideal_combine(np.array([[2, 2, 1], [0, 0, 0]]), DigitLayout((1, 1, 1), (True, False, False))).tolist() \
        == [7, 0]  # 2*2 + 2*2 + 1 = 9 clipped to 7


def test_residue_target_in_full_range_units():
    r = np.linspace(0, 1, 801, endpoint=False)
    d = redundant_digits(r)
    res = redundant_residue(r, d)  # 2 (2 r - d / 2) - 1
    assert np.allclose((res + 1) / 2, 2 * r - d / 2)
    assert res.min() >= -1 and res.max() < 1
    for off in (-0.125, 0.125):  # at the edge of the redundancy the residue still stays in range
        dd = redundant_digits(r, (off, off))
        rr = redundant_residue(r, dd)
        assert rr.min() >= -1 - 1e-12 and rr.max() <= 1 + 1e-12


def test_variation_bound_counts_the_thermometer_lines():
    st = StageV1Config(1, redundant=True)
    cfg = PipelinedAdcV1Config(stages=(st,) * 3, final=StageV1Config(1))
    vb = variation_bound(cfg, 0.05)
    residues = [b for b in vb["blocks"] if b["kind"] == "residue"]
    assert all(b["n_in"] == 3 for b in residues)
    subs = [b for b in vb["blocks"] if b["kind"] == "sub_adc"]
    assert [b["output_columns"] for b in subs] == [2, 2, 2, 1]
    assert vb["enob_bound"] == pytest.approx(pipeline_enob_bound((1, 1, 1, 1), vb["residue_floor_rel"]))


# -- a tiny trained redundant pipeline -------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_redundant():
    from memristor_asr.nnadc import BlockTrainV1Config, ConverterTrainV1Config, train_pipelined

    fast = BlockTrainV1Config(iterations=300, batch_size=1024, log_every=300, pvt_aware=False)
    st = StageV1Config(1, hidden=6, residue_hidden=6, rram_bits=4, redundant=True)
    cfg = PipelinedAdcV1Config(stages=(st, st), final=StageV1Config(1, hidden=2, rram_bits=4))
    return train_pipelined(cfg, ConverterTrainV1Config(comparator=fast, residue=fast, pool_size=1 << 12))


def test_tiny_redundant_pipeline_evaluates_with_every_combiner(tiny_redundant, tmp_path):
    from memristor_asr.nnadc.design.converter import load_converter, save_converter
    from memristor_asr.nnadc.evaluation.monte_carlo import COMBINERS, EvalV1Config, evaluate_converter

    conv = tiny_redundant
    assert [hw.thermometer for hw in conv.sub_adcs] == [True, True, False]
    assert [hw.cfg.n_out for hw in conv.sub_adcs] == [2, 2, 1] and conv.residues[0].cfg.n_in == 3
    nominal = conv.instances(1, 0.0, 0)
    a = conv.ramp_inputs(16)
    d = conv.digits(a, nominal)
    assert d[..., 0].max() == 2 and d[..., 0].min() == 0
    codes = conv.codes(a, nominal)
    assert codes.min() == 0 and codes.max() == 2**conv.n_bits - 1

    metrics, _ = evaluate_converter(conv, EvalV1Config(n_instances=3, sigma=0.05, corners=("ss",), chunk=3))
    assert set(metrics["mc"]) == set(COMBINERS) and set(metrics["nominal"]) == set(COMBINERS)
    assert metrics["redundant_stages"] == [True, True, False]
    for comb in COMBINERS:
        assert np.isfinite(metrics["mc"][comb]["enob_median"]) and np.isfinite(metrics["mc"][comb]["enob_paper_median"])
    assert len(metrics["block_errors"]["nominal"]["residue_rms_pct"]) == 2

    path = str(tmp_path / "conv.pt")
    save_converter(conv, path)
    back = load_converter(path)
    assert back.cfg == conv.cfg and [hw.thermometer for hw in back.sub_adcs] == [True, True, False]
    assert (back.codes(a, back.instances(2, 0.05, 3)) == conv.codes(a, conv.instances(2, 0.05, 3))).all()


def test_tiny_redundant_pipeline_exports(tiny_redundant, tmp_path):
    from memristor_asr.nnadc.export.netlist import SpiceInverterV1Config, behavioural_stage, pipeline_stage_netlist
    from memristor_asr.nnadc.export.transfer_table import nnadc_transfer_table

    for calibration in (None, "lut"):
        levels, codes = nnadc_transfer_table(tiny_redundant, 64, seed=1, n_instances=2, calibration=calibration)
        assert codes.shape == (2, 64) and codes.min() >= 0 and codes.max() <= 2**tiny_redundant.n_bits - 1
    with pytest.raises(NotImplementedError, match=r"stages\[1\].*redundant"):
        pipeline_stage_netlist(tiny_redundant, 1, SpiceInverterV1Config(), "x.txt")
    with pytest.raises(NotImplementedError, match="redundant"):
        behavioural_stage(tiny_redundant.sub_adcs[0], tiny_redundant.residues[0], np.zeros(3))


def test_code_lut_tables_digit_tuples_with_redundant_stages():
    """Two tuples with one corrected code carry different inputs once a residue has a gain error: the
    table over the digit tuple tells them apart (it is a finer partition of the ramp, so its least-squares
    error is never larger), one over the corrected code cannot."""
    from memristor_asr.nnadc.design.combiner import TupleLut, apply_code_lut, fit_code_lut

    lay = DigitLayout((1, 1, 1, 1, 2), (True, True, True, False, False))
    n = lay.n_bits
    y = (np.arange(2**n * 16) + 0.5) / (2**n * 16)
    offs = [(0.1, -0.1), (-0.06, 0.08), (0.02, 0.1), None, None]
    r, cols = y.copy(), []
    for i, (nb, red) in enumerate(zip(lay.bits, lay.redundant)):  # _chain with a 6 % gain error on stage 0
        if red:
            d = redundant_digits(r, offs[i])
            r = (1.06 if i == 0 else 1.0) * (2 * r - d / 2)
        else:
            d = np.clip(np.floor(r * 2**nb), 0, 2**nb - 1).astype(np.int64)
            r = r * 2**nb - d
        cols.append(d)
    digits = np.stack(cols, -1)[None]
    target = y * 2**n - 0.5
    lut = fit_code_lut(digits, target, lay)
    assert isinstance(lut, TupleLut)
    raw = ideal_combine(digits, lay)
    by_code = np.take_along_axis(lut.code_lut, raw, 1)[0]
    mult = np.array([3 * 3 * 2 * 4, 3 * 2 * 4, 2 * 4, 4, 1])  # mixed radix of the levels (3, 3, 3, 2, 4)
    by_tuple = lut.values[0][np.searchsorted(lut.keys[0], (digits[0] * mult).sum(-1))]
    rms = lambda e: np.sqrt(np.mean((e - target) ** 2))  # noqa: E731
    quantization = 12**-0.5
    assert rms(by_tuple) < rms(by_code) - 0.02
    assert rms(by_tuple) < 1.1 * quantization < rms(by_code)
    codes = apply_code_lut(digits, lut, lay)[0]
    assert (codes == np.clip(np.rint(by_tuple), 0, 2**n - 1)).all()
    # a tuple the ramp never produced falls back to the table over its corrected code
    other = digits.copy()
    other[0, :, 3] = 1 - other[0, :, 3]
    seen = np.isin((other[0] * mult).sum(-1), lut.keys[0])
    fallback = np.clip(np.rint(np.take_along_axis(lut.code_lut, ideal_combine(other, lay), 1)), 0, 2**n - 1)[0]
    assert (~seen).any() and (apply_code_lut(other, lut, lay)[0][~seen] == fallback[~seen]).all()
    # without redundant stages the table is the plain code table (an array), as before
    assert isinstance(fit_code_lut(digits[..., :1] * 0, target, (1,)), np.ndarray)
