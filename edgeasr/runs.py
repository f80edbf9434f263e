"""The run directory: everything a training run writes, and how to load a model back.

```
RUN/
  run.json                model config, vocabulary, training options, data paths, version
  state.json              last and best checkpoint, per-epoch history (written atomically)
  checkpoints/epoch-0007/ model.weights.h5, optimizer.npz, state.json
  checkpoints/best/       the checkpoint with the lowest dev WER so far
  log.csv                 one row per epoch (loss, dev_wer, dev_cer, learning rate)
  tensorboard/            the same as TensorBoard scalars
  skipped.json            manifest lines that were not trained on, with reasons
```
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeasr import __version__
from edgeasr.errors import RunError
from edgeasr.files import atomic_directory, atomic_write_json
from edgeasr.models.config import ModelConfig
from edgeasr.training.config import TrainConfig
from edgeasr_device.vocab import Vocabulary


@dataclass(frozen=True)
class RunInfo:
    model: ModelConfig
    vocabulary: Vocabulary
    train: TrainConfig
    data: dict[str, str]
    edgeasr_version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "edgeasr_version": self.edgeasr_version,
            "model": self.model.to_dict(),
            "vocabulary": self.vocabulary.to_dict(),
            "train": self.train.to_dict(),
            "data": self.data,
        }


class RunDirectory:
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
            return RunInfo(
                model=ModelConfig.from_dict(data["model"]),
                vocabulary=Vocabulary.from_dict(data["vocabulary"]),
                train=TrainConfig.from_dict(data["train"]),
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
        return json.loads(self.state_path.read_text())

    def write_state(self, state: dict[str, Any]) -> None:
        atomic_write_json(self.state_path, state)

    def checkpoint_dir(self, name: str) -> Path:
        return self.checkpoints / name

    def resolve_checkpoint(self, which: str = "best") -> Path:
        """``best``, ``last`` or a checkpoint folder name -> its folder."""
        state = self.read_state()
        name = which
        if which == "last":
            name = state.get("last")
        elif which == "best" and state.get("best") is None:
            name = state.get("last")
        if not name or not (self.checkpoints / name / "model.weights.h5").exists():
            raise RunError(
                f"{self.path} has no {which!r} checkpoint yet; train at least one epoch "
                "(`edgeasr train ... --out RUN`, or --resume to continue)"
            )
        return self.checkpoints / name


def build_model(config: ModelConfig, vocabulary: Vocabulary, seed: int | None = None):
    """A CTCModel whose weights exist (built on a dummy batch)."""
    from edgeasr.models.ctc_model import CTCModel

    if config.vocab_size != vocabulary.size:
        config = config.replace(vocab_size=vocabulary.size)
    model = CTCModel(config, blank_index=vocabulary.blank_index, seed=seed)
    samples = config.frontend.n_fft + 4 * config.frontend.hop_length * config.time_stride
    model({"audio": np.zeros((1, samples), np.float32), "audio_lengths": np.array([samples], np.int32)})
    return model


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
    return json.loads((folder / "state.json").read_text())


def load_model(run_dir: str | os.PathLike, which: str = "best"):
    """(model, RunInfo) from a run directory, weights from checkpoint ``which``."""
    run = RunDirectory(run_dir)
    info = run.read_info()
    folder = run.resolve_checkpoint(which)
    model = build_model(info.model, info.vocabulary)
    restore_checkpoint(model, folder, with_optimizer=False)
    return model, info
