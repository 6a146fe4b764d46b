"""Convolutional frontends with 4x time subsampling (digital; never on crossbars)."""
from typing import Tuple

import torch
from i6_models.parts.frontend.vgg_act import VGG4LayerActFrontendV1, VGG4LayerActFrontendV1Config

from memristor_asr.model.config import FrontendConfigV1
from memristor_asr.model.features import lengths_to_mask

__all__ = ["Conv1dFrontendV1", "VggFrontendV1", "build_frontend"]


class Conv1dFrontendV1(torch.nn.Module):
    """Two strided 1-D convolutions over time (stride 2 each), ReLU, then a linear map to ``dim``.

    Much cheaper than the VGG frontend (no 2-D convolution at full time resolution), used by the
    demo profile. Padded frames are zeroed after each convolution so a batch gives the same
    result as each utterance alone.
    """

    def __init__(self, in_features: int, hidden: int, dim: int, kernel_size: int):
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.conv1 = torch.nn.Conv1d(in_features, hidden, kernel_size, stride=2, padding=pad)
        self.conv2 = torch.nn.Conv1d(hidden, hidden, kernel_size, stride=2, padding=pad)
        self.linear = torch.nn.Linear(hidden, dim)
        self._k, self._pad = kernel_size, pad

    def _out_lens(self, lens: torch.Tensor) -> torch.Tensor:
        return (lens + 2 * self._pad - self._k) // 2 + 1

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """:param x: [B, T, F] :param mask: [B, T] :return: [B, T', dim] and mask [B, T']"""
        lens = mask.sum(1)
        x = x.transpose(1, 2)  # [B, F, T]
        for conv in (self.conv1, self.conv2):
            x = torch.relu(conv(x))  # [B, C, T/2]
            lens = self._out_lens(lens)
            x = x * lengths_to_mask(lens, x.shape[2])[:, None, :]
        x = self.linear(x.transpose(1, 2))  # [B, T', dim]
        return x, lengths_to_mask(lens, x.shape[1])


class VggFrontendV1(VGG4LayerActFrontendV1):
    """i6_models' VGG frontend (conv, conv, ReLU, pool/2 over time, conv, conv, ReLU, pool/2, linear).

    Same layers and parameters as ``VGG4LayerActFrontendV1``; the forward pass additionally zeroes
    padded frames after every convolution and gives each utterance ``floor(floor(T/2)/2)`` output
    frames, so an utterance yields the same output alone or inside a padded batch.
    """

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """:param x: [B, T, F] :param mask: [B, T] :return: [B, T', dim] and mask [B, T'], T' = T // 4"""
        lens = mask.sum(1)
        x = x[:, None, :, :]  # [B, 1, T, F]

        def masked(z, n):
            return z * lengths_to_mask(n, z.shape[2])[:, None, :, None]

        x = masked(self.conv1(x), lens)  # [B, C1, T, F]
        x = self.pool1(self.activation(masked(self.conv2(x), lens)))  # [B, C2, T/2, F]
        lens = lens // 2
        x = masked(self.conv3(masked(x, lens)), lens)  # [B, C3, T/2, F]
        x = self.pool2(self.activation(masked(self.conv4(x), lens)))  # [B, C4, T/4, F]
        lens = lens // 2
        x = self.linear(x.transpose(1, 2).flatten(2))  # [B, T/4, dim]
        return x, lengths_to_mask(lens, x.shape[1])


def build_frontend(cfg: FrontendConfigV1, in_features: int, dim: int) -> torch.nn.Module:
    if cfg.kind == "conv1d":
        return Conv1dFrontendV1(in_features, cfg.channels[0], dim, cfg.kernel_size)
    c1, c2, c3, c4 = cfg.channels
    k = cfg.kernel_size
    return VggFrontendV1(VGG4LayerActFrontendV1Config(
        in_features=in_features, conv1_channels=c1, conv2_channels=c2, conv3_channels=c3, conv4_channels=c4,
        conv_kernel_size=(k, k), conv_padding=None,
        pool1_kernel_size=(2, 1), pool1_stride=(2, 1), pool1_padding=None,
        pool2_kernel_size=(2, 1), pool2_stride=(2, 1), pool2_padding=None,
        activation=torch.nn.functional.relu, out_features=dim))
