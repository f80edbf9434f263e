"""Padded, duration-bucketed batches of (waveform, labels) with their true lengths.

Texts are normalised and encoded once; audio is decoded, mixed to mono and resampled once
(with worker threads) and kept in memory as int16. Utterances that cannot be trained on are
skipped and reported by manifest line, never dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import keras
import numpy as np

from edgeasr.data.manifest import Utterance
from edgeasr.models.config import ModelConfig
from edgeasr.text.normalize import normalize_english
from edgeasr_device.audio import load_audio
from edgeasr_device.errors import AudioError, VocabularyError
from edgeasr_device.vocab import Vocabulary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Skipped:
    source: str  # "manifest.jsonl:12"
    reason: str


@dataclass(frozen=True)
class Example:
    """One prepared utterance: int16 waveform (N,) at the model rate and label ids (L,)."""

    audio: np.ndarray
    labels: np.ndarray
    text: str  # normalised reference
    source: str


def ctc_min_frames(labels: np.ndarray) -> int:
    """Fewest output frames CTC needs: one per label plus a blank between repeated labels."""
    if labels.size == 0:
        return 0
    return int(labels.size + np.count_nonzero(labels[1:] == labels[:-1]))


def prepare_examples(
    utterances: Sequence[Utterance],
    vocabulary: Vocabulary,
    config: ModelConfig,
    normalizer: Callable[[str], str] = normalize_english,
    strict: bool = False,
    workers: int = 4,
) -> tuple[list[Example], list[Skipped]]:
    """Normalise, encode and load every utterance; return the usable ones and the skipped.

    With ``strict``, the first problem raises instead of being skipped.
    """
    skipped: list[Skipped] = []

    def skip(source: str, reason: str, error: Exception | None = None) -> None:
        if strict:
            raise (type(error)(f"{source}: {reason}") if error else ValueError(f"{source}: {reason}"))
        skipped.append(Skipped(source, reason))

    encoded = []
    for utterance in utterances:
        text = normalizer(utterance.text)
        if not text:
            skip(utterance.source, "empty transcript after normalisation")
            continue
        try:
            labels = np.asarray(vocabulary.encode(text), dtype=np.int32)
        except VocabularyError as err:
            skip(utterance.source, str(err), err)
            continue
        encoded.append((utterance, text, labels))

    def load(item):
        utterance, text, labels = item
        try:
            audio = load_audio(utterance.audio_path, config.frontend.sample_rate)
        except AudioError as err:
            return None, str(err), err
        return (utterance, text, labels, audio), None, None

    examples = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for (utterance, _, _), (loaded, reason, error) in zip(encoded, pool.map(load, encoded)):
            if loaded is None:
                skip(utterance.source, reason, error)
                continue
            _, text, labels, audio = loaded
            frames = config.num_output_frames(audio.shape[0])
            needed = ctc_min_frames(labels)
            if frames < needed:
                skip(
                    utterance.source,
                    f"audio too short for its transcript ({frames} output frames, CTC needs {needed})",
                )
                continue
            pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
            examples.append(Example(pcm, labels, text, utterance.source))
    return examples, skipped


def report_skipped(skipped: Sequence[Skipped], name: str, limit: int = 5) -> None:
    """Log what was skipped: the count and the first few lines with their reasons."""
    if not skipped:
        return
    lines = "\n".join(f"  {s.source}: {s.reason}" for s in skipped[:limit])
    more = f"\n  ... and {len(skipped) - limit} more" if len(skipped) > limit else ""
    log.warning("%s: skipped %d utterance(s):\n%s%s", name, len(skipped), lines, more)


class SpeechBatches(keras.utils.PyDataset):
    """Batches ``({"audio", "audio_lengths"}, {"labels", "label_lengths"})`` for ``fit``.

    audio (B, N) float32, audio_lengths (B,) int32, labels (B, L) int32 padded with 0,
    label_lengths (B,) int32. N is padded up to a multiple of ``pad_multiple`` samples.

    Batches hold utterances of similar length (sorted by duration with seeded jitter) and
    at most ``batch_size`` utterances and ``max_batch_seconds`` of padded audio. With
    ``shuffle``, the batch order and membership change every epoch, deterministically for
    a given ``seed`` and epoch (so a resumed run sees the same order).
    """

    def __init__(
        self,
        examples: Sequence[Example],
        batch_size: int,
        sample_rate: int,
        shuffle: bool = True,
        seed: int = 0,
        max_batch_seconds: float | None = None,
        pad_multiple: int = 4000,
        epoch: int = 0,
    ):
        super().__init__()
        if not examples:
            raise ValueError("no usable utterances to batch")
        self.examples = list(examples)
        self.batch_size = batch_size
        self.sample_rate = sample_rate
        self.shuffle = shuffle
        self.seed = seed
        self.max_batch_seconds = max_batch_seconds
        self.pad_multiple = pad_multiple
        self.epoch = epoch
        self._lengths = np.array([e.audio.shape[0] for e in self.examples])
        self._batches = self._plan(epoch)

    def _plan(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng((self.seed, epoch))
        keys = self._lengths.astype(np.float64)
        if self.shuffle:
            keys = keys * rng.uniform(0.9, 1.1, size=keys.shape)
        order = np.argsort(keys, kind="stable")
        cap = None if self.max_batch_seconds is None else self.max_batch_seconds * self.sample_rate
        batches, current, longest = [], [], 0
        for index in order:
            length = self._lengths[index]
            too_many = len(current) >= self.batch_size
            too_long = cap is not None and current and max(longest, length) * (len(current) + 1) > cap
            if current and (too_many or too_long):
                batches.append(np.array(current))
                current, longest = [], 0
            current.append(index)
            longest = max(longest, length)
        if current:
            batches.append(np.array(current))
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def __len__(self) -> int:
        return len(self._batches)

    def __getitem__(self, index: int):
        members = [self.examples[i] for i in self._batches[index]]
        return collate(members, self.pad_multiple)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._batches = self._plan(self.epoch)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self._batches = self._plan(epoch)


def collate(examples: Sequence[Example], pad_multiple: int = 1):
    """Pad a list of examples into the dictionaries ``fit`` takes (see SpeechBatches)."""
    lengths = np.array([e.audio.shape[0] for e in examples], dtype=np.int32)
    longest = int(lengths.max())
    padded_len = -(-longest // pad_multiple) * pad_multiple
    audio = np.zeros((len(examples), padded_len), dtype=np.float32)
    for row, example in enumerate(examples):
        audio[row, : example.audio.shape[0]] = example.audio.astype(np.float32) / 32768.0
    label_lengths = np.array([e.labels.size for e in examples], dtype=np.int32)
    label_pad = max(8, -(-int(label_lengths.max()) // 8) * 8)
    labels = np.zeros((len(examples), label_pad), dtype=np.int32)
    for row, example in enumerate(examples):
        labels[row, : example.labels.size] = example.labels
    x = {"audio": audio, "audio_lengths": lengths}
    y = {"labels": labels, "label_lengths": label_lengths}
    return x, y
