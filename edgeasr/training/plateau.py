"""``optim.schedule: plateau``: warm-up, then the peak rate until dev WER stops improving.

:class:`PlateauSchedule` is Keras' ``ReduceLROnPlateau`` watching ``dev_wer`` (which
:class:`edgeasr.training.callbacks.DevEvaluation` adds to the epoch logs, so this callback
comes after it and before the ``Checkpointer``): after ``plateau_patience`` epochs without a
lower dev WER (by more than Keras' ``min_delta`` of 1e-4) the rate is multiplied by
``plateau_factor``, never below ``min_learning_rate_fraction`` x peak. The rate is a plain
optimizer variable (Keras can only reduce a rate that is not a schedule), so it is saved in
every checkpoint with the other optimizer variables.

Differences from the Keras callback, for edgeasr's one ``fit`` per epoch and for resuming:

- its counters (best WER, epochs waited, cooldown) are not reset when each ``fit`` begins;
  they are saved in every checkpoint's state.json (``"plateau"``) and restored on resume,
  so a resumed run reduces the rate on the same epochs as an uninterrupted one;
- the warm-up (``warmup_epochs``, linear from 1 % of the peak, as in the other schedules)
  sets the rate before each of its batches; dev WER is watched only after it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import keras
from keras import ops

from edgeasr.runs import RunDirectory, read_checkpoint_state
from edgeasr.training.config import OptimConfig
from edgeasr.training.schedule import warmup_steps


class PlateauSchedule(keras.callbacks.ReduceLROnPlateau):
    """Reduce-on-plateau over dev WER with warm-up and resumable state (module docstring).

    ``batches``: the run's ``SpeechBatches`` (its position gives the batch number within the
    epoch, also for a resumed epoch); ``state``: what :meth:`checkpoint_state` returned, from
    the checkpoint a resumed run starts from.
    """

    def __init__(self, optim: OptimConfig, warmup_steps: int, batches,
                 state: Mapping[str, Any] | None = None, echo: Callable[[str], None] = print):
        super().__init__(monitor="dev_wer", mode="min", factor=optim.plateau_factor,
                         patience=optim.plateau_patience,
                         min_lr=optim.learning_rate * optim.min_learning_rate_fraction)
        self.peak = optim.learning_rate
        self.warmup = int(warmup_steps)
        self.batches = batches
        self.echo = echo
        self._epoch = 0
        state = dict(state or {})
        self.best = state.get("best")
        self.wait = int(state.get("wait", 0))
        self.cooldown_counter = int(state.get("cooldown_counter", 0))

    def checkpoint_state(self) -> dict[str, Any]:
        best = None if self.best is None else float(ops.convert_to_numpy(self.best))
        return {"best": best, "wait": int(self.wait), "cooldown_counter": int(self.cooldown_counter)}

    def on_train_begin(self, logs=None):
        pass  # Keras resets the counters here; edgeasr's fit covers one epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _step(self, batch: int) -> int:
        return self._epoch * self.batches.batches_per_epoch + self.batches.start + batch

    def on_train_batch_begin(self, batch, logs=None):
        step = self._step(batch)
        if step > self.warmup:
            return
        start = 0.01 * self.peak
        rate = start + (self.peak - start) * step / self.warmup if self.warmup else self.peak
        sync = getattr(self.model, "jax_state_sync", None)  # JAX: the next step reads it back
        if sync is not None:
            sync()
        self.model.optimizer.learning_rate = rate

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) * self.batches.batches_per_epoch <= self.warmup:
            return  # still warming up
        before = self._rate()
        super().on_epoch_end(epoch, dict(logs or {}))  # a copy: "lr" is logged already
        after = self._rate()
        if after < before:
            self.echo(f"dev WER has not improved for {self.patience} epoch(s): learning rate "
                      f"{before:.3g} -> {after:.3g}")

    def _rate(self) -> float:
        return float(ops.convert_to_numpy(self.model.optimizer.learning_rate))


def schedule_callbacks(optim: OptimConfig, run: RunDirectory, batches, segments, fresh: bool,
                       echo: Callable[[str], None] = print):
    """(callbacks, checkpoint state) the schedule needs besides the optimizer: for plateau a
    :class:`PlateauSchedule` (its counters from the run's last checkpoint unless ``fresh``)
    and ``{"plateau": its state}`` for the ``Checkpointer``; for the others nothing."""
    if optim.schedule != "plateau":
        return [], {}
    state = None
    last = run.read_state().get("last")
    if not fresh and last:
        state = read_checkpoint_state(run.checkpoint_dir(last)).get("plateau")
    warmup = warmup_steps(optim, batches.batches_per_epoch, segments[0].total)
    callback = PlateauSchedule(optim, warmup, batches, state, echo=echo)
    return [callback], {"plateau": callback.checkpoint_state}
