"""Training options: mixed precision, learning-rate schedules, gradient accumulation, an EMA
of the weights, the non-finite guard, and ``edgeasr plot``."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import struct
import types

import keras
import numpy as np
import pytest
from keras import ops

from edgeasr.errors import ConfigError, RunError
from edgeasr.models.presets import get_preset
from edgeasr.runs import RunDirectory, build_model, load_model, restore_checkpoint
from edgeasr.training import ema
from edgeasr.training.callbacks import Checkpointer
from edgeasr.training.config import OptimConfig, TrainConfig
from edgeasr.training.guard import skipped_steps
from edgeasr.training.schedule import WarmupExponentialDecay, make_optimizer
from edgeasr.training.trainer import train
from edgeasr_device.vocab import Vocabulary


def _config(epochs: int = 1, precision: str = "float32", **optim) -> TrainConfig:
    return TrainConfig(epochs=epochs, precision=precision,
                       optim=OptimConfig(**{"warmup_epochs": 0.0, **optim}),
                       batch_size=4, keep_checkpoints=2)


def _train(corpus, out, config: TrainConfig, repeat: int = 1, lines: list | None = None):
    manifest = corpus / "train.jsonl"
    config = config.replace(repeat=repeat)
    echo = lines.append if lines is not None else (lambda _: None)
    return train(manifest, manifest, out, get_preset("tiny"), config, echo=echo, verbose=0)


def _numpy(variables) -> list[np.ndarray]:
    return [ops.convert_to_numpy(v).copy() for v in variables]


def _log(run_dir) -> list[dict]:
    return list(csv.DictReader((run_dir / "log.csv").open()))


def _probe(run_dir):
    """The run's model with optimizer, restored from its last checkpoint as --resume does."""
    run = RunDirectory(run_dir)
    info = run.read_info()
    model = build_model(info.model, info.vocabulary)
    model.compile(optimizer=make_optimizer(TrainConfig.from_dict(info.train).optim, 1, 1))
    restore_checkpoint(model, run.resolve_checkpoint("last"))
    return model


# --- config ---------------------------------------------------------------------------------

def test_new_options_default_to_todays_behaviour_and_bad_values_are_clear():
    old = {"epochs": 3, "learning_rate": 1e-3, "optim": {"warmup_epochs": 0}}  # a 0.1/0.2 run.json
    config = TrainConfig.from_dict(old)
    assert config.precision == "float32"
    o = config.optim
    assert (o.schedule, o.accumulate_steps, o.ema, o.skip_nonfinite) == ("cosine", 1, None, True)
    every = TrainConfig.from_dict({"precision": "mixed_bfloat16", "optim": {
        "schedule": "plateau", "plateau_factor": 0.3, "plateau_patience": 4, "accumulate_steps": 4,
        "ema": 0.999, "skip_nonfinite": False, "decay_rate": 0.8}})
    assert TrainConfig.from_dict(json.loads(json.dumps(every.to_dict()))) == every
    assert every.replace(epochs=5).precision == "mixed_bfloat16"
    for bad, message in [({"precision": "fp16"}, "mixed_bfloat16"),
                         ({"optim": {"schedule": "step"}}, "cosine, exponential, plateau"),
                         ({"optim": {"accumulate_steps": 0}}, "accumulate_steps"),
                         ({"optim": {"ema": 1.5}}, "0.999"),
                         ({"optim": {"plateau_factor": 1.0}}, "plateau_factor"),
                         ({"optim": {"decay_rate": 0}}, "decay_rate"),
                         ({"optim": {"learning_rate": 0}}, "above 0"),
                         ({"optim": {"learning_rate": float("nan")}}, "above 0"),
                         ({"optim": {"ema": 0.99}, "finetune": {"init": "x", "lora_rank": 4}}, "LoRA"),
                         ({"optim": {"emma": 0.9}}, "unknown option")]:
        with pytest.raises(ConfigError, match=message):
            TrainConfig.from_dict(bad)


# --- schedules ------------------------------------------------------------------------------

