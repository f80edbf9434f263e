"""Training runs: checkpoints, logs, the best-by-WER copy, refusal to clobber, resume."""

from __future__ import annotations

import csv
import itertools
import json

import numpy as np
import pytest

from edgeasr.errors import RunError
from edgeasr.models.presets import get_preset
from edgeasr.runs import RunDirectory, load_model
from edgeasr.training.config import TrainConfig
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
    from edgeasr.training.schedule import make_optimizer

    info = run.read_info()
    optim = TrainConfig.from_dict(info.train).optim
    probe = build_model(info.model, info.vocabulary)
    probe.compile(optimizer=make_optimizer(optim, 1, 3))
    restore_checkpoint(probe, run.checkpoint_dir("epoch-0003"))
    assert int(probe.optimizer.iterations.numpy()) == 3


def test_resume_without_a_run_is_a_clear_error(tmp_path):
    with pytest.raises(RunError, match="not a training run"):
        train(None, None, tmp_path / "nothing", resume=True, echo=lambda _: None, verbose=0)


def test_load_model_gives_the_saved_weights(tiny_run):
    model, _ = load_model(tiny_run, "best")
    again, _ = load_model(tiny_run, "epoch-0001")
    for a, b in zip(model.weights, again.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(RunError, match=r"no 'epoch-0099' checkpoint; choose one of: best, "
                                       r"epoch-0001 \(or 'last'\)"):
        load_model(tiny_run, "epoch-0099")


def test_resume_mid_epoch_matches_an_uninterrupted_run(speech_corpus, tmp_path, monkeypatch):
    """Killed after batch 2 of epoch 2 (partial checkpoints every batch), then resumed: the
    final weights equal those of a run that was never interrupted."""
    from edgeasr.training.callbacks import Checkpointer

    options = {"epochs": 3, "repeat": 3, "checkpoint_every_steps": 1, "checkpoint_every_minutes": 0}
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
    train_options = RunDirectory(tmp_path / "aug").read_info().train
    assert TrainConfig.from_dict(train_options).data.augment == "default"


def _lrs(run_dir) -> list[float]:
    return [float(r["lr"]) for r in csv.DictReader((run_dir / "log.csv").open())]


def test_resume_with_more_epochs_continues_the_learning_rate(speech_corpus, tmp_path):
    """A finished run resumed with --epochs 4: the rate stays where the decay had brought it
    (0.1 restarted the schedule: 0.0001 jumped back to 0.0015)."""
    from edgeasr.runs import read_checkpoint_state
    from edgeasr.training.schedule import ContinuedCosineDecay, Segment

    out = tmp_path / "run"
    _train(speech_corpus, out, epochs=2, repeat=3)  # 3 steps per epoch, no warm-up
    optim = TrainConfig.from_dict(RunDirectory(out).read_info().train).optim
    train(None, None, out, train_config=TrainConfig(epochs=4), resume=True,
          echo=lambda _: None, verbose=0)
    peak = optim.learning_rate
    lrs = _lrs(out)
    assert len(lrs) == 4 and lrs[2] <= 1.5 * lrs[1] and lrs[2] < 0.1 * peak
    # step by step: the rate of the first step after the resume vs the last one before it
    state = read_checkpoint_state(RunDirectory(out).checkpoint_dir("epoch-0004"))
    assert [Segment.from_dict(s) for s in state["schedule"]] == [Segment(0, 6), Segment(6, 12)]
    continued = ContinuedCosineDecay(optim.learning_rate, 0, optim.min_learning_rate_fraction,
                                     [Segment.from_dict(s) for s in state["schedule"]])
    last_before, first_after = float(continued(5)), float(continued(6))
    assert last_before / 3 <= first_after <= last_before  # 0.1 gave 4.6 x last_before here


def test_schedule_continues_mid_decay_and_is_unchanged_for_a_fresh_run():
    import keras

    from edgeasr.training.config import OptimConfig
    from edgeasr.training.schedule import (
        ContinuedCosineDecay,
        Segment,
        continue_segments,
    )

    optim = OptimConfig(learning_rate=2e-3, min_learning_rate_fraction=0.05)
    fresh = ContinuedCosineDecay(2e-3, 4, 0.05, [Segment(0, 40)])
    reference = keras.optimizers.schedules.CosineDecay(2e-5, 36, alpha=0.05, warmup_target=2e-3,
                                                       warmup_steps=4)
    for step in (0, 2, 4, 10, 39, 40, 60):
        assert float(fresh(step)) == pytest.approx(float(reference(step)), rel=1e-6)
    # resumed at step 20 of 40 with a new total of 80 steps
    segments = continue_segments([Segment(0, 40)], 20, 80, warmup=4)
    assert segments == (Segment(0, 40), Segment(20, 80))
    resumed = ContinuedCosineDecay(2e-3, 4, 0.05, segments)
    rates = [float(resumed(step)) for step in range(81)]
    assert rates[20] == pytest.approx(float(fresh(20)), rel=1e-6)  # no jump at the resume
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(rates[4:]))  # decays monotonically
    assert rates[80] == pytest.approx(optim.learning_rate * optim.min_learning_rate_fraction)
    assert rates[50] > float(fresh(50))  # the rest of the decay is stretched over 80 steps
    # resumed still inside the warm-up: nothing decayed yet, the first segment just grows
    assert continue_segments([Segment(0, 40)], 3, 80, warmup=4) == (Segment(0, 80),)
    assert continue_segments(segments, 30, 80, warmup=4) == segments  # same total


def test_resume_of_a_finished_run_says_so(tiny_run):
    lines: list[str] = []
    result = train(None, None, tiny_run, resume=True, echo=lines.append, verbose=0)
    assert result.epochs_done == 1
    assert any("already finished 1 of 1 epochs" in line for line in lines)
    assert not any("resuming" in line for line in lines)


def test_sigterm_mid_epoch_saves_a_checkpoint_and_resume_continues_from_it(speech_corpus, tmp_path):
    """A real `edgeasr train` process, SIGTERM during its (long) first epoch."""
    import os
    import signal
    import subprocess
    import sys
    import time

    manifest = str(speech_corpus / "train.jsonl")
    out = tmp_path / "run"
    (tmp_path / "c.yaml").write_text(
        "preset: tiny\ntrain:\n  epochs: 1\n  optim: {warmup_epochs: 0}\n"
        "  data: {batch_size: 4, repeat: 200}\n  checkpoint: {every_minutes: 0}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "edgeasr.cli", "train", "--train", manifest, "--dev", manifest,
         "--out", str(out), "--config", str(tmp_path / "c.yaml")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    output = []
    try:
        for line in process.stdout:
            output.append(line)
            if line.startswith("training tiny"):
                break
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=300)
    finally:
        process.kill()
    output.append(rest)
    text = "".join(output)
    assert process.returncode == 128 + signal.SIGTERM, text
    state = RunDirectory(out).read_state()
    assert state["last"] == "partial" and state["epoch"] == 0 and 1 <= state["step"] < 200, text
    assert (out / "checkpoints" / "partial" / "model.weights.h5").exists()
    assert not list((out / "checkpoints").glob("epoch-*"))
    assert "stopped by SIGTERM in epoch 1 after batch" in text and "--resume" in text

    lines: list[str] = []
    result = train(None, None, out, resume=True, echo=lines.append, verbose=0)
    assert f"resuming {out} at epoch 1, batch {state['step'] + 1}" in lines
    assert result.epochs_done == 1 and result.stopped_by is None
    assert not (out / "checkpoints" / "partial").exists()
