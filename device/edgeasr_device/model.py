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
from edgeasr_device.tflite_graph import GraphLimits, check_graph
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
        limits: the largest file and tensors accepted (see :class:`GraphLimits`).

    Model files are untrusted input: the file size is checked before the file is read, and
    the graph's tensor shapes and sizes (:func:`~edgeasr_device.tflite_graph.check_graph`)
    before the interpreter allocates anything. Whatever the interpreter itself refuses
    becomes an :class:`ArtifactError` naming the file too.

    Raises:
        ArtifactError: the file cannot be read, has no (valid) edgeasr metadata, is not
            a one-waveform-in, one-log-probabilities-out graph, or is too large or corrupt.
    """

    def __init__(self, model: str | os.PathLike | bytes, num_threads: int = 1, *,
                 source: str | None = None, metadata: ArtifactMetadata | None = None,
                 native_info: bool = False, limits: GraphLimits | None = None):
        limits = limits or GraphLimits()
        if isinstance(model, (bytes, bytearray, memoryview)):
            self.path: Path | None = None
            content = bytes(model)
            self.source = source or "<bytes>"
        else:
            self.path = Path(model)
            self.source = source or str(self.path)
            content = _read_model_file(self.path, self.source, limits.max_file_bytes)
        self.metadata: ArtifactMetadata = (metadata if metadata is not None
                                           else read_metadata(content, source=self.source))
        check_graph(content, self.source, limits)
        self.vocabulary: Vocabulary = self.metadata.vocabulary
        self.sample_rate: int = self.metadata.sample_rate
        self.frame_duration: float = self.metadata.frame_duration
        self.num_threads = num_threads
        #: Shortest input in samples: one analysis frame of the frontend.
        self.min_samples = int(self.metadata.frontend.get("n_fft", DEFAULT_N_FFT))
        self._hide_info = not native_info
        with hidden_native_info(self._hide_info):
            try:
                self._interpreter = make_interpreter(content, num_threads=num_threads)
            except (ValueError, RuntimeError) as err:
                raise ArtifactError(f"{self.source} cannot be loaded by the TFLite interpreter "
                                    f"({_first_line(err)}); re-export it with `edgeasr export` "
                                    "or re-copy the file") from err
        try:
            inputs = self._interpreter.get_input_details()
            outputs = self._interpreter.get_output_details()
        except ValueError as err:  # e.g. a tensor name that is not UTF-8
            raise ArtifactError(f"{self.source} has unreadable input/output details "
                                f"({_first_line(err)}); re-export it") from err
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
            try:
                if samples.shape[0] != self._allocated_length:
                    self._allocated_length = -1
                    self._interpreter.resize_tensor_input(self._input, [1, samples.shape[0]])
                    self._interpreter.allocate_tensors()
                    self._allocated_length = samples.shape[0]
                self._interpreter.set_tensor(self._input, samples[None, :])
                self._interpreter.invoke()
            except (ValueError, RuntimeError) as err:
                raise ArtifactError(f"{self.source} failed to run on {samples.shape[0]} "
                                    f"samples ({_first_line(err)}); it is not a working "
                                    "edgeasr export: re-export it") from err
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


def _read_model_file(path: Path, source: str, max_bytes: int) -> bytes:
    """The bytes of a model file, after checking that it is a file of a sane size."""
    try:
        info = path.stat()
        if path.is_dir():
            raise ArtifactError(f"{source} is a directory, not a .tflite model file")
        if info.st_size > max_bytes:
            raise ArtifactError(f"{source} is {info.st_size} bytes, more than the {max_bytes} "
                                "bytes a model may have here; is it the right file?")
        return path.read_bytes()
    except FileNotFoundError as err:
        raise ArtifactError(f"cannot read model file {source}: no such file; check the path"
                            ) from err
    except OSError as err:
        raise ArtifactError(f"cannot read model file {source}: {err.strerror or err}") from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]
