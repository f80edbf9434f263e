"""Transcribe with a Keras model: batched forward pass, then the device's greedy decoder.

The decoder is the one the device runs (``edgeasr_device.decoding``), so Keras and TFLite
results differ only where the networks' outputs differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgeasr.data.batches import Example, collate
from edgeasr_device.decoding import Transcript, greedy_decode
from edgeasr_device.vocab import Vocabulary


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def transcribe_examples(
    model, examples: Sequence[Example], vocabulary: Vocabulary, batch_size: int = 16
) -> list[Transcript]:
    """Greedy transcripts of prepared examples, in order (batched by length for speed)."""
    order = np.argsort([e.audio.shape[0] for e in examples], kind="stable")
    results: list[Transcript | None] = [None] * len(examples)
    frame_seconds = model.config.frame_seconds
    for start in range(0, len(order), batch_size):
        members = order[start : start + batch_size]
        x, _ = collate([examples[i] for i in members], pad_multiple=4000)
        logits = np.asarray(model.predict_on_batch(x))
        lengths = np.asarray(model.output_lengths(x["audio_lengths"]))
        for row, index in enumerate(members):
            log_probs = log_softmax(logits[row, : lengths[row]])
            results[index] = greedy_decode(log_probs, vocabulary, frame_seconds)
    return results  # type: ignore[return-value]


def transcribe_waveforms(
    model, waveforms: Sequence[np.ndarray], vocabulary: Vocabulary, batch_size: int = 16
) -> list[Transcript]:
    """Greedy transcripts of float32 waveforms (N,) at the model's sample rate."""
    examples = [
        Example(
            np.clip(np.round(np.asarray(w) * 32767.0), -32768, 32767).astype(np.int16),
            np.zeros(0, np.int32),
            "",
            f"<waveform {i}>",
        )
        for i, w in enumerate(waveforms)
    ]
    return transcribe_examples(model, examples, vocabulary, batch_size)
