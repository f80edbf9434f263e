"""``edgeasr train``: manifests in, a run directory with checkpoints out; resumable."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from edgeasr import __version__
from edgeasr.data.batches import SpeechBatches, trainable_indices
from edgeasr.data.loader import fit_input
from edgeasr.data.shards import load_corpus, report_skipped
from edgeasr.files import atomic_write_json
from edgeasr.models.config import ModelConfig
from edgeasr.training.callbacks import Checkpointer, DevEvaluation, EpochProgress
from edgeasr.training.config import TrainConfig
from edgeasr.errors import RunError
from edgeasr.runs import RunDirectory, RunInfo, build_model, restore_checkpoint
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
    rate = info.model.frontend.sample_rate
    train_corpus = load_corpus(train_manifest, info.vocabulary, rate, cfg.cache_dir, cfg.strict, cfg.workers)
    dev_corpus = load_corpus(dev_manifest, info.vocabulary, rate, cfg.cache_dir, cfg.strict, cfg.workers)
    train_indices, too_short = trainable_indices(train_corpus, info.model)
    report_skipped(too_short, str(train_manifest))
    if too_short and cfg.strict:
        raise ValueError(f"{too_short[0].source}: {too_short[0].reason} (--strict)")
    if train_indices.size == 0:
        raise ValueError(f"{train_manifest}: no usable utterances (see the skipped lines above)")
    if len(dev_corpus) == 0:
        raise ValueError(f"{dev_manifest}: no usable utterances (see the skipped lines above)")

    run.path.mkdir(parents=True, exist_ok=True)
    run.write_info(info)
    atomic_write_json(run.path / "skipped.json", {
        "train": train_corpus.skipped + [asdict(s) for s in too_short],
        "dev": dev_corpus.skipped,
    })
    batches = SpeechBatches(
        train_corpus, cfg.batch_size, np.tile(train_indices, cfg.repeat), shuffle=True,
        seed=cfg.seed, max_batch_seconds=cfg.max_batch_seconds,
        augment=make_augmenter(cfg.augment, rate, cfg.seed), config=info.model,
    )
    model = build_model(info.model, info.vocabulary, seed=cfg.seed)
    model.compile(optimizer=_optimizer(cfg, batches.batches_per_epoch), jit_compile=_jit_compile())

    epoch, step = 0, 0
    if resume:
        state = run.read_state()
        if state.get("last"):
            restored = restore_checkpoint(model, run.checkpoint_dir(state["last"]))
            epoch, step = int(restored["epoch"]), int(restored.get("step", 0))
            echo(f"resuming {run.path} at epoch {epoch + 1}" + (f", batch {step + 1}" if step else ""))
    if epoch >= cfg.epochs:
        echo(f"{run.path} already finished {epoch} of {cfg.epochs} epochs")
    else:
        echo(
            f"training {info.model.name} ({model.count_params():,} parameters) on "
            f"{train_indices.size} utterances ({train_corpus.seconds / 3600:.2f} h), "
            f"{batches.batches_per_epoch} batches per epoch, dev {len(dev_corpus)} utterances"
        )
        checkpointer = Checkpointer(run, batches, keep=cfg.keep_checkpoints,
                                    stop_at_dev_wer=cfg.stop_at_dev_wer,
                                    every_minutes=cfg.checkpoint_every_minutes,
                                    every_steps=cfg.checkpoint_every_steps)
        log_csv = run.path / "log.csv"
        if epoch == 0 and step == 0:
            log_csv.unlink(missing_ok=True)
        callbacks = [
            EpochProgress(cfg.epochs),
            DevEvaluation(dev_corpus, range(len(dev_corpus)), info.vocabulary, cfg.batch_size, echo=echo),
            checkpointer,
            keras.callbacks.CSVLogger(str(log_csv), append=True),
        ]
        board = _tensorboard(run.path / "tensorboard")
        if board is not None:
            callbacks.append(board)
        # One fit call per epoch: its batch plan (and length) is a function of the epoch, and a
        # resumed run starts inside an epoch.
        for current in range(epoch, cfg.epochs):
            batches.set_position(current, step if current == epoch else 0)
            model.fit(fit_input(batches, cfg.loader_workers), epochs=current + 1,
                      initial_epoch=current, steps_per_epoch=len(batches), shuffle=False,
                      callbacks=callbacks, verbose=verbose)
            if model.stop_training:
                break

    state = run.read_state()
    best = state.get("best") or {}
    return TrainResult(run.path, int(state.get("epoch", 0)), best.get("dev_wer"), best.get("epoch"))


def make_augmenter(option: str | dict | None, sample_rate: int, seed: int):
    """The waveform augmenter a TrainConfig asks for, or None."""
    if option in (None, "none"):
        return None
    from edgeasr.data.augment import DEFAULT_AUGMENT, AugmentConfig, Augmenter

    config = DEFAULT_AUGMENT if option == "default" else AugmentConfig.from_dict(option)
    return Augmenter(config, sample_rate, seed=seed)


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
