"""Configuration of the QAT Conformer-CTC model: one nested dataclass, two named profiles.

``paper`` follows the ASR-on-memristors setup (log-mel 80, VGG frontend with 4x time
subsampling, 12 Conformer blocks, d = 384, 4 heads, FF 1536, conv kernel 31, dropout 0.2,
about 42 M parameters). ``demo`` is small enough to train on a few thousand synthetic
utterances on 2 CPU cores in about a quarter of an hour (light strided-conv frontend, 4 blocks,
d = 144).

The config (with the vocabulary and feature normalisation) is stored in every checkpoint, so
:func:`memristor_asr.model.load_model` rebuilds the model without any other file.
"""
import dataclasses
from dataclasses import dataclass, field
from typing import List, Optional

from memristor_asr.quant.config import QuantConfigV1

__all__ = [
    "FeatureConfigV1",
    "FrontendConfigV1",
    "ConformerCtcConfigV1",
    "POS_ENCODINGS",
    "FRONTENDS",
    "demo_config",
    "paper_config",
    "config_to_dict",
    "config_from_dict",
]

POS_ENCODINGS = ("rel", "abs", "none")
FRONTENDS = ("vgg", "conv1d")


@dataclass
class FeatureConfigV1:
    """Log-mel features computed inside the model from 16 kHz waveforms (i6_models ``LogMelFeatureExtractionV1``).

    Attributes:
        sample_rate: audio sample rate in Hz (audio at another rate is an error)
        win_size: analysis window in seconds
        hop_size: frame shift in seconds
        f_min: lowest mel filter edge in Hz
        f_max: highest mel filter edge in Hz
        min_amp: floor before log10
        num_filters: number of mel bands (feature dimension)
        center: centred STFT (frames = samples // hop + 1) instead of valid frames only
        mean: per-band normalisation mean (None: 0); normally filled in from training-data statistics
        std: per-band normalisation standard deviation (None: 1)
    """

    sample_rate: int = 16000
    win_size: float = 0.025
    hop_size: float = 0.01
    f_min: int = 60
    f_max: int = 7600
    min_amp: float = 1e-10
    num_filters: int = 80
    center: bool = False
    mean: Optional[List[float]] = None
    std: Optional[List[float]] = None


@dataclass
class FrontendConfigV1:
    """Convolutional frontend with 4x time subsampling (stays digital).

    Attributes:
        kind: "vgg" (i6_models ``VGG4LayerActFrontendV1``: 4 conv2d, 2 max-pools over time) or
            "conv1d" (two strided 1-D convolutions over time, about 20x cheaper; for the demo)
        channels: conv channels; vgg uses (c1, c2, c3, c4), conv1d uses the first entry as its hidden width
        kernel_size: conv kernel size (time for conv1d; time and frequency for vgg)
    """

    kind: str = "vgg"
    channels: List[int] = field(default_factory=lambda: [32, 64, 64, 32])
    kernel_size: int = 3


