"""Silence around an utterance: ``margin`` seconds of zeros before and after its audio.

A convolutional encoder sees an utterance's first and last frames next to its own zero
padding, not next to silence. Speech cut tight, starting at the first sample or ending at
the last (FSDD's recordings, a push-to-talk clip, a VAD cut), then loses its first or last
sound: "three" comes out as "ree". Decoding the audio between margins of digital silence
(zeros: what the padding of a training batch is, so what the model has heard as silence)
moves the speech away from the edges. Measured with the starter model on FSDD's held-out
recordings (docs/benchmarks.md, "Silence margins" and "Stage 6"): greedy WER 11.7% as cut,
3.3% with 0.2 s on each side for stage 4; 6.0% and 1.3% for stage 6, trained with silence
added around its utterances; about unchanged on sentences, which have silence around them.

Whether a margin helps depends on what the model heard in training: the synthetic demo
model, trained on synthetic speech with its own edges, goes from 2.7% to 15.1% WER with
0.2 s. So the margin belongs to the model: ``edgeasr export --margin S`` writes it into the
file's metadata (``ArtifactMetadata.margin``, 0 when absent), and the recogniser uses it
unless told otherwise (``Recognizer(margin=...)``, ``--margin``).

The margin is decoded as audio, so it costs its length in compute (0.4 s per utterance at
0.2 s), and word times are moved back by it (:func:`shift_transcript`), so they stay
seconds from the start of the real audio.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeasr_device.artifact import MAX_MARGIN
from edgeasr_device.decoding import Transcript, Word

__all__ = ["check_margin", "margin_samples", "model_margin", "pad_margin", "shift_transcript",
           "unpad_transcript"]


def check_margin(margin: float) -> float:
    """``margin`` as a float, or ValueError when it is not 0 to ``MAX_MARGIN`` seconds."""
    margin = float(margin)
    if not 0 <= margin <= MAX_MARGIN:  # NaN fails too
        raise ValueError(f"margin must be 0-{MAX_MARGIN:g} seconds, got {margin}")
    return margin


def model_margin(model: object) -> float:
    """The margin a model's file asks for (its metadata), 0 for a model without one."""
    metadata = getattr(model, "metadata", None)
    return float(getattr(metadata, "margin", 0.0) or 0.0)


def margin_samples(margin: float, sample_rate: int) -> int:
    return round(margin * sample_rate)


def pad_margin(waveform: np.ndarray, margin: float, sample_rate: int) -> np.ndarray:
    """float32 (N,) -> (N + 2 M,): ``M = margin * sample_rate`` zeros on each side."""
    pad = margin_samples(margin, sample_rate)
    return np.pad(waveform, pad) if pad else waveform


def shift_transcript(transcript: Transcript, seconds: float,
                     end: float | None = None) -> Transcript:
    """The transcript with every word time moved by ``seconds``, then kept within
    ``[0, end]`` (the audio's end: a word the model finished in the margin ends there)."""
    if not seconds and end is None:
        return transcript
    limit = np.inf if end is None else end

    def clip(t: float) -> float:
        return float(min(max(0.0, t + seconds), limit))

    words = tuple(Word(w.text, clip(w.start), clip(w.end), w.confidence)
                  for w in transcript.words)
    return dataclasses.replace(transcript, words=words)


def unpad_transcript(transcript: Transcript, margin: float, duration: float) -> Transcript:
    """A transcript decoded between margins, its word times as seconds of the ``duration``
    seconds of real audio."""
    return shift_transcript(transcript, -margin, end=duration)
