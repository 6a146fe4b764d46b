"""ConformerCtcModelV1: structure (what is on crossbars), shapes, masking, positional encodings, checkpoints."""
import pytest
import torch

from memristor_asr.model import (
    ConformerCtcConfigV1,
    ConformerCtcModelV1,
    FrontendConfigV1,
    demo_config,
    load_model,
    paper_config,
    save_model,
)
from memristor_asr.quant import QuantBitsError, QuantConfigV1, quant_linears

VOCAB = ["<blank>"] + [f"P{i}" for i in range(39)]


def tiny(quant=None, **kw):
    args = dict(num_blocks=2, dim=32, ff_dim=64, num_heads=2, conv_kernel_size=5,
                frontend=FrontendConfigV1(kind="conv1d", channels=[32], kernel_size=3))
    args.update(kw)
    return demo_config(VOCAB, quant, **args)


def audio_batch(seed=0, lens=(16000, 11000, 6000)):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lens), max(lens), generator=g) * 0.1
    for i, n in enumerate(lens):
        x[i, n:] = 0
    return x, torch.tensor(lens)


def test_paper_profile_size_and_crossbar_layers():
    m = ConformerCtcModelV1(paper_config(VOCAB, QuantConfigV1(weight_bits=3)))
    n = sum(p.numel() for p in m.parameters())
    assert 40e6 < n < 46e6, n
    q = quant_linears(m)
    assert len(q) == 12 * 9  # ff1 x2, qkv, out, linear_pos, pw1, pw2, ff2 x2
    assert set(q) == set(m.crossbar_layer_names())
    assert "blocks.11.mhsa.linear_pos" in q and q["blocks.11.mhsa.linear_pos"].in_features == 384
    assert q["blocks.0.ff1.linear_ff"].out_features == 1536
    assert q["blocks.0.mhsa.qkv_proj"].out_features == 3 * 384
    assert q["blocks.0.conv.pointwise_conv1"].out_features == 2 * 384
    # digital parts stay float
    assert type(m.output) is torch.nn.Linear and type(m.frontend.linear) is torch.nn.Linear
    assert not any(n.startswith(("frontend", "output", "features")) for n in q)
    assert all(m.weight_quantizer.bits == 3.0 and m.input_quantizer.bits == 8 for m in q.values())


@pytest.mark.parametrize("pos", ["rel", "abs", "none"])
def test_positional_variants_forward(pos):
    torch.manual_seed(0)
    m = ConformerCtcModelV1(tiny(QuantConfigV1(weight_bits=4), pos_encoding=pos))
    names = m.crossbar_layer_names()
    assert ("blocks.0.mhsa.linear_pos" in names) == (pos == "rel")
    x, lens = audio_batch()
    lp, out_lens = m(x, lens)
    assert lp.shape == (3, int(out_lens.max()), len(VOCAB))
    assert torch.equal(out_lens, m.output_lengths(lens))
    assert torch.allclose(lp.exp().sum(-1), torch.ones(lp.shape[:2]), atol=1e-4)
    lp.sum().backward()  # gradients reach the quantized weights (STE)
    assert m.blocks[0].ff1.linear_ff.weight.grad.abs().sum() > 0


def test_positional_encodings_change_the_output():
    torch.manual_seed(0)
    feats = torch.randn(1, 40, 80)
    lens = torch.tensor([40])
    outs = {}
    for pos in ("rel", "abs", "none"):
        torch.manual_seed(0)
        m = ConformerCtcModelV1(tiny(pos_encoding=pos, conv_kernel_size=1)).eval()
        outs[pos] = m.encode_features(feats, lens)[0]
    assert not torch.allclose(outs["none"], outs["abs"])
    assert not torch.allclose(outs["none"], outs["rel"])


