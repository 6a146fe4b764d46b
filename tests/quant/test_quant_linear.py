"""QuantLinear / fake quantizers: grid, straight-through gradient, observers, per-layer bits."""
import re

import pytest
import torch

from memristor_asr.quant import (
    ActivationQuantizer,
    QuantBitsError,
    QuantConfigV1,
    QuantLinear,
    WeightQuantizer,
    calibration,
    make_linear,
    quant_linears,
)


@pytest.mark.parametrize("bits,q_max", [(8, 127), (7, 63), (6, 31), (5, 15), (4, 7), (3, 3), (2, 1), (1.5, 1)])
def test_weights_lie_on_symmetric_grid(bits, q_max):
    torch.manual_seed(0)
    layer = QuantLinear(40, 24, weight_bits=bits)
    layer.train()
    layer(torch.randn(5, 40))
    wq = layer.weight_quantizer
    assert wq.q_max == q_max and wq.bits == float(bits)
    w = layer.weight.detach()
    assert torch.isclose(wq.scale, w.abs().max() / q_max)
    qw = wq(w)
    levels = qw / wq.scale
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    assert levels.abs().max() <= q_max + 1e-4
    # the extreme weight sits on the extreme level, and every level used is inside the grid
    assert torch.isclose(levels.abs().max(), torch.tensor(float(q_max)), atol=1e-4)
    ints, s = layer.integer_weight()
    assert ints.dtype == torch.int32 and ints.shape == (24, 40)
    assert int(ints.abs().max()) <= q_max
    assert torch.allclose(ints.float() * s, qw, atol=1e-6)
    # at 8 bits the quantization error is at most half a step
    assert (qw - w).abs().max() <= wq.scale / 2 + 1e-7


def test_forward_is_linear_of_quantized_inputs_and_weights():
    torch.manual_seed(1)
    layer = QuantLinear(16, 8, weight_bits=3)
    x = torch.randn(4, 7, 16)
    y = layer(x)  # training mode: observers update
    s_a = layer.input_quantizer.scale
    xq = torch.clamp(torch.round(x / s_a), -127, 127) * s_a
    ints, s_w = layer.integer_weight()
    ref = xq @ (ints.float() * s_w).T + layer.bias
    assert y.shape == (4, 7, 8)
    assert torch.allclose(y, ref, atol=1e-5)


def test_straight_through_gradient():
    torch.manual_seed(2)
    layer = QuantLinear(10, 6, weight_bits=4)
    x = torch.randn(3, 10, requires_grad=True)
    y = layer(x)
    g = torch.randn_like(y)
    y.backward(g)
    xq = layer.input_quantizer(x.detach())
    wq = layer.weight_quantizer(layer.weight.detach())
    # STE: d/dW of F.linear(xq, q(W)) with dq/dW = 1 inside the range (all weights are, scale=absmax/q_max)
    assert torch.allclose(layer.weight.grad, g.T @ xq, atol=1e-5)
    # inputs inside the running range get the gradient unchanged
    assert torch.allclose(x.grad, g @ wq, atol=1e-5)
    assert torch.allclose(layer.bias.grad, g.sum(0), atol=1e-6)


def test_activation_gradient_is_zero_outside_clipping_range():
    q = ActivationQuantizer(8)
    q.train()
    q(torch.tensor([1.0, -1.0]))  # running absmax 1
    q.eval()
    x = torch.tensor([0.5, 3.0, -4.0], requires_grad=True)
    y = q(x)
    y.sum().backward()
    assert torch.allclose(y.detach(), torch.tensor([64 / 127, 1.0, -1.0]), atol=1e-6)
    assert x.grad.tolist() == [1.0, 0.0, 0.0]


def test_activation_observer_running_absmax():
    q = ActivationQuantizer(8, momentum=0.5)
    assert not q.observed and q.bits == 8 and q.q_max == 127
    q.train()
    q(torch.tensor([2.0, -1.0]))
    assert q.observed
    assert torch.isclose(q.running_absmax, torch.tensor(2.0))
    q(torch.tensor([0.0, -4.0]))  # second batch: mean of the first two (1/n >= momentum)
    assert torch.isclose(q.running_absmax, torch.tensor(3.0))
    q(torch.tensor([1.0]))  # then EMA with momentum 0.5
    assert torch.isclose(q.running_absmax, torch.tensor(2.0))
    assert torch.isclose(q.scale, torch.tensor(2.0 / 127))
    # eval mode: frozen
    q.eval()
    q(torch.tensor([100.0]))
    assert torch.isclose(q.running_absmax, torch.tensor(2.0))
    # calibration mode observes in eval mode without gradients
    model = torch.nn.Sequential(q)
    with calibration(model):
        assert not model.training
        q(torch.tensor([100.0]))
    assert torch.isclose(q.running_absmax, torch.tensor(51.0))
    assert not q.calibrating


def test_weight_observer_frozen_in_eval_and_tracks_in_train():
    wq = WeightQuantizer(3)
    wq.train()
    wq(torch.tensor([0.3, -0.6]))
    assert torch.isclose(wq.scale, torch.tensor(0.2))
    assert float(wq.min_val) == pytest.approx(-0.6) and float(wq.max_val) == pytest.approx(0.3)
    wq.eval()
    out = wq(torch.tensor([0.9, 0.15]))  # clipped at 3 * 0.2
    assert torch.allclose(out, torch.tensor([0.6, 0.2]))
    wq.train()
    wq(torch.tensor([0.9, 0.1]))
    assert torch.isclose(wq.scale, torch.tensor(0.3))


