"""Named model presets: data, not code. Each names an encoder and its options.

A preset is a :class:`ModelConfig`; a YAML file's ``model:`` section overrides any field of
it (:func:`model_config`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from edgeasr.errors import ConfigError
from edgeasr.models.config import FrontendConfig, ModelConfig, SpecAugmentConfig
from edgeasr.models.encoders import (
    ConformerConfig,
    ConvEncoderConfig,
    DeepSpeech2Config,
    DeepSpeechConfig,
)

DEFAULT_PRESET = "small"

# DeepSpeech v0.9 features: 26 MFCC from 32 ms windows every 20 ms, 40 mel bands.
_DEEPSPEECH_FRONTEND = FrontendConfig(
    kind="mfcc", win_length=512, hop_length=320, n_fft=512, n_mels=40, n_mfcc=26, preemphasis=0.0
)

_SPECAUGMENT = SpecAugmentConfig(freq_masks=2, freq_mask_width=10, time_masks=2,
                                 time_mask_fraction=0.04)
# Tests and overfit smoke runs (~30 k parameters).
_DS2_TINY = DeepSpeech2Config(conv_channels=(4, 4), conv_time_kernels=(5, 5),
                              conv_freq_kernels=(5, 5), rnn_layers=2, rnn_units=32,
                              fc_units=32, dropout=0.0)

def _edge(name: str, channels: int, n_mels: int, epilogue: int, dropout: float) -> ModelConfig:
    """An edge-family preset: six separable conv blocks (kernels 9-19, two convs each)."""
    return ModelConfig(
        name=name,
        frontend=FrontendConfig(kind="logmel", n_mels=n_mels),
        encoder=ConvEncoderConfig(channels=channels, kernel_sizes=(9, 11, 13, 15, 17, 19),
                                  repeat=2, epilogue_channels=epilogue, dropout=dropout),
        specaugment=_SPECAUGMENT,
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
    # The edge family: the same separable conv blocks at about 1, 3 and 10 M parameters.
    # It grows in width, not depth, so the streaming lookahead (sum of the kernels' right
    # context) stays 1.64 s at every size.
    **{name: _edge(name, channels, n_mels, epilogue, dropout)
       for name, channels, n_mels, epilogue, dropout in (
           ("edge-1m", 192, 64, 256, 0.1),
           ("edge-3m", 384, 80, 512, 0.1),
           ("edge-10m", 704, 80, 1024, 0.15))},
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
    # Deep Speech 2 (Baidu): 2 Conv2D over time x frequency, 5 bidirectional GRUs x 512.
    "deepspeech2": ModelConfig(
        name="deepspeech2",
        frontend=FrontendConfig(kind="logmel", n_mels=80),
        encoder=DeepSpeech2Config(rnn_layers=5, rnn_units=512, bidirectional=True),
        specaugment=_SPECAUGMENT,
    ),
    # The streaming form: forward GRUs (768: about the bidirectional one's compute) and a
    # row convolution over 4 future frames; 0.26 s lookahead in all.
    "deepspeech2-streaming": ModelConfig(
        name="deepspeech2-streaming",
        frontend=FrontendConfig(kind="logmel", n_mels=80),
        encoder=DeepSpeech2Config(rnn_layers=5, rnn_units=768, bidirectional=False, lookahead=4),
        specaugment=_SPECAUGMENT,
    ),
    "deepspeech2-tiny": ModelConfig(
        name="deepspeech2-tiny",
        frontend=FrontendConfig(kind="logmel", n_mels=40),
        encoder=_DS2_TINY,
    ),
    "deepspeech2-streaming-tiny": ModelConfig(
        name="deepspeech2-streaming-tiny",
        frontend=FrontendConfig(kind="logmel", n_mels=40),
        encoder=dataclasses.replace(_DS2_TINY, bidirectional=False, lookahead=2),
    ),
    # Conformer (convolution-augmented attention) for CTC, ~10 M: for a GPU and real data.
    "conformer-small": ModelConfig(
        name="conformer-small",
        frontend=FrontendConfig(kind="logmel", n_mels=80),
        encoder=ConformerConfig(d_model=176, num_blocks=12, num_heads=4, conv_kernel=31,
                                subsampling_channels=128, dropout=0.1),
        specaugment=_SPECAUGMENT,
    ),
    "conformer-tiny": ModelConfig(
        name="conformer-tiny",
        frontend=FrontendConfig(kind="logmel", n_mels=40),
        encoder=ConformerConfig(d_model=32, num_blocks=2, num_heads=2, conv_kernel=7,
                                subsampling_channels=8, dropout=0.0),
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
