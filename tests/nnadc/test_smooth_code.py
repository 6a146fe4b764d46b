import numpy as np
import pytest

from memristor_asr.nnadc.circuit.smooth_code import (
    decode_bits,
    default_smooth_bits,
    encode_levels,
    format_code,
    smooth_code,
)


def test_spec_example_three_bits_for_two():
    assert [format_code(c) for c in smooth_code(2, 3)] == ["000", "001", "011", "111"]


@pytest.mark.parametrize("n_bits,smooth_bits",
                         [(1, 1), (2, 2), (2, 3), (3, 3), (3, 4), (3, 7), (4, 6), (5, 10), (6, 10)])
def test_one_bit_changes_and_codes_distinct(n_bits, smooth_bits):
    code = smooth_code(n_bits, smooth_bits)
    assert code.shape == (2**n_bits, smooth_bits)
    assert (code[0] == 0).all()
    assert (np.abs(np.diff(code, axis=0)).sum(axis=1) == 1).all()
    assert len({tuple(r) for r in code}) == 2**n_bits


def test_flips_are_spread_over_bits():
    # least-recently-flipped rule: no bit flips much more often than the average
    for n_bits in range(2, 7):
        s = default_smooth_bits(n_bits)
        flips = np.abs(np.diff(smooth_code(n_bits, s), axis=0)).sum(axis=0)
        assert flips.max() <= int(np.ceil((2**n_bits - 1) / s)) + 1
        assert flips.max() < 2**n_bits - 1 or n_bits == 1  # fewer toggles than a binary LSB


@pytest.mark.parametrize("n_bits", [1, 2, 3, 4, 5])
def test_decode_inverts_encode(n_bits):
    s = default_smooth_bits(n_bits)
    levels = np.arange(2**n_bits)
    assert (decode_bits(encode_levels(levels, n_bits, s), n_bits, s) == levels).all()


def test_decode_maps_every_word_to_a_nearest_codeword():
    n_bits, s = 3, 4
    code = smooth_code(n_bits, s)
    words = (np.arange(2**s)[:, None] >> np.arange(s)) & 1
    got = decode_bits(words, n_bits, s)
    dist = (words[:, None, :] != code[None]).sum(-1)
    assert (dist[np.arange(2**s), got] == dist.min(1)).all()


def test_impossible_width_is_an_error():
    with pytest.raises(ValueError, match="smooth_bits"):
        smooth_code(3, 2)
