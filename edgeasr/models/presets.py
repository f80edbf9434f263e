"""Named model presets: data, not code. Each names an encoder and its options.

A preset is a :class:`ModelConfig`; a YAML file's ``model:`` section overrides any field of
it (:func:`model_config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edgeasr.errors import ConfigError
from edgeasr.models.config import FrontendConfig, ModelConfig, SpecAugmentConfig
from edgeasr.models.encoders import ConvEncoderConfig, DeepSpeechConfig

DEFAULT_PRESET = "small"

# DeepSpeech v0.9 features: 26 MFCC from 32 ms windows every 20 ms, 40 mel bands.
_DEEPSPEECH_FRONTEND = FrontendConfig(
    kind="mfcc", win_length=512, hop_length=320, n_fft=512, n_mels=40, n_mfcc=26, preemphasis=0.0
)

PRESETS: dict[str, ModelConfig] = {
    # ~1 M parameters: trains on a laptop CPU, full-int8 friendly, the default for the Pi.
    "small": ModelConfig(
        name="small",
        frontend=FrontendConfig(kind="logmel", n_mels=64),
        encoder=ConvEncoderConfig(channels=256, kernel_sizes=(11, 13, 15, 17, 19), repeat=2,
                                  epilogue_channels=384, dropout=0.1),
        specaugment=SpecAugmentConfig(freq_masks=2, freq_mask_width=8, time_masks=2,
                                      time_mask_fraction=0.04),
    ),
    # ~0.1 M parameters: unit tests and overfit smoke tests.
    "tiny": ModelConfig(
        name="tiny",
        frontend=FrontendConfig(kind="logmel", n_mels=40),
        encoder=ConvEncoderConfig(channels=96, kernel_sizes=(11, 15), repeat=1,
                                  epilogue_channels=128, dropout=0.0),
    ),
    # The published Mozilla DeepSpeech v0.9 shape (~47 M parameters).
    "deepspeech": ModelConfig(
        name="deepspeech",
        frontend=_DEEPSPEECH_FRONTEND,
        encoder=DeepSpeechConfig(width=2048, context=9),
    ),
    # The same architecture narrow enough for CPU experiments (what DeepSpeech's CI trains).
    "deepspeech-tiny": ModelConfig(
        name="deepspeech-tiny",
        frontend=_DEEPSPEECH_FRONTEND,
        encoder=DeepSpeechConfig(width=128, context=9, dropout=0.0),
    ),
}


def get_preset(name: str) -> ModelConfig:
    """The preset called ``name``.

    Raises:
        ConfigError: for an unknown name, listing the presets.
    """
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}") from None


def model_config(preset: str | None = None, overrides: Mapping[str, Any] | None = None,
                 where: str = "model") -> ModelConfig:
    """Preset ``preset`` (default: ``small``) with a config file's ``model:`` overrides applied.

    Raises:
        ConfigError: unknown preset, unknown override keys or bad values (prefixed ``where``).
    """
    config = get_preset(preset or DEFAULT_PRESET)
    return config.with_overrides(overrides, where) if overrides is not None else config
