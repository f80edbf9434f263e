"""Per-epoch dev evaluation and checkpointing callbacks."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras

from edgeasr.data.corpus import Corpus
from edgeasr.evaluation.decode import transcribe_corpus
from edgeasr.evaluation.metrics import error_rates
from edgeasr.runs import RunDirectory, save_checkpoint
from edgeasr.training.config import CheckpointConfig
from edgeasr.training.interrupt import StopSignals, TrainingStopped
from edgeasr_device.vocab import Vocabulary


class DevEvaluation(keras.callbacks.Callback):
    """Adds ``dev_wer``, ``dev_cer`` and ``lr`` to the epoch logs (so CSV/TensorBoard get them)."""

    def __init__(self, corpus: Corpus, indices: Sequence[int], vocabulary: Vocabulary,
                 batch_size: int, echo: Callable[[str], None] = print):
        super().__init__()
        self.corpus = corpus
        self.indices = list(indices)
        self.vocabulary = vocabulary
        self.batch_size = batch_size
        self.echo = echo
        self._started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["lr"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        transcripts = transcribe_corpus(self.model, self.corpus, self.vocabulary, self.batch_size,
                                        self.indices)
        rates = error_rates([self.corpus.texts[i] for i in self.indices], [t.text for t in transcripts])
        logs["dev_wer"], logs["dev_cer"] = rates.wer, rates.cer
        logs["epoch_seconds"] = time.monotonic() - self._started
        self.echo(
            f"epoch {epoch + 1}: loss {logs.get('loss', float('nan')):.3f}  "
            f"dev WER {100 * rates.wer:.2f}%  CER {100 * rates.cer:.2f}%  "
            f"({rates.exact}/{rates.utterances} exact, {logs['epoch_seconds']:.0f} s)"
        )


class Checkpointer(keras.callbacks.Callback):
    """Saves ``epoch-NNNN`` every epoch, ``best`` on the lowest dev WER so far, and a
    ``partial`` checkpoint inside long epochs (every ``every_minutes`` / ``every_steps``).

    Each checkpoint folder is written to a temporary name and renamed into place, and
    ``state.json`` is replaced atomically after it, so an interruption at any moment leaves
    the last complete checkpoint usable by ``--resume``. A partial checkpoint records the
    epoch and the number of its batches already trained, and resuming continues with the
    next batch of the same (seeded) epoch plan. When ``stop`` has recorded a signal, a
    partial checkpoint is written after the batch in progress and :class:`TrainingStopped`
    ends ``fit`` (see :mod:`edgeasr.training.interrupt`).
    """

    PARTIAL = "partial"

    def __init__(self, run: RunDirectory, batches, config: CheckpointConfig | None = None,
                 stop: StopSignals | None = None, extra_state: Mapping[str, Any] | None = None):
        super().__init__()
        config = config or CheckpointConfig()
        self.run = run
        self.batches = batches
        self.keep = config.keep
        self.stop_at_dev_wer = config.stop_at_dev_wer
        self.every_seconds = config.every_minutes * 60.0 if config.every_minutes else None
        self.every_steps = config.every_steps
        self.stop = stop
        self.extra_state = dict(extra_state or {})  # saved in every checkpoint (the LR schedule)
        self._last_save = time.monotonic()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = self.batches.start + batch + 1  # batches of this epoch done
        if step >= self.batches.batches_per_epoch:
            return  # the epoch-end checkpoint follows (also after a stop request)
        signum = self.stop.requested if self.stop is not None else None
        due_steps = self.every_steps and step % self.every_steps == 0
        due_time = self.every_seconds and time.monotonic() - self._last_save >= self.every_seconds
        if due_steps or due_time or signum is not None:
            state = {"epoch": self._epoch, "step": step, **self.extra_state}
            save_checkpoint(self.model, self.run.checkpoint_dir(self.PARTIAL), state, self.run.read_info())
            self.run.write_state({**self.run.read_state(), "epoch": self._epoch, "step": step,
                                  "last": self.PARTIAL})
            self._last_save = time.monotonic()
        if signum is not None:
            raise TrainingStopped(signum, self._epoch, step)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        state = self.run.read_state()
        done = epoch + 1
        name = f"epoch-{done:04d}"
        metrics = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float))}
        ckpt_state = {"epoch": done, "step": 0, "metrics": metrics, **self.extra_state}
        info = self.run.read_info()
        save_checkpoint(self.model, self.run.checkpoint_dir(name), ckpt_state, info)
        wer = metrics.get("dev_wer")
        best = state.get("best")
        if wer is not None and (best is None or wer <= best["dev_wer"]):  # ties: the later, better-fit one
            save_checkpoint(self.model, self.run.checkpoint_dir("best"), ckpt_state, info)
            best = {"epoch": done, "dev_wer": wer, "dev_cer": metrics.get("dev_cer")}
        history = [h for h in state.get("history", []) if h["epoch"] < done]
        history.append({"epoch": done, **metrics})
        self.run.write_state({"epoch": done, "step": 0, "last": name, "best": best, "history": history})
        self._last_save = time.monotonic()
        self._prune()
        if self.stop_at_dev_wer is not None and wer is not None and wer <= self.stop_at_dev_wer:
            self.model.stop_training = True

    def _prune(self) -> None:
        shutil.rmtree(self.run.checkpoint_dir(self.PARTIAL), ignore_errors=True)
        folders = sorted(self.run.checkpoints.glob("epoch-*"))
        for folder in folders[: max(0, len(folders) - self.keep)]:
            shutil.rmtree(folder, ignore_errors=True)


class EpochProgress(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, counting epochs against the run's total although the trainer
    calls ``fit`` once per epoch (it would otherwise print "Epoch 5/5")."""

    def __init__(self, total_epochs: int):
        super().__init__()
        self.total_epochs = total_epochs

    def set_params(self, params):
        super().set_params({**params, "epochs": self.total_epochs})
