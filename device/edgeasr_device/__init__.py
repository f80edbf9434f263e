"""edgeasr-device: run exported edgeasr speech models on a Raspberry Pi (numpy + LiteRT).

Importing this package never imports TensorFlow, Keras or the training side.

>>> from edgeasr_device import Recognizer
>>> Recognizer("model.tflite").transcribe("command.wav").text

A :class:`Recognizer` is an :class:`AcousticModel` (a :class:`TfliteModel` for an exported
file) plus a :class:`Decoder` chosen by :class:`DecodingOptions`.
"""

from edgeasr_device.artifact import ArtifactMetadata, read_metadata
from edgeasr_device.audio import load_audio, prepare_waveform
from edgeasr_device.decoding import (
    Decoder,
    DecodingOptions,
    GreedyDecoder,
    Transcript,
    Word,
    greedy_decode,
    log_softmax,
    make_decoder,
)
from edgeasr_device.errors import (
    ArtifactError,
    AudioError,
    DecodingError,
    EdgeAsrError,
    VocabularyError,
)
from edgeasr_device.model import AcousticModel, TfliteModel
from edgeasr_device.recognizer import Recognizer
from edgeasr_device.streaming import EndpointOptions, StreamUpdate
from edgeasr_device.streaming_model import StreamingTfliteModel
from edgeasr_device.vocab import Vocabulary

__version__ = "0.1.0"

__all__ = [
    "AcousticModel",
    "ArtifactError",
    "ArtifactMetadata",
    "AudioError",
    "Decoder",
    "DecodingError",
    "DecodingOptions",
    "EdgeAsrError",
    "EndpointOptions",
    "GreedyDecoder",
    "Recognizer",
    "StreamUpdate",
    "StreamingTfliteModel",
    "TfliteModel",
    "Transcript",
    "Vocabulary",
    "VocabularyError",
    "Word",
    "greedy_decode",
    "load_audio",
    "log_softmax",
    "make_decoder",
    "prepare_waveform",
    "read_metadata",
]
