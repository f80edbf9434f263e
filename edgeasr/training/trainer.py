"""``edgeasr train``: manifests in, a run directory with checkpoints out; resumable."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras

from edgeasr import __version__
from edgeasr.data.batches import SpeechBatches, prepare_examples, report_skipped
from edgeasr.data.manifest import read_manifest
from edgeasr.files import atomic_write_json
from edgeasr.models.config import ModelConfig
from edgeasr.training.callbacks import Checkpointer, DevEvaluation
from edgeasr.training.config import TrainConfig
from edgeasr.training.run import RunDirectory, RunError, RunInfo, build_model, restore_checkpoint
from edgeasr_device.vocab import Vocabulary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    epochs_done: int
    best_dev_wer: float | None
    best_epoch: int | None


def _optimizer(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    total = max(1, config.epochs * steps_per_epoch)
    warmup = min(int(config.warmup_epochs * steps_per_epoch), total - 1)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate * 0.01 if warmup else config.learning_rate,
        decay_steps=max(1, total - warmup),
        alpha=config.min_learning_rate_fraction,
        warmup_target=config.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    return keras.optimizers.AdamW(
        learning_rate=schedule, weight_decay=config.weight_decay, global_clipnorm=config.clip_norm
    )


def _tensorboard(log_dir: Path) -> keras.callbacks.Callback | None:
    """TensorBoard logging where the backend can write summaries (it needs TensorFlow)."""
    try:
        import tensorboard  # noqa: F401
        import tensorflow  # noqa: F401
    except ImportError:
        log.warning("TensorBoard logging is off: tensorflow/tensorboard are not installed")
        return None
    return keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False)


def train(
    train_manifest: str | os.PathLike | None,
    dev_manifest: str | os.PathLike | None,
    out_dir: str | os.PathLike,
    model_config: ModelConfig | None = None,
    train_config: TrainConfig | None = None,
    resume: bool = False,
    vocabulary: Vocabulary | None = None,
    echo: Callable[[str], None] = print,
    verbose: int | str = "auto",
) -> TrainResult:
    """Train a CTC model; with ``resume``, continue the run in ``out_dir`` where it stopped.

    On resume, the model config, vocabulary and data come from the run itself; a new
    ``train_config`` may raise the epoch count (other options stay as first given).
    """
    run = RunDirectory(out_dir)
    if resume:
        info = run.read_info()
        if train_config is not None:
            info = RunInfo(info.model, info.vocabulary, info.train.replace(epochs=train_config.epochs),
                           info.data, info.edgeasr_version)
        train_manifest = train_manifest or info.data.get("train")
        dev_manifest = dev_manifest or info.data.get("dev")
    else:
        if run.exists():
            raise RunError(
                f"{run.path} already holds a training run; pass --resume to continue it "
                "or choose another --out folder"
            )
        if train_manifest is None or dev_manifest is None:
            raise ValueError("train needs --train and --dev manifests")
        vocabulary = vocabulary or Vocabulary.english()
        model_config = (model_config or ModelConfig()).replace(vocab_size=vocabulary.size)
        info = RunInfo(
            model=model_config,
            vocabulary=vocabulary,
            train=train_config or TrainConfig(),
            data={"train": str(Path(train_manifest).resolve()), "dev": str(Path(dev_manifest).resolve())},
            edgeasr_version=__version__,
        )

    cfg = info.train
    keras.utils.set_random_seed(cfg.seed)
    train_examples, train_skipped = prepare_examples(
        read_manifest(train_manifest), info.vocabulary, info.model, strict=cfg.strict, workers=cfg.workers
    )
    dev_examples, dev_skipped = prepare_examples(
        read_manifest(dev_manifest), info.vocabulary, info.model, strict=cfg.strict, workers=cfg.workers
    )
    report_skipped(train_skipped, str(train_manifest))
    report_skipped(dev_skipped, str(dev_manifest))
    if not train_examples:
        raise ValueError(f"{train_manifest}: no usable utterances (see the skipped lines above)")
    if not dev_examples:
        raise ValueError(f"{dev_manifest}: no usable utterances (see the skipped lines above)")

    run.path.mkdir(parents=True, exist_ok=True)
    run.write_info(info)
    atomic_write_json(
        run.path / "skipped.json",
        {"train": [s.__dict__ for s in train_skipped], "dev": [s.__dict__ for s in dev_skipped]},
    )
    batches = SpeechBatches(
        train_examples * cfg.repeat, cfg.batch_size, info.model.frontend.sample_rate,
        shuffle=True, seed=cfg.seed, max_batch_seconds=cfg.max_batch_seconds,
    )
    model = build_model(info.model, info.vocabulary, seed=cfg.seed)
    model.compile(optimizer=_optimizer(cfg, len(batches)), jit_compile=_jit_compile())

    initial_epoch = 0
    if resume:
        state = run.read_state()
        if state.get("last"):
            restored = restore_checkpoint(model, run.checkpoint_dir(state["last"]))
            initial_epoch = int(restored["epoch"])
            batches.set_epoch(initial_epoch)
            echo(f"resuming {run.path} after epoch {initial_epoch}")
    if initial_epoch >= cfg.epochs:
        echo(f"{run.path} already finished {initial_epoch} of {cfg.epochs} epochs")
    else:
        hours = sum(e.audio.shape[0] for e in train_examples) / info.model.frontend.sample_rate / 3600
        echo(
            f"training {info.model.name} ({model.count_params():,} parameters) on "
            f"{len(train_examples)} utterances ({hours:.2f} h), {len(batches)} batches per epoch, "
            f"dev {len(dev_examples)} utterances"
        )
        callbacks = [
            DevEvaluation(dev_examples, info.vocabulary, cfg.batch_size, echo=echo),
            Checkpointer(run, keep=cfg.keep_checkpoints, stop_at_dev_wer=cfg.stop_at_dev_wer),
            keras.callbacks.CSVLogger(str(run.path / "log.csv"), append=initial_epoch > 0),
        ]
        board = _tensorboard(run.path / "tensorboard")
        if board is not None:
            callbacks.append(board)
        model.fit(batches, epochs=cfg.epochs, initial_epoch=initial_epoch,
                  callbacks=callbacks, verbose=verbose)

    state = run.read_state()
    best = state.get("best") or {}
    return TrainResult(run.path, int(state.get("epoch", 0)), best.get("dev_wer"), best.get("epoch"))


def _jit_compile() -> bool:
    # XLA recompiles for every new padded shape; on the TensorFlow CPU backend that costs more
    # than it saves. JAX always compiles (bucketed shapes keep recompiles rare).
    return keras.backend.backend() == "jax"


def load_yaml_config(path: str | os.PathLike) -> dict:
    """``{preset: NAME, model: {...overrides}, train: {...options}}`` from a YAML file."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ValueError(f"config file {path} does not exist") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with preset/model/train keys")
    unknown = set(data) - {"preset", "model", "train", "corpus"}  # corpus: for `prepare`
    if unknown:
        raise ValueError(f"{path}: unknown top-level keys {sorted(unknown)} (use preset, model, train, corpus)")
    json.dumps(data)  # configs must be plain data
    return data
