"""Train the tiny preset for a few steps in a fresh process, for tests/test_distribute.py.

The Keras backend, XLA's host device count and TensorFlow's logical devices are fixed when a
process starts, so each distributed setup runs here, in its own interpreter::

    KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2 \\
        python tests/distributed_train.py MANIFEST ref=none dp=data-parallel
    python tests/distributed_train.py MANIFEST run=data-parallel --coordinator 127.0.0.1:PORT \\
        --num-processes 2 --process-id 0
    KERAS_BACKEND=tensorflow python tests/distributed_train.py MANIFEST --logical-cpus 2 \\
        ref=none mirrored=mirrored
    ... MANIFEST guard=data-parallel,accumulate=2,poison=1,epochs=5

Each ``OUT=KIND[,NAME=VALUE...]`` trains a run in folder OUT (one after the other), for
``EPOCHS`` epochs (or ``epochs=N``) and, with ``resume=N``, then resumes it to N epochs.
``accumulate=N`` averages N batches' gradients per update; ``poison=E`` puts a NaN into the
first utterance's audio in epoch E (a batch the non-finite guard must skip, on every device
and process alike, whichever holds that row). The other options are those of
:func:`options`: no augmentation, dropout or SpecAugment in the tiny preset, one batch of all
four utterances per epoch, so every run sees the same global batches.
"""

from __future__ import annotations

import argparse
import os
import sys

EPOCHS = 3


def options(epochs: int = EPOCHS, accumulate: int = 1, **changes):
    """The training options every run of the comparison uses."""
    import dataclasses

    from edgeasr.training.config import TrainConfig

    values = {"epochs": epochs, "batch_size": 4, "warmup_epochs": 0, "keep_checkpoints": 3,
              "checkpoint_every_minutes": 0, **changes}
    config = TrainConfig(**values)
    return config.replace(optim=dataclasses.replace(config.optim, accumulate_steps=accumulate))


def parse_run(spec: str) -> tuple[str, str, dict[str, int]]:
    """``OUT=KIND[,NAME=VALUE...]`` -> (OUT, KIND, {NAME: int})."""
    out, rest = spec.split("=", 1)
    kind, *pairs = rest.split(",")
    extra = {name: int(value) for name, value in (pair.split("=") for pair in pairs)}
    unknown = set(extra) - {"epochs", "resume", "accumulate", "poison"}
    if unknown:
        raise SystemExit(f"{spec}: unknown option(s) {sorted(unknown)}")
    return out, kind, extra


def poison_epoch(epoch: int | None) -> None:
    """From now on utterance 0 carries a NaN in ``epoch`` (None: no poison)."""
    from edgeasr.data.batches import SpeechBatches

    original = getattr(SpeechBatches, "_unpoisoned_example", SpeechBatches.example)
    SpeechBatches._unpoisoned_example = original

    def example(self, index, epoch_now):
        audio, labels = original(self, index, epoch_now)
        if epoch is not None and int(index) == 0 and epoch_now == epoch:
            audio = audio.copy()
            audio[10] = float("nan")
        return audio, labels

    SpeechBatches.example = example


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("manifest")
    parser.add_argument("runs", nargs="+", metavar="OUT=KIND")
    parser.add_argument("--coordinator")
    parser.add_argument("--num-processes", type=int)
    parser.add_argument("--process-id", type=int)
    parser.add_argument("--logical-cpus", type=int, default=0)
    parser.add_argument("--clip-norm", type=float, default=None)
    args = parser.parse_args(argv)
    if args.logical_cpus:  # before TensorFlow creates its devices
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus)

    from edgeasr.models.presets import get_preset
    from edgeasr.training.config import DistributeConfig
    from edgeasr.training.trainer import train

    for spec in args.runs:
        out, kind, extra = parse_run(spec)
        changes = {} if args.clip_norm is None else {"clip_norm": args.clip_norm}
        if "accumulate" in extra:
            changes["accumulate"] = extra["accumulate"]
        poison_epoch(extra.get("poison"))
        distribute = DistributeConfig(kind, args.coordinator, args.num_processes, args.process_id)
        train(args.manifest, args.manifest, out, get_preset("tiny"),
              options(extra.get("epochs", EPOCHS), **changes), echo=print, verbose=0,
              distribute=distribute)
        if "resume" in extra:
            train(None, None, out, train_config=options(extra["resume"], **changes),
                  resume=True, echo=print, verbose=0, distribute=distribute)
    return 0


if __name__ == "__main__":  # loader worker processes re-import this file: keep the guard
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # the test asks a stuck run where it is
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main(sys.argv[1:]))
