"""One run on several devices or machines: ``train.distribute`` (``edgeasr train --distribute``).

- ``data-parallel`` (JAX backend): ``keras.distribution.DataParallel`` over
  ``keras.distribution.list_devices()``, every local device and, after
  ``keras.distribution.initialize`` (``jax.distributed``), every device of every process.
  Weights are replicated, batches are split along their first axis, and the step is one
  SPMD program over the global batch: losses, gradients, gradient clipping and BatchNorm
  statistics are those of the global batch, as on one device.
- ``mirrored`` (TensorFlow backend, one machine): ``tf.distribute.MirroredStrategy`` over the
  local GPUs (or the logical CPUs when there is no GPU). BatchNorm layers are switched to
  Keras' ``synchronized=True`` so their statistics are the global batch's. Keras 3 clips each
  replica's gradients *before* adding them up (``global_clipnorm`` is applied in
  ``BaseOptimizer._backend_apply_gradients`` ahead of the TensorFlow optimizer's
  ``_all_reduce_sum_gradients``), so with ``clip_norm`` a step differs from one device's
  whenever clipping acts. ``predict_on_batch`` on a model built under the strategy (or
  called inside its scope) runs the whole batch on every replica and returns it once per
  replica (3 inputs, 2 replicas: 6 rows), hence the undistributed copy for decoding below.
  Several machines need TensorFlow's MultiWorkerMirroredStrategy, which Keras 3 does not
  support (keras-team/keras#20585): use JAX there.

``data.batch_size`` stays the *global* batch: the batch plan is the same on any number of
devices, each process builds only its rows of every batch (:class:`~edgeasr.data.batches.
BatchShard`), and a run can resume on another device count. Process 0 alone writes the run
folder (run.json, checkpoints, logs) and prints; every process decodes the dev set with an
undistributed copy of the weights (:meth:`Distributed.decoding`), so they all take the same
early-stopping decision without talking to each other. Resuming several processes needs the
run folder on a filesystem they all see.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import keras

from edgeasr.data.batches import BatchShard
from edgeasr.errors import ConfigError
from edgeasr.models.adapters.naming import named_layers
from edgeasr.training.config import MULTI_WORKER_HINT, DistributeConfig
from edgeasr.training.interrupt import TrainingStopped

__all__ = ["Distributed", "Follower", "start_distribution"]

#: Keras' variables for ``keras.distribution.initialize``, read when the flags are not given.
KERAS_ENV = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
             "KERAS_DISTRIBUTION_PROCESS_ID")


@dataclass(frozen=True)
class Distributed:
    """The devices one process trains on and its part of the work.

    ``replicas``: devices over all processes (each holds a copy of the weights and a slice of
    every batch); ``handle``: the ``keras.distribution.DataParallel`` (JAX) or the
    ``tf.distribute.MirroredStrategy`` (TensorFlow); None on one device.
    """

    kind: str = "none"
    processes: int = 1
    process_index: int = 0
    replicas: int = 1
    handle: Any = None

    @property
    def active(self) -> bool:
        return self.kind != "none"

    @property
    def chief(self) -> bool:
        """Process 0: the one that writes the run folder and prints."""
        return self.process_index == 0

    @property
    def shard(self) -> BatchShard | None:
        """This process's rows of every global batch (None: whole batches, unweighted)."""
        if not self.active:
            return None
        return BatchShard(self.processes, self.process_index, self.replicas)

    def describe(self) -> str:
        if not self.active:
            return "one device"
        machines = f" in {self.processes} processes" if self.processes > 1 else ""
        return f"{self.kind} over {self.replicas} devices{machines}"

    def scope(self) -> contextlib.AbstractContextManager:
        """Where the model, its optimizer and restored weights must be created."""
        return self.handle.scope() if self.active else contextlib.nullcontext()

    @contextlib.contextmanager
    def training(self) -> Iterator[None]:
        """Where ``fit`` runs: JAX reads the distribution while it trains (a TensorFlow model
        keeps the strategy it was built under, and decoding must stay outside it). Several
        processes leave it together: they wait for each other (and process 0's last
        checkpoint), so none reaches JAX's shutdown barrier minutes before the others."""
        if self.kind != "data-parallel":
            yield
            return
        with self.handle.scope():
            yield
        if self.processes > 1:
            from jax.experimental import multihost_utils

            multihost_utils.sync_global_devices("edgeasr: training done")

    def prepare(self, model: keras.Model) -> keras.Model:
        """Per-replica BatchNorm statistics become global-batch ones (TensorFlow: Keras'
        ``synchronized`` option, read at call time; JAX computes them globally anyway)."""
        if self.kind == "mirrored":
            for layer in named_layers(model).values():
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.synchronized = True
        return model

    def decoding(self, build: Callable[[], keras.Model]):
        """For ``DevEvaluation(decoding=...)``: a context manager factory that, given the
        model being trained, yields the model to decode with. On one device that is the model
        itself; otherwise an undistributed copy (built once by ``build``) holding the current
        weights, used outside the distribution: any batch size decodes, on this process's
        own devices."""
        if not self.active:
            return contextlib.nullcontext
        copy: list[keras.Model] = []

        @contextlib.contextmanager
        def local(model: keras.Model) -> Iterator[keras.Model]:
            with _undistributed():
                if not copy:
                    copy.append(build())
                copy[0].set_weights(model.get_weights())
                yield copy[0]

        return local

    def process_callbacks(self, callbacks: list, writers: tuple[type, ...],
                          checkpointer: type) -> list:
        """Process 0 keeps every callback; the others drop those in ``writers`` and replace
        the ``checkpointer`` with a :class:`Follower` that takes its stop decisions.

        Under JAX, process 0 runs the checkpointer and writers outside the distribution:
        Keras' weight saving creates a reference optimizer, whose variables would otherwise
        be distributed, a collective step that the other processes never join.
        """
        if self.chief:
            if self.kind == "data-parallel":
                for callback in callbacks:
                    if isinstance(callback, (*writers, checkpointer)):
                        _outside_distribution(callback)
            return callbacks
        kept = []
        for callback in callbacks:
            if isinstance(callback, checkpointer):
                kept.append(Follower(callback.batches, callback.stop, callback.stop_at_dev_wer))
            elif not isinstance(callback, writers):
                kept.append(callback)
        return kept


