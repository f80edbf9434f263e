"""The training optimizer: Keras' AdamW with edgeasr's guard and EMA handling, built from
``OptimConfig`` (the learning rate comes from :mod:`edgeasr.training.schedule`).

- ``accumulate_steps`` N > 1: Keras' ``gradient_accumulation_steps``; the weights change on
  every N-th batch, by the mean of the N batches' gradients (clipped after averaging, weight
  decay applied once). Keras evaluates a learning-rate schedule at its batch counter
  (``optimizer._iterations``, one per batch), and edgeasr's schedules are laid out in
  batches (``epochs x batches per epoch``), so warm-up and decay cover the same epochs for
  any N. ``optimizer.iterations`` counts updates (batches // N).
- ``ema``: Keras' ``use_ema`` (see :mod:`edgeasr.training.ema`).
- ``skip_nonfinite``: :mod:`edgeasr.training.guard`.
- ``mixed_float16``: wrapped in Keras' ``LossScaleOptimizer`` (dynamic loss scaling);
  :mod:`edgeasr.training.precision` says why ``compile`` does not do it here.
"""

from __future__ import annotations

import keras

from edgeasr.training.config import OptimConfig
from edgeasr.training.ema import KeepRawWeights
from edgeasr.training.guard import NonFiniteGuard


@keras.saving.register_keras_serializable(package="edgeasr")
class AdamW(NonFiniteGuard, KeepRawWeights, keras.optimizers.AdamW):
    """``keras.optimizers.AdamW`` plus ``skip_nonfinite`` (default True) and an EMA that
    stays in the optimizer when ``fit`` ends."""


def build_optimizer(optim: OptimConfig, learning_rate, precision: str = "float32"):
    """The optimizer for ``optim`` with ``learning_rate`` (a float or a schedule)."""
    steps = optim.accumulate_steps
    optimizer = AdamW(
        learning_rate=learning_rate, weight_decay=optim.weight_decay,
        global_clipnorm=optim.clip_norm,
        gradient_accumulation_steps=steps if steps > 1 else None,
        use_ema=optim.ema is not None,
        ema_momentum=optim.ema ** (1.0 / steps) if optim.ema is not None else 0.99,
        skip_nonfinite=optim.skip_nonfinite,
    )
    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
