"""Model configuration: frozen dataclasses that travel with checkpoints and artifacts.

A run directory's ``run.json`` holds ``ModelConfig.to_dict()`` beside the weights, and every
exported ``.tflite`` file embeds the same dictionary, so a model is always rebuilt from its
own description, never from a file name::

    {"name": "small", "frontend": {...}, "encoder": {"kind": "conv", "channels": 256, ...},
     "specaugment": {...}, "vocab_size": 29}

The encoder's options live in its own dataclass (:mod:`edgeasr.models.encoders`), picked by
``kind``. Files written before the encoder registry (edgeasr 0.1: ``"encoder": "conv"`` beside a
``"conv"`` and a ``"deepspeech"`` section) are migrated by :meth:`ModelConfig.from_dict`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from edgeasr.configs import dataclass_from_dict
from edgeasr.errors import ConfigError
from edgeasr.models.encoders import ConvEncoderConfig, EncoderConfig, encoder_from_dict
from edgeasr_device.audio import DEFAULT_SAMPLE_RATE

# edgeasr 0.1 kept one top-level section per encoder, whichever was used.
LEGACY_ENCODER_SECTIONS: tuple[str, ...] = ("conv", "deepspeech")


@dataclass(frozen=True)
class FrontendConfig:
    """Feature extraction inside the graph: waveform (B, N) -> features (B, T, F).

    Frames are ``n_fft`` samples long (the ``win_length`` Hann window sits centred in them),
    so ``T = 1 + (N - n_fft) // hop_length``. There is no centre padding, so a padded batch and
    a lone utterance see the same frames.
    """

    kind: Literal["logmel", "mfcc"] = "logmel"
    sample_rate: int = DEFAULT_SAMPLE_RATE
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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "frontend") -> FrontendConfig:
        return dataclass_from_dict(cls, data, where)


@dataclass(frozen=True)
class SpecAugmentConfig:
    """Frequency and time masks applied to features in training only."""

    freq_masks: int = 0
    freq_mask_width: int = 8
    time_masks: int = 0
    time_mask_fraction: float = 0.05


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model: frontend, encoder, vocabulary size."""

    name: str = "small"
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    encoder: EncoderConfig = field(default_factory=ConvEncoderConfig)
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    vocab_size: int = 29

    def __post_init__(self) -> None:
        if not isinstance(self.encoder, EncoderConfig):
            raise ConfigError(f"model.encoder: expected an encoder config, got {self.encoder!r}")

    @property
    def time_stride(self) -> int:
        """Frontend frames per logit frame (the encoder's stride)."""
        return self.encoder.time_stride

    @property
    def frame_seconds(self) -> float:
        """Seconds of audio per output (logit) frame."""
        return self.frontend.frame_seconds * self.time_stride

    def num_output_frames(self, num_samples: int) -> int:
        frames = self.frontend.num_frames(num_samples)
        return -(-frames // self.time_stride)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready); ``from_dict(to_dict())`` round-trips."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["frontend"] = dataclasses.asdict(self.frontend)
        data["specaugment"] = dataclasses.asdict(self.specaugment)
        data["encoder"] = self.encoder.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "model") -> ModelConfig:
        """A config from :meth:`to_dict`'s form, or from edgeasr 0.1's (migrated).

        Raises:
            ConfigError: unknown keys, an unknown encoder, or values a section refuses.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {data!r}")
        data = migrate_legacy_model_dict(data)
        encoder = data.get("encoder")
        if encoder is not None:
            data["encoder"] = encoder_from_dict(encoder, f"{where}.encoder")
        return dataclass_from_dict(cls, data, where)

    def replace(self, **changes: Any) -> ModelConfig:
        """Copy with changes; see :meth:`with_overrides`."""
        return self.with_overrides(changes)

    def with_overrides(self, changes: Mapping[str, Any], where: str = "model") -> ModelConfig:
        """Copy with changes (a config file's ``model:`` section); sections accept dicts of
        some of their fields.

        ``encoder={...}`` changes options of the current encoder, or with another ``kind``
        starts from that encoder's defaults. The 0.1 spellings (``encoder="deepspeech"``,
        ``conv={...}``, ``deepspeech={...}``) are understood too.

        Raises:
            ConfigError: prefixed with ``where``, for unknown keys or values refused.
        """
        if not isinstance(changes, Mapping):
            raise ConfigError(f"{where}: expected a mapping of overrides, got {changes!r}")
        changes = migrate_legacy_model_dict(changes, default_kind=self.encoder.kind, partial=True)
        merged = self.to_dict()
        for key, value in changes.items():
            current = merged.get(key)
            if isinstance(value, EncoderConfig):
                value = value.to_dict()
            if (key == "encoder" and isinstance(value, Mapping)
                    and value.get("kind", current["kind"]) != current["kind"]):
                merged[key] = dict(value)  # another encoder: from its defaults
                continue
            if isinstance(value, Mapping) and isinstance(current, dict):
                merged[key] = {**current, **value}
            else:
                merged[key] = value
        return ModelConfig.from_dict(merged, where)


def migrate_legacy_model_dict(data: Mapping[str, Any], default_kind: str = "conv",
                              partial: bool = False) -> dict[str, Any]:
    """edgeasr 0.1's model dict -> today's layout; today's layout is returned unchanged.

    0.1 wrote ``{"encoder": "conv" | "deepspeech", "conv": {...}, "deepspeech": {...}}``; the
    section of the encoder in use becomes ``{"encoder": {"kind": ..., **section}}`` and the
    other (never used by the model) is dropped. With ``partial`` (overrides for
    :meth:`ModelConfig.replace`) a missing ``encoder`` means "the current one,
    ``default_kind``", and without a matching section no encoder change is made.
    """
    data = dict(data)
    legacy_kind = data.get("encoder") if isinstance(data.get("encoder"), str) else None
    sections = {name: data.pop(name) for name in LEGACY_ENCODER_SECTIONS if name in data}
    if legacy_kind is None and not sections:
        return data
    kind = legacy_kind or default_kind
    options = sections.get(kind)
    if options is not None and not isinstance(options, Mapping):
        raise ConfigError(f"model.{kind}: expected a mapping of options, got {options!r}")
    if partial and legacy_kind is None and options is None:
        data.pop("encoder", None)
        return data
    data["encoder"] = {"kind": kind, **(options or {})}
    return data
