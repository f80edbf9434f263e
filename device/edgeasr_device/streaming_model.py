"""Chunked acoustic models: fixed audio chunks plus carried state in, log-probabilities out.

``edgeasr export --streaming`` writes a graph that maps one chunk of audio and the state left
by the previous chunk to the log-probabilities of ``chunk_frames`` output frames and the new
state (:class:`StreamingSpec` describes it; the metadata's ``streaming`` entry stores it).
:class:`ChunkRunner` is the host loop around any such step function: it cuts the incoming
samples into chunks, builds the frame masks, carries the state, and drops the frames that
precede the utterance; at :meth:`ChunkRunner.finish` it pads the last chunk and flushes the
lookahead. The frames it returns are the frames the whole-utterance model returns for the
same audio (see docs/streaming.md for the measured tolerance).

:class:`StreamingTfliteModel` runs an exported streaming ``.tflite`` file with that loop; it is
also an :class:`~edgeasr_device.model.AcousticModel` (``log_probs`` of a whole waveform, in
chunks, in bounded memory).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeasr_device.artifact import ArtifactMetadata, read_metadata
from edgeasr_device.errors import ArtifactError, AudioError
from edgeasr_device.interpreter import hidden_native_info, make_interpreter
from edgeasr_device.vocab import Vocabulary

__all__ = ["ChunkRunner", "StreamingSpec", "StreamingTfliteModel", "open_model"]

#: Signature input/output names of a streaming graph (states are ``state_<name>`` in and
#: ``next_<name>`` out).
AUDIO, FEATURE_MASK, FRAME_MASKS, LOG_PROBS = "audio", "feature_mask", "frame_masks", "log_probs"
STATE_IN, STATE_OUT = "state_", "next_"
SAMPLES_STATE = "samples"


@dataclass(frozen=True)
class StreamingSpec:
    """The chunk geometry of a streaming graph (the metadata's ``streaming`` entry).

    Chunk ``k`` takes samples ``[k * chunk_samples, (k + 1) * chunk_samples)``; its
    ``input_frames`` frontend frames are frames ``k * input_frames - input_delay + j``; its
    ``chunk_frames`` output rows are output frames ``k * chunk_frames - delay + i``; mask
    site ``s`` covers output frames ``k * chunk_frames - mask_delays[s] + i``.

    Attributes:
        chunk_samples: audio samples per chunk.
        input_frames: frontend frames per chunk (``chunk_frames * time_stride``).
        chunk_frames: output frames per chunk.
        time_stride: frontend frames per output frame.
        n_fft, hop_length: the frontend's analysis window and hop (samples).
        input_delay: frontend frames by which a chunk's features lag its audio.
        delay: output frames by which a chunk's output lags its audio (the lookahead).
        mask_delays: per mask site of the encoder, its lag in output frames.
        states: state name -> shape without the batch axis (``samples`` is the frontend's).
    """

    chunk_samples: int
    input_frames: int
    chunk_frames: int
    time_stride: int
    n_fft: int
    hop_length: int
    input_delay: int
    delay: int
    mask_delays: tuple[int, ...]
    states: Mapping[str, tuple[int, ...]]

    def lookahead_seconds(self, sample_rate: int) -> float:
        """Audio a frame waits for before it is final (the encoder's right context)."""
        return self.delay * self.time_stride * self.hop_length / sample_rate

    def to_dict(self) -> dict[str, Any]:
        return {"chunk_samples": self.chunk_samples, "input_frames": self.input_frames,
                "chunk_frames": self.chunk_frames, "time_stride": self.time_stride,
                "n_fft": self.n_fft, "hop_length": self.hop_length,
                "input_delay": self.input_delay, "delay": self.delay,
                "mask_delays": list(self.mask_delays),
                "states": {k: list(v) for k, v in self.states.items()}}

    @classmethod
    def from_dict(cls, data: Any, source: str = "<metadata>") -> StreamingSpec:
        """Parse :meth:`to_dict` output; ArtifactError naming ``source`` when malformed."""
        ints = ("chunk_samples", "input_frames", "chunk_frames", "time_stride", "n_fft",
                "hop_length", "input_delay", "delay")
        try:
            values = {k: data[k] for k in ints}
            if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values.values()) \
                    or min(values["chunk_samples"], values["chunk_frames"], values["hop_length"],
                           values["time_stride"], values["n_fft"]) < 1:
                raise ValueError("chunk sizes must be positive integers")
            mask_delays = tuple(int(d) for d in data["mask_delays"])
            states = {str(k): tuple(int(n) for n in v) for k, v in dict(data["states"]).items()}
            if any(n < 0 for shape in states.values() for n in shape) or any(d < 0 for d in mask_delays):
                raise ValueError("negative sizes")
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{source} has invalid streaming metadata ({exc!r}); "
                                "re-export it with `edgeasr export --streaming`") from exc
        return cls(mask_delays=mask_delays, states=states, **values)


StepFunction = Callable[[dict[str, np.ndarray]], Mapping[str, np.ndarray]]


class ChunkRunner:
    """Feed samples, get final log-probability frames; exact chunking of a streaming graph.

    Args:
        step: inputs ``{"audio": (1, chunk_samples), "feature_mask": (1, input_frames),
            "frame_masks": (1, sites, chunk_frames), "state_<name>": (1, *shape)}`` ->
            outputs ``{"log_probs": (1, chunk_frames, V), "next_<name>": ...}``.
        spec: the graph's chunk geometry.
    """

    def __init__(self, step: StepFunction, spec: StreamingSpec):
        self.step = step
        self.spec = spec
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next sample is sample 0 of a new utterance."""
        self._states = {name: np.zeros((1, *shape), np.float32)
                        for name, shape in self.spec.states.items()}
        self._pending = np.zeros(0, np.float32)
        self._chunks = 0
        self._emitted = 0  # output frames returned so far
        self.samples_fed = 0

    @property
    def frames_emitted(self) -> int:
        return self._emitted

    def feed(self, samples: np.ndarray) -> np.ndarray:
        """float32 (N,) -> the output frames (n, V) that became final; n may be 0."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        self.samples_fed += samples.shape[0]
        self._pending = np.concatenate([self._pending, samples]) if self._pending.size else samples
        size = self.spec.chunk_samples
        out = []
        while self._pending.shape[0] >= size:
            chunk, self._pending = self._pending[:size], self._pending[size:]
            out.append(self._run(chunk, None, None))
        return self._join(out)

    def finish(self) -> np.ndarray:
        """Pad the last chunk, flush the lookahead: the remaining frames (n, V). Then reset.

        Audio shorter than one analysis window counts as zero-padded to one, as
        :class:`~edgeasr_device.model.TfliteModel` does.
        """
        s = self.spec
        if self.samples_fed == 0:
            self.reset()
            return np.zeros((0, 0), np.float32)
        length = max(self.samples_fed, s.n_fft)
        input_total = 1 + (length - s.n_fft) // s.hop_length
        output_total = -(-input_total // s.time_stride)
        out = []
        while self._emitted < output_total:
            chunk = np.zeros(s.chunk_samples, np.float32)
            chunk[:self._pending.shape[0]] = self._pending
            self._pending = np.zeros(0, np.float32)
            out.append(self._run(chunk, input_total, output_total))
        self.reset()
        return self._join(out)

    def _run(self, chunk: np.ndarray, input_total: int | None,
             output_total: int | None) -> np.ndarray:
        s, k = self.spec, self._chunks
        feature_pos = k * s.input_frames - s.input_delay + np.arange(s.input_frames)
        out_pos = k * s.chunk_frames + np.arange(s.chunk_frames)
        site_pos = out_pos[None, :] - np.asarray(s.mask_delays, np.int64).reshape(-1, 1)
        feature_mask = _valid(feature_pos, input_total)
        frame_masks = _valid(site_pos, output_total)
        inputs = {AUDIO: chunk[None, :], FEATURE_MASK: feature_mask[None, :],
                  FRAME_MASKS: frame_masks[None, :]}
        for name, value in self._states.items():
            inputs[STATE_IN + name] = value
        outputs = self.step(inputs)
        for name in self._states:
            self._states[name] = np.asarray(outputs[STATE_OUT + name], np.float32)
        log_probs = np.asarray(outputs[LOG_PROBS])[0]
        self._chunks += 1
        positions = out_pos - s.delay
        keep = positions >= self._emitted
        if output_total is not None:
            keep &= positions < output_total
        rows = log_probs[keep]
        self._emitted += rows.shape[0]
        return rows

    @staticmethod
    def _join(parts: list[np.ndarray]) -> np.ndarray:
        parts = [p for p in parts if p.shape[0]]
        if not parts:
            return np.zeros((0, 0), np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _valid(positions: np.ndarray, total: int | None) -> np.ndarray:
    valid = positions >= 0
    if total is not None:
        valid &= positions < total
    return valid.astype(np.float32)


class StreamingTfliteModel:
    """An ``edgeasr export --streaming`` file run chunk by chunk by a TFLite interpreter.

    ``runner()`` gives an independent :class:`ChunkRunner` (one per stream);
    ``log_probs(waveform)`` runs a whole waveform through one, so the model is also an
    :class:`~edgeasr_device.model.AcousticModel`.

    Raises:
        ArtifactError: the file cannot be read, has no streaming metadata, or its graph does
            not have the inputs and outputs the metadata names.
    """

    def __init__(self, model: str | os.PathLike | bytes, num_threads: int = 1, *,
                 source: str | None = None, metadata: ArtifactMetadata | None = None,
                 native_info: bool = False):
        if isinstance(model, (bytes, bytearray, memoryview)):
            content, self.source = bytes(model), source or "<bytes>"
        else:
            self.source = source or os.fspath(model)
            try:
                content = Path(model).read_bytes()
            except OSError as err:
                raise ArtifactError(f"cannot read model file {model}: {err.strerror}") from err
        self.metadata = metadata if metadata is not None else read_metadata(content, source=self.source)
        if self.metadata.streaming is None:
            raise ArtifactError(f"{self.source} is not a streaming model; export one with "
                                "`edgeasr export --streaming` (or use TfliteModel)")
        self.spec = StreamingSpec.from_dict(self.metadata.streaming, self.source)
        self.vocabulary: Vocabulary = self.metadata.vocabulary
        self.sample_rate: int = self.metadata.sample_rate
        self.frame_duration: float = self.metadata.frame_duration
        self.num_threads = num_threads
        self._content = content
        self._hide_info = not native_info
        self._check_signature(self._new_runner_fn())

    def _new_runner_fn(self):
        with hidden_native_info(self._hide_info):
            interpreter = make_interpreter(self._content, num_threads=self.num_threads)
            signatures = interpreter.get_signature_list()
            if len(signatures) != 1:
                raise ArtifactError(f"{self.source} has {len(signatures)} signatures; a "
                                    "streaming model has one (re-export it)")
            return interpreter.get_signature_runner(next(iter(signatures)))

    def _check_signature(self, runner) -> None:
        details_in = set(runner.get_input_details())
        details_out = set(runner.get_output_details())
        want_in = {AUDIO, FEATURE_MASK, FRAME_MASKS} | {STATE_IN + n for n in self.spec.states}
        want_out = {LOG_PROBS} | {STATE_OUT + n for n in self.spec.states}
        if details_in != want_in or details_out != want_out:
            raise ArtifactError(f"{self.source}: the graph's inputs {sorted(details_in)} and "
                                f"outputs {sorted(details_out)} do not match its streaming "
                                "metadata; re-export it with `edgeasr export --streaming`")

    def runner(self) -> ChunkRunner:
        """A fresh chunk loop with its own interpreter (streams do not share state)."""
        signature = self._new_runner_fn()
        size = self.vocabulary.size
        first = [True]

        def step(inputs: dict[str, np.ndarray]) -> Mapping[str, np.ndarray]:
            with hidden_native_info(self._hide_info and first[0]):  # the delegate's INFO line
                outputs = signature(**inputs)
            first[0] = False
            if outputs[LOG_PROBS].shape[-1] != size:
                raise ArtifactError(f"{self.source} returned {outputs[LOG_PROBS].shape[-1]} "
                                    f"classes; its vocabulary has {size} (re-export it)")
            return outputs

        return ChunkRunner(step, self.spec)

    def log_probs(self, waveform: np.ndarray) -> np.ndarray:
        """float32 (N,) -> (T, V), computed chunk by chunk (equal to the whole-file model's)."""
        samples = np.asarray(waveform, np.float32)
        if samples.ndim != 1:
            raise AudioError(f"a waveform must have shape (N,) (mono), got {samples.shape}")
        runner = self.runner()
        step = self.spec.chunk_samples * 64
        parts = [runner.feed(samples[i:i + step]) for i in range(0, samples.shape[0], step)]
        parts.append(runner.finish())
        parts = [p for p in parts if p.shape[0]]
        if not parts:
            return np.zeros((0, self.vocabulary.size), np.float32)
        return np.concatenate(parts)

    def __repr__(self) -> str:
        return (f"StreamingTfliteModel({self.source!r}, num_threads={self.num_threads}, "
                f"chunk={self.spec.chunk_samples} samples)")


def open_model(model: str | os.PathLike | bytes, num_threads: int = 1, *,
               native_info: bool = False):
    """A ``.tflite`` file as the model class its metadata calls for: a
    :class:`StreamingTfliteModel` for a streaming export, else a ``TfliteModel``."""
    from edgeasr_device.model import TfliteModel

    if isinstance(model, (bytes, bytearray, memoryview)):
        metadata = read_metadata(bytes(model))
    else:
        metadata = read_metadata(model)
    cls = StreamingTfliteModel if metadata.streaming is not None else TfliteModel
    return cls(model, num_threads=num_threads, metadata=metadata, native_info=native_info)