@dataclass
class ConformerCtcConfigV1:
    """QAT Conformer-CTC acoustic model.

    Attributes:
        vocab: output labels, index 0 is the CTC blank "<blank>"
        features: log-mel feature extraction and normalisation
        frontend: convolutional frontend (4x time subsampling)
        num_blocks: number of Conformer blocks
        dim: model dimension d
        num_heads: attention heads
        ff_dim: feed-forward hidden size
        conv_kernel_size: depthwise convolution kernel size (odd)
        dropout: dropout in feed-forward, attention output and convolution modules, and after the frontend
        att_dropout: dropout on attention weights
        pos_encoding: "rel" (Transformer-XL relative positions, i6_models ``ConformerMHSARelPosV1``;
            its position projection ``linear_pos`` is a crossbar layer), "abs" (sinusoidal added
            after the frontend) or "none"
        quant: which crossbar layers are fake-quantized at how many bits (None bits = float model)
    """

    vocab: List[str]
    features: FeatureConfigV1 = field(default_factory=FeatureConfigV1)
    frontend: FrontendConfigV1 = field(default_factory=FrontendConfigV1)
    num_blocks: int = 12
    dim: int = 384
    num_heads: int = 4
    ff_dim: int = 1536
    conv_kernel_size: int = 31
    dropout: float = 0.2
    att_dropout: float = 0.2
    pos_encoding: str = "rel"
    quant: QuantConfigV1 = field(default_factory=QuantConfigV1)

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        def bad(msg):
            raise ValueError(f"ConformerCtcConfigV1: {msg}")

        if len(self.vocab) < 2 or self.vocab[0] != "<blank>":
            bad(f"vocab must start with '<blank>' and hold at least one label, got {self.vocab[:3]}...")
        if len(set(self.vocab)) != len(self.vocab):
            bad("vocab has duplicate labels")
        if self.pos_encoding not in POS_ENCODINGS:
            bad(f"pos_encoding must be one of {POS_ENCODINGS}, got {self.pos_encoding!r}")
        if self.frontend.kind not in FRONTENDS:
            bad(f"frontend.kind must be one of {FRONTENDS}, got {self.frontend.kind!r}")
        if self.frontend.kind == "vgg" and len(self.frontend.channels) != 4:
            bad(f"vgg frontend needs 4 channel sizes, got {self.frontend.channels}")
        if self.dim % self.num_heads:
            bad(f"dim {self.dim} not divisible by num_heads {self.num_heads}")
        if self.conv_kernel_size % 2 != 1:
            bad(f"conv_kernel_size must be odd, got {self.conv_kernel_size}")
        if self.num_blocks < 1:
            bad(f"num_blocks must be >= 1, got {self.num_blocks}")
        for name in ("dropout", "att_dropout"):
            if not 0 <= getattr(self, name) < 1:
                bad(f"{name} must be in [0, 1), got {getattr(self, name)}")
        f = self.features
        for name in ("mean", "std"):
            v = getattr(f, name)
            if v is not None and len(v) != f.num_filters:
                bad(f"features.{name} has {len(v)} entries, expected num_filters = {f.num_filters}")
        if f.std is not None and min(f.std) <= 0:
            bad("features.std must be positive")

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def frame_shift(self) -> float:
        """Seconds per output frame (4x subsampled feature frames)."""
        return 4 * self.features.hop_size


def demo_config(vocab: List[str], quant: Optional[QuantConfigV1] = None, **overrides) -> ConformerCtcConfigV1:
    """Small model for the synthetic demo corpus on CPU: 4 blocks x 144 dims, conv1d frontend."""
    kw = dict(
        vocab=list(vocab),
        frontend=FrontendConfigV1(kind="conv1d", channels=[192], kernel_size=5),
        num_blocks=4, dim=144, num_heads=4, ff_dim=576, conv_kernel_size=15,
        dropout=0.1, att_dropout=0.1, pos_encoding="rel",
        quant=quant if quant is not None else QuantConfigV1(),
    )
    kw.update(overrides)
    return ConformerCtcConfigV1(**kw)


def paper_config(vocab: List[str], quant: Optional[QuantConfigV1] = None, **overrides) -> ConformerCtcConfigV1:
    """The paper's seed setup: VGG frontend, 12 blocks x 384 dims, 4 heads, FF 1536, kernel 31, dropout 0.2."""
    kw = dict(
        vocab=list(vocab),
        frontend=FrontendConfigV1(kind="vgg", channels=[32, 64, 64, 32], kernel_size=3),
        num_blocks=12, dim=384, num_heads=4, ff_dim=1536, conv_kernel_size=31,
        dropout=0.2, att_dropout=0.2, pos_encoding="rel",
        quant=quant if quant is not None else QuantConfigV1(),
    )
    kw.update(overrides)
    return ConformerCtcConfigV1(**kw)


def config_to_dict(cfg: ConformerCtcConfigV1) -> dict:
    """Plain dict (JSON/pickle safe) of the config, for checkpoints."""
    d = dataclasses.asdict(cfg)
    lb = cfg.quant.overrides()
    d["quant"]["layer_bits"] = [list(x) for x in lb]
    return d


def config_from_dict(d: dict) -> ConformerCtcConfigV1:
    """Inverse of :func:`config_to_dict`; unknown keys are an error (no silent drift)."""
    d = dict(d)
    q = dict(d.pop("quant"))
    q["layer_bits"] = tuple((p, b) for p, b in q.get("layer_bits", ()))
    return ConformerCtcConfigV1(features=FeatureConfigV1(**d.pop("features")),
                                frontend=FrontendConfigV1(**d.pop("frontend")),
                                quant=QuantConfigV1(**q), **d)
