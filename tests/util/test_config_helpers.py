"""The config helpers every versioned config shares: the hash state without later fields at
their default, the last matching override, and the unmatched-pattern error."""
from dataclasses import dataclass

import pytest

from memristor_asr.util.config_helpers import check_patterns_match, hash_state, last_match


@dataclass(frozen=True)
class _Cfg:
    a: int = 1
    added_later: str = "old behaviour"


def test_hash_state_leaves_out_later_fields_only_at_their_default():
    later = {"added_later": "old behaviour"}
    assert hash_state(_Cfg(), later) == {"a": 1}
    assert hash_state(_Cfg(a=2, added_later="new"), later) == {"a": 2, "added_later": "new"}
    assert hash_state(_Cfg(), {}) == {"a": 1, "added_later": "old behaviour"}


def test_last_match_wins_and_default_stays_without_a_match():
    ov = (("*.linear_pos", 6), ("blocks.1.*", 2))
    assert last_match(ov, "blocks.1.mhsa.linear_pos", 4) == 2
    assert last_match(ov, "blocks.0.mhsa.linear_pos", 4) == 6
    assert last_match(ov, "blocks.0.ff", 4) == 4


def test_unmatched_pattern_names_owner_pattern_and_nearest_kinds():
    names = [f"blocks.{i}.{n}" for i in range(3) for n in ("mhsa.linear_pos", "ff1.linear_ff")]
    check_patterns_match("X.per_layer", ["*.linear_pos", "blocks.2.*"], names)
    with pytest.raises(KeyError, match=r"X\.per_layer: pattern 'blocks\.\*\.mhsa\.linear_pso' matches no crossbar "
                                       r"layer; nearest: blocks\.\*\.mhsa\.linear_pos"):
        check_patterns_match("X.per_layer", ["blocks.*.mhsa.linear_pso"], names, KeyError)