@pytest.mark.parametrize("kind", ["conv1d", "vgg"])
def test_utterance_alone_equals_inside_padded_batch(kind):
    torch.manual_seed(0)
    fe = FrontendConfigV1(kind="vgg", channels=[4, 8, 8, 4], kernel_size=3) if kind == "vgg" else None
    m = ConformerCtcModelV1(tiny(frontend=fe) if fe else tiny()).eval()
    x, lens = audio_batch()
    with torch.no_grad():
        lp, out_lens = m(x, lens)
        for i in range(3):
            alone, alone_len = m(x[i:i + 1, :lens[i]], lens[i:i + 1])
            assert int(alone_len) == int(out_lens[i])
            assert torch.allclose(alone[0], lp[i, :out_lens[i]], atol=1e-4)


def test_float_and_qat_models_start_from_the_same_weights():
    torch.manual_seed(5)
    f = ConformerCtcModelV1(tiny())
    torch.manual_seed(5)
    q = ConformerCtcModelV1(tiny(QuantConfigV1(weight_bits=3)))
    fs, qs = f.state_dict(), q.state_dict()
    for k, v in fs.items():
        assert torch.equal(v, qs[k]), k
    assert set(qs) - set(fs) and all("_quantizer." in k for k in set(qs) - set(fs))


def test_per_layer_bits_and_float_layers_in_model():
    cfg = tiny(QuantConfigV1(weight_bits=3, layer_bits={"*.mhsa.linear_pos": 8, "blocks.1.conv.*": None}))
    m = ConformerCtcModelV1(cfg)
    q = quant_linears(m)
    assert q["blocks.0.mhsa.linear_pos"].weight_quantizer.bits == 8.0
    assert q["blocks.0.conv.pointwise_conv1"].weight_quantizer.bits == 3.0
    assert type(m.blocks[1].conv.pointwise_conv1) is torch.nn.Linear
    assert "blocks.1.conv.pointwise_conv1" in m.crossbar_layer_names()
    with pytest.raises(QuantBitsError, match="matches no crossbar layer"):
        ConformerCtcModelV1(tiny(QuantConfigV1(weight_bits=3, layer_bits={"*.linear_pso": 8})))


def test_bad_configs_raise():
    with pytest.raises(ValueError, match="pos_encoding"):
        tiny(pos_encoding="rope")
    with pytest.raises(ValueError, match="<blank>"):
        demo_config(["a", "b"])
    with pytest.raises(ValueError, match="features.mean"):
        ConformerCtcConfigV1(vocab=VOCAB, features=tiny().features.__class__(mean=[0.0] * 3))
    with pytest.raises(QuantBitsError):
        tiny(QuantConfigV1(weight_bits=9))


def test_nan_audio_is_an_error():
    m = ConformerCtcModelV1(tiny())
    x, lens = audio_batch()
    x[1, 100] = float("nan")
    with pytest.raises(FloatingPointError, match="non-finite"):
        m(x, lens)
    with pytest.raises(FloatingPointError, match="non-finite input features"):
        m.encode_features(torch.full((1, 20, 80), float("inf")), torch.tensor([20]))
    with pytest.raises(ValueError, match="shorter than one analysis window"):
        m(torch.zeros(1, 100), torch.tensor([100]))


def test_checkpoint_roundtrip(tmp_path):
    torch.manual_seed(0)
    cfg = tiny(QuantConfigV1(weight_bits=1.5, layer_bits=(("*.qkv_proj", 4),)))
    cfg.features.mean = [0.5] * 80
    cfg.features.std = [2.0] * 80
    m = ConformerCtcModelV1(cfg)
    x, lens = audio_batch()
    m.train()
    m(x, lens)  # observers see data
    m.eval()
    save_model(m, tmp_path / "m.pt", note="hi")
    m2, cfg2 = load_model(tmp_path / "m.pt")
    assert cfg2 == cfg and not m2.training
    with torch.no_grad():
        assert torch.equal(m(x, lens)[0], m2(x, lens)[0])
    assert torch.equal(m2.features.mean, torch.full((80,), 0.5))
    (tmp_path / "bad.pt").write_bytes(b"nonsense")
    with pytest.raises(Exception):
        load_model(tmp_path / "bad.pt")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")
