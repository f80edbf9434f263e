"""The run directory: everything a training run writes, and how to load a model back.
Shared by training, evaluation and export.

```
RUN/
  run.json                model config, vocabulary, training options, data paths, version
  tokenizer.model         SentencePiece model of a piece vocabulary (train.data.tokens)
  state.json              last and best checkpoint, per-epoch history (written atomically)
  checkpoints/epoch-0007/ model.weights.h5 (weights + optimizer variables), run.json,
                          state.json (epoch, step, learning-rate schedule)
  checkpoints/best/       the checkpoint with the lowest dev WER so far
  checkpoints/partial/    inside an epoch: every N minutes/steps, and on SIGINT/SIGTERM
  log.csv                 one row per epoch (loss, dev_wer, dev_cer, learning rate)
  tensorboard/            the same as TensorBoard scalars
  skipped.json            manifest lines that were not trained on, with reasons
```

run.json files written by edgeasr 0.1 (one section per encoder, flat training options) load
unchanged: ``ModelConfig.from_dict`` and ``TrainConfig.from_dict`` migrate them.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeasr import __version__
from edgeasr.errors import RunError
from edgeasr.files import atomic_directory, atomic_write_json
from edgeasr.models.config import ModelConfig
from edgeasr_device.vocab import Vocabulary


@dataclass(frozen=True)
class RunInfo:
    """What ``run.json`` holds: the model, its vocabulary, the training options, the data.

    ``train`` stays plain data here: evaluation and export need only the model and its
    vocabulary, and this module sits below ``edgeasr.training``, whose ``TrainConfig.from_dict``
    reads (and migrates) it.
    """

    model: ModelConfig
    vocabulary: Vocabulary
    train: Mapping[str, Any]
    data: dict[str, str]
    edgeasr_version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "edgeasr_version": self.edgeasr_version,
            "model": self.model.to_dict(),
            "vocabulary": self.vocabulary.to_dict(),
            "train": dict(self.train),
            "data": self.data,
        }


class RunDirectory:
    """The folder of one training run (layout in the module docstring)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @property
    def info_path(self) -> Path:
        return self.path / "run.json"

    @property
    def state_path(self) -> Path:
        return self.path / "state.json"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def exists(self) -> bool:
        return self.info_path.exists()

    def write_info(self, info: RunInfo) -> None:
        atomic_write_json(self.info_path, info.to_dict())

    def read_info(self) -> RunInfo:
        if not self.info_path.exists():
            raise RunError(
                f"{self.path} is not a training run (no run.json); "
                "pass the --out folder of `edgeasr train`"
            )
        try:
            data = json.loads(self.info_path.read_text())
            train = data.get("train") or {}
            if not isinstance(train, Mapping):
                raise TypeError(f"'train' is {type(train).__name__}, not a mapping")
            return RunInfo(
                model=ModelConfig.from_dict(data["model"]),
                vocabulary=Vocabulary.from_dict(data["vocabulary"]),
                train=dict(train),
                data=data.get("data", {}),
                edgeasr_version=data.get("edgeasr_version", "unknown"),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise RunError(
                f"{self.info_path} cannot be read by edgeasr {__version__} ({err}); "
                "it may come from another version"
            ) from err

    def read_state(self) -> dict[str, Any]:
        if not self.state_path.exists():
            return {"epoch": 0, "last": None, "best": None, "history": []}
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError) as err:
            raise RunError(f"{self.state_path} cannot be read ({err})") from err
        if not isinstance(state, dict):
            raise RunError(f"{self.state_path}: expected a JSON object, got {state!r}")
        return state

    def write_state(self, state: dict[str, Any]) -> None:
        atomic_write_json(self.state_path, state)

    def checkpoint_dir(self, name: str) -> Path:
        return self.checkpoints / name

    def checkpoint_names(self) -> list[str]:
        """Names of the complete checkpoints in this run (those with weights), sorted."""
        if not self.checkpoints.is_dir():
            return []
        return sorted(p.parent.name for p in self.checkpoints.glob("*/model.weights.h5"))

    def resolve_checkpoint(self, which: str = "best") -> Path:
        """``best``, ``last`` or a checkpoint folder name -> its folder.

        Raises:
            RunError: when there is no such checkpoint; the message lists those there are.
        """
        state = self.read_state()
        name = which
        if which == "last" or (which == "best" and state.get("best") is None):
            name = state.get("last")
        if not name or not (self.checkpoints / name / "model.weights.h5").exists():
            names = self.checkpoint_names()
            if not names:
                raise RunError(
                    f"{self.path} has no {which!r} checkpoint yet; train at least one epoch "
                    "(`edgeasr train ... --out RUN`, or --resume to continue)"
                )
            aliases = " (or 'last')" if state.get("last") in names else ""
            raise RunError(f"{self.path} has no {which!r} checkpoint; choose one of: "
                           f"{', '.join(names)}{aliases}")
        return self.checkpoints / name


def build_model(config: ModelConfig, vocabulary: Vocabulary, seed: int | None = None):
    """A CTCModel whose weights exist (built on a dummy batch)."""
    from edgeasr.models.ctc_model import CTCModel

    if config.vocab_size != vocabulary.size:
        config = config.replace(vocab_size=vocabulary.size)
    return CTCModel(config, blank_index=vocabulary.blank_index, seed=seed).build_weights()


def save_checkpoint(model, folder: Path, state: dict[str, Any], info: RunInfo | None = None) -> None:
    """Weights and optimizer variables (Keras stores both in ``model.weights.h5``) and
    ``state`` into ``folder``, atomically. With ``info`` the folder also holds its own
    ``run.json`` and is self-describing.
    """
    with atomic_directory(folder) as tmp:
        if info is not None:
            (tmp / "run.json").write_text(json.dumps(info.to_dict(), indent=2, sort_keys=True))
        model.save_weights(tmp / "model.weights.h5")
        (tmp / "state.json").write_text(json.dumps(state, indent=2, sort_keys=True))


def read_checkpoint_state(folder: Path) -> dict[str, Any]:
    """The ``state.json`` saved in a checkpoint folder (epoch, step, learning-rate schedule)."""
    try:
        return json.loads((folder / "state.json").read_text())
    except (OSError, ValueError) as err:
        raise RunError(f"{folder}: its state.json cannot be read ({err})") from err


def restore_checkpoint(model, folder: Path, with_optimizer: bool = True) -> dict[str, Any]:
    """Load weights (and, for a compiled model, optimizer variables) from ``folder``."""
    if with_optimizer and getattr(model, "optimizer", None) is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # so its variables load too
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(folder / "model.weights.h5")
        except ValueError as err:
            raise RunError(f"{folder} does not fit this model ({err}); was the model config changed?") from err
    skipped = [str(w.message) for w in caught if "Skipping variable loading" in str(w.message)]
    if skipped and with_optimizer:
        raise RunError(f"{folder}: the optimizer state does not fit ({skipped[0]})")
    return read_checkpoint_state(folder)


def load_model(run_dir: str | os.PathLike, which: str = "best"):
    """(model, RunInfo) from a run directory, weights from checkpoint ``which``."""
    run = RunDirectory(run_dir)
    info = run.read_info()
    folder = run.resolve_checkpoint(which)
    model = build_model(info.model, info.vocabulary)
    restore_checkpoint(model, folder, with_optimizer=False)
    return model, info
