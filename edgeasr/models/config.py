"""Model configuration: frozen dataclasses that travel with checkpoints and artifacts.

A run directory holds ``config.json`` (``ModelConfig.to_dict()``) beside its weights, and every
exported ``.tflite`` file embeds the same dictionary, so a model is always rebuilt from its
own description, never from a file name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class FrontendConfig:
    """Feature extraction inside the graph: waveform (B, N) -> features (B, T, F).

    Frames are ``n_fft`` samples long (the ``win_length`` Hann window sits centred in them),
    so ``T = 1 + (N - n_fft) // hop_length``. There is no centre padding, so a padded batch and
    a lone utterance see the same frames.
    """

    kind: Literal["logmel", "mfcc"] = "logmel"
    sample_rate: int = 16000
    win_length: int = 400  # 25 ms at 16 kHz
    hop_length: int = 160  # 10 ms at 16 kHz
    n_fft: int = 512
    n_mels: int = 40
    n_mfcc: int = 26  # used when kind == "mfcc"
    f_min: float = 20.0
    f_max: float | None = None  # None: Nyquist
    preemphasis: float = 0.97
    log_floor: float = 1e-6

    @property
    def num_features(self) -> int:
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels

    @property
    def frame_seconds(self) -> float:
        return self.hop_length / self.sample_rate

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for ``num_samples`` of audio (0 when shorter than a window)."""
        if num_samples < self.n_fft:
            return 0
        return 1 + (num_samples - self.n_fft) // self.hop_length


@dataclass(frozen=True)
class SpecAugmentConfig:
    """Frequency and time masks applied to features in training only."""

    freq_masks: int = 0
    freq_mask_width: int = 8
    time_masks: int = 0
    time_mask_fraction: float = 0.05


@dataclass(frozen=True)
class ConvEncoderConfig:
    """1-D time-channel separable conv encoder (QuartzNet/Citrinet-like).

    A strided prologue conv, ``len(kernel_sizes)`` residual blocks of ``repeat`` separable
    convs each, and a pointwise epilogue. Output frame rate = input frame rate / stride.
    """

    channels: int = 256
    prologue_kernel: int = 11
    stride: int = 2
    kernel_sizes: tuple[int, ...] = (13, 15, 17, 19, 21)
    repeat: int = 2
    epilogue_channels: int = 384
    dropout: float = 0.1


@dataclass(frozen=True)
class DeepSpeechConfig:
    """Mozilla DeepSpeech v0.9 shape: context window, 3 clipped-ReLU dense, 1 LSTM, dense.

    ``width=2048`` is the published model (about 47 M parameters with 26 MFCC and context 9).
    """

    width: int = 2048
    context: int = 9  # frames each side
    relu_clip: float = 20.0
    dropout: float = 0.05


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model: frontend, encoder, vocabulary size."""

    name: str = "small"
    encoder: Literal["conv", "deepspeech"] = "conv"
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    conv: ConvEncoderConfig = field(default_factory=ConvEncoderConfig)
    deepspeech: DeepSpeechConfig = field(default_factory=DeepSpeechConfig)
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    vocab_size: int = 29

    @property
    def time_stride(self) -> int:
        return self.conv.stride if self.encoder == "conv" else 1

    @property
    def frame_seconds(self) -> float:
        """Seconds of audio per output (logit) frame."""
        return self.frontend.frame_seconds * self.time_stride

    def num_output_frames(self, num_samples: int) -> int:
        frames = self.frontend.num_frames(num_samples)
        return -(-frames // self.time_stride)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        sections = {
            "frontend": FrontendConfig,
            "conv": ConvEncoderConfig,
            "deepspeech": DeepSpeechConfig,
            "specaugment": SpecAugmentConfig,
        }
        for key, section in sections.items():
            if key in data and isinstance(data[key], dict):
                data[key] = _build_section(section, data[key], key)
        return cls(**data)

    def replace(self, **changes: Any) -> ModelConfig:
        """Copy with changes; nested sections accept dicts of their own fields."""
        merged = self.to_dict()
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return ModelConfig.from_dict(merged)


def _build_section(cls: type, values: dict[str, Any], name: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown keys in model config section {name!r}: {sorted(unknown)}")
    converted = {}
    for key, value in values.items():
        if isinstance(value, list):
            value = tuple(value)
        converted[key] = value
    return cls(**converted)
