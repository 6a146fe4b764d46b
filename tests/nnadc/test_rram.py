import pytest
import torch

from memristor_asr.nnadc.circuit.rram import check_rram_bits, column_levels, project_columns_l1, quantize_columns


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 7])
def test_quantized_weights_lie_on_a_column_grid(bits):
    g = torch.Generator().manual_seed(bits)
    w = torch.randn(5, 9, generator=g) * 0.3
    k, s = column_levels(w, bits)
    levels = 2**bits - 1
    assert k.abs().max() <= levels
    assert torch.allclose(k * s, quantize_columns(w, bits))
    # the grid is fine enough: rounding error at most half a step per weight
    assert ((k * s - w).abs() <= s / 2 + 1e-6).all()


def test_straight_through_gradient_is_identity():
    w = torch.randn(3, 4, requires_grad=True)
    quantize_columns(w, 3).sum().backward()
    assert torch.allclose(w.grad, torch.ones_like(w))


def test_projection_enforces_the_column_budget_and_keeps_inside_columns():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(6, 8, generator=g)
    w[:, 0] = torch.tensor([0.1, -0.1, 0.05, 0.0, 0.0, 0.2])  # already inside
    before = w[:, 0].clone()
    orig = w.clone()
    project_columns_l1(w, 0.95)
    assert (w.abs().sum(0) <= 0.95 + 1e-6).all()
    assert torch.equal(w[:, 0], before)
    # projection is the Euclidean one: signs kept, magnitudes soft-thresholded
    assert ((w == 0) | (torch.sign(w) == torch.sign(orig))).all()
    assert (w.abs() <= orig.abs() + 1e-7).all()


def test_budget_holds_after_quantization():
    g = torch.Generator().manual_seed(3)
    w = torch.randn(4, 16, generator=g)
    project_columns_l1(w, 1 / 1.05)
    for bits in (2, 3, 5):
        wq = quantize_columns(w, bits, max_l1=1 / 1.05)
        assert (wq.abs().sum(0) <= 1 / 1.05 + 1e-6).all()
        k, s = column_levels(w, bits, 1 / 1.05)
        assert torch.allclose(k * s, wq, atol=1e-7)


@pytest.mark.parametrize("bad", [0, 8, -1, 2.5, True])
def test_rram_precision_out_of_range(bad):
    with pytest.raises(ValueError, match="rram_bits"):
        check_rram_bits(bad)
