"""``edgeasr train``: manifests in, a run directory with checkpoints out; resumable."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from edgeasr import __version__
from edgeasr.data.batches import SpeechBatches, trainable_indices
from edgeasr.data.loader import fit_input
from edgeasr.data.shards import load_corpus, report_skipped
from edgeasr.errors import ConfigError, DataError, RunError
from edgeasr.files import atomic_write_json
from edgeasr.models.config import ModelConfig
from edgeasr.runs import (
    RunDirectory,
    RunInfo,
    build_model,
    read_checkpoint_state,
    restore_checkpoint,
)
from edgeasr.text.languages import get_language, language_of
from edgeasr.training import ema
from edgeasr.training.callbacks import Checkpointer, DevEvaluation, EpochProgress, RunLog
from edgeasr.training.config import DistributeConfig, TrainConfig
from edgeasr.training.distribute import start_distribution
from edgeasr.training.finetune import (
    after_restore,
    parameter_summary,
    resume_model,
    start_model,
)
from edgeasr.training.guard import RollbackSkippedSteps
from edgeasr.training.interrupt import StopSignals, TrainingStopped
from edgeasr.training.plateau import schedule_callbacks
from edgeasr.training.precision import keep_float32_frontend, with_precision
from edgeasr.training.schedule import (
    Segment,
    continue_segments,
    make_optimizer,
    warmup_steps,
)
from edgeasr.training.tokens import fresh_tokenizer, run_encoder
from edgeasr_device.vocab import Vocabulary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    epochs_done: int
    best_dev_wer: float | None
    best_epoch: int | None
    stopped_by: int | None = None  # the signal that ended training early, after a checkpoint


def _tensorboard(log_dir: Path) -> keras.callbacks.Callback | None:
    """TensorBoard logging where the backend can write summaries (it needs TensorFlow)."""
    try:
        import tensorboard  # noqa: F401
        import tensorflow  # noqa: F401
    except ImportError:
        log.warning("TensorBoard logging is off: tensorflow/tensorboard are not installed")
        return None
    return keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False)


@dataclass(frozen=True)
class _Position:
    """Where a run stands: epochs done, batches of the next epoch done, its LR schedule."""

    epoch: int = 0
    step: int = 0
    schedule: tuple[Segment, ...] | None = None  # None: a fresh run's (or 0.1's) single segment


def _position(run: RunDirectory) -> _Position:
    """The position of the run's last checkpoint (none yet: the start)."""
    last = run.read_state().get("last")
    if not last:
        return _Position()
    state = read_checkpoint_state(run.checkpoint_dir(last))
    schedule = state.get("schedule")
    return _Position(int(state["epoch"]), int(state.get("step", 0)),
                     tuple(Segment.from_dict(s) for s in schedule) if schedule else None)


def _result(run: RunDirectory, stopped_by: int | None = None) -> TrainResult:
    state = run.read_state()
    best = state.get("best") or {}
    return TrainResult(run.path, int(state.get("epoch", 0)), best.get("dev_wer"), best.get("epoch"),
                       stopped_by)


