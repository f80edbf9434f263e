"""Named model presets. Each is a ``ModelConfig``; a YAML file may override any field."""

from __future__ import annotations

from edgeasr.models.config import (
    ConvEncoderConfig,
    DeepSpeechConfig,
    FrontendConfig,
    ModelConfig,
    SpecAugmentConfig,
)

# DeepSpeech v0.9 features: 26 MFCC from 32 ms windows every 20 ms, 40 mel bands.
_DEEPSPEECH_FRONTEND = FrontendConfig(
    kind="mfcc", win_length=512, hop_length=320, n_fft=512, n_mels=40, n_mfcc=26, preemphasis=0.0
)

PRESETS: dict[str, ModelConfig] = {
    # ~1 M parameters: trains on a laptop CPU, full-int8 friendly, the default for the Pi.
    "small": ModelConfig(
        name="small",
        encoder="conv",
        frontend=FrontendConfig(kind="logmel", n_mels=64),
        conv=ConvEncoderConfig(channels=256, kernel_sizes=(11, 13, 15, 17, 19), repeat=2,
                               epilogue_channels=384, dropout=0.1),
        specaugment=SpecAugmentConfig(freq_masks=2, freq_mask_width=8, time_masks=2,
                                      time_mask_fraction=0.04),
    ),
    # ~0.1 M parameters: unit tests and overfit smoke tests.
    "tiny": ModelConfig(
        name="tiny",
        encoder="conv",
        frontend=FrontendConfig(kind="logmel", n_mels=40),
        conv=ConvEncoderConfig(channels=96, kernel_sizes=(11, 15), repeat=1,
                               epilogue_channels=128, dropout=0.0),
    ),
    # The published Mozilla DeepSpeech v0.9 shape (~47 M parameters).
    "deepspeech": ModelConfig(
        name="deepspeech",
        encoder="deepspeech",
        frontend=_DEEPSPEECH_FRONTEND,
        deepspeech=DeepSpeechConfig(width=2048, context=9),
    ),
    # The same architecture narrow enough for CPU experiments (what DeepSpeech's CI trains).
    "deepspeech-tiny": ModelConfig(
        name="deepspeech-tiny",
        encoder="deepspeech",
        frontend=_DEEPSPEECH_FRONTEND,
        deepspeech=DeepSpeechConfig(width=128, context=9, dropout=0.0),
    ),
}


def get_preset(name: str) -> ModelConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}") from None
