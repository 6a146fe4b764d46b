"""CrossbarConfigV1: validation names the parameter (and layer), per-layer overrides by pattern,
Sisyphus hashing of the plain dataclass."""
import pytest

from memristor_asr.crossbar import CrossbarConfigError, CrossbarConfigV1, register_adc_kind, ADC_KINDS


@pytest.mark.parametrize("kwargs,param", [
    (dict(dac_bits=-1), "dac_bits"), (dict(dac_bits=0), "dac_bits"), (dict(adc_precision_bits=-2), "adc_precision_bits"),
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


def test_dict_and_tuple_overrides_are_equal_and_hash_alike():
    sis_hash = pytest.importorskip("sisyphus.hash")
    a = CrossbarConfigV1(per_layer={"*.linear_pos": {"adc_range_bits": 6}})
    b = CrossbarConfigV1(per_layer=(("*.linear_pos", (("adc_range_bits", 6),)),))
    assert a == b
    assert sis_hash.short_hash(a) == sis_hash.short_hash(b)
    assert sis_hash.short_hash(a) != sis_hash.short_hash(CrossbarConfigV1(per_layer={"*.linear_pos": {"adc_range_bits": 5}}))
    assert sis_hash.short_hash(CrossbarConfigV1()) == sis_hash.short_hash(CrossbarConfigV1())
    assert sis_hash.short_hash(CrossbarConfigV1()) != sis_hash.short_hash(CrossbarConfigV1(adc_range_bits=5))


def test_fields_added_later_keep_old_hashes(monkeypatch):
    sis_hash = pytest.importorskip("sisyphus.hash")
    cfg = CrossbarConfigV1()
    before = sis_hash.short_hash(cfg)
    # simulate a field that a later version adds with default "uniform": excluded while default
    monkeypatch.setattr(CrossbarConfigV1, "HASH_EXCLUDE_DEFAULTS", {"adc_kind": "uniform"})
    state = cfg.__sis_state__()
    assert "adc_kind" not in state and "adc_range_bits" in state
    assert sis_hash.short_hash(cfg) != before  # (here the field existed before, so the id moves)


def test_adc_kind_extension_point():
    calls = []
    register_adc_kind("test-kind", lambda cfg: calls.append(cfg) or ADC_KINDS["uniform"](cfg))
    try:
        cfg = CrossbarConfigV1(adc_kind="test-kind", adc_options={"model": "/some/path"})
        assert cfg.adc_options == (("model", "/some/path"),)
        from memristor_asr.crossbar import make_adc

        make_adc(cfg)
        assert calls and calls[0].adc_kind == "test-kind"
    finally:
        del ADC_KINDS["test-kind"]


def test_provider_adc_kind_registers_on_first_use():
    from memristor_asr.crossbar.adc import ADC_KIND_PROVIDERS

    registered = []
    import memristor_asr.crossbar.adc as adc

    def provider():
        registered.append(True)
        register_adc_kind("test-lazy", ADC_KINDS["uniform"])

    adc._test_provider = provider
    ADC_KIND_PROVIDERS["test-lazy"] = "memristor_asr.crossbar.adc:_test_provider"
    try:
        cfg = CrossbarConfigV1(adc_kind="test-lazy")
        assert registered and cfg.adc_kind == "test-lazy"
    finally:
        del ADC_KIND_PROVIDERS["test-lazy"]
        ADC_KINDS.pop("test-lazy", None)
        del adc._test_provider
