"""Feeding ``fit``: batches streamed in order from worker processes, on every Keras backend.

``stream`` yields the rest of the current epoch's ``SpeechBatches`` batches in order,
computed by ``workers`` processes with a bounded number in flight. ``fit_input`` hands the
stream to ``fit``: wrapped in a ``tf.data.Dataset`` with an explicit, shape-agnostic signature
on the TensorFlow backend (Keras would otherwise freeze the padded lengths it saw in the first
batches), as a plain generator on JAX and PyTorch. The trainer calls ``fit`` once per epoch
with ``steps_per_epoch`` = the batches left in it.

Batches are pure functions of (seed, epoch, index), so the worker count never changes what
the model sees. Under data parallelism they carry a third element, per-row loss weights
(``SpeechBatches.shard``).
"""

from __future__ import annotations

import collections
import multiprocessing
import signal
import sys
from collections.abc import Iterator

from edgeasr.data.batches import SpeechBatches

_WORKER_BATCHES: SpeechBatches | None = None


def _init_worker(batches: SpeechBatches) -> None:
    global _WORKER_BATCHES
    _WORKER_BATCHES = batches
    # Ctrl-C reaches the whole process group: the trainer handles it (checkpoint at the
    # current batch, then stop), so workers must keep serving the batches it still waits for.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _make_batch(position: tuple[int, int]):
    return _WORKER_BATCHES.batch(*position)  # type: ignore[union-attr]


def _context():
    # forkserver/spawn children start clean (no copy of TensorFlow's threads and locks).
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


def stream(batches: SpeechBatches, workers: int = 1, prefetch: int | None = None) -> Iterator:
    """The current epoch's batches from ``batches.start`` to its end, in order."""
    epoch = batches.epoch
    positions = [(epoch, i) for i in range(batches.start, batches.batches_per_epoch)]
    if workers <= 1:
        for position in positions:
            yield batches.batch(*position)
        return
    depth = prefetch or 2 * workers
    with _context().Pool(workers, initializer=_init_worker, initargs=(batches,)) as pool:
        pending: collections.deque = collections.deque()
        for position in positions:
            pending.append(pool.apply_async(_make_batch, (position,)))
            if len(pending) >= depth:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def fit_input(batches: SpeechBatches, workers: int = 1):
    """What to pass to ``model.fit`` for the rest of the current epoch (with
    ``steps_per_epoch=batches.batches_per_epoch - batches.start``)."""
    import keras  # here, not at the top: worker processes import this module and need no Keras

    if keras.backend.backend() != "tensorflow":
        return stream(batches, workers)
    import tensorflow as tf

    signature = (
        {"audio": tf.TensorSpec((None, None), tf.float32),
         "audio_lengths": tf.TensorSpec((None,), tf.int32)},
        {"labels": tf.TensorSpec((None, None), tf.int32),
         "label_lengths": tf.TensorSpec((None,), tf.int32)},
    )
    if batches.shard is not None:  # data parallel: (x, y, per-row loss weights)
        signature = (*signature, tf.TensorSpec((None,), tf.float32))
    dataset = tf.data.Dataset.from_generator(lambda: stream(batches, workers), output_signature=signature)
    return dataset.prefetch(2)
