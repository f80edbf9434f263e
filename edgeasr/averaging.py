"""Checkpoint averaging: the element-wise mean of several checkpoints' weights, as a new
checkpoint of the run (``edgeasr average``).

The mean of the last few epochs' weights often decodes better than any one of them: the
weights of a run late in its schedule wander around a minimum, and their average sits nearer
its centre. Averaging is only meaningful between checkpoints of one training trajectory
(epochs of a run, or of a run and the warm-restart stages fine-tuned from it), never between
independently trained models.

Every floating-point model variable is averaged, batch norm's moving mean and variance
included; integer variables (e.g. a dropout seed) are taken from the last checkpoint
listed. Optimizer variables are not kept: the result is for export, evaluation and
``edgeasr train --init`` (a fresh optimizer), not for ``--resume``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeasr.errors import RunError
from edgeasr.runs import (
    RunDirectory,
    build_model,
    read_checkpoint_state,
    restore_checkpoint,
    save_checkpoint,
)

# Names the trainer writes and resolves itself: an average never takes them.
_RESERVED = re.compile(r"^(best|last|partial|epoch-\d+)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class AverageReport:
    folder: Path  # the new checkpoint
    sources: tuple[Path, ...]  # the checkpoints averaged, in the order given
    variables: int  # model variables averaged (floating point)
    kept: int  # integer variables taken from the last source


def checkpoint_folders(run: RunDirectory, checkpoints: list[str], last: int | None) -> list[Path]:
    """The folders to average: each of ``checkpoints`` (a name in ``run`` such as
    ``epoch-0003``, ``best``, ``last``, or the path of a checkpoint folder of another run,
    e.g. an earlier stage) and the ``last`` N epoch checkpoints of ``run``.

    Raises:
        RunError: when a checkpoint does not exist, one is listed twice, or fewer than two
            are left.
    """
    folders = []
    for which in checkpoints:
        path = Path(which)
        if (path / "model.weights.h5").is_file():
            folders.append(path.resolve())
        elif os.sep in which or "/" in which:
            raise RunError(f"{which} is not a checkpoint folder (it has no model.weights.h5)")
        else:
            folders.append(run.resolve_checkpoint(which).resolve())
    if last is not None:
        epochs = [n for n in run.checkpoint_names() if re.fullmatch(r"epoch-\d+", n)]
        if len(epochs) < last:
            raise RunError(f"{run.path} has {len(epochs)} epoch checkpoint(s) "
                           f"({', '.join(epochs) or 'none'}); --last {last} needs {last}")
        folders.extend((run.checkpoints / n).resolve() for n in epochs[len(epochs) - last:])
    seen = {}
    for folder in folders:
        # `best` is a copy of an epoch's checkpoint: the same run, epoch and step
        key = (folder.parent, *_position(folder)) if _position(folder) else folder
        if key in seen:
            raise RunError(f"{folder} and {seen[key]} hold the same weights (listed twice?); "
                           "each checkpoint counts once in the mean")
        seen[key] = folder
    if len(folders) < 2:
        raise RunError("averaging needs at least two checkpoints "
                       "(--checkpoint NAME, repeated, and/or --last N)")
    return folders


def average_checkpoints(run_dir: str | os.PathLike, name: str, checkpoints: list[str],
                        last: int | None = None) -> AverageReport:
    """Writes ``RUN/checkpoints/NAME``: the mean of the listed checkpoints (see
    :func:`checkpoint_folders`), atomically, with its own ``run.json`` and a ``state.json``
    that lists its sources. ``edgeasr export --checkpoint NAME`` then exports it.

    Raises:
        RunError: for a reserved or malformed ``name``, missing checkpoints, or a checkpoint
            whose weights do not fit the run's model (another preset or vocabulary).
    """
    if not _NAME.match(name) or _RESERVED.match(name):
        raise RunError(f"{name!r} cannot name an average: use letters, digits, '.', '_' or '-', "
                       "and not best, last, partial or epoch-N (the trainer's own names)")
    run = RunDirectory(run_dir)
    info = run.read_info()
    folders = checkpoint_folders(run, checkpoints, last)
    model = build_model(info.model, info.vocabulary)
    floating = [np.issubdtype(np.dtype(v.dtype), np.floating) for v in model.weights]
    total = None
    for folder in folders:
        restore_checkpoint(model, folder, with_optimizer=False)
        values = [np.asarray(v.numpy()) for v in model.weights]
        if total is None:
            total = [v.astype(np.float64) if f else v for v, f in zip(values, floating)]
        else:
            total = [t + v if f else v for t, v, f in zip(total, values, floating)]
    model.set_weights([(t / len(folders)).astype(np.dtype(v.dtype)) if f else t
                       for t, v, f in zip(total, model.weights, floating)])
    epochs = [(_position(folder) or (None,))[0] for folder in folders]
    state = {"epoch": epochs[-1], "averaged": [str(f) for f in folders], "averaged_epochs": epochs}
    folder = run.checkpoints / name
    save_checkpoint(model, folder, state, info)
    return AverageReport(folder, tuple(folders), sum(floating), len(floating) - sum(floating))


def _position(folder: Path) -> tuple | None:
    """(epoch, step) a checkpoint was written at, when its state.json says (else None)."""
    try:
        state = read_checkpoint_state(folder)
    except RunError:
        return None
    return (state["epoch"], state.get("step", 0)) if "epoch" in state else None
