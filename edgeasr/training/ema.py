"""An exponential moving average of the weights (``optim.ema``), kept by Keras' optimizer.

Keras' ``use_ema`` keeps the averages as optimizer variables and, at the end of every
``fit``, writes them over the model's weights (``finalize_variable_values``). edgeasr calls
``fit`` once per epoch, so training would go on from the averages every epoch. Instead:

- :class:`KeepRawWeights` (an optimizer mixin) makes ``finalize_variable_values`` a no-op:
  training always continues from its own (raw) weights;
- dev evaluation and every checkpoint use the averages: :func:`averaged_weights` swaps them
  into the model for the block (raw weights go into the optimizer's average slots) and back
  after it. A checkpoint written inside the block holds the averaged weights as the model's
  weights, which is what ``load_model``, ``edgeasr evaluate`` and ``edgeasr export`` read,
  and the raw weights in the average slots of the optimizer state;
- ``--resume`` loads such a checkpoint and :func:`resume_raw_weights` swaps once more, so the
  model trains on from its raw weights and the averages continue exactly.

The momentum is per optimizer update. Keras updates the averages every batch, also on the
batches that only accumulate gradients (``optim.accumulate_steps``), so with N accumulated
batches per update the per-batch momentum is ``ema ** (1 / N)`` (the weights do not change
between updates, so N such steps equal one step of momentum ``ema``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from keras import ops


class KeepRawWeights:
    """Optimizer mixin: the EMA stays in the optimizer when ``fit`` ends (see above)."""

    def finalize_variable_values(self, var_list):
        pass


def _ema_optimizer(model):
    optimizer = getattr(model, "optimizer", None)
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # under a LossScaleOptimizer
    return optimizer if getattr(optimizer, "use_ema", False) and optimizer.built else None


def averages(model) -> list | None:
    """(model variable, its average) pairs of a model whose optimizer keeps an EMA, else None.

    Keras pairs them by position (``_trainable_variables`` / ``_model_variables_moving_average``,
    both in the order the optimizer was built with); there is no public accessor.
    """
    optimizer = _ema_optimizer(model)
    if optimizer is None:
        return None
    return list(zip(optimizer._trainable_variables, optimizer._model_variables_moving_average))


def swap_averages(model) -> bool:
    """Exchange the model's trainable weights with the optimizer's averages; False (and
    nothing done) without an EMA."""
    pairs = averages(model)
    if pairs is None:
        return False
    sync = getattr(model, "jax_state_sync", None)  # JAX: write the training state back first
    if sync is not None:
        sync()
    for variable, average in pairs:
        if average is None:
            continue
        raw = ops.copy(variable.value)
        variable.assign(average.value)
        average.assign(raw)
    return True


@contextlib.contextmanager
def averaged_weights(model) -> Iterator[bool]:
    """Inside the block the model holds the averaged weights (if it has an EMA); yields
    whether it does."""
    swapped = swap_averages(model)
    try:
        yield swapped
    finally:
        if swapped:
            swap_averages(model)


def resume_raw_weights(model) -> None:
    """After restoring a checkpoint (averages in the weights, raw weights in the average
    slots): the raw weights back into the model, the averages into the optimizer."""
    swap_averages(model)
