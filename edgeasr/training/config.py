"""Training options, saved in the run directory beside the model config."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    repeat: int = 1  # passes over the training set per epoch (for tiny sets)
    batch_size: int = 16
    max_batch_seconds: float | None = None  # cap on padded audio seconds per batch
    learning_rate: float = 2e-3
    warmup_epochs: float = 1.0
    min_learning_rate_fraction: float = 0.05  # cosine decay ends at this fraction of the peak
    weight_decay: float = 1e-3
    clip_norm: float = 5.0
    seed: int = 0
    keep_checkpoints: int = 3  # epoch checkpoints kept besides the best
    workers: int = 4  # threads that decode audio into the shard cache
    loader_workers: int = 1  # processes that assemble (and augment) batches
    cache_dir: str | None = None  # shard cache root; default $EDGEASR_CACHE or ~/.cache/edgeasr
    augment: str | dict | None = None  # None/"none", "default", or AugmentConfig fields
    checkpoint_every_minutes: float = 10.0  # mid-epoch checkpoints, for resuming long epochs
    checkpoint_every_steps: int = 0  # the same by step count (0: off)
    strict: bool = False  # a bad manifest line is fatal instead of skipped
    stop_at_dev_wer: float | None = None  # end training early once dev WER <= this

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown training options: {sorted(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
