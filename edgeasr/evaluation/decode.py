"""Transcribe with a Keras model: batched forward pass, then the device's greedy decoder.

The decoder is the one the device runs (``edgeasr_device.decoding``), so Keras and TFLite
results differ only where the networks' outputs differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgeasr.data.batches import collate
from edgeasr.data.corpus import Corpus, MemoryCorpus
from edgeasr_device.decoding import Transcript, greedy_decode
from edgeasr_device.vocab import Vocabulary


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def transcribe_corpus(model, corpus: Corpus, vocabulary: Vocabulary, batch_size: int = 16,
                      indices: Sequence[int] | None = None) -> list[Transcript]:
    """Greedy transcripts of corpus utterances (all, or ``indices``), in that order.

    Utterances are batched by length so that little compute goes to padding.
    """
    indices = np.arange(len(corpus)) if indices is None else np.asarray(indices)
    order = np.argsort(corpus.lengths[indices], kind="stable")
    results: list[Transcript | None] = [None] * len(indices)
    frame_seconds = model.config.frame_seconds
    for start in range(0, len(order), batch_size):
        positions = order[start : start + batch_size]
        items = [(corpus.audio(int(indices[p])).astype(np.float32) / 32768.0, np.zeros(0, np.int32))
                 for p in positions]
        x, _ = collate(items, pad_multiple=4000)
        logits = np.asarray(model.predict_on_batch(x))
        lengths = np.asarray(model.output_lengths(x["audio_lengths"]))
        for row, position in enumerate(positions):
            log_probs = log_softmax(logits[row, : lengths[row]])
            results[position] = greedy_decode(log_probs, vocabulary, frame_seconds)
    return results  # type: ignore[return-value]


def transcribe_waveforms(model, waveforms: Sequence[np.ndarray], vocabulary: Vocabulary,
                         batch_size: int = 16) -> list[Transcript]:
    """Greedy transcripts of float32 waveforms (N,) at the model's sample rate."""
    corpus = MemoryCorpus(list(waveforms), sample_rate=model.config.frontend.sample_rate)
    return transcribe_corpus(model, corpus, vocabulary, batch_size)
