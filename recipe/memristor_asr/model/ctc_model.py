"""``ConformerCtcModelV1``: waveform -> log-mel -> frontend (4x) -> Conformer blocks -> CTC log-probs.

Digital (float) parts: feature extraction, frontend, layer norms, activations, attention
products and softmax, the output layer. Crossbar parts: the static-weight linear layers inside
the blocks (see :data:`memristor_asr.model.conformer.CROSSBAR_LAYERS`); they are
:class:`memristor_asr.quant.QuantLinear` where ``cfg.quant`` gives them bits, plain
``torch.nn.Linear`` otherwise. Their qualified names look like ``blocks.3.mhsa.linear_pos``.
"""
from typing import List, Tuple

import torch

from memristor_asr.model.config import ConformerCtcConfigV1
from memristor_asr.model.conformer import ConformerBlockV1, sinusoidal_positions
from memristor_asr.model.features import LogMelFeaturesV1, lengths_to_mask
from memristor_asr.model.frontend import build_frontend
from memristor_asr.quant.config import make_linear

__all__ = ["ConformerCtcModelV1"]


class ConformerCtcModelV1(torch.nn.Module):
    def __init__(self, cfg: ConformerCtcConfigV1):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.features = LogMelFeaturesV1(cfg.features)
        self.frontend = build_frontend(cfg.frontend, cfg.features.num_filters, cfg.dim)
        self.frontend_dropout = torch.nn.Dropout(cfg.dropout)
        self.blocks = torch.nn.ModuleList([
            ConformerBlockV1(cfg.dim, cfg.ff_dim, cfg.num_heads, cfg.conv_kernel_size, cfg.dropout,
                             cfg.att_dropout, cfg.pos_encoding) for _ in range(cfg.num_blocks)])
        self.output = torch.nn.Linear(cfg.dim, cfg.vocab_size)
        self._quantize_crossbar_layers()

    def crossbar_layer_names(self) -> List[str]:
        """Qualified names of all static-weight linear layers that may go onto crossbars."""
        return [f"blocks.{i}.{n}" for i, b in enumerate(self.blocks) for n in b.crossbar_layer_names()]

    def _quantize_crossbar_layers(self) -> None:
        """Swap crossbar layers for QuantLinear where cfg.quant says so, keeping the initial weights
        (a float and a QAT model built under the same seed start identical)."""
        names = self.crossbar_layer_names()
        self.cfg.quant.check_patterns_match(names)
        for name in names:
            parent_name, attr = name.rsplit(".", 1)
            parent = self.get_submodule(parent_name)
            old = getattr(parent, attr)
            new = make_linear(name, old.in_features, old.out_features, old.bias is not None, self.cfg.quant)
            if new is old or type(new) is torch.nn.Linear:
                continue
            with torch.no_grad():
                new.weight.copy_(old.weight)
                if old.bias is not None:
                    new.bias.copy_(old.bias)
            setattr(parent, attr, new)

    def output_lengths(self, audio_lens: torch.Tensor) -> torch.Tensor:
        """Output frames for waveforms of ``audio_lens`` samples, without running the model
        (used to drop utterances too short for their CTC target before training)."""
        f = self.cfg.features
        hop, win = int(f.hop_size * f.sample_rate), int(f.win_size * f.sample_rate)
        frames = audio_lens // hop + 1 if f.center else torch.clamp((audio_lens - win) // hop + 1, min=0)
        if self.cfg.frontend.kind == "vgg":
            return frames // 2 // 2
        return self.frontend._out_lens(self.frontend._out_lens(frames))

    def encode_features(self, feats: torch.Tensor, feat_lens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """:param feats: normalised features [B, T, F] :param feat_lens: [B]
        :return: CTC log-probs [B, T', V] (float32) and output lengths [B]"""
        if not torch.isfinite(feats).all():
            raise FloatingPointError("non-finite input features (NaN/inf)")
        mask = lengths_to_mask(feat_lens, feats.shape[1])  # [B, T]
        x, mask = self.frontend(feats, mask)  # [B, T', D], [B, T']
        if self.cfg.pos_encoding == "abs":
            x = x + sinusoidal_positions(x.shape[1], x.shape[2], x.device).to(x.dtype)  # [B, T', D]
        x = self.frontend_dropout(x)
        for block in self.blocks:
            x = block(x, mask)  # [B, T', D]
        logits = self.output(x)  # [B, T', V]
        return torch.log_softmax(logits.float(), dim=-1), mask.sum(1)

    def forward(self, audio: torch.Tensor, audio_lens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """:param audio: [B, N] 16 kHz waveform :param audio_lens: [B] samples
        :return: CTC log-probs [B, T', V] and output lengths [B]"""
        feats, feat_lens = self.features(audio, audio_lens)  # [B, T, F], [B]
        return self.encode_features(feats, feat_lens)
