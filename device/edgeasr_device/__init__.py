"""edgeasr-device: run exported edgeasr speech models on a Raspberry Pi (numpy + LiteRT).

Importing this package never imports TensorFlow, Keras or the training side.

>>> from edgeasr_device import Recognizer
>>> Recognizer("model.tflite").transcribe("command.wav").text
"""

from edgeasr_device.artifact import ArtifactMetadata, read_metadata
from edgeasr_device.audio import load_audio, prepare_waveform
from edgeasr_device.decoding import Transcript, Word, greedy_decode
from edgeasr_device.errors import ArtifactError, AudioError, EdgeAsrError, VocabularyError
from edgeasr_device.recognizer import Recognizer
from edgeasr_device.vocab import Vocabulary

__version__ = "0.1.0"

__all__ = [
    "ArtifactError",
    "ArtifactMetadata",
    "AudioError",
    "EdgeAsrError",
    "Recognizer",
    "Transcript",
    "Vocabulary",
    "VocabularyError",
    "Word",
    "greedy_decode",
    "load_audio",
    "prepare_waveform",
    "read_metadata",
]
