"""The learning-rate schedule: linear warm-up, cosine decay to a floor, and how it continues
when a resumed run is given a new epoch count.

A fresh run follows one *segment*: warm-up from 1 % of the peak to the peak over
``warmup_epochs``, then cosine decay to ``min_learning_rate_fraction`` x peak at the last step
(Keras' ``CosineDecay`` with warm-up, unchanged from edgeasr 0.1).

``--resume --epochs N`` changes the total. Evaluating the first segment against the new
total jumps the rate back up (edgeasr 0.1: a finished run at its floor of 0.0001, resumed
with three times the epochs, went on at 0.0015). Instead a new segment starts at the resume
step ``s`` from the rate the run had there, ``lr(s)``, and decays along a cosine from it to
the same floor at the new last step ``T``::

    lr(t) = floor + (lr(s) - floor) * (1 + cos(pi * min(t - s, T - s) / (T - s))) / 2

So the rate never jumps: it continues from where it stopped and the remaining decay is
stretched (or squeezed) over the new total. A resume still inside the warm-up simply
replaces the first segment's total (nothing has decayed yet). The segments are saved in
every checkpoint's state.json (``"schedule"``) so that later resumes rebuild the same curve;
a checkpoint without them (0.1) had a single segment over the run's epochs at the time.

``optim.schedule`` picks another shape (the default, ``cosine``, is the one above):

- ``exponential``: the same warm-up, then Keras' ``ExponentialDecay``: the rate is multiplied
  by ``decay_rate`` every epoch (smoothly, per batch), never below the floor. It does not
  depend on the total, so a resume with a new epoch count simply continues it.
- ``plateau``: the same warm-up, then the peak until dev WER stops improving, then Keras'
  ``ReduceLROnPlateau`` (:mod:`edgeasr.training.plateau`).

Steps are batches: with ``accumulate_steps`` the optimizer updates less often but Keras still
counts every batch for the schedule (:mod:`edgeasr.training.optimizer`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import keras
from keras import ops

from edgeasr.training.config import OptimConfig
from edgeasr.training.optimizer import build_optimizer


@dataclass(frozen=True)
class Segment:
    """Decay that starts at step ``start`` and reaches the floor at step ``total``."""

    start: int
    total: int

    @classmethod
    def from_dict(cls, data: dict) -> Segment:
        return cls(int(data["start"]), int(data["total"]))


def warmup_steps(optim: OptimConfig, steps_per_epoch: int, total: int) -> int:
    return max(0, min(int(optim.warmup_epochs * steps_per_epoch), total - 1))


def continue_segments(segments: Sequence[Segment], step: int, total: int,
                      warmup: int) -> tuple[Segment, ...]:
    """The segments after resuming at ``step`` with a new ``total`` (unchanged if equal)."""
    segments = tuple(segments)
    if segments[-1].total == total:
        return segments
    if step <= warmup and len(segments) == 1:
        return (Segment(0, total),)
    return (*segments, Segment(step, total))


@keras.saving.register_keras_serializable(package="edgeasr")
class ContinuedCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Warm-up + cosine decay over ``segments`` (see the module docstring); step -> rate."""

    def __init__(self, peak: float, warmup_steps: int, floor_fraction: float,
                 segments: Sequence[Segment | dict]):
        self.peak = float(peak)
        self.warmup = int(warmup_steps)
        self.floor_fraction = float(floor_fraction)
        self.segments = tuple(s if isinstance(s, Segment) else Segment.from_dict(s)
                              for s in segments)
        first = self.segments[0].total
        self.first = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=self.peak * 0.01 if self.warmup else self.peak,
            decay_steps=max(1, first - self.warmup),
            alpha=self.floor_fraction,
            warmup_target=self.peak if self.warmup else None,
            warmup_steps=self.warmup,
        )
        # the rate each later segment starts from, computed once in Python
        self.starts: list[float] = []
        for index, segment in enumerate(self.segments[1:], start=1):
            self.starts.append(self._rate_at(segment.start, index - 1))

    @property
    def floor(self) -> float:
        return self.peak * self.floor_fraction

    def _rate_at(self, step: int, index: int) -> float:
        """The rate of segment ``index`` at ``step``, in plain floats."""
        if index == 0:
            return float(ops.convert_to_numpy(self.first(step)))
        segment, start_rate = self.segments[index], self.starts[index - 1]
        span = max(1, segment.total - segment.start)
        done = min(max(step - segment.start, 0), span)
        return self.floor + (start_rate - self.floor) * 0.5 * (1 + math.cos(math.pi * done / span))

    def __call__(self, step):
        rate = self.first(step)
        step = ops.cast(step, "float32")
        for segment, start_rate in zip(self.segments[1:], self.starts):
            span = float(max(1, segment.total - segment.start))
            done = ops.clip(step - float(segment.start), 0.0, span)
            cosine = 0.5 * (1.0 + ops.cos(math.pi * done / span))
            later = self.floor + (start_rate - self.floor) * cosine
            rate = ops.where(step >= float(segment.start), later, rate)
        return rate

    def get_config(self) -> dict:
        return {"peak": self.peak, "warmup_steps": self.warmup,
                "floor_fraction": self.floor_fraction,
                "segments": [asdict(s) for s in self.segments]}