def test_exponential_schedule_warms_up_then_decays_per_epoch_down_to_the_floor():
    peak, floor = 1e-3, 0.05
    schedule = WarmupExponentialDecay(peak, warmup_steps=4, steps_per_epoch=10, decay_rate=0.5,
                                      floor_fraction=floor)
    rate = lambda step: float(schedule(step))
    assert rate(0) == pytest.approx(0.01 * peak)
    assert rate(2) == pytest.approx(0.01 * peak + 0.5 * 0.99 * peak)
    assert rate(4) == pytest.approx(peak)
    keras_decay = keras.optimizers.schedules.ExponentialDecay(peak, 10, 0.5)
    for epochs_after in (0.5, 1, 2, 3):
        step = 4 + int(epochs_after * 10)
        assert rate(step) == pytest.approx(float(keras_decay(step - 4)), rel=1e-5)
        assert rate(step) == pytest.approx(peak * 0.5 ** epochs_after, rel=1e-5)
    assert rate(1000) == pytest.approx(floor * peak)
    optimizer = make_optimizer(OptimConfig(schedule="exponential", decay_rate=0.5), 10, 5)
    assert isinstance(optimizer._learning_rate, WarmupExponentialDecay)


def _plateau(optim: OptimConfig, warmup: int, per_epoch: int, state=None, rate=None):
    """A PlateauSchedule on a one-weight model, as the trainer sets it up."""
    from edgeasr.training.plateau import PlateauSchedule

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=make_optimizer(optim, per_epoch, 10), loss="mse")
    if rate is not None:  # the rate a checkpoint restores
        model.optimizer.learning_rate = rate
    batches = types.SimpleNamespace(batches_per_epoch=per_epoch, start=0)
    callback = PlateauSchedule(optim, warmup, batches, state, echo=lambda _: None)
    callback.set_model(model)
    return callback, model


def _epoch(callback, model, epoch: int, wer: float) -> list[float]:
    """One epoch's callback calls; the rate at each of its batches."""
    callback.on_train_begin()  # edgeasr's fit covers one epoch: this must not reset anything
    callback.on_epoch_begin(epoch)
    rates = []
    for batch in range(callback.batches.batches_per_epoch):
        callback.on_train_batch_begin(batch)
        rates.append(float(ops.convert_to_numpy(model.optimizer.learning_rate)))
    callback.on_epoch_end(epoch, {"dev_wer": wer})
    return rates


