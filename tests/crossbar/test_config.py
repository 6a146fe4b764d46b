"""The hardware description: CrossbarConfigV2 with its typed ADC, and the legacy CrossbarConfigV1.
Validation names the parameter (and layer), per-layer overrides by pattern, Sisyphus hashing of
the plain dataclasses, V1 -> V2 per layer."""
import re

import pytest
import sisyphus.hash as sis_hash

from memristor_asr.crossbar import (AdcConfigError, CrossbarConfigError, CrossbarConfigV1, CrossbarConfigV2, DacV1,
                                    TableAdcConfigV1, UniformAdcConfigV1, layer_hardware)


@pytest.mark.parametrize("kwargs,param", [
    (dict(dac_bits=-1), "dac_bits"), (dict(dac_bits=0), "dac_bits"),
    (dict(adc_precision_bits=-2), "adc_precision_bits"),
    (dict(adc_range_bits=-1), "adc_range_bits"), (dict(adc_range_bits=0, adc_precision_bits=0), "adc_range_bits=0"),
    (dict(tile_rows=0), "tile_rows"), (dict(tile_cols=0), "tile_cols"), (dict(v_read_max=0.0), "v_read_max"),
    (dict(correction_factor=-8020.0), "correction_factor"), (dict(read_noise="loud"), "read_noise"),
    (dict(device_model="spice"), "device_model"), (dict(cycles_before_programming=-3), "cycles_before_programming"),
    (dict(set_voltage=2.0), "set_voltage"), (dict(adc_kind="nnadc-not-registered"), "adc_kind"),
    (dict(dac_bits=4.0), "dac_bits"), (dict(tile_rows=True), "tile_rows")])
def test_invalid_settings_name_the_parameter(kwargs, param):
    with pytest.raises(CrossbarConfigError, match=param):
        CrossbarConfigV1(**kwargs)


def test_converters_may_be_off_and_precision_zero_is_allowed_with_range():
    cfg = CrossbarConfigV1(dac_bits=None, adc_precision_bits=None, adc_range_bits=None)
    assert "DAC ideal" in cfg.describe() and "ADC ideal" in cfg.describe()
    CrossbarConfigV1(adc_precision_bits=0, adc_range_bits=3)


def test_per_layer_overrides_apply_in_order_and_errors_name_the_layer():
    cfg = CrossbarConfigV1(adc_precision_bits=4, adc_range_bits=4,
                           per_layer=(("*.linear_pos", {"adc_range_bits": 6}),
                                      ("blocks.1.*", {"adc_precision_bits": 2, "adc_range_bits": 5})))
    assert cfg.for_layer("blocks.0.mhsa.linear_pos").adc_range_bits == 6
    b1 = cfg.for_layer("blocks.1.mhsa.linear_pos")
    assert (b1.adc_precision_bits, b1.adc_range_bits) == (2, 5)  # the later pattern wins
    ff = cfg.for_layer("blocks.0.ff1.linear1")
    assert (ff.adc_precision_bits, ff.adc_range_bits) == (4, 4) and ff.per_layer == ()
    bad = CrossbarConfigV1(per_layer={"blocks.3.*": {"tile_rows": 0}})
    with pytest.raises(CrossbarConfigError, match=r"layer 'blocks.3.ff'.*tile_rows"):
        bad.for_layer("blocks.3.ff")
    with pytest.raises(CrossbarConfigError, match="unknown field 'adc_bits'"):
        CrossbarConfigV1(per_layer={"*": {"adc_bits": 3}})
    with pytest.raises(CrossbarConfigError, match="pattern '\\*.linear_pso' matches no"):
        CrossbarConfigV1(per_layer={"*.linear_pso": {"adc_range_bits": 6}}).check_patterns_match(["a.linear_pos"])
    layers = [f"blocks.{i}.{n}" for i in range(4) for n in ("mhsa.linear_pos", "mhsa.qkv_proj", "ff1.linear_ff")]
    with pytest.raises(CrossbarConfigError, match=r"'\*\.mhsa\.linear_pso' matches no crossbar layer; "
                                                  r"nearest: blocks\.\*\.mhsa\.linear_pos, .* \(of 12 layers\)"):
        CrossbarConfigV2(per_layer={"*.mhsa.linear_pso": {"tile_rows": 64}}).check_patterns_match(layers)