@with_precision  # Keras' dtype policy from the run's precision for the call, restored after
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
    distribute: DistributeConfig | None = None,
) -> TrainResult:
    """Train a CTC model; with ``resume``, continue the run in ``out_dir`` where it stopped.

    On resume, the model config, vocabulary and data come from the run itself; a new
    ``train_config`` may change the epoch count (other options stay as first given), and the
    learning rate continues from where it stopped (:mod:`edgeasr.training.schedule`).
    SIGINT/SIGTERM during training save a checkpoint at the current batch and return with
    ``stopped_by`` set (:mod:`edgeasr.training.interrupt`). ``distribute`` (default:
    ``train_config``'s) says how this launch spreads over devices and processes
    (:mod:`edgeasr.training.distribute`); a resumed run takes it from here, not from run.json.

    Raises:
        RunError: ``out_dir`` already holds a run (without ``resume``) or none (with it).
        DataError: missing manifests or no usable utterances.
    """
    run = RunDirectory(out_dir)
    launch = distribute or (train_config.distribute if train_config else DistributeConfig())
    distributed = start_distribution(launch)  # first: several JAX processes connect here
    if not distributed.chief:  # process 0 prints and writes the run folder
        echo, verbose = (lambda _: None), 0
    position = _Position()
    tokenizer = None  # a fresh piece run's new SentencePiece model
    if resume:
        info = run.read_info()
        cfg = TrainConfig.from_dict(info.train, f"{run.info_path}: train")  # 0.1's: migrated
        first_epochs = cfg.epochs
        if train_config is not None:
            cfg = cfg.replace(epochs=train_config.epochs)
        cfg = cfg.replace(distribute=launch)
        info = dataclasses.replace(info, train=cfg.to_dict())
        position = _position(run)
        if position.epoch >= cfg.epochs:
            echo(f"{run.path} already finished {position.epoch} of {cfg.epochs} epochs; "
                 "pass --epochs with a larger total to train on")
            return _result(run)
        train_manifest = train_manifest or info.data.get("train")
        dev_manifest = dev_manifest or info.data.get("dev")
    else:
        if run.exists() and distributed.chief:
            raise RunError(
                f"{run.path} already holds a training run; pass --resume to continue it "
                "or choose another --out folder"
            )
        if train_manifest is None or dev_manifest is None:
            raise DataError("train needs --train and --dev manifests")
        cfg = (train_config or TrainConfig()).replace(distribute=launch)
        tokenizer = fresh_tokenizer(cfg, train_manifest, vocabulary)  # None: characters
        if cfg.finetune.init is not None:
            keras.utils.set_random_seed(cfg.seed)  # the new classifier's and adapters' draws
            start = start_model(cfg.finetune, cfg.seed, overrides=model_config)
            cfg = cfg.replace(finetune=start.finetune)
            vocabulary, model_config = start.vocabulary, start.config
            echo(f"fine-tuning ({start.finetune.kind}) from {start.finetune.init}")
        else:
            cfg.finetune.resolved()  # refuses fine-tuning options without an initial model
            vocabulary = tokenizer.vocabulary if tokenizer else vocabulary or (
                get_language(cfg.data.language).vocabulary() if cfg.data.language
                else Vocabulary.english())
            model_config = (model_config or ModelConfig()).replace(vocab_size=vocabulary.size)
        info = RunInfo(
            model=model_config,
            vocabulary=vocabulary,
            train=cfg.to_dict(),
            data={"train": str(Path(train_manifest).resolve()), "dev": str(Path(dev_manifest).resolve())},
            edgeasr_version=__version__,
        )
        first_epochs = cfg.epochs

    if cfg.finetune.init is not None and distributed.active:
        raise ConfigError("fine-tuning (--init) with --distribute is not supported yet; "
                          "fine-tune on one device")
    if distributed.processes > 1 and cfg.optim.ema is not None:
        # The checkpoint's EMA swap assigns variables on process 0 alone: a collective step
        # the other processes never join (untested, so refused rather than risk a hang).
        raise ConfigError("train.optim.ema with several training processes is not supported "
                          "yet; leave out ema, or train in one process (all its devices)")
    if distributed.kind == "mirrored" and cfg.optim.accumulate_steps > 1:
        # Keras 3 applies accumulated gradients in a cond, and MirroredStrategy cannot
        # all-reduce inside one ("merge_call called while defining a new graph").
        raise ConfigError("train.optim.accumulate_steps > 1 does not run under --distribute "
                          "mirrored (Keras 3 cannot all-reduce inside its accumulation step); "
                          "use a larger batch_size over the GPUs, or the JAX backend with "
                          "--distribute data-parallel")
    keras.utils.set_random_seed(cfg.seed)
    rate = info.model.frontend.sample_rate
    data = cfg.data
    language = get_language(data.language) if data.language else language_of(info.vocabulary)
    encoder = run_encoder(run.path, info.vocabulary, tokenizer, cfg.finetune.init,
                          write=distributed.chief)
    train_corpus = load_corpus(train_manifest, info.vocabulary, rate, data.cache_dir, data.strict,
                               data.workers, normalizer=language.normalize, encoder=encoder)
    dev_corpus = load_corpus(dev_manifest, info.vocabulary, rate, data.cache_dir, data.strict,
                             data.workers, normalizer=language.normalize, encoder=encoder)
    train_indices, too_short = trainable_indices(train_corpus, info.model)
    report_skipped(too_short, str(train_manifest))
    if too_short and data.strict:
        raise DataError(f"{too_short[0].source}: {too_short[0].reason} (--strict)")
    if train_indices.size == 0:
        raise DataError(f"{train_manifest}: no usable utterances (see the skipped lines above)")
    if len(dev_corpus) == 0:
        raise DataError(f"{dev_manifest}: no usable utterances (see the skipped lines above)")

    if distributed.chief:
        run.path.mkdir(parents=True, exist_ok=True)
        run.write_info(info)
        atomic_write_json(run.path / "skipped.json", {
            "train": train_corpus.skipped + [asdict(s) for s in too_short],
            "dev": dev_corpus.skipped,
        })
    batches = SpeechBatches(
        train_corpus, data.batch_size, np.tile(train_indices, data.repeat), shuffle=True,
        seed=cfg.seed, max_batch_seconds=data.max_batch_seconds,
        augment=make_augmenter(data.augment, rate, cfg.seed), config=info.model,
        shard=distributed.shard,  # this process's rows of every (global) batch
    )
    per_epoch = batches.batches_per_epoch
    schedule = position.schedule or (Segment(0, max(1, first_epochs * per_epoch)),)
    schedule = continue_segments(
        schedule, position.epoch * per_epoch + position.step, max(1, cfg.epochs * per_epoch),
        warmup_steps(cfg.optim, per_epoch, schedule[0].total))
    epoch, step = position.epoch, position.step
    with distributed.scope():  # weights and optimizer state on every device
        if cfg.finetune.init is None:
            model = build_model(info.model, info.vocabulary, seed=cfg.seed)
        elif position.epoch or position.step:  # a resumed fine-tune: its checkpoint loads below
            model = resume_model(info, cfg.finetune, cfg.seed)
        else:
            if resume:  # resumed before its first checkpoint: start from the initial model again
                keras.utils.set_random_seed(cfg.seed)
                start = start_model(cfg.finetune, cfg.seed, overrides=info.model)
            model = start.model
        distributed.prepare(model)
        keep_float32_frontend(model)  # mixed precision: audio and log-mel stay float32
        model.compile(optimizer=make_optimizer(cfg.optim, per_epoch, cfg.epochs, schedule,
                                               cfg.precision),
                      jit_compile=_jit_compile())
        if epoch or step:
            restore_checkpoint(model, run.checkpoint_dir(run.read_state()["last"]))
            after_restore(model, cfg.seed)
            ema.resume_raw_weights(model)  # an EMA run's checkpoint holds the averages
            echo(f"resuming {run.path} at epoch {epoch + 1}"
                 + (f", batch {step + 1}" if step else ""))
    if distributed.active:
        echo(f"distributed: {distributed.describe()}, global batch {data.batch_size}")
    with StopSignals() as stop, distributed.training():  # SIGINT/SIGTERM: stop at the next batch
        echo(
            f"training {info.model.name} ({parameter_summary(model)}) on "
            f"{train_indices.size} utterances ({train_corpus.seconds / 3600:.2f} h), "
            f"{per_epoch} batches per epoch, dev {len(dev_corpus)} utterances"
        )
        callbacks = _callbacks(run, info, cfg, batches, dev_corpus, stop, schedule,
                               fresh=not (epoch or step), echo=echo, distributed=distributed)
        # One fit call per epoch: its batch plan (and length) is a function of the epoch, and
        # a resumed run starts inside an epoch.
        for current in range(epoch, cfg.epochs):
            batches.set_position(current, step if current == epoch else 0)
            try:
                model.fit(fit_input(batches, data.loader_workers), epochs=current + 1,
                          initial_epoch=current, steps_per_epoch=len(batches), shuffle=False,
                          callbacks=callbacks, verbose=verbose)
            except TrainingStopped as stopped:
                echo(f"{stopped}: saved checkpoint 'partial'; continue with --resume")
                return _result(run, stopped.signum)
            if stop.requested is not None and current + 1 < cfg.epochs:
                echo(f"stopped by {signal.Signals(stop.requested).name} after epoch {current + 1}; "
                     "continue with --resume")
                return _result(run, stop.requested)
            if model.stop_training:
                break
    return _result(run)


