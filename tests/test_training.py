"""Training runs: checkpoints, logs, the best-by-WER copy, refusal to clobber, resume."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from edgeasr.models.presets import get_preset
from edgeasr.training.config import TrainConfig
from edgeasr.errors import RunError
from edgeasr.runs import RunDirectory, load_model
from edgeasr.training.trainer import train


def _train(corpus, out, **options):
    manifest = corpus / "train.jsonl"
    config = TrainConfig(batch_size=4, warmup_epochs=0, keep_checkpoints=2, **options)
    return train(manifest, manifest, out, get_preset("tiny"), config, echo=lambda _: None, verbose=0)


def test_run_directory_contents(tiny_run):
    run = RunDirectory(tiny_run)
    info = run.read_info()
    assert info.model.name == "tiny" and info.vocabulary.size == info.model.vocab_size
    state = run.read_state()
    assert state["epoch"] == 1 and state["last"] == "epoch-0001"
    assert state["best"]["epoch"] == 1
    for name in ("epoch-0001", "best"):
        folder = run.checkpoint_dir(name)
        assert (folder / "model.weights.h5").exists() and (folder / "state.json").exists()
        saved = json.loads((folder / "run.json").read_text())  # self-describing
        assert saved == json.loads(json.dumps(info.to_dict()))
    rows = list(csv.DictReader((tiny_run / "log.csv").open()))
    assert len(rows) == 1 and {"loss", "dev_wer", "dev_cer", "lr"} <= set(rows[0])
    assert 0.0 <= float(rows[0]["dev_wer"])
    assert any((tiny_run / "tensorboard").rglob("events.out.tfevents.*"))
    assert json.loads((tiny_run / "skipped.json").read_text()) == {"train": [], "dev": []}


def test_existing_run_is_not_overwritten(tiny_run, speech_corpus):
    with pytest.raises(RunError, match="--resume"):
        _train(speech_corpus, tiny_run, epochs=1)


def test_interrupted_run_resumes_where_it_stopped(speech_corpus, tmp_path):
    """Two epochs, then 'interrupted'; --resume runs epoch 3 only, from the saved state."""
    out = tmp_path / "run"
    _train(speech_corpus, out, epochs=2)
    run = RunDirectory(out)
    model_before, _ = load_model(out, "last")
    weights_before = [np.asarray(w).copy() for w in model_before.weights]
    result = train(None, None, out, train_config=TrainConfig(epochs=3), resume=True,
                   echo=lambda _: None, verbose=0)
    assert result.epochs_done == 3
    state = run.read_state()
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3]
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    # keep_checkpoints=2: epoch-0001 was pruned
    assert sorted(p.name for p in run.checkpoints.glob("epoch-*")) == ["epoch-0002", "epoch-0003"]
    after, _ = load_model(out, "last")
    changed = [not np.allclose(a, np.asarray(b)) for a, b in zip(weights_before, after.weights)]
    assert any(changed)
    # the optimizer's step counter continued instead of restarting (1 step per epoch here)
    from edgeasr.runs import build_model, restore_checkpoint
    from edgeasr.training.trainer import _optimizer

    info = run.read_info()
    probe = build_model(info.model, info.vocabulary)
    probe.compile(optimizer=_optimizer(info.train, steps_per_epoch=1))
    restore_checkpoint(probe, run.checkpoint_dir("epoch-0003"))
    assert int(probe.optimizer.iterations.numpy()) == 3


def test_resume_without_a_run_is_a_clear_error(tmp_path):
    with pytest.raises(RunError, match="not a training run"):
        train(None, None, tmp_path / "nothing", resume=True, echo=lambda _: None, verbose=0)


def test_load_model_gives_the_saved_weights(tiny_run):
    model, info = load_model(tiny_run, "best")
    again, _ = load_model(tiny_run, "epoch-0001")
    for a, b in zip(model.weights, again.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(RunError, match="no 'epoch-0099' checkpoint"):
        load_model(tiny_run, "epoch-0099")


def test_resume_mid_epoch_matches_an_uninterrupted_run(speech_corpus, tmp_path, monkeypatch):
    """Killed after batch 2 of epoch 2 (partial checkpoints every batch), then resumed: the
    final weights equal those of a run that was never interrupted."""
    from edgeasr.training.callbacks import Checkpointer

    options = dict(epochs=3, repeat=3, checkpoint_every_steps=1, checkpoint_every_minutes=0)
    _train(speech_corpus, tmp_path / "straight", **options)

    original = Checkpointer.on_train_batch_end

    def interrupt(self, batch, logs=None):
        original(self, batch, logs)
        if self._epoch == 1 and self.batches.start + batch + 1 == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(Checkpointer, "on_train_batch_end", interrupt)
    with pytest.raises(KeyboardInterrupt):
        _train(speech_corpus, tmp_path / "broken", **options)
    state = RunDirectory(tmp_path / "broken").read_state()
    assert (state["last"], state["epoch"], state["step"]) == ("partial", 1, 2)
    monkeypatch.setattr(Checkpointer, "on_train_batch_end", original)
    train(None, None, tmp_path / "broken", resume=True, echo=lambda _: None, verbose=0)

    a, _ = load_model(tmp_path / "straight", "last")
    b, _ = load_model(tmp_path / "broken", "last")
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(np.asarray(wa), np.asarray(wb), rtol=1e-4, atol=1e-5)
    assert not (tmp_path / "broken" / "checkpoints" / "partial").exists()


def test_training_with_augmentation_and_worker_processes(speech_corpus, tmp_path):
    """The YAML-style augmentation dict reaches the loader; two loader processes train."""
    from edgeasr.training.trainer import make_augmenter

    assert make_augmenter(None, 16000, 0) is None and make_augmenter("none", 16000, 0) is None
    custom = make_augmenter({"speed": {"p": 1.0, "factor": [1.1, 1.1]}, "pitch": "off",
                             "stretch": "off", "noise": "off", "reverb": "off",
                             "band_limit": "off", "gain": "off", "time_shift": "off"}, 16000, 0)
    assert custom(np.zeros(11000, np.float32), key=(0, 1)).shape[0] == pytest.approx(10000, abs=3)
    with pytest.raises(ValueError, match="spede"):
        make_augmenter({"spede": {"p": 1.0}}, 16000, 0)
    result = _train(speech_corpus, tmp_path / "aug", epochs=1, augment="default", loader_workers=2)
    assert result.epochs_done == 1
    assert RunDirectory(tmp_path / "aug").read_info().train.augment == "default"