def test_dict_and_tuple_overrides_are_equal_and_hash_alike():
    a = CrossbarConfigV1(per_layer={"*.linear_pos": {"adc_range_bits": 6}})
    b = CrossbarConfigV1(per_layer=(("*.linear_pos", (("adc_range_bits", 6),)),))
    assert a == b
    assert sis_hash.short_hash(a) == sis_hash.short_hash(b)
    other = CrossbarConfigV1(per_layer={"*.linear_pos": {"adc_range_bits": 5}})
    assert sis_hash.short_hash(a) != sis_hash.short_hash(other)
    assert sis_hash.short_hash(CrossbarConfigV1()) == sis_hash.short_hash(CrossbarConfigV1())
    assert sis_hash.short_hash(CrossbarConfigV1()) != sis_hash.short_hash(CrossbarConfigV1(adc_range_bits=5))


def test_fields_added_later_keep_old_hashes(monkeypatch):
    cfg = CrossbarConfigV1()
    before = sis_hash.short_hash(cfg)
    # simulate a field that a later version adds with default "uniform": excluded while default
    monkeypatch.setattr(CrossbarConfigV1, "HASH_EXCLUDE_DEFAULTS", {"adc_kind": "uniform"})
    state = cfg.__sis_state__()
    assert "adc_kind" not in state and "adc_range_bits" in state
    assert sis_hash.short_hash(cfg) != before  # (here the field existed before, so the id moves)


def test_v1_adc_kinds_are_a_closed_list_and_map_to_typed_adcs():
    assert CrossbarConfigV1().adc_config() == UniformAdcConfigV1(4, 4)
    t = CrossbarConfigV1(adc_kind="nnadc_table", adc_range_bits=3,
                         adc_options={"table": "/t.npz", "instance_offset": 2})
    assert t.to_v2().adc == TableAdcConfigV1("/t.npz", 3, 2)
    with pytest.raises(CrossbarConfigError, match="needs adc_options"):
        CrossbarConfigV1(adc_kind="nnadc_table")
    with pytest.raises(CrossbarConfigError, match="adc_kind must be one of"):
        CrossbarConfigV1(adc_kind="my-plugin")


@pytest.mark.parametrize("make,param", [
    (lambda: UniformAdcConfigV1(precision_bits=-1), "UniformAdcConfigV1.precision_bits"),
    (lambda: UniformAdcConfigV1(range_bits=2.0), "UniformAdcConfigV1.range_bits"),
    (lambda: UniformAdcConfigV1(0, 0), "single level"),
    (lambda: TableAdcConfigV1(""), "TableAdcConfigV1.table"),
    (lambda: TableAdcConfigV1("/t.npz", range_bits=0), "TableAdcConfigV1.range_bits"),
    (lambda: TableAdcConfigV1("/t.npz", instance_offset=-1), "TableAdcConfigV1.instance_offset")])
def test_invalid_adc_settings_name_the_parameter(make, param):
    with pytest.raises(AdcConfigError, match=param):
        make()


def test_v2_holds_a_typed_adc_and_overrides_replace_it_whole():
    assert CrossbarConfigV2().adc == UniformAdcConfigV1(4, 4)
    with pytest.raises(CrossbarConfigError, match="adc must be one of"):
        CrossbarConfigV2(adc=(4, 4))
    with pytest.raises(CrossbarConfigError, match=r"unknown field 'adc_range_bits'"):
        CrossbarConfigV2(per_layer={"*": {"adc_range_bits": 3}})
    cfg = CrossbarConfigV2(per_layer={"*.linear_pos": {"adc": UniformAdcConfigV1(2, 6)},
                                      "blocks.1.*": {"adc": TableAdcConfigV1("/t.npz", 4)}})
    assert cfg.for_layer("blocks.0.linear_pos").adc == UniformAdcConfigV1(2, 6)
    assert isinstance(cfg.for_layer("blocks.1.linear_pos").adc, TableAdcConfigV1)  # the later pattern wins
    assert cfg.for_layer("blocks.0.ff").adc == UniformAdcConfigV1(4, 4) and cfg.for_layer("x").per_layer == ()
    with pytest.raises(CrossbarConfigError, match=r"layer 'blocks.3.ff': CrossbarConfigV2\.adc must be one of "
                                                  r"UniformAdcConfigV1, TableAdcConfigV1, "
                                                  r"got \{'precision_bits': 2\} \(dict\)"):
        CrossbarConfigV2(per_layer={"blocks.3.*": {"adc": {"precision_bits": 2}}}).for_layer("blocks.3.ff")
    assert "ADC uniform p=4 r=4" in CrossbarConfigV2().describe()
    assert "ADC table t.npz r=4" in CrossbarConfigV2(adc=TableAdcConfigV1("/x/t.npz")).describe()
    assert "ADC ideal" in CrossbarConfigV2(adc=UniformAdcConfigV1(None, None)).describe()