def _callbacks(run: RunDirectory, info: RunInfo, cfg: TrainConfig, batches: SpeechBatches,
               dev_corpus, stop: StopSignals, schedule: tuple[Segment, ...], fresh: bool,
               echo: Callable[[str], None], distributed) -> list:
    """Progress, dev WER, checkpoints (with the LR schedule in each), CSV and TensorBoard logs
    (process 0's; the other processes keep the rest and follow its stop decisions)."""
    log_csv = run.path / "log.csv"
    if fresh and distributed.chief:
        log_csv.unlink(missing_ok=True)
    # plateau: after DevEvaluation (it reads dev_wer), before Checkpointer (which saves its state)
    rate_callbacks, rate_state = schedule_callbacks(cfg.optim, run, batches, schedule, fresh, echo)
    callbacks = [
        *([RollbackSkippedSteps()] if cfg.optim.skip_nonfinite else []),  # first: see guard.py
        EpochProgress(cfg.epochs),
        DevEvaluation(dev_corpus, range(len(dev_corpus)), info.vocabulary, cfg.data.batch_size,
                      echo=echo, decoding=distributed.decoding(lambda: _same_model(info))),
        *rate_callbacks,
        Checkpointer(run, batches, cfg.checkpoint, stop=stop,
                     extra_state={"schedule": [asdict(s) for s in schedule], **rate_state}),
        RunLog(log_csv),
    ]
    board = _tensorboard(run.path / "tensorboard") if distributed.chief else None
    if board is not None:
        callbacks.append(board)
    return distributed.process_callbacks(callbacks, writers=(RunLog,), checkpointer=Checkpointer)


def _same_model(info: RunInfo):
    """A fresh model like the trained one (precision included), to hold a copy of its weights."""
    model = build_model(info.model, info.vocabulary)
    keep_float32_frontend(model)
    return model


def make_augmenter(option: str | dict | None, sample_rate: int, seed: int):
    """The waveform augmenter a TrainConfig asks for, or None."""
    if option in (None, "none"):
        return None
    from edgeasr.augment.augmenter import Augmenter
    from edgeasr.augment.configs import DEFAULT_AUGMENT, AugmentConfig

    config = DEFAULT_AUGMENT if option == "default" else AugmentConfig.from_dict(option)
    return Augmenter(config, sample_rate, seed=seed)


def _jit_compile() -> bool:
    # XLA recompiles for every new padded shape; on the TensorFlow CPU backend that costs more
    # than it saves. JAX always compiles (bucketed shapes keep recompiles rare).
    return keras.backend.backend() == "jax"
