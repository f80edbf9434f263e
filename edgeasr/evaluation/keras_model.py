"""A trained Keras ``CTCModel`` as an :class:`edgeasr_device.model.AcousticModel`.

Float32 waveforms go straight into the network (no int16 round trip). Many waveforms are run
in batches of similar length: sorted by length, zero-padded to a multiple of
``pad_multiple`` samples with their true lengths passed along, so padding changes nothing
but the cost (the models' padding invariance is pinned by tests).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from edgeasr.data.batches import collate
from edgeasr_device.decoding import log_softmax
from edgeasr_device.vocab import Vocabulary

__all__ = ["KerasModel", "length_batches"]

#: Batches are padded to a multiple of this many samples (as in training).
PAD_MULTIPLE = 4000


def length_batches(lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Positions into ``lengths`` (U,), sorted by length (stable), in chunks of at most
    ``batch_size``: each chunk is one batch of similar-length utterances."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = np.argsort(np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


class KerasModel:
    """Log-probabilities from a Keras ``CTCModel``.

    Args:
        model: a built ``CTCModel`` (its ``config`` gives the sample rate and frame duration).
        vocabulary: its output classes.
        batch_size: utterances per forward pass in :meth:`log_probs_batch`.
        pad_multiple: batches are zero-padded to a multiple of this many samples.
    """

    def __init__(self, model, vocabulary: Vocabulary, batch_size: int = 16,
                 pad_multiple: int = PAD_MULTIPLE):
        self.model = model
        self.vocabulary = vocabulary
        self.sample_rate: int = model.config.frontend.sample_rate
        self.frame_duration: float = model.config.frame_seconds
        self.batch_size = batch_size
        self.pad_multiple = pad_multiple

    def log_probs(self, waveform: np.ndarray) -> np.ndarray:
        """float32 ``(N,)`` at :attr:`sample_rate` -> log-probabilities ``(T, V)``."""
        return self.forward([waveform])[0]

    def log_probs_batch(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        """float32 waveforms ``(N_i,)`` -> their ``(T_i, V)`` log-probabilities, in order.

        Waveforms are run in batches of similar length (:func:`length_batches`).
        """
        lengths = np.array([np.shape(w)[0] for w in waveforms], dtype=np.int64)
        results: list[np.ndarray | None] = [None] * len(waveforms)
        for positions in length_batches(lengths, self.batch_size):
            for position, log_probs in zip(positions,
                                           self.forward([waveforms[p] for p in positions])):
                results[position] = log_probs
        return results  # type: ignore[return-value]

    def forward(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One padded batch: float32 waveforms ``(N_i,)`` -> ``(T_i, V)`` log-probabilities,
        each cut to its true number of output frames."""
        items = [(np.asarray(w, dtype=np.float32), np.zeros(0, np.int32)) for w in waveforms]
        x, _ = collate(items, pad_multiple=self.pad_multiple)
        logits = np.asarray(self.model.predict_on_batch(x))
        lengths = np.asarray(self.model.output_lengths(x["audio_lengths"]))
        return [log_softmax(logits[row, : lengths[row]]) for row in range(len(items))]
