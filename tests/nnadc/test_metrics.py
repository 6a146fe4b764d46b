"""The metric path (stimulus -> codes -> adctoolbox) on converters whose answer is known."""
import numpy as np
import pytest

from memristor_asr.nnadc.design.combiner import (
    apply_calibration,
    fit_calibration,
    ideal_combine,
    ideal_stage_digits,
)
from memristor_asr.nnadc.evaluation.metrics import ramp_dnl_inl, sine_inputs, sndr_enob, transition_levels
from memristor_asr.nnadc.design.conversion_law import ideal_codes, target_fraction


@pytest.mark.parametrize("n_bits", [3, 5, 8, 10, 14])
def test_ideal_quantizer_enob_is_n_bits(n_bits):
    a, _ = sine_inputs(n_bits, "linear")
    enob = sndr_enob(ideal_codes(a, n_bits, "linear"))["enob"]
    assert abs(enob - n_bits) < 0.1


def test_ideal_log_quantizer_enob_in_its_own_domain():
    a, _ = sine_inputs(10, "log2")
    codes = ideal_codes(a, 10, "log2")
    assert abs(sndr_enob(codes)["enob"] - 10) < 0.1
    # a linear converter fed the same stimulus distorts it (the stimulus is a sine in log2(1+a))
    assert sndr_enob(ideal_codes(a, 10, "linear"))["enob"] < sndr_enob(codes)["enob"] - 3


def test_ideal_ramp_has_zero_dnl_inl_and_uniform_transitions():
    n = 6
    y = (np.arange(16 * 2**n) + 0.5) / (16 * 2**n)
    codes = ideal_codes(y, n, "linear")
    r = ramp_dnl_inl(codes, n)
    assert np.abs(r["dnl"]).max() < 1e-9 and np.abs(r["inl"]).max() < 1e-9 and r["missing_codes"] == 0
    assert np.allclose(transition_levels(codes, n), np.arange(1, 2**n) / 2**n)


def test_missing_code_shows_as_dnl_minus_one():
    n = 4
    y = (np.arange(32 * 2**n) + 0.5) / (32 * 2**n)
    codes = ideal_codes(y, n, "linear")
    codes[codes == 7] = 8  # code 7 never occurs
    r = ramp_dnl_inl(codes, n)
    assert r["missing_codes"] == 1 and r["dnl_min"] == pytest.approx(-1.0) and r["dnl_max"] == pytest.approx(1.0)


@pytest.mark.parametrize("stage_bits", [(1,) * 8, (1,) * 9 + (2, 3), (2, 3, 1), (3, 2)])
def test_pipelined_combiner_is_exact_with_ideal_stages(stage_bits):
    n = sum(stage_bits)
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.random(5000), (np.arange(2**n) + 0.5) / 2**n])
    codes = ideal_combine(ideal_stage_digits(y, stage_bits), stage_bits)
    assert (codes == np.floor(y * 2**n).astype(np.int64)).all()


def test_calibrated_combiner_recovers_a_sub_radix_pipeline():
    # stages with residue gain 1.9 instead of 2: shift-and-add is wrong, bit weights fix it
    stage_bits = (1,) * 10
    y = (np.arange(2**14) + 0.5) / 2**14
    r, digits = y.copy(), []
    for _ in stage_bits:
        d = (r >= 0.5).astype(np.int64)
        digits.append(d)
        r = np.clip(1.9 * (r - 0.5 * d) + 0.025, 0, 1 - 1e-12)
    digits = np.stack(digits, -1)[None]  # [1, T, 10]
    target = y * 2**10 - 0.5
    w = fit_calibration(digits, target, stage_bits)
    cal = apply_calibration(digits, w, stage_bits)[0]
    ideal = ideal_combine(digits, stage_bits)[0]
    err_cal = np.abs(cal - np.floor(y * 2**10)).mean()
    err_ideal = np.abs(ideal - np.floor(y * 2**10)).mean()
    assert err_cal < 1.0 < err_ideal


def test_log_transfer_is_monotone_and_spans_the_range():
    a = np.linspace(0, 1, 101)
    y = target_fraction(a, "log2")
    assert y[0] == 0 and y[-1] == pytest.approx(1.0) and (np.diff(y) > 0).all()