@pytest.mark.parametrize("bits", [1, 9, 0, 2.5, "4", True, None, 16])
def test_bad_weight_bits_raise(bits):
    with pytest.raises(QuantBitsError, match="blocks.0.ff"):
        QuantLinear(4, 4, weight_bits=bits, name="blocks.0.ff")


def test_bad_config_raises():
    with pytest.raises(QuantBitsError, match="weight_bits"):
        QuantConfigV1(weight_bits=9)
    with pytest.raises(QuantBitsError, match=r"layer_bits\['\*pos\*'\]"):
        QuantConfigV1(weight_bits=4, layer_bits={"*pos*": 1})
    with pytest.raises(QuantBitsError, match="activation_bits"):
        QuantConfigV1(weight_bits=4, activation_bits=1)


@pytest.mark.parametrize("kwargs,message", [
    (dict(weight_bits="4"), "QuantConfigV1.weight_bits must be float or None, got '4' (str)"),
    (dict(weight_bits=True), "QuantConfigV1.weight_bits must be float or None, got True (bool)"),
    (dict(activation_bits=8.0), "QuantConfigV1.activation_bits must be int, got 8.0 (float)"),
    (dict(layer_bits={"*pos*": "8"}), "QuantConfigV1.layer_bits must be one of Dict[str, Optional[float]], "
                                      "Sequence[Tuple[str, Optional[float]]], got {'*pos*': '8'} (dict)"),
    (dict(layer_bits=(("*pos*", 8), ("*ff*", 4, 2))), "QuantConfigV1.layer_bits must be one of Dict"),
    (dict(layer_bits=[["*pos*", 8]]), "QuantConfigV1.layer_bits must be one of Dict")])
def test_config_of_the_wrong_type_names_class_and_field(kwargs, message):
    with pytest.raises(QuantBitsError, match="^" + re.escape(message)):
        QuantConfigV1(**kwargs)
    assert QuantConfigV1(weight_bits=4, layer_bits=[("*pos*", 8)]).bits_for("a.pos") == 8.0  # a list of pairs


def test_per_layer_patterns():
    cfg = QuantConfigV1(weight_bits=3, layer_bits=(("blocks.*.mhsa.*", 8), ("blocks.1.mhsa.linear_pos", None),
                                                   ("blocks.2.*", 1.5)))
    assert cfg.bits_for("blocks.0.ff1.linear1") == 3.0
    assert cfg.bits_for("blocks.0.mhsa.linear_q") == 8.0
    assert cfg.bits_for("blocks.1.mhsa.linear_pos") is None
    assert cfg.bits_for("blocks.2.mhsa.linear_pos") == 1.5  # last match wins
    layers = {n: make_linear(n, 6, 5, True, cfg) for n in
              ["blocks.0.ff1.linear1", "blocks.0.mhsa.linear_q", "blocks.1.mhsa.linear_pos", "blocks.2.mhsa.out"]}
    assert isinstance(layers["blocks.0.ff1.linear1"], QuantLinear)
    assert layers["blocks.0.mhsa.linear_q"].weight_quantizer.bits == 8.0
    assert type(layers["blocks.1.mhsa.linear_pos"]) is torch.nn.Linear
    assert layers["blocks.2.mhsa.out"].weight_quantizer.q_max == 1
    model = torch.nn.ModuleDict({k.replace(".", "_"): v for k, v in layers.items()})
    assert len(quant_linears(model)) == 3
    with pytest.raises(QuantBitsError, match="matches no crossbar layer"):
        QuantConfigV1(weight_bits=3, layer_bits={"blocks.*.mhsa.lienar_pos": 8}).check_patterns_match(layers)
    # float config gives plain layers everywhere; a single override quantizes only that layer
    assert QuantConfigV1().is_float
    assert type(make_linear("a", 3, 3, True, QuantConfigV1())) is torch.nn.Linear
    assert isinstance(make_linear("a", 3, 3, True, QuantConfigV1(layer_bits={"a": 4})), QuantLinear)


def test_from_linear_and_state_dict_roundtrip():
    torch.manual_seed(3)
    lin = torch.nn.Linear(8, 4)
    q = QuantLinear.from_linear(lin, weight_bits=8)
    assert torch.equal(q.weight, lin.weight) and torch.equal(q.bias, lin.bias)
    with calibration(q):
        q(torch.randn(16, 8))
    q2 = QuantLinear(8, 4, weight_bits=8)
    q2.load_state_dict(q.state_dict())
    q2.eval()
    q.eval()
    x = torch.randn(3, 8)
    assert q2.input_quantizer.observed
    assert torch.equal(q(x), q2(x))


def test_non_finite_activations_do_not_corrupt_the_observer():
    q = ActivationQuantizer(8)
    q.train()
    q(torch.tensor([1.0, -2.0]))
    y = q(torch.tensor([float("nan"), 1.0]))  # training: range kept, NaN passed on (the loss shows it)
    assert torch.isclose(q.running_absmax, torch.tensor(2.0)) and torch.isnan(y).any()
    with calibration(torch.nn.Sequential(q)):
        with pytest.raises(FloatingPointError, match="non-finite"):
            q(torch.tensor([float("inf")]))