def test_plateau_warms_up_reduces_on_stalled_dev_wer_and_resumes_with_its_state():
    optim = OptimConfig(schedule="plateau", learning_rate=1.0, warmup_epochs=1.0,
                        plateau_factor=0.5, plateau_patience=2, min_learning_rate_fraction=0.1)
    wers = [0.9, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    callback, model = _plateau(optim, 4, 4)
    rates = [_epoch(callback, model, e, w) for e, w in enumerate(wers)]
    assert rates[0] == pytest.approx([0.01, 0.01 + 0.99 / 4, 0.01 + 0.99 / 2, 0.01 + 0.99 * 3 / 4])
    firsts = [r[0] for r in rates]
    # epoch 1 warms up (not watched); patience 2: epochs 3, 4 stall -> halved; 6, 7 -> halved...
    assert firsts == pytest.approx([0.01, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.125])
    assert all(len(set(r)) == 1 for r in rates[1:])  # after warm-up: constant within an epoch
    # interrupted after epoch 5 and resumed from the checkpointed rate and state: the same rates
    callback, model = _plateau(optim, 4, 4)
    for e, w in enumerate(wers[:5]):
        _epoch(callback, model, e, w)
    state = json.loads(json.dumps(callback.checkpoint_state()))  # through state.json
    saved_rate = float(ops.convert_to_numpy(model.optimizer.learning_rate))
    callback, model = _plateau(optim, 4, 4, state, saved_rate)
    resumed = [_epoch(callback, model, e, w)[0] for e, w in enumerate(wers[5:], start=5)]
    assert resumed == pytest.approx(firsts[5:])
    # without the state, the resumed run would have reduced later
    callback, model = _plateau(optim, 4, 4, None, saved_rate)
    fresh = [_epoch(callback, model, e, w)[0] for e, w in enumerate(wers[5:], start=5)]
    assert fresh != pytest.approx(firsts[5:])


@pytest.fixture(scope="module")
def plateau_run(speech_corpus, tmp_path_factory):
    """Plateau schedule, patience 1: two epochs, then resumed for a third."""
    out = tmp_path_factory.mktemp("plateau") / "run"
    _train(speech_corpus, out, _config(2, schedule="plateau", plateau_patience=1))
    train(None, None, out, train_config=TrainConfig(epochs=3), resume=True,
          echo=lambda _: None, verbose=0)
    return out


def test_plateau_run_checkpoints_its_state_and_the_resumed_rates_follow_dev_wer(plateau_run):
    rows = _log(plateau_run)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    run = RunDirectory(plateau_run)
    state = json.loads((run.checkpoint_dir("epoch-0003") / "state.json").read_text())
    assert set(state["plateau"]) == {"best", "wait", "cooldown_counter"}
    # replay the logged dev WERs through one uninterrupted callback: the same rates
    callback, model = _plateau(TrainConfig.from_dict(run.read_info().train).optim, 0, 1)
    expected = [_epoch(callback, model, e, float(r["dev_wer"]))[0] for e, r in enumerate(rows)]
    assert [float(r["lr"]) for r in rows] == pytest.approx(expected, rel=1e-6)
    assert callback.checkpoint_state() == pytest.approx(state["plateau"])


# --- gradient accumulation ------------------------------------------------------------------

def _frozen_norm_model(optim: OptimConfig):
    """The tiny preset with batch norm in inference mode (batch statistics would make a batch
    of 4 differ from two of 2), seeded the same every time."""
    from edgeasr.models.adapters.naming import named_layers

    model = build_model(get_preset("tiny"), Vocabulary.english(), seed=0)
    for layer in named_layers(model).values():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    model.compile(optimizer=make_optimizer(optim, 100, 1), run_eagerly=True)  # no tracing
    return model


def test_accumulating_two_batches_updates_like_one_batch_of_twice_the_size():
    optim = OptimConfig(schedule="plateau", warmup_epochs=0.0, learning_rate=1e-3)
    rng = np.random.default_rng(0)  # equal-length utterances: noise audio, 4 labels each
    x = {"audio": rng.normal(0, 0.1, (4, 8000)).astype("float32"),
         "audio_lengths": np.full(4, 8000, "int32")}
    y = {"labels": rng.integers(1, 28, (4, 4)).astype("int32"),
         "label_lengths": np.full(4, 4, "int32")}
    half = [({k: v[s] for k, v in x.items()}, {k: v[s] for k, v in y.items()})
            for s in (slice(0, 2), slice(2, 4))]
    keras.utils.set_random_seed(0)
    big = _frozen_norm_model(optim)
    start = _numpy(big.trainable_variables)
    big.train_on_batch(x, y)
    keras.utils.set_random_seed(0)
    accumulated = _frozen_norm_model(dataclasses.replace(optim, accumulate_steps=2))
    for a, b in zip(start, _numpy(accumulated.trainable_variables)):
        np.testing.assert_array_equal(a, b)
    accumulated.train_on_batch(*half[0])
    for a, b in zip(start, _numpy(accumulated.trainable_variables)):
        np.testing.assert_array_equal(a, b)  # the first batch only accumulates
    accumulated.train_on_batch(*half[1])
    changed = 0
    for before, a, b in zip(start, _numpy(big.trainable_variables),
                            _numpy(accumulated.trainable_variables)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=2e-6)
        changed += not np.allclose(before, a)
    assert changed > 0
    assert int(accumulated.optimizer.iterations) == 1 == int(big.optimizer.iterations)


# --- gradient accumulation with an EMA of the weights, through train() and --resume ---------

def test_accumulation_and_ema_through_training_checkpoints_and_resume(speech_corpus, tmp_path,
                                                                      monkeypatch):
    """4 batches (2 epochs x 2), accumulate 2, EMA 0.5.

    Accumulation: 2 updates, and the cosine reaches its floor at the last batch (a schedule
    counted in updates would be half-way there). EMA: dev WER and checkpoints use the
    averages, training goes on from the raw weights, and --resume restores both.
    """
    import edgeasr.training.callbacks as callbacks_module

    seen: dict[str, list] = {"end": [], "begin": [], "dev": []}
    original_end, original_begin = Checkpointer.on_epoch_end, Checkpointer.on_epoch_begin
    original_transcribe = callbacks_module.transcribe_corpus

    def snapshot(model):
        pairs = ema.averages(model)  # None before the optimizer is built
        return pairs and (_numpy(v for v, _ in pairs), _numpy(a for _, a in pairs))

    def on_end(self, epoch, logs=None):
        seen["end"].append(snapshot(self.model))
        original_end(self, epoch, logs)

    def on_begin(self, epoch, logs=None):
        seen["begin"].append(snapshot(self.model))
        original_begin(self, epoch, logs)

    def transcribe(model, *args, **kwargs):
        seen["dev"].append(_numpy(model.trainable_variables))
        return original_transcribe(model, *args, **kwargs)

    monkeypatch.setattr(Checkpointer, "on_epoch_end", on_end)
    monkeypatch.setattr(Checkpointer, "on_epoch_begin", on_begin)
    monkeypatch.setattr(callbacks_module, "transcribe_corpus", transcribe)
    out = tmp_path / "run"
    optim = OptimConfig(warmup_epochs=0.0, accumulate_steps=2, ema=0.5)
    _train(speech_corpus, out, TrainConfig(epochs=2, optim=optim, batch_size=4), repeat=2)

    assert int(_probe(out).optimizer.iterations) == 2
    lrs = [float(r["lr"]) for r in _log(out)]
    reference = make_optimizer(OptimConfig(warmup_epochs=0.0), 2, 2)._learning_rate
    assert lrs == pytest.approx([float(reference(2)), float(reference(4))], rel=1e-5)
    floor = optim.learning_rate * optim.min_learning_rate_fraction
    assert lrs[1] == pytest.approx(floor, rel=1e-5) and lrs[0] > 5 * floor

    raw, averages = seen["end"][-1]
    assert any(not np.allclose(r, a) for r, a in zip(raw, averages))
    saved, _ = load_model(out, "last")  # what evaluate and export read
    for a, s in zip(averages, _numpy(saved.trainable_variables)):
        np.testing.assert_array_equal(a, s)
    for a, d in zip(averages, seen["dev"][-1]):  # dev WER was measured on the averages
        np.testing.assert_array_equal(a, d)
    # epoch 2 began from epoch 1's raw weights (Keras' fit would have put the averages there)
    for r, b in zip(seen["end"][0][0], seen["begin"][1][0]):
        np.testing.assert_array_equal(r, b)

    train(None, None, out, train_config=TrainConfig(epochs=3), resume=True,
          echo=lambda _: None, verbose=0)
    resumed_raw, resumed_averages = seen["begin"][-1]
    for want, got in zip(raw + averages, resumed_raw + resumed_averages):
        np.testing.assert_array_equal(want, got)


# --- non-finite guard -----------------------------------------------------------------------

def test_a_nan_batch_is_skipped_counted_and_training_goes_on(speech_corpus, tmp_path, monkeypatch):
    from edgeasr.data.batches import SpeechBatches

    original_batch, original_end = SpeechBatches.batch, Checkpointer.on_train_batch_end
    weights, iterations = [], []

    def poisoned(self, epoch, index):
        x, *rest = original_batch(self, epoch, index)
        if (epoch, index) == (0, 1):
            x = {**x, "audio": x["audio"].copy()}
            x["audio"][0, 10] = np.nan
        return (x, *rest)

    def after_batch(self, batch, logs=None):
        weights.append(_numpy(self.model.trainable_variables))
        iterations.append(int(self.model.optimizer.iterations))
        original_end(self, batch, logs)

    monkeypatch.setattr(SpeechBatches, "batch", poisoned)
    monkeypatch.setattr(Checkpointer, "on_train_batch_end", after_batch)
    out, lines = tmp_path / "run", []
    _train(speech_corpus, out, _config(1), repeat=3, lines=lines)
    assert iterations == [1, 1, 2]  # the step of batch 2 was left out
    for a, b in zip(weights[0], weights[1]):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(weights[1], weights[2]))  # goes on
    assert all(np.isfinite(w).all() for w in weights[-1])
    rows = _log(out)
    assert int(rows[0]["skipped_steps"]) == 1
    assert math.isfinite(float(rows[0]["loss"]))  # the mean over the two steps taken
    assert math.isfinite(float(rows[0]["dev_wer"]))  # batch-norm statistics rolled back too
    state = RunDirectory(out).read_state()
    assert state["skipped_steps"] == 1 and state["history"][-1]["skipped_steps"] == 1
    assert any("skipped 1 non-finite step(s) so far" in line for line in lines)
    assert skipped_steps(_probe(out).optimizer) == 1  # saved with the optimizer state


