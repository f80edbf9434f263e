"""Skipping training steps whose loss or gradients are not finite (``optim.skip_nonfinite``).

One bad batch (a NaN sample, an overflow, an infeasible CTC alignment giving an infinite
loss) would otherwise write NaN into every weight and end the run. :class:`NonFiniteGuard`
is an optimizer mixin that leaves such a step out:

- ``scale_loss`` (which every Keras backend's ``train_step`` calls on the loss before
  differentiating it) multiplies the loss by a constant that is 1 when the loss is finite
  and NaN when it is not, so a non-finite loss always gives non-finite gradients;
- ``apply`` runs the wrapped update with the non-finite gradients zeroed, then keeps the new
  value of every model and optimizer variable (moments, step counter, EMA averages, gradient
  accumulators) only if all gradients were finite, and otherwise the old one. This is a
  select rather than a ``cond``: the same code runs statelessly under JAX (``stateless_apply``
  calls ``apply`` in a ``StatelessScope``) and on TensorFlow and PyTorch, for the price of
  one copy of the variables per step;
- a ``skipped_steps`` optimizer variable counts the skips; it is saved in checkpoints with
  the other optimizer variables, so the count carries over ``--resume``
  (:func:`skipped_steps` reads it; the callbacks put it in the epoch line, log.csv and
  state.json);
- the forward pass itself has already changed the batch-norm moving statistics (with NaN
  batch statistics) and the loss metric by the time the optimizer runs: the callback
  :class:`RollbackSkippedSteps` copies the model's non-trainable and metric variables
  before every batch and puts them back after a skipped one, so the next dev evaluation and
  the epoch's mean loss are those of the steps that were taken.

A skipped step changes nothing, not even the optimizer's step counter, so the learning-rate
schedule does not advance either. Under ``mixed_float16`` Keras' ``LossScaleOptimizer`` sits
outside this guard and already skips steps with non-finite gradients (halving its loss
scale); those are part of finding the scale and are not counted here.
"""

from __future__ import annotations

import keras
from keras import ops

COUNTER = "skipped_steps"


class NonFiniteGuard:
    """Mixin for a ``keras.optimizers.Optimizer`` subclass (first in the bases); see the
    module docstring. ``skip_nonfinite=False`` leaves the optimizer as Keras has it."""

    def __init__(self, *args, skip_nonfinite: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_nonfinite = bool(skip_nonfinite)
        self.skipped_steps = None

    def build(self, variables):
        super().build(variables)
        if self.skip_nonfinite:  # created last: see load_own_variables
            self.skipped_steps = self.add_variable(shape=(), dtype="int", name=COUNTER,
                                                   aggregation="only_first_replica")

    def scale_loss(self, loss):
        loss = super().scale_loss(loss)
        if not self.skip_nonfinite:
            return loss
        poison = ops.where(ops.isfinite(loss), ops.ones_like(loss), ops.full_like(loss, float("nan")))
        return loss * ops.stop_gradient(poison)

    def apply(self, grads, trainable_variables=None):
        if not self.skip_nonfinite:
            return super().apply(grads, trainable_variables)
        if not self.built:
            with keras.name_scope(self.name, caller=self):
                self.build(list(trainable_variables))
        model_variables = list(trainable_variables) if trainable_variables is not None \
            else list(self._trainable_variables)
        present = [g for g in grads if g is not None]
        finite = ops.all(ops.stack([ops.all(ops.isfinite(g)) for g in present])) if present \
            else ops.convert_to_tensor(True)
        guarded = [v for v in model_variables + self.variables if v is not self.skipped_steps]
        before = [ops.copy(v.value) for v in guarded]
        safe = [None if g is None else ops.where(finite, g, ops.zeros_like(g)) for g in grads]
        super().apply(safe, trainable_variables)
        for variable, old in zip(guarded, before):
            variable.assign(ops.where(finite, variable.value, old))
        self.skipped_steps.assign_add(ops.cast(ops.logical_not(finite), self.skipped_steps.dtype))

    def load_own_variables(self, store):
        """Also loads a checkpoint written without the counter (before the guard existed,
        or with it off): every other variable, counter at 0."""
        if self.skipped_steps is not None and len(store.keys()) == len(self.variables) - 1:
            for index, variable in enumerate(self.variables[:-1]):
                variable.assign(store[str(index)])
            return
        super().load_own_variables(store)

    def get_config(self):
        return {**super().get_config(), "skip_nonfinite": self.skip_nonfinite}


class RollbackSkippedSteps(keras.callbacks.Callback):
    """Undo a skipped step's changes to non-trainable and metric variables (see above).

    First in the callback list, so that a checkpoint written after the batch never holds
    them. A step that Keras' ``LossScaleOptimizer`` skipped (its loss scale went down) is
    rolled back the same way, though not counted. Under JAX each batch first writes the
    training state back to the variables (``jax_state_sync``), which costs some of JAX's
    asynchronous dispatch.
    """

    def __init__(self):
        super().__init__()
        self._before: list = []
        self._count: int | None = None
        self._scale: float | None = None

    def _loss_scale(self) -> float | None:
        scale = getattr(self.model.optimizer, "dynamic_scale", None)  # LossScaleOptimizer
        return None if scale is None else float(ops.convert_to_numpy(scale))

    def _variables(self) -> list:
        return list(self.model.non_trainable_variables) + list(self.model.metrics_variables)

    def _sync(self) -> None:
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()

    def on_train_begin(self, logs=None):
        self._count = skipped_steps(self.model.optimizer)

    def on_train_batch_begin(self, batch, logs=None):
        if self._count is None:
            return
        self._sync()
        self._before = [ops.copy(v.value) for v in self._variables()]
        self._scale = self._loss_scale()

    def on_train_batch_end(self, batch, logs=None):
        if self._count is None:
            return
        self._sync()
        count, scale = skipped_steps(self.model.optimizer), self._loss_scale()
        scaled_down = scale is not None and self._scale is not None and scale < self._scale
        if count > self._count or scaled_down:
            for variable, value in zip(self._variables(), self._before):
                variable.assign(value)
        self._count = count


def skipped_steps(optimizer) -> int | None:
    """Steps skipped so far in the run by ``optimizer``'s guard (None: no guard)."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # under a LossScaleOptimizer
    if not getattr(optimizer, "skip_nonfinite", False):
        return None
    counter = optimizer.skipped_steps
    return 0 if counter is None else int(ops.convert_to_numpy(counter))  # None: not built yet