@keras.saving.register_keras_serializable(package="edgeasr")
class WarmupExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 1 % of ``peak`` over ``warmup_steps``, then Keras'
    ``ExponentialDecay`` by ``decay_rate`` every ``steps_per_epoch`` steps, floored at
    ``floor_fraction`` x ``peak``; step -> rate."""

    def __init__(self, peak: float, warmup_steps: int, steps_per_epoch: int, decay_rate: float,
                 floor_fraction: float):
        self.peak = float(peak)
        self.warmup = int(warmup_steps)
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.decay_rate = float(decay_rate)
        self.floor_fraction = float(floor_fraction)
        self.decay = keras.optimizers.schedules.ExponentialDecay(
            self.peak, decay_steps=self.steps_per_epoch, decay_rate=self.decay_rate)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        decayed = ops.maximum(self.decay(ops.maximum(step - self.warmup, 0.0)),
                              self.peak * self.floor_fraction)
        if not self.warmup:
            return decayed
        start = 0.01 * self.peak
        ramp = start + (self.peak - start) * step / float(self.warmup)
        return ops.where(step < self.warmup, ramp, decayed)

    def get_config(self) -> dict:
        return {"peak": self.peak, "warmup_steps": self.warmup,
                "steps_per_epoch": self.steps_per_epoch, "decay_rate": self.decay_rate,
                "floor_fraction": self.floor_fraction}


def learning_rate(optim: OptimConfig, steps_per_epoch: int, epochs: int,
                  segments: Sequence[Segment] | None = None):
    """The optimizer's ``learning_rate`` for ``optim.schedule``: a schedule (cosine,
    exponential) or, for plateau, the starting value of the rate that
    :class:`edgeasr.training.plateau.PlateauSchedule` then sets."""
    segments = tuple(segments or (Segment(0, max(1, epochs * steps_per_epoch)),))
    warmup = warmup_steps(optim, steps_per_epoch, segments[0].total)
    if optim.schedule == "exponential":
        return WarmupExponentialDecay(optim.learning_rate, warmup, steps_per_epoch,
                                      optim.decay_rate, optim.min_learning_rate_fraction)
    if optim.schedule == "plateau":
        return optim.learning_rate * (0.01 if warmup else 1.0)
    return ContinuedCosineDecay(optim.learning_rate, warmup, optim.min_learning_rate_fraction,
                                segments)


def make_optimizer(optim: OptimConfig, steps_per_epoch: int, epochs: int,
                   segments: Sequence[Segment] | None = None,
                   precision: str = "float32") -> keras.optimizers.Optimizer:
    """AdamW with the schedule; ``segments`` from a resumed checkpoint (default: one over
    ``epochs``); accumulation, EMA, the non-finite guard and loss scaling as ``optim`` and
    ``precision`` ask (:func:`edgeasr.training.optimizer.build_optimizer`)."""
    return build_optimizer(optim, learning_rate(optim, steps_per_epoch, epochs, segments),
                           precision)
