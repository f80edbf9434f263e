"""The on-device recogniser: an acoustic model plus a decoder, chosen by decoding options.

For an exported ``.tflite`` file everything the recogniser needs (vocabulary, blank index,
sample rate, frame duration) is read from the metadata ``edgeasr export`` embeds in it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from edgeasr_device.artifact import ArtifactMetadata
from edgeasr_device.audio import load_audio, prepare_waveform
from edgeasr_device.decoding import Decoder, DecodingOptions, Transcript, make_decoder
from edgeasr_device.errors import AudioError
from edgeasr_device.margin import check_margin, model_margin, pad_margin, unpad_transcript
from edgeasr_device.model import AcousticModel
from edgeasr_device.vocab import Vocabulary

if TYPE_CHECKING:
    from edgeasr_device.streaming import EndpointOptions, Stream

AudioInput = str | os.PathLike | np.ndarray

__all__ = ["AudioInput", "Recognizer"]


class Recognizer:
    """Speech-to-text with one model and one decoder.

    >>> rec = Recognizer("model.tflite")
    >>> rec.transcribe("command.wav").text
    'turn on the kitchen lights'
    >>> rec.transcribe(samples, sample_rate=8000)   # numpy (N,) or (N, C), any dtype

    Args:
        model: path (or bytes) of an exported ``.tflite`` file, or a packaged model's
            name (``"en-starter"``, :mod:`edgeasr_device.models`), opened as a
            :class:`~edgeasr_device.model.TfliteModel` (a streaming export: a
            :class:`~edgeasr_device.streaming_model.StreamingTfliteModel`), or any
            :class:`AcousticModel`.
        num_threads: interpreter CPU threads when ``model`` is a path (else unused).
        options: how to decode (default: greedy).
        margin: seconds of silence decoded before and after each utterance (and a stream),
            so that speech cut tight keeps its first and last sounds
            (:mod:`edgeasr_device.margin`); word times stay seconds of the real audio.
            None (default): the margin the model's file asks for, 0 if none.
    """

    def __init__(self, model: str | os.PathLike | AcousticModel, num_threads: int = 1,
                 options: DecodingOptions | None = None, margin: float | None = None):
        if isinstance(model, (str, os.PathLike, bytes)):
            from edgeasr_device.models import resolve_model
            from edgeasr_device.streaming_model import open_model

            if not isinstance(model, bytes):
                model = resolve_model(model)  # "en-starter": the packaged model
            model = open_model(model, num_threads=num_threads)  # streaming or whole-file
        elif not isinstance(model, AcousticModel):
            raise TypeError(f"model must be a .tflite path or an AcousticModel (sample_rate, "
                            f"frame_duration, vocabulary, log_probs), got {type(model).__name__}")
        self.model: AcousticModel = model
        self.options = options if options is not None else DecodingOptions()
        self.margin = check_margin(model_margin(model) if margin is None else margin)
        self.decoder: Decoder = make_decoder(self.options, model.vocabulary, model.frame_duration)

    @property
    def sample_rate(self) -> int:
        """Hz of the audio the model takes (inputs at other rates are resampled)."""
        return self.model.sample_rate

    @property
    def vocabulary(self) -> Vocabulary:
        return self.model.vocabulary

    @property
    def frame_duration(self) -> float:
        """Seconds of audio per model output frame."""
        return self.model.frame_duration

    @property
    def metadata(self) -> ArtifactMetadata | None:
        """The embedded metadata of a TFLite model (None for models without any)."""
        return getattr(self.model, "metadata", None)

    def waveform(self, audio: AudioInput, sample_rate: int | None = None) -> np.ndarray:
        """Path or array -> float32 mono (N,) at the model's sample rate."""
        if isinstance(audio, np.ndarray):
            if sample_rate is None:
                raise AudioError("an in-memory array needs sample_rate= (samples per second)")
            return prepare_waveform(audio, sample_rate, self.sample_rate)
        return load_audio(audio, self.sample_rate)

    def log_probs(self, waveform: np.ndarray) -> np.ndarray:
        """float32 (N,) at the model rate -> log-probabilities (T, V)."""
        return self.model.log_probs(waveform)

    def utterance_log_probs(self, waveform: np.ndarray) -> np.ndarray:
        """float32 (N,) at the model rate -> log-probabilities (T, V) of the waveform between
        ``margin`` seconds of silence: frame 0 starts ``margin`` seconds before sample 0."""
        return self.model.log_probs(pad_margin(waveform, self.margin, self.sample_rate))

    def decode(self, log_probs: np.ndarray) -> Transcript:
        """Log-probabilities (T, V) -> transcript, with this recogniser's decoder."""
        return self.decoder.decode(log_probs)

    def transcribe(self, audio: AudioInput, sample_rate: int | None = None) -> Transcript:
        """Transcript with word times (seconds) and confidences."""
        waveform = self.waveform(audio, sample_rate)
        return unpad_transcript(self.decode(self.utterance_log_probs(waveform)), self.margin,
                                waveform.shape[0] / self.sample_rate)

    def stream(self, endpoint: EndpointOptions | None = None) -> Stream:
        """A live stream: ``feed(samples) -> StreamUpdate``, ``finish() -> Transcript | None``
        (see :mod:`edgeasr_device.streaming`). Chunked for a streaming export, else
        voice-activity segmented."""
        from edgeasr_device.streaming import open_stream

        return open_stream(self, endpoint)
