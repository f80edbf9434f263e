"""Padded, duration-bucketed batches of (waveform, labels) with their true lengths.

Batches are a pure function of (seed, epoch, batch index): worker processes, a resumed run
and a fresh run all see the same batches in the same order, augmentation included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from edgeasr.data.corpus import Corpus
from edgeasr.data.shards import Skipped
from edgeasr.errors import DataError
from edgeasr.models.config import ModelConfig


def ctc_min_frames(labels: np.ndarray) -> int:
    """Fewest output frames CTC needs: one per label plus a blank between repeated labels."""
    if labels.size == 0:
        return 0
    return int(labels.size + np.count_nonzero(labels[1:] == labels[:-1]))


def trainable_indices(corpus: Corpus, config: ModelConfig) -> tuple[np.ndarray, list[Skipped]]:
    """Utterances long enough for CTC to emit their transcript with this model."""
    keep, skipped = [], []
    for index in range(len(corpus)):
        frames = config.num_output_frames(int(corpus.lengths[index]))
        needed = ctc_min_frames(corpus.labels(index))
        if frames < needed:
            skipped.append(Skipped(
                corpus.sources[index],
                f"audio too short for its transcript ({frames} output frames, CTC needs {needed})",
            ))
        else:
            keep.append(index)
    return np.asarray(keep, dtype=np.int64), skipped


def collate(items: Sequence[tuple[np.ndarray, np.ndarray]], pad_multiple: int = 1):
    """[(float32 audio (N_i,), int32 labels (L_i,))] -> the dictionaries ``fit`` takes.

    x: audio (B, N) float32 zero-padded to a multiple of ``pad_multiple``, audio_lengths (B,)
    y: labels (B, L) int32 zero-padded to a multiple of 8, label_lengths (B,)
    """
    lengths = np.array([a.shape[0] for a, _ in items], dtype=np.int32)
    padded_len = -(-int(lengths.max()) // pad_multiple) * pad_multiple
    audio = np.zeros((len(items), padded_len), dtype=np.float32)
    label_lengths = np.array([l.size for _, l in items], dtype=np.int32)
    labels = np.zeros((len(items), max(8, -(-int(label_lengths.max()) // 8) * 8)), dtype=np.int32)
    for row, (waveform, ids) in enumerate(items):
        audio[row, : waveform.shape[0]] = waveform
        labels[row, : ids.size] = ids
    x = {"audio": audio, "audio_lengths": lengths}
    y = {"labels": labels, "label_lengths": label_lengths}
    return x, y


class SpeechBatches:
    """Batches ``({"audio", "audio_lengths"}, {"labels", "label_lengths"})`` for ``fit``.

    Batches hold utterances of similar length (sorted by duration with seeded jitter), at
    most ``batch_size`` utterances and ``max_batch_seconds`` of padded audio. With
    ``shuffle`` the batch order and membership change every epoch. ``augment`` (e.g. an
    ``edgeasr.augment.augmenter.Augmenter``) is called as ``augment(audio, key=(epoch, index))``.
    ``batch(epoch, i)`` is a pure function; ``edgeasr.data.loader`` streams batches from
    worker processes. Indexing (``batches[i]``) reads the current position's epoch.
    """

    def __init__(self, corpus: Corpus, batch_size: int, indices: np.ndarray | None = None,
                 shuffle: bool = True, seed: int = 0, max_batch_seconds: float | None = None,
                 pad_multiple: int = 4000, epoch: int = 0,
                 augment: Callable[..., np.ndarray] | None = None,
                 config: ModelConfig | None = None):
        self.corpus = corpus
        self.indices = np.arange(len(corpus)) if indices is None else np.asarray(indices)
        if self.indices.size == 0:
            raise DataError("no usable utterances to batch")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.max_batch_seconds = max_batch_seconds
        self.pad_multiple = pad_multiple
        self.augment = augment
        self.config = config
        self.epoch = epoch
        self.start = 0
        self._plans: dict[int, list[np.ndarray]] = {}

    def plan(self, epoch: int) -> list[np.ndarray]:
        """Corpus indices of every batch of ``epoch``, in order (cached for two epochs)."""
        if epoch not in self._plans:
            if len(self._plans) >= 2:
                self._plans.pop(min(self._plans))
            self._plans[epoch] = self._make_plan(epoch)
        return self._plans[epoch]

    def _make_plan(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng((self.seed, epoch))
        lengths = self.corpus.lengths[self.indices]
        keys = lengths.astype(np.float64)
        if self.shuffle:
            keys = keys * rng.uniform(0.9, 1.1, size=keys.shape)
        order = np.argsort(keys, kind="stable")
        cap = None if self.max_batch_seconds is None else self.max_batch_seconds * self.corpus.sample_rate
        batches, current, longest = [], [], 0
        for position in order:
            length = lengths[position]
            too_many = len(current) >= self.batch_size
            too_long = cap is not None and current and max(longest, length) * (len(current) + 1) > cap
            if current and (too_many or too_long):
                batches.append(np.array(current))
                current, longest = [], 0
            current.append(self.indices[position])
            longest = max(longest, length)
        if current:
            batches.append(np.array(current))
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start

    @property
    def batches_per_epoch(self) -> int:
        return len(self.plan(self.epoch))

    def example(self, index: int, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """Utterance ``index`` as (float32 audio, labels), augmented as for ``epoch``."""
        audio = self.corpus.audio(index).astype(np.float32) / 32768.0
        labels = self.corpus.labels(index)
        if self.augment is not None:
            augmented = self.augment(audio, key=(epoch, int(index)))
            feasible = self.config is None or (
                self.config.num_output_frames(augmented.shape[0]) >= ctc_min_frames(labels))
            if feasible:  # e.g. a speed-up must not make the transcript impossible
                audio = augmented
        return audio, labels

    def batch(self, epoch: int, index: int):
        """Batch ``index`` of ``epoch``: a pure function of (seed, epoch, index)."""
        members = self.plan(epoch)[index]
        return collate([self.example(i, epoch) for i in members], self.pad_multiple)

    def __getitem__(self, index: int):
        return self.batch(self.epoch, self.start + index)

    def on_epoch_end(self) -> None:
        self.set_position(self.epoch + 1)

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        """Make the next batch ``start_batch`` of ``epoch`` (resuming mid-epoch)."""
        self.epoch = epoch
        self.start = start_batch