class Follower(keras.callbacks.Callback):
    """The Checkpointer's decisions on a process that writes nothing: end ``fit`` after the
    batch in progress when a signal arrived (process 0 saves the checkpoint), and stop once
    the dev WER (the same on every process) reaches ``stop_at_dev_wer``."""

    def __init__(self, batches, stop, stop_at_dev_wer: float | None):
        super().__init__()
        self.batches = batches
        self.stop = stop
        self.stop_at_dev_wer = stop_at_dev_wer
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = self.batches.start + batch + 1
        if self.stop is not None and self.stop.requested is not None \
                and step < self.batches.batches_per_epoch:
            raise TrainingStopped(self.stop.requested, self._epoch, step)

    def on_epoch_end(self, epoch, logs=None):
        wer = (logs or {}).get("dev_wer")
        if self.stop_at_dev_wer is not None and wer is not None and wer <= self.stop_at_dev_wer:
            self.model.stop_training = True


def start_distribution(config: DistributeConfig) -> Distributed:
    """Set up what ``config`` asks for on this process's Keras backend.

    Call it before anything else touches the devices: with several JAX processes it calls
    ``keras.distribution.initialize``, which blocks until all of them have connected to the
    coordinator.

    Raises:
        ConfigError: a kind this backend cannot run, several processes on TensorFlow, or a
            launch spread over processes without ``--distribute data-parallel``.
    """
    backend = keras.backend.backend()
    launch = _launch(config)
    if backend == "tensorflow" and (launch or os.environ.get("TF_CONFIG")):
        given = ", ".join(launch) or "TF_CONFIG"
        raise ConfigError(f"several processes ({given}) on the TensorFlow backend: "
                          f"{MULTI_WORKER_HINT}")
    if config.kind == "none":
        if launch:
            raise ConfigError(f"{', '.join(launch)} set, but --distribute is none: pass "
                              "--distribute data-parallel (JAX) to train as one of several "
                              "processes, or unset them")
        return Distributed()
    wanted = {"data-parallel": "jax", "mirrored": "tensorflow"}[config.kind]
    if backend != wanted:
        other = {"jax": "data-parallel", "tensorflow": "mirrored"}.get(backend)
        instead = f"; on {backend} use --distribute {other}" if other else ""
        raise ConfigError(f"--distribute {config.kind} needs the {wanted} backend "
                          f"(KERAS_BACKEND={wanted}){instead}")
    if config.kind == "data-parallel":
        return _data_parallel(config, several=bool(launch))
    return _mirrored()


def _launch(config: DistributeConfig) -> list[str]:
    """The options and variables that ask for more than one process, by name."""
    given = [flag for flag, value in (("--coordinator", config.coordinator),
                                      ("--num-processes", config.num_processes),
                                      ("--process-id", config.process_id))
             if value is not None and not (flag == "--num-processes" and value == 1)]
    for name in KERAS_ENV:
        value = os.environ.get(name)
        if value and not (name.endswith("NUM_PROCESSES") and value.strip() == "1"):
            given.append(name)
    return given


def _data_parallel(config: DistributeConfig, several: bool) -> Distributed:
    import jax

    if several and not jax.distributed.is_initialized():
        try:
            keras.distribution.initialize(config.coordinator, config.num_processes,
                                          config.process_id)
        except (ValueError, RuntimeError) as err:
            raise ConfigError(f"cannot join the training processes ({err}); check "
                              "--coordinator HOST:PORT (process 0's address, reachable from "
                              "every machine), --num-processes and a distinct --process-id "
                              "per process") from err
    devices = keras.distribution.list_devices()
    distribution = keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
    return Distributed("data-parallel", jax.process_count(), jax.process_index(), len(devices),
                       distribution)


def _mirrored() -> Distributed:
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    if not devices:  # no GPU: the logical CPUs (one unless configured, as the tests do)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(devices)
    return Distributed("mirrored", 1, 0, strategy.num_replicas_in_sync, strategy)


def _outside_distribution(callback: keras.callbacks.Callback) -> None:
    """Make ``callback``'s batch-end and epoch-end hooks run with no Keras distribution."""
    for hook in ("on_train_batch_end", "on_epoch_end"):
        method = getattr(callback, hook)

        def outside(*args, _method=method, **kwargs):
            with _undistributed():
                return _method(*args, **kwargs)

        setattr(callback, hook, outside)


@contextlib.contextmanager
def _undistributed() -> Iterator[None]:
    """No Keras distribution while inside (JAX: arrays on this process's default device)."""
    current = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(current)
