"""Smooth codes: the output encoding of NNADC sub-ADCs.

Why: a network output bit that toggles many times along the input axis needs many hidden
neurons to carve out; plain binary makes the LSB toggle at every level. A smooth code spends
more output bits (``S > N``) so that consecutive levels differ in exactly one bit and every bit
flips as few times as possible. Construction (nnadc.md): start from all zeros and, at each
level, flip the least-recently-flipped bit (ties: lowest bit index first). When that would
revisit a used codeword (the plain rule cycles after ``2 S`` levels, a Johnson counter), the
next least-recently-flipped bit is tried, with backtracking, so the result is always a path of
distinct codewords (a Gray-like code).

Bits are stored little-endian: ``code[level, 0]`` is bit 0, which is written rightmost, so
``smooth_code(2, 3)`` reads ``000, 001, 011, 111``.

Reading a comparator block (:func:`read_comparators`: column voltage ``> 0`` is a 1, decoded to
the nearest codeword) and the logic voltages that carry code bits into the next block
(:func:`logic_levels`, :func:`binary_levels`) are written here once for training, evaluation and
the block sweeps.
"""
import functools
from typing import List, Tuple

import numpy as np
import torch

__all__ = ["smooth_code", "default_smooth_bits", "encode_levels", "decode_table", "decode_bits", "format_code",
           "read_comparators", "logic_levels", "binary_levels", "thermometer_code", "encode_thermometer"]


def default_smooth_bits(n_bits: int) -> int:
    """Output width used when a config leaves ``smooth_bits`` unset.

    1 -> 1, 2 -> 3 (the spec's example), 3 -> 4 (a 4-bit Johnson code: each bit flips twice),
    4 -> 6, 5 -> 10 (the paper's bound N_out <= 10), 6 -> 10.
    """
    table = {1: 1, 2: 3, 3: 4, 4: 6, 5: 10, 6: 10}
    if n_bits not in table:
        raise ValueError(f"n_bits={n_bits}: smooth codes are defined here for 1..6 bits")
    return table[n_bits]


@functools.lru_cache(maxsize=None)
def _smooth_code_cached(n_bits: int, smooth_bits: int) -> Tuple[Tuple[int, ...], ...]:
    n_levels = 2**n_bits
    if smooth_bits < n_bits:
        raise ValueError(f"smooth_bits={smooth_bits} < n_bits={n_bits}: cannot encode {n_levels} levels")
    if smooth_bits > 16:
        raise ValueError(f"smooth_bits={smooth_bits}: at most 16 output bits are supported")
    words: List[int] = [0]
    used = {0}
    last_flip = [-1] * smooth_bits  # level at which each bit last flipped (-1: never)
    # depth-first search over candidate flips, least-recently-flipped first
    choices: List[List[int]] = []
    history: List[Tuple[int, int]] = []  # (bit flipped, its previous last_flip)

    def candidates(word: int) -> List[int]:
        order = sorted(range(smooth_bits), key=lambda b: (last_flip[b], b))
        return [b for b in order if (word ^ (1 << b)) not in used]

    choices.append(candidates(0))
    steps = 0
    while len(words) < n_levels:
        steps += 1
        if steps > 2_000_000:
            raise ValueError(f"no smooth code with {smooth_bits} bits for {n_bits}-bit levels found")
        if choices[-1]:
            b = choices[-1].pop(0)
            w = words[-1] ^ (1 << b)
            history.append((b, last_flip[b]))
            last_flip[b] = len(words)
            words.append(w)
            used.add(w)
            choices.append(candidates(w))
        else:  # dead end: undo the last flip
            choices.pop()
            if not history:
                raise ValueError(f"no smooth code with {smooth_bits} bits for {n_bits}-bit levels exists")
            b, prev = history.pop()
            used.discard(words.pop())
            last_flip[b] = prev
    return tuple(tuple((w >> b) & 1 for b in range(smooth_bits)) for w in words)


def smooth_code(n_bits: int, smooth_bits: int) -> np.ndarray:
    """Codewords for the ``2**n_bits`` levels as a 0/1 array ``[2**n_bits, smooth_bits]``."""
    return np.array(_smooth_code_cached(int(n_bits), int(smooth_bits)), dtype=np.int64)


def encode_levels(levels: np.ndarray, n_bits: int, smooth_bits: int) -> np.ndarray:
    """Integer levels ``[...]`` -> codewords ``[..., smooth_bits]`` (0/1)."""
    levels = np.asarray(levels)
    if levels.size and (levels.min() < 0 or levels.max() >= 2**n_bits):
        raise ValueError(f"levels outside 0..{2**n_bits - 1}")
    return smooth_code(n_bits, smooth_bits)[levels]