def test_checkpoints_from_before_the_guard_still_resume(tmp_path):
    """An optimizer without the guard has Keras' own variable layout; its checkpoint loads
    into a guarded one (counter at 0)."""
    from edgeasr.runs import save_checkpoint

    vocabulary, config = Vocabulary.english(), get_preset("tiny")
    plain = build_model(config, vocabulary, seed=0)
    plain.compile(optimizer=make_optimizer(OptimConfig(skip_nonfinite=False), 2, 2))
    plain.optimizer.build(plain.trainable_variables)
    keras_own = keras.optimizers.AdamW(plain.optimizer._learning_rate)  # the same schedule
    keras_own.build(plain.trainable_variables)
    assert len(plain.optimizer.variables) == len(keras_own.variables)
    plain.optimizer.iterations.assign(7)
    save_checkpoint(plain, tmp_path / "old", {"epoch": 1})
    guarded = build_model(config, vocabulary, seed=1)
    guarded.compile(optimizer=make_optimizer(OptimConfig(), 2, 2))
    restore_checkpoint(guarded, tmp_path / "old")
    assert int(guarded.optimizer.iterations) == 7 and skipped_steps(guarded.optimizer) == 0


# --- mixed precision ------------------------------------------------------------------------

def test_mixed_bfloat16_trains_and_its_checkpoint_is_a_float32_model(speech_corpus, tmp_path):
    from edgeasr.training.precision import dtype_policy, keep_float32_frontend, with_precision

    out = tmp_path / "run"
    _train(speech_corpus, out, _config(1, precision="mixed_bfloat16"))
    assert keras.config.dtype_policy().name == "float32"  # restored after training
    assert math.isfinite(float(_log(out)[0]["loss"]))
    model, info = load_model(out, "last")
    assert {w.dtype for w in model.weights} == {"float32"}
    assert model.encoder.compute_dtype == "float32"
    with dtype_policy("mixed_bfloat16"):  # the model as it trained
        trained = build_model(info.model, info.vocabulary)
        keep_float32_frontend(trained)
    assert trained.encoder.compute_dtype == "bfloat16" and trained.frontend.compute_dtype == "float32"
    restore_checkpoint(trained, RunDirectory(out).resolve_checkpoint("last"), with_optimizer=False)
    audio = np.random.default_rng(0).normal(0, 0.1, (1, 16000)).astype("float32")
    np.testing.assert_array_equal(ops.convert_to_numpy(model.frontend(audio)),
                                  ops.convert_to_numpy(trained.frontend(audio)))
    exported, mixed = (np.asarray(m.predict_on_batch(audio)) for m in (model, trained))
    assert mixed.dtype == np.float32
    assert np.abs(exported - mixed).max() <= 0.05 * np.abs(exported).max()
    assert (exported.argmax(-1) == mixed.argmax(-1)).mean() >= 0.9

    # --resume takes the policy from run.json, whatever the caller's config says
    seen = []
    probe = with_precision(lambda out_dir, train_config=None, resume=False:
                           seen.append(keras.config.dtype_policy().name))
    probe(out, TrainConfig(epochs=2), resume=True)
    probe(out, TrainConfig(epochs=2, precision="mixed_float16"), resume=False)
    assert seen == ["mixed_bfloat16", "mixed_float16"]
    assert keras.config.dtype_policy().name == "float32"


