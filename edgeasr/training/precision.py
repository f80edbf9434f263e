"""Mixed-precision training: ``train.precision`` as a Keras dtype policy.

``float32`` (default) trains as before. ``mixed_bfloat16`` and ``mixed_float16`` are Keras'
mixed policies: layers keep float32 variables and compute in the 16-bit type. What stays
float32 whatever the policy:

- the waveform and the log-mel/MFCC frontend (:func:`keep_float32_frontend`): the top model
  and the frontend layer compute in float32, so audio is never rounded to 8 mantissa bits
  and the features match a float32 model's; the encoder casts them when they reach it;
- the logits and the CTC loss (``CTCModel.call`` casts the logits to float32);
- every variable, hence every checkpoint: ``load_model`` and ``edgeasr export`` see a plain
  float32 model and export float32/float16/int8 files as from a float32 run.

``mixed_float16`` needs loss scaling against gradient underflow: Keras' ``compile`` would wrap
the optimizer in its ``LossScaleOptimizer`` only when the *top* model's policy is
mixed_float16, which :func:`keep_float32_frontend` turns off, so
:func:`edgeasr.training.optimizer.build_optimizer` wraps it explicitly.

The dtype policy is process-global in Keras and is read when layers are built, so
:func:`with_precision` sets it for one ``train`` call (from its config, or on ``--resume``
from the run's run.json) and restores the previous policy afterwards, also on errors.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import TypeVar

import keras

from edgeasr.errors import ConfigError
from edgeasr.runs import RunDirectory
from edgeasr.training.config import PRECISIONS, TrainConfig

F = TypeVar("F", bound=Callable)


@contextlib.contextmanager
def dtype_policy(precision: str) -> Iterator[None]:
    """Keras' global dtype policy is ``precision`` inside the block, the previous one after."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def keep_float32_frontend(model) -> None:
    """Waveform in and features out in float32 for a model built under a mixed policy (a
    no-op for a float32 model): the top model's input casting and the frontend's compute
    dtype are set to float32; the encoder and classifier keep the mixed policy."""
    if model.dtype_policy.compute_dtype == "float32":
        return
    model.dtype_policy = "float32"
    model.frontend.dtype_policy = "float32"


def run_precision(out_dir, train_config, resume: bool) -> str:
    """The precision ``train(...)`` will use: the run's own on resume, else the config's."""
    if resume:
        run = RunDirectory(out_dir)
        if not run.exists():
            return "float32"  # train() itself reports the missing run
        info = run.read_info()
        return TrainConfig.from_dict(info.train, f"{run.info_path}: train").precision
    return (train_config or TrainConfig()).precision


def with_precision(train: F) -> F:
    """Decorator for :func:`edgeasr.training.trainer.train`: runs it under the run's dtype
    policy (see the module docstring). Uses its ``out_dir``, ``train_config`` and ``resume``
    arguments."""
    signature = inspect.signature(train)

    @functools.wraps(train)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        options = bound.arguments
        precision = run_precision(options["out_dir"], options["train_config"], options["resume"])
        with dtype_policy(precision):
            return train(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
