"""Padded, duration-bucketed batches of (waveform, labels) with their true lengths.

Batches are a pure function of (seed, epoch, batch index): worker processes, a resumed run
and a fresh run all see the same batches in the same order, augmentation included. Under data
parallelism (:class:`BatchShard`) the plan holds the *global* batches and each process builds
only its rows of each, still a pure function of (seed, epoch, batch index, process).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


def _round_up(value: int, multiple: int) -> int:
    return -(-int(value) // multiple) * multiple


def padded_sizes(longest_audio: int, longest_labels: int, pad_multiple: int) -> tuple[int, int]:
    """(N, L) of a batch whose longest utterance has ``longest_audio`` samples and
    ``longest_labels`` labels: N a multiple of ``pad_multiple``, L of 8 (at least 8)."""
    return _round_up(longest_audio, pad_multiple), max(8, _round_up(longest_labels, 8))


def collate(items: Sequence[tuple[np.ndarray, np.ndarray]], pad_multiple: int = 1,
            sizes: tuple[int, int] | None = None):
    """[(float32 audio (N_i,), int32 labels (L_i,))] -> the dictionaries ``fit`` takes.

    x: audio (B, N) float32 zero-padded to a multiple of ``pad_multiple``, audio_lengths (B,)
    y: labels (B, L) int32 zero-padded to a multiple of 8, label_lengths (B,)

    ``sizes``: (N, L) to pad to instead of the items' own (:func:`padded_sizes`); the
    processes of one data-parallel step pass the global batch's, so that their shapes agree.
    """
    lengths = np.array([a.shape[0] for a, _ in items], dtype=np.int32)
    label_lengths = np.array([l.size for _, l in items], dtype=np.int32)
    own = padded_sizes(int(lengths.max()), int(label_lengths.max()), pad_multiple)
    padded_len, label_len = own if sizes is None else sizes
    if own[0] > padded_len or own[1] > label_len:
        raise ValueError(f"a batch item needs padding to {own}, more than the {sizes} given")
    audio = np.zeros((len(items), padded_len), dtype=np.float32)
    labels = np.zeros((len(items), label_len), dtype=np.int32)
    for row, (waveform, ids) in enumerate(items):
        audio[row, : waveform.shape[0]] = waveform
        labels[row, : ids.size] = ids
    x = {"audio": audio, "audio_lengths": lengths}
    y = {"labels": labels, "label_lengths": label_lengths}
    return x, y


@dataclass(frozen=True)
class BatchShard:
    """Which rows of every global batch this process builds (data parallelism).

    A global batch of ``n`` utterances is padded to ``rows = replicas * ceil(n / replicas)``
    rows by repeating its own utterances, ``replicas`` being the devices of all processes
    together (a multiple of ``processes``); process ``index`` takes the ``index``-th of
    ``processes`` equal, contiguous blocks. Real rows weigh ``1 / n`` and padding rows 0, so
    ``sum(weight * loss)`` over all rows is the mean over the ``n`` utterances however the
    batch is split (``CTCModel.compute_loss``).
    """

    processes: int = 1
    index: int = 0
    replicas: int = 1

    def __post_init__(self) -> None:
        if not (self.processes >= 1 and 0 <= self.index < self.processes
                and self.replicas >= 1 and self.replicas % self.processes == 0):
            raise ValueError(f"{self}: need 0 <= index < processes and replicas a multiple "
                             "of processes")

    def rows(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Corpus indices (n,) of one global batch -> this process's (indices (r,),
        float32 weights (r,)), ``r = rows / processes``."""
        n = len(members)
        if n == 0:
            raise ValueError("an empty batch has no rows to shard")
        total = _round_up(n, self.replicas)
        positions = np.arange(total)
        weights = np.where(positions < n, 1.0 / n, 0.0).astype(np.float32)
        block = slice(self.index * total // self.processes,
                      (self.index + 1) * total // self.processes)
        return np.asarray(members)[positions % n][block], weights[block]


class SpeechBatches:
    """Batches ``({"audio", "audio_lengths"}, {"labels", "label_lengths"})`` for ``fit``.

    Batches hold utterances of similar length (sorted by duration with seeded jitter), at
    most ``batch_size`` utterances and ``max_batch_seconds`` of padded audio. With
    ``shuffle`` the batch order and membership change every epoch. ``augment`` (e.g. an
    ``edgeasr.augment.augmenter.Augmenter``) is called as ``augment(audio, key=(epoch, index))``.
    ``batch(epoch, i)`` is a pure function; ``edgeasr.data.loader`` streams batches from
    worker processes. Indexing (``batches[i]``) reads the current position's epoch.

    With a ``shard`` the plan's batches are global and ``batch`` returns this process's rows
    and their weights, ``(x, y, weights (r,))`` (:class:`BatchShard`); with several processes
    every process pads to the same (N, L), derived from the plan alone: the members' lengths
    after augmentation as ``augment.length_bound(samples, key)`` bounds them (no audio read).
    """

    def __init__(self, corpus: Corpus, batch_size: int, indices: np.ndarray | None = None,
                 shuffle: bool = True, seed: int = 0, max_batch_seconds: float | None = None,
                 pad_multiple: int = 4000, epoch: int = 0,
                 augment: Callable[..., np.ndarray] | None = None,
                 config: ModelConfig | None = None, shard: BatchShard | None = None):
        if (shard is not None and shard.processes > 1 and augment is not None
                and not hasattr(augment, "length_bound")):
            raise ValueError("several processes pad to lengths known in advance: the augmenter "
                             "needs a length_bound(samples, key) method")
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
        self.shard = shard
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
        """Batch ``index`` of ``epoch``: a pure function of (seed, epoch, index[, process])."""
        members = self.plan(epoch)[index]
        if self.shard is None:
            return collate([self.example(i, epoch) for i in members], self.pad_multiple)
        rows, weights = self.shard.rows(members)
        examples = {int(i): self.example(i, epoch) for i in np.unique(rows)}
        sizes = self.global_sizes(members, epoch) if self.shard.processes > 1 else None
        x, y = collate([examples[int(i)] for i in rows], self.pad_multiple, sizes)
        return x, y, weights

    def global_sizes(self, members: np.ndarray, epoch: int) -> tuple[int, int]:
        """(N, L) that every process pads its rows of this global batch to: from the corpus
        lengths and the augmenter's bound for ``(epoch, index)``, without reading audio."""
        longest = 0
        for index in members:
            samples = int(self.corpus.lengths[index])
            if self.augment is not None:  # it may keep the original (see ``example``)
                samples = max(samples, self.augment.length_bound(samples, key=(epoch, int(index))))
            longest = max(longest, samples)
        labels = max(self.corpus.labels(int(i)).size for i in members)
        return padded_sizes(longest, labels, self.pad_multiple)

    def __getitem__(self, index: int):
        return self.batch(self.epoch, self.start + index)

    def on_epoch_end(self) -> None:
        self.set_position(self.epoch + 1)

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        """Make the next batch ``start_batch`` of ``epoch`` (resuming mid-epoch)."""
        self.epoch = epoch
        self.start = start_batch
