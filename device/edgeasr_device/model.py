"""Acoustic models: a waveform in, per-frame log-probabilities out.

:class:`AcousticModel` is the seam between a network and everything that consumes its output
(decoders, aligners, evaluation, benchmarks). :class:`TfliteModel` is the one loop that runs
an exported ``.tflite`` file; the recogniser, the benchmark and the export parity check all
use it, so they see the same numbers for the same audio.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from edgeasr_device.artifact import ArtifactMetadata, read_metadata
from edgeasr_device.errors import ArtifactError, AudioError
from edgeasr_device.interpreter import hidden_native_info, make_interpreter
from edgeasr_device.vocab import Vocabulary

__all__ = ["DEFAULT_N_FFT", "AcousticModel", "TfliteModel"]

#: Analysis window (samples) assumed when a model's metadata does not state ``n_fft``.
DEFAULT_N_FFT = 512


@runtime_checkable
class AcousticModel(Protocol):
    """A CTC network seen from outside.

    Attributes:
        sample_rate: Hz of the waveforms :meth:`log_probs` takes.
        frame_duration: seconds of audio per output frame.
        vocabulary: the ``V`` output classes, blank included.
    """

    sample_rate: int
    frame_duration: float
    vocabulary: Vocabulary

    def log_probs(self, waveform: np.ndarray) -> np.ndarray:
        """float32 ``(N,)`` mono at :attr:`sample_rate` -> float32 ``(T, V)`` log-probabilities."""
        ...


class TfliteModel:
    """An exported model run by a TFLite interpreter (LiteRT, or tflite-runtime).

    Audio shorter than one analysis frame (the frontend's ``n_fft``) is zero-padded to one
    frame, so every input gives at least one output frame. The interpreter's input is resized
    (and its tensors allocated) only when the waveform length changes.

    Args:
        model: path of a ``.tflite`` file, or its bytes.
        num_threads: CPU threads of the interpreter.
        source: name of the model in error messages (default: the path, or ``"<bytes>"``).
        metadata: use this instead of the metadata embedded in the file (for a bare graph).
        native_info: let the interpreter's native INFO lines (such as "Created TensorFlow
            Lite XNNPACK delegate for CPU.") through to stderr; they are hidden by default,
            other native messages always pass.

    Raises:
        ArtifactError: the file cannot be read, has no (valid) edgeasr metadata, or is not
            a one-waveform-in, one-log-probabilities-out graph.
    """

    def __init__(self, model: str | os.PathLike | bytes, num_threads: int = 1, *,
                 source: str | None = None, metadata: ArtifactMetadata | None = None,
                 native_info: bool = False):
        if isinstance(model, (bytes, bytearray, memoryview)):
            self.path: Path | None = None
            content = bytes(model)
            self.source = source or "<bytes>"
        else:
            self.path = Path(model)
            self.source = source or str(self.path)
            try:
                content = self.path.read_bytes()
            except OSError as err:
                raise ArtifactError(f"cannot read model file {self.path}: {err.strerror}") from err
        self.metadata: ArtifactMetadata = (metadata if metadata is not None
                                           else read_metadata(content, source=self.source))
        self.vocabulary: Vocabulary = self.metadata.vocabulary
        self.sample_rate: int = self.metadata.sample_rate
        self.frame_duration: float = self.metadata.frame_duration
        self.num_threads = num_threads
        #: Shortest input in samples: one analysis frame of the frontend.
        self.min_samples = int(self.metadata.frontend.get("n_fft", DEFAULT_N_FFT))
        self._hide_info = not native_info
        with hidden_native_info(self._hide_info):
            self._interpreter = make_interpreter(content, num_threads=num_threads)
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ArtifactError(
                f"{self.source} has {len(inputs)} inputs and {len(outputs)} outputs; "
                "expected one waveform input and one log-probability output"
            )
        self._input = inputs[0]["index"]
        self._output = outputs[0]["index"]
        self._allocated_length = -1

    def padded(self, waveform: np.ndarray) -> np.ndarray:
        """float32 ``(N,)`` -> ``(max(N, min_samples),)``: zeros appended to a short input.

        This is exactly what :meth:`log_probs` feeds the network.
        """
        samples = np.asarray(waveform, dtype=np.float32)
        if samples.ndim != 1:
            raise AudioError(f"a waveform must have shape (N,) (mono), got {samples.shape}")
        if samples.shape[0] < self.min_samples:  # shorter than one analysis frame
            samples = np.pad(samples, (0, self.min_samples - samples.shape[0]))
        return samples

    def log_probs(self, waveform: np.ndarray) -> np.ndarray:
        """float32 ``(N,)`` at :attr:`sample_rate` -> log-probabilities ``(T, V)``."""
        samples = self.padded(waveform)
        first_run = self._allocated_length < 0
        with hidden_native_info(self._hide_info and first_run):
            if samples.shape[0] != self._allocated_length:
                self._interpreter.resize_tensor_input(self._input, [1, samples.shape[0]])
                self._interpreter.allocate_tensors()
                self._allocated_length = samples.shape[0]
            self._interpreter.set_tensor(self._input, samples[None, :])
            self._interpreter.invoke()
        out = self._interpreter.get_tensor(self._output)
        if out.ndim != 3 or out.shape[0] != 1 or out.shape[2] != self.vocabulary.size:
            raise ArtifactError(
                f"{self.source} returned an output of shape {tuple(out.shape)}; expected "
                f"(1, T, {self.vocabulary.size}): log-probabilities over its vocabulary of "
                f"{self.vocabulary.size} classes (re-export the model)"
            )
        return out[0]

    def __repr__(self) -> str:
        return (f"TfliteModel({self.source!r}, num_threads={self.num_threads}, "
                f"quantization={self.metadata.quantization!r})")