def test_mixed_float16_scales_the_loss_with_keras_loss_scale_optimizer():
    from edgeasr.training.optimizer import AdamW

    optimizer = make_optimizer(OptimConfig(), 2, 2, precision="mixed_float16")
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert optimizer.inner_optimizer.skip_nonfinite
    assert isinstance(make_optimizer(OptimConfig(), 2, 2), AdamW)


# --- edgeasr plot ---------------------------------------------------------------------------

def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_writes_a_png_of_the_run_and_refuses_other_folders(plateau_run, tmp_path):
    from click.testing import CliRunner

    from edgeasr.cli import main
    from edgeasr.training.plot import plot_run, run_history

    history = run_history(plateau_run)
    assert [h["epoch"] for h in history] == [1, 2, 3] and all("dev_wer" in h for h in history)
    path = plot_run(plateau_run, tmp_path / "curves.png")
    width, height = _png_size(path)
    assert (width, height) == (800, 800) and path.stat().st_size > 10_000
    assert not list(tmp_path.glob(".*tmp"))  # written atomically
    result = CliRunner().invoke(main, ["plot", str(plateau_run)])
    assert result.exit_code == 0, result.output
    assert _png_size(plateau_run / "training.png") == (800, 800)
    result = CliRunner().invoke(main, ["plot", str(tmp_path)])
    assert result.exit_code == 1 and "not a training run" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "run.json").write_text((plateau_run / "run.json").read_text())
    with pytest.raises(RunError, match="no finished epoch"):
        plot_run(empty)
