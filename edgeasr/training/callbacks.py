"""Per-epoch dev evaluation and checkpointing callbacks.

With ``optim.ema`` both use the averaged weights (:func:`edgeasr.training.ema.averaged_weights`)
while training continues from the raw ones; with the non-finite guard both report its count
of skipped steps (``skipped_steps``: so far in the run) in the logs and state.json.
"""

from __future__ import annotations

import contextlib
import csv
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras

from edgeasr.data.corpus import Corpus
from edgeasr.evaluation.decode import transcribe_corpus
from edgeasr.evaluation.metrics import error_rates
from edgeasr.runs import RunDirectory, save_checkpoint
from edgeasr.training.config import CheckpointConfig
from edgeasr.training.ema import averaged_weights
from edgeasr.training.guard import skipped_steps
from edgeasr.training.interrupt import StopSignals, TrainingStopped
from edgeasr_device.vocab import Vocabulary


class DevEvaluation(keras.callbacks.Callback):
    """Adds ``dev_wer``, ``dev_cer``, ``lr`` (and ``skipped_steps``) to the epoch logs (so
    CSV/TensorBoard get them).

    ``decoding``: given the model being trained, a context manager yielding the model to
    decode with (default: itself; under a distribution an undistributed copy of its weights,
    ``Distributed.decoding``).
    """

    def __init__(self, corpus: Corpus, indices: Sequence[int], vocabulary: Vocabulary,
                 batch_size: int, echo: Callable[[str], None] = print,
                 decoding: Callable[[keras.Model], contextlib.AbstractContextManager] | None = None):
        super().__init__()
        self.decoding = decoding or contextlib.nullcontext
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
        with averaged_weights(self.model), self.decoding(self.model) as model:
            transcripts = transcribe_corpus(model, self.corpus, self.vocabulary,
                                            self.batch_size, self.indices)
        rates = error_rates([self.corpus.texts[i] for i in self.indices], [t.text for t in transcripts])
        logs["dev_wer"], logs["dev_cer"] = rates.wer, rates.cer
        logs["epoch_seconds"] = time.monotonic() - self._started
        skipped = skipped_steps(optimizer)
        if skipped is not None:
            logs["skipped_steps"] = skipped
        self.echo(
            f"epoch {epoch + 1}: loss {logs.get('loss', float('nan')):.3f}  "
            f"dev WER {100 * rates.wer:.2f}%  CER {100 * rates.cer:.2f}%  "
            f"({rates.exact}/{rates.utterances} exact, {logs['epoch_seconds']:.0f} s)"
            + (f"  skipped {skipped} non-finite step(s) so far" if skipped else "")
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
        # saved in every checkpoint (the LR schedule); a callable value is called at each save
        self.extra_state = dict(extra_state or {})
        self._last_save = time.monotonic()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _extra_state(self) -> dict[str, Any]:
        sync = getattr(self.model, "jax_state_sync", None)  # JAX, mid-epoch: current values
        if sync is not None:
            sync()
        state = {k: v() if callable(v) else v for k, v in self.extra_state.items()}
        skipped = skipped_steps(self.model.optimizer)
        return state if skipped is None else {**state, "skipped_steps": skipped}

    def _save(self, names: Sequence[str], state: dict[str, Any]) -> None:
        """Checkpoints ``names`` of the current (EMA: averaged) weights."""
        info = self.run.read_info()
        with averaged_weights(self.model):
            for name in names:
                save_checkpoint(self.model, self.run.checkpoint_dir(name), state, info)

    def on_train_batch_end(self, batch, logs=None):
        step = self.batches.start + batch + 1  # batches of this epoch done
        if step >= self.batches.batches_per_epoch:
            return  # the epoch-end checkpoint follows (also after a stop request)
        signum = self.stop.requested if self.stop is not None else None
        due_steps = self.every_steps and step % self.every_steps == 0
        due_time = self.every_seconds and time.monotonic() - self._last_save >= self.every_seconds
        if due_steps or due_time or signum is not None:
            state = {"epoch": self._epoch, "step": step, **self._extra_state()}
            self._save([self.PARTIAL], state)
            run_state = {**self.run.read_state(), "epoch": self._epoch, "step": step,
                         "last": self.PARTIAL}
            if "skipped_steps" in state:
                run_state["skipped_steps"] = state["skipped_steps"]
            self.run.write_state(run_state)
            self._last_save = time.monotonic()
        if signum is not None:
            raise TrainingStopped(signum, self._epoch, step)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        state = self.run.read_state()
        done = epoch + 1
        name = f"epoch-{done:04d}"
        metrics = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float))}
        ckpt_state = {"epoch": done, "step": 0, "metrics": metrics, **self._extra_state()}
        wer = metrics.get("dev_wer")
        best = state.get("best")
        is_best = wer is not None and (best is None or wer <= best["dev_wer"])  # ties: the later, better-fit one
        self._save([name, "best"] if is_best else [name], ckpt_state)
        if is_best:
            best = {"epoch": done, "dev_wer": wer, "dev_cer": metrics.get("dev_cer")}
        history = [h for h in state.get("history", []) if h["epoch"] < done]
        history.append({"epoch": done, **metrics})
        run_state = {"epoch": done, "step": 0, "last": name, "best": best, "history": history}
        if "skipped_steps" in ckpt_state:
            run_state["skipped_steps"] = ckpt_state["skipped_steps"]
        self.run.write_state(run_state)
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


class RunLog(keras.callbacks.CSVLogger):
    """``log.csv``: Keras' CSV logger, appending; a resumed run keeps the columns of the file
    it appends to (a run started by an older edgeasr has no ``skipped_steps`` column, and
    rows with one more value would not line up with its header)."""

    def __init__(self, path):
        super().__init__(str(path), append=True)
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        if self.keys is None and not self.append_header and self.path.exists():
            with self.path.open(newline="") as handle:
                header = next(csv.reader(handle), [])
            if header:
                self.keys = [k for k in header if k != "epoch"]
        super().on_epoch_end(epoch, logs)
