"""``edgeasr bench data``: how many audio-seconds per second the input pipeline produces."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from edgeasr.data.batches import SpeechBatches
from edgeasr.data.corpus import Corpus
from edgeasr.data.loader import stream


@dataclass(frozen=True)
class LoaderSpeed:
    name: str
    workers: int
    batches: int
    audio_seconds: float
    wall_seconds: float

    @property
    def audio_per_second(self) -> float:
        return self.audio_seconds / self.wall_seconds

    @property
    def per_core(self) -> float:
        return self.audio_per_second / max(1, self.workers)

    def to_dict(self) -> dict:
        return {**asdict(self), "audio_per_second": self.audio_per_second, "per_core": self.per_core}


def measure(corpus: Corpus, name: str, augment=None, workers: int = 1, batch_size: int = 32,
            min_seconds: float = 5.0, seed: int = 0) -> LoaderSpeed:
    """Stream epochs of batches for at least ``min_seconds`` of wall time (whole epochs or
    until the time is up) and count the true (unpadded) audio seconds produced."""
    batches = SpeechBatches(corpus, batch_size, seed=seed, augment=augment)
    produced, count, epoch = 0, 0, 0
    started = time.perf_counter()
    while time.perf_counter() - started < min_seconds:
        batches.set_position(epoch)
        for x, _ in stream(batches, workers):
            produced += int(np.sum(x["audio_lengths"]))
            count += 1
            if time.perf_counter() - started >= min_seconds:
                break
        epoch += 1
    wall = time.perf_counter() - started
    return LoaderSpeed(name, workers, count, produced / corpus.sample_rate, wall)


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
