"""Encoders: features (B, T, F) -> hidden (B, T', H), one module each, behind a registry.

Importing this package registers every encoder below; a new encoder is one new module here
(see :mod:`edgeasr.models.encoders.registry` for what it declares) plus its line below.
"""

from edgeasr.models.encoders import (  # noqa: F401  (they register themselves)
    conformer,
    conv,
    deepspeech,
    deepspeech2,
)
from edgeasr.models.encoders.conformer import ConformerConfig
from edgeasr.models.encoders.conv import ConvEncoderConfig
from edgeasr.models.encoders.deepspeech import DeepSpeechConfig
from edgeasr.models.encoders.deepspeech2 import DeepSpeech2Config
from edgeasr.models.encoders.registry import (
    EncoderConfig,
    StreamingState,
    encoder_class,
    encoder_from_dict,
    encoder_names,
    register,
)

__all__ = [
    "ConformerConfig",
    "ConvEncoderConfig",
    "DeepSpeech2Config",
    "DeepSpeechConfig",
    "EncoderConfig",
    "StreamingState",
    "encoder_class",
    "encoder_from_dict",
    "encoder_names",
    "register",
]