@functools.lru_cache(maxsize=None)
def _decode_table_cached(n_bits: int, smooth_bits: int) -> Tuple[int, ...]:
    code = smooth_code(n_bits, smooth_bits)  # [L, S]
    words = np.arange(2**smooth_bits)
    bits = (words[:, None] >> np.arange(smooth_bits)[None, :]) & 1  # [2^S, S]
    dist = (bits[:, None, :] != code[None, :, :]).sum(-1)  # [2^S, L]
    # nearest codeword in Hamming distance; ties resolve to the middle of the tied levels, which
    # keeps a bubble between two neighbours (the usual failure) at one of them
    table = []
    for row in dist:
        tied = np.flatnonzero(row == row.min())
        table.append(int(tied[(len(tied) - 1) // 2]))
    return tuple(table)


def decode_table(n_bits: int, smooth_bits: int) -> np.ndarray:
    """Lookup ``[2**smooth_bits]``: any received word (as an integer) -> nearest level."""
    return np.array(_decode_table_cached(int(n_bits), int(smooth_bits)), dtype=np.int64)


def decode_bits(bits, n_bits: int, smooth_bits: int):
    """Received bits ``[..., smooth_bits]`` (0/1 or bool) -> levels ``[...]`` (nearest codeword).

    A torch tensor gives a torch int64 tensor, anything else a numpy array.
    """
    torch_in = isinstance(bits, torch.Tensor)
    bits = bits.to(torch.int64) if torch_in else np.asarray(bits).astype(np.int64)
    if bits.shape[-1] != smooth_bits:
        raise ValueError(f"last axis has {bits.shape[-1]} bits, expected smooth_bits={smooth_bits}")
    if torch_in:
        word = (bits << torch.arange(smooth_bits)).sum(-1)
        return torch.as_tensor(decode_table(n_bits, smooth_bits))[word]
    word = (bits << np.arange(smooth_bits)).sum(-1)
    return decode_table(n_bits, smooth_bits)[word]


def logic_levels(bits: torch.Tensor) -> torch.Tensor:
    """0/1 (or bool) bits -> the logic voltages (+-1, centred) that drive the next crossbar's rows."""
    return bits.to(torch.float32) * 2 - 1


def binary_levels(digit: torch.Tensor, n_bits: int) -> torch.Tensor:
    """Digits ``[...]`` -> their binary bits as logic voltages (+-1) ``[..., n_bits]`` (LSB first)."""
    return logic_levels((digit[..., None] >> torch.arange(n_bits)) & 1)


def thermometer_code(n_levels: int) -> np.ndarray:
    """Thermometer codewords of ``n_levels`` levels on ``n_levels - 1`` comparators, ``[n_levels, n_levels - 1]``
    (0/1, little-endian like :func:`smooth_code`): level ``l`` sets bits ``0 .. l - 1``. For the 3 levels of
    a redundant (1.5-bit) stage: ``00, 01, 11`` (the first three words of ``smooth_code(2, 2)``)."""
    if n_levels < 2:
        raise ValueError(f"n_levels={n_levels}: a thermometer code needs at least 2 levels")
    return (np.arange(n_levels)[:, None] > np.arange(n_levels - 1)[None, :]).astype(np.int64)


def encode_thermometer(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """Integer levels ``[...]`` in ``0 .. n_levels - 1`` -> thermometer codewords ``[..., n_levels - 1]`` (0/1)."""
    levels = np.asarray(levels)
    if levels.size and (levels.min() < 0 or levels.max() >= n_levels):
        raise ValueError(f"levels outside 0..{n_levels - 1}")
    return thermometer_code(n_levels)[levels]


def read_comparators(out: torch.Tensor, n_bits: int, thermometer: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """Comparators on the output columns ``out [..., S]`` of a block encoding ``n_bits``:
    (bits as logic voltages ``[..., S]``, decoded levels ``[...]``).

    :param thermometer: the outputs are a thermometer code (a redundant stage's sub-ADC): the level is
        the number of comparators that fire (a bubble such as ``10`` reads as the middle level)
    """
    bits = out > 0
    if thermometer:
        return logic_levels(bits), bits.to(torch.int64).sum(-1)
    return logic_levels(bits), decode_bits(bits, n_bits, out.shape[-1])


def format_code(codeword) -> str:
    """Codeword (little-endian bits) -> string with bit 0 rightmost, e.g. ``"011"``."""
    return "".join(str(int(b)) for b in reversed(list(codeword)))
