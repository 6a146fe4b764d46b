"""Conformer block from i6_models parts with named sub-modules (``ff1``, ``mhsa``, ``conv``, ``ff2``).

The block keeps i6_models' float ``nn.Linear`` layers; :class:`memristor_asr.model.ConformerCtcModelV1`
swaps the crossbar ones for :class:`memristor_asr.quant.QuantLinear` by qualified name after
construction. Crossbar layers per block (names relative to the block):
``ff1.linear_ff``, ``ff1.linear_out``, ``mhsa.qkv_proj`` (query, key and value in one matrix),
``mhsa.out_proj``, ``mhsa.linear_pos`` (relative positions only), ``conv.pointwise_conv1``,
``conv.pointwise_conv2``, ``ff2.linear_ff``, ``ff2.linear_out``.
"""
import math
from typing import List

import torch
import torch.nn.functional as F
from i6_models.parts.conformer import (
    ConformerConvolutionV2Config,
    ConformerConvolutionV3,
    ConformerMHSARelPosV1,
    ConformerMHSARelPosV1Config,
    ConformerPositionwiseFeedForwardV2,
    ConformerPositionwiseFeedForwardV2Config,
)
from i6_models.parts.conformer.norm import LayerNormNC

from memristor_asr.quant.linear import QuantLinear

__all__ = ["SelfAttentionV1", "MaskedConvolutionV1", "ConformerBlockV1", "sinusoidal_positions", "CROSSBAR_LAYERS"]

#: crossbar (static-weight linear) layers of a block, relative to the block; linear_pos only with rel-pos
CROSSBAR_LAYERS = ("ff1.linear_ff", "ff1.linear_out", "mhsa.qkv_proj", "mhsa.out_proj", "mhsa.linear_pos",
                   "conv.pointwise_conv1", "conv.pointwise_conv2", "ff2.linear_ff", "ff2.linear_out")


def sinusoidal_positions(length: int, dim: int, device=None) -> torch.Tensor:
    """Absolute sinusoidal encodings [length, dim] (sin on even, cos on odd channels)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]  # [T, 1]
    inv_freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * inv_freq)
    pe[:, 1::2] = torch.cos(pos * inv_freq)
    return pe


class SelfAttentionV1(torch.nn.Module):
    """Pre-norm multi-head self-attention with separate (swappable) linear projections.

    Used for absolute or no positional encoding; i6_models' ``ConformerMHSAV1`` uses the fused
    ``torch.nn.MultiheadAttention`` whose projections cannot be replaced by crossbar layers.
    """

    def __init__(self, dim: int, num_heads: int, att_dropout: float, dropout: float):
        super().__init__()
        self.layernorm = torch.nn.LayerNorm(dim)
        self.qkv_proj = torch.nn.Linear(dim, 3 * dim)
        self.out_proj = torch.nn.Linear(dim, dim)
        self.num_heads = num_heads
        self.att_dropout = att_dropout
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """:param x: [B, T, F] :param mask: bool [B, T], True inside :return: [B, T, F]"""
        b, t, f = x.shape
        q, k, v = self.qkv_proj(self.layernorm(x)).chunk(3, dim=-1)  # 3 x [B, T, F]
        # [B, H, T, F']
        q, k, v = (z.view(b, t, self.num_heads, f // self.num_heads).transpose(1, 2) for z in (q, k, v))
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :],
                                             dropout_p=self.att_dropout if self.training else 0.0)  # [B, H, T, F']
        return self.dropout(self.out_proj(att.transpose(1, 2).reshape(b, t, f)))  # [B, T, F]


class MaskedConvolutionV1(ConformerConvolutionV3):
    """i6_models' Conformer convolution module, with padded frames zeroed before the depthwise conv
    (so the padding of a batch does not leak into the last frames of shorter utterances)."""

    def forward(self, tensor: torch.Tensor, tensor_mask: torch.Tensor) -> torch.Tensor:
        """:param tensor: [B, T, F] :param tensor_mask: bool [B, T] :return: [B, T, F]"""
        tensor = self.layer_norm(tensor)
        tensor = F.glu(self.pointwise_conv1(tensor), dim=-1)  # [B, T, F]
        tensor = tensor.masked_fill(~tensor_mask[:, :, None], 0.0)
        tensor = self.depthwise_conv(tensor.transpose(1, 2))  # [B, F, T]
        tensor = self.norm(tensor).transpose(1, 2)  # [B, T, F]
        tensor = self.pointwise_conv2(self.activation(tensor))
        return self.dropout(tensor)  # [B, T, F]


class ConformerBlockV1(torch.nn.Module):
    """Macaron Conformer block: ½ FF, MHSA, conv, ½ FF, final layer norm."""

    def __init__(self, dim: int, ff_dim: int, num_heads: int, conv_kernel_size: int, dropout: float,
                 att_dropout: float, pos_encoding: str):
        super().__init__()
        ff_cfg = ConformerPositionwiseFeedForwardV2Config(
            input_dim=dim, hidden_dim=ff_dim, dropout=dropout, activation=F.silu, dropout_broadcast_axes=None)
        self.ff1 = ConformerPositionwiseFeedForwardV2(ff_cfg)
        if pos_encoding == "rel":
            self.mhsa = ConformerMHSARelPosV1(ConformerMHSARelPosV1Config(
                input_dim=dim, num_att_heads=num_heads, with_bias=True, att_weights_dropout=att_dropout,
                learnable_pos_emb=False, rel_pos_clip=None, with_linear_pos=True, with_pos_bias=True,
                separate_pos_emb_per_head=True, pos_emb_dropout=0.0, dropout=dropout, dropout_broadcast_axes=None))
        else:
            self.mhsa = SelfAttentionV1(dim, num_heads, att_dropout, dropout)
        self.conv = MaskedConvolutionV1(ConformerConvolutionV2Config(
            channels=dim, kernel_size=conv_kernel_size, dropout=dropout, activation=F.silu,
            norm=LayerNormNC(dim), dropout_broadcast_axes=None))
        self.ff2 = ConformerPositionwiseFeedForwardV2(ff_cfg)
        self.final_layer_norm = torch.nn.LayerNorm(dim)

    def crossbar_layer_names(self) -> List[str]:
        """Crossbar layers present in this block (``mhsa.linear_pos`` only with relative positions)."""
        names = []
        for n in CROSSBAR_LAYERS:
            parent, attr = n.split(".")
            if isinstance(getattr(self.get_submodule(parent), attr, None), (torch.nn.Linear, QuantLinear)):
                names.append(n)
        return names

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """:param x: [B, T, F] :param mask: bool [B, T] :return: [B, T, F]"""
        x = 0.5 * self.ff1(x) + x  # [B, T, F]
        x = self.mhsa(x, mask) + x  # [B, T, F]
        x = self.conv(x, mask) + x  # [B, T, F]
        x = 0.5 * self.ff2(x) + x  # [B, T, F]
        return self.final_layer_norm(x)  # [B, T, F]
