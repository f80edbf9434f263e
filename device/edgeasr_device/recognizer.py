"""The on-device recogniser: an exported ``.tflite`` file in, transcripts out.

Everything the recogniser needs (vocabulary, blank index, sample rate, frame duration) is
read from the metadata that ``edgeasr export`` embeds in the model file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgeasr_device.artifact import ArtifactMetadata, read_metadata
from edgeasr_device.audio import load_audio, prepare_waveform
from edgeasr_device.decoding import Transcript, greedy_decode
from edgeasr_device.errors import ArtifactError, AudioError
from edgeasr_device.interpreter import make_interpreter

AudioInput = str | os.PathLike | np.ndarray


class Recognizer:
    """Speech-to-text with one exported model.

    >>> rec = Recognizer("model.tflite")
    >>> rec.transcribe("command.wav").text
    'turn on the kitchen lights'
    >>> rec.transcribe(samples, sample_rate=8000)   # numpy (N,) or (N, C), any dtype
    """

    def __init__(self, model_path: str | os.PathLike, num_threads: int = 1):
        self.model_path = Path(model_path)
        try:
            content = self.model_path.read_bytes()
        except OSError as err:
            raise ArtifactError(f"cannot read model file {self.model_path}: {err.strerror}") from err
        self.metadata: ArtifactMetadata = read_metadata(content, source=str(self.model_path))
        self.vocabulary = self.metadata.vocabulary
        self.sample_rate = self.metadata.sample_rate
        self._interpreter = make_interpreter(content, num_threads=num_threads)
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ArtifactError(
                f"{self.model_path} has {len(inputs)} inputs and {len(outputs)} outputs; "
                "expected one waveform input and one log-probability output"
            )
        self._input = inputs[0]["index"]
        self._output = outputs[0]["index"]
        self._allocated_length = -1
        self.min_samples = int(self.metadata.frontend.get("n_fft", 512))

    def waveform(self, audio: AudioInput, sample_rate: int | None = None) -> np.ndarray:
        """Path or array -> float32 mono (N,) at the model's sample rate."""
        if isinstance(audio, np.ndarray):
            if sample_rate is None:
                raise AudioError("an in-memory array needs sample_rate= (samples per second)")
            return prepare_waveform(audio, sample_rate, self.sample_rate)
        return load_audio(audio, self.sample_rate)

    def log_probs(self, waveform: np.ndarray) -> np.ndarray:
        """float32 (N,) at the model rate -> log-probabilities (T, V)."""
        samples = np.asarray(waveform, dtype=np.float32)
        if samples.shape[0] < self.min_samples:  # shorter than one analysis frame
            samples = np.pad(samples, (0, self.min_samples - samples.shape[0]))
        if samples.shape[0] != self._allocated_length:
            self._interpreter.resize_tensor_input(self._input, [1, samples.shape[0]])
            self._interpreter.allocate_tensors()
            self._allocated_length = samples.shape[0]
        self._interpreter.set_tensor(self._input, samples[None, :])
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output)[0]

    def transcribe(self, audio: AudioInput, sample_rate: int | None = None) -> Transcript:
        """Greedy CTC transcript with word times (seconds) and confidences."""
        log_probs = self.log_probs(self.waveform(audio, sample_rate))
        return greedy_decode(log_probs, self.vocabulary, self.metadata.frame_duration)
