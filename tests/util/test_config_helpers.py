"""The config helpers every versioned config shares: the hash state without later fields at
their default, the last matching override, the unmatched-pattern error, and the type check of
every field against its annotation (typeguard; a bool is no int)."""
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union

import pytest
import typeguard

from memristor_asr.util.config_helpers import (check_field_types, check_min, check_patterns_match, check_value_type,
                                               hash_state, last_match, type_name)


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


@dataclass
class _Typed:
    rows: int = 128
    bits: Optional[int] = 8
    volts: float = 0.6
    on: bool = True
    overrides: Tuple[Tuple[str, Tuple[Tuple[str, Any], ...]], ...] = ()
    adc: Union[_Cfg, str] = "ideal"


def _message(error_type, **kwargs) -> str:
    with pytest.raises(error_type) as info:
        check_field_types(_Typed(**kwargs), error_type)
    return str(info.value)


def test_a_wrong_type_names_class_field_expected_type_and_value():
    assert _message(ValueError, rows=12.5) == "_Typed.rows must be int, got 12.5 (float)"
    assert _message(TypeError, bits="8") == "_Typed.bits must be int or None, got '8' (str)"
    assert _message(KeyError, adc=3).startswith("'_Typed.adc must be one of _Cfg, str, got 3 (int)")
    with pytest.raises(ValueError, match=r"^where\.rows must be int"):
        check_field_types(_Typed(rows="x"), ValueError, where="where")
    with pytest.raises(ValueError, match=r"^f\(n\) must be int, got None \(NoneType\)$"):
        check_value_type("f(n)", None, int, ValueError)


def test_bool_is_no_int_or_float_but_ints_are_floats():
    assert _message(ValueError, rows=True) == "_Typed.rows must be int, got True (bool)"
    assert _message(ValueError, bits=False) == "_Typed.bits must be int or None, got False (bool)"
    assert _message(ValueError, volts=True) == "_Typed.volts must be float, got True (bool)"
    assert _message(ValueError, on=1) == "_Typed.on must be bool, got 1 (int)"
    assert "item 0 of item 0" in _message(ValueError, overrides=(("p", ((True, 1),)),))
    check_field_types(_Typed(volts=1, on=False), ValueError)  # an int is a float (PEP 484), False a bool
    with pytest.raises(ValueError, match=r"must be Tuple\[int, \.\.\.\], got \(1, True\)"):
        check_value_type("x", (1, True), Tuple[int, ...], ValueError)
    # the stricter numbers hold only inside the helper: other typeguard users see its own rules
    assert typeguard.check_type(True, int) is True


def test_optional_accepts_none_and_every_nested_item_is_checked():
    check_field_types(_Typed(bits=None, overrides=(("*.pos", (("tile_rows", 64),)),), adc=_Cfg()), ValueError)
    # the first pair is fine: typeguard's default would look at the first item only
    msg = _message(ValueError, overrides=(("*.pos", (("tile_rows", 64),)), ("*.ff", (("tile_rows", 64, 1),))))
    assert msg.startswith("_Typed.overrides must be Tuple[Tuple[str, Tuple[Tuple[str, Any], ...]], ...], got ")
    assert msg.endswith("(tuple): item 0 of item 1 of item 1 of tuple has wrong number of elements "
                        "(expected 2, got 3 instead)")
    assert "item 0 of item 1 of tuple is not an instance of str" in _message(ValueError, overrides=(("a", ()), (3, ())))
    long = _message(ValueError, overrides=tuple((f"pattern.{i}", ()) for i in range(20)) + ((1, ()),))
    assert len(long) < 250 and "... (tuple): item 0 of item 20 of tuple is not" in long  # the value is shortened


def test_type_names_read_as_written():
    assert type_name(Optional[int]) == "int or None"
    assert type_name(Union[_Cfg, str, None]) == "one of _Cfg, str or None"
    assert type_name(Dict[str, Optional[float]]) == "Dict[str, Optional[float]]"
    assert type_name(Tuple[Tuple[str, Any], ...]) == "Tuple[Tuple[str, Any], ...]"


def test_check_min_names_the_field_and_lets_none_pass():
    check_min(_Typed(bits=None), "bits", 1)
    with pytest.raises(ValueError, match=r"^_Typed\.rows must be >= 1, got 0$"):
        check_min(_Typed(rows=0), "rows", 1)
    with pytest.raises(KeyError, match=r"X\.bits must be >= 2, got 1"):
        check_min(_Typed(bits=1), "bits", 2, KeyError, where="X")


@pytest.mark.parametrize("kwargs,message", [
    (dict(beam_size=50.0), "SearchConfigV1.beam_size must be int, got 50.0 (float)"),
    (dict(beam_size=True), "SearchConfigV1.beam_size must be int, got True (bool)"),
    (dict(beam_size_token="8"), "SearchConfigV1.beam_size_token must be int or None, got '8' (str)"),
    (dict(lm_weight="2"), "SearchConfigV1.lm_weight must be float, got '2' (str)"),
    (dict(log_add=1), "SearchConfigV1.log_add must be bool, got 1 (int)"),
    (dict(beam_size=0), "SearchConfigV1.beam_size must be >= 1, got 0"),
    (dict(beam_size_token=0), "SearchConfigV1.beam_size_token must be >= 1, got 0")])
def test_search_config_names_a_wrong_type(kwargs, message):
    # (SearchConfigV1 lives in decoding/; its type check is the helper's, tested here)
    from memristor_asr.decoding.search_config import SearchConfigV1

    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        SearchConfigV1(**kwargs)
    SearchConfigV1(beam_size=8, beam_size_token=None, lm_weight=2, silence_token="sil", sil_score=-1.0)
