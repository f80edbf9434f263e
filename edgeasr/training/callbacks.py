"""Per-epoch dev evaluation and checkpointing callbacks."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence

import keras

from edgeasr.data.batches import Example
from edgeasr.evaluation.decode import transcribe_examples
from edgeasr.evaluation.metrics import error_rates
from edgeasr.training.run import RunDirectory, save_checkpoint
from edgeasr_device.vocab import Vocabulary


class DevEvaluation(keras.callbacks.Callback):
    """Adds ``dev_wer``, ``dev_cer`` and ``lr`` to the epoch logs (so CSV/TensorBoard get them)."""

    def __init__(self, examples: Sequence[Example], vocabulary: Vocabulary,
                 batch_size: int, echo: Callable[[str], None] = print):
        super().__init__()
        self.examples = list(examples)
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
        transcripts = transcribe_examples(self.model, self.examples, self.vocabulary, self.batch_size)
        rates = error_rates([e.text for e in self.examples], [t.text for t in transcripts])
        logs["dev_wer"], logs["dev_cer"] = rates.wer, rates.cer
        logs["epoch_seconds"] = time.monotonic() - self._started
        self.echo(
            f"epoch {epoch + 1}: loss {logs.get('loss', float('nan')):.3f}  "
            f"dev WER {100 * rates.wer:.2f}%  CER {100 * rates.cer:.2f}%  "
            f"({rates.exact}/{rates.utterances} exact, {logs['epoch_seconds']:.0f} s)"
        )


class Checkpointer(keras.callbacks.Callback):
    """Saves ``epoch-NNNN`` every epoch, ``best`` on the lowest dev WER so far; prunes old epochs.

    Each checkpoint folder is written to a temporary name and renamed into place, and
    ``state.json`` is replaced atomically after it, so an interruption at any moment leaves
    the last complete checkpoint usable by ``--resume``.
    """

    def __init__(self, run: RunDirectory, keep: int = 3, stop_at_dev_wer: float | None = None):
        super().__init__()
        self.run = run
        self.keep = keep
        self.stop_at_dev_wer = stop_at_dev_wer

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        state = self.run.read_state()
        done = epoch + 1
        name = f"epoch-{done:04d}"
        metrics = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float))}
        ckpt_state = {"epoch": done, "metrics": metrics}
        info = self.run.read_info()
        save_checkpoint(self.model, self.run.checkpoint_dir(name), ckpt_state, info)
        wer = metrics.get("dev_wer")
        best = state.get("best")
        if wer is not None and (best is None or wer <= best["dev_wer"]):  # ties: the later, better-fit one
            save_checkpoint(self.model, self.run.checkpoint_dir("best"), ckpt_state, info)
            best = {"epoch": done, "dev_wer": wer, "dev_cer": metrics.get("dev_cer")}
        history = [h for h in state.get("history", []) if h["epoch"] < done]
        history.append({"epoch": done, **metrics})
        self.run.write_state({"epoch": done, "last": name, "best": best, "history": history})
        self._prune(done)
        if self.stop_at_dev_wer is not None and wer is not None and wer <= self.stop_at_dev_wer:
            self.model.stop_training = True

    def _prune(self, done: int) -> None:
        folders = sorted(self.run.checkpoints.glob("epoch-*"))
        for folder in folders[: max(0, len(folders) - self.keep)]:
            shutil.rmtree(folder, ignore_errors=True)