def test_v2_hashes_its_adc_and_differs_from_v1():
    a = CrossbarConfigV2(per_layer={"*.linear_pos": {"adc": UniformAdcConfigV1(4, 6)}})
    b = CrossbarConfigV2(per_layer=(("*.linear_pos", (("adc", UniformAdcConfigV1(4, 6)),)),))
    assert a == b and sis_hash.short_hash(a) == sis_hash.short_hash(b)
    h = sis_hash.short_hash
    assert h(CrossbarConfigV2()) != h(CrossbarConfigV2(adc=UniformAdcConfigV1(4, 5)))
    assert h(CrossbarConfigV2()) != h(CrossbarConfigV1())  # a new version gets new ids once
    assert h(CrossbarConfigV2(adc=TableAdcConfigV1("/a.npz"))) != h(CrossbarConfigV2(adc=TableAdcConfigV1("/b.npz")))


def test_layer_hardware_resolves_either_version_per_layer():
    v1 = CrossbarConfigV1(adc_precision_bits=3, per_layer=(("*.linear_pos", {"adc_range_bits": 6}),
                                                            ("blocks.1.*", {"adc_precision_bits": 2})))
    got = layer_hardware(v1, "blocks.1.linear_pos")
    assert isinstance(got, CrossbarConfigV2) and got.adc == UniformAdcConfigV1(2, 6)  # overrides merge field-wise
    assert layer_hardware(v1, "blocks.0.ff").adc == UniformAdcConfigV1(3, 4)
    with pytest.raises(CrossbarConfigError, match="resolved per layer"):
        v1.to_v2()
    with pytest.raises(CrossbarConfigError, match="hardware must be a CrossbarConfigV2"):
        layer_hardware({"adc": 4}, "x")


@pytest.mark.parametrize("make,message", [
    (lambda: CrossbarConfigV2(tile_rows=12.5), "CrossbarConfigV2.tile_rows must be int, got 12.5 (float)"),
    (lambda: CrossbarConfigV2(dac_bits=True), "CrossbarConfigV2.dac_bits must be int or None, got True (bool)"),
    (lambda: CrossbarConfigV2(v_read_max="0.6"), "CrossbarConfigV2.v_read_max must be float, got '0.6' (str)"),
    (lambda: CrossbarConfigV2(device_variation=1), "CrossbarConfigV2.device_variation must be bool, got 1 (int)"),
    (lambda: CrossbarConfigV2(adc=(4, 4)),
     "CrossbarConfigV2.adc must be one of UniformAdcConfigV1, TableAdcConfigV1, got (4, 4) (tuple)"),
    (lambda: CrossbarConfigV2(per_layer={"*.pos": 3}),
     "CrossbarConfigV2.per_layer['*.pos']: expected {field: value} or ((field, value), ...), got 3"),
    (lambda: CrossbarConfigV1(adc_range_bits=4.0), "CrossbarConfigV1.adc_range_bits must be int or None, got 4.0"),
    (lambda: CrossbarConfigV1(adc_kind=None), "CrossbarConfigV1.adc_kind must be str, got None (NoneType)"),
    (lambda: CrossbarConfigV1(per_layer={"blocks.1.*": {"tile_cols": "64"}}).for_layer("blocks.1.ff"),
     "layer 'blocks.1.ff': CrossbarConfigV1.tile_cols must be int, got '64' (str)")])
def test_a_wrong_type_names_class_and_field(make, message):
    with pytest.raises(CrossbarConfigError, match="^" + re.escape(message)):
        make()


@pytest.mark.parametrize("make,message", [
    (lambda: UniformAdcConfigV1(precision_bits=True),
     "UniformAdcConfigV1.precision_bits must be int or None, got True (bool)"),
    (lambda: UniformAdcConfigV1(range_bits=-1), "UniformAdcConfigV1.range_bits must be >= 0, got -1"),
    (lambda: TableAdcConfigV1("/t.npz", range_bits=None), "TableAdcConfigV1.range_bits must be int, got None"),
    (lambda: TableAdcConfigV1("/t.npz", instance_offset=1.0), "TableAdcConfigV1.instance_offset must be int, got 1.0"),
    (lambda: DacV1(4.0, 0.6), "DacV1.bits (dac_bits) must be int or None, got 4.0 (float)"),
    (lambda: DacV1(0, 0.6), "DacV1.bits (dac_bits) must be >= 1 or None, got 0")])
def test_adc_and_dac_name_a_wrong_type(make, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)) as info:
        make()
    assert isinstance(info.value, AdcConfigError) == ("Adc" in message)
