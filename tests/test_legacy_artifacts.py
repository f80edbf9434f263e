"""Runs and .tflite files written by edgeasr 0.1 (before the encoder registry and the training
config sections) still load, rebuild the same model and compute the same log-probabilities.

Fixtures: tests/fixtures/legacy_v1/ (see its README.md).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from edgeasr.models.config import ModelConfig
from edgeasr.runs import RunDirectory, build_model, load_model, restore_checkpoint
from edgeasr.training.config import TrainConfig
from edgeasr_device import Recognizer, read_metadata

LEGACY = Path(__file__).parent / "fixtures" / "legacy_v1"
RUNS = {"tiny": "run-tiny", "deepspeech-tiny": "run-deepspeech-tiny"}


def _log_probs(model, wave: np.ndarray) -> np.ndarray:
    logits = np.asarray(model.predict_on_batch(wave[None]))[0].astype(np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


@pytest.fixture
def legacy_run(tmp_path, request) -> Path:
    """A copy of a legacy run folder (nothing may write into the fixtures)."""
    return Path(shutil.copytree(LEGACY / RUNS[request.param], tmp_path / RUNS[request.param]))


@pytest.mark.parametrize("legacy_run", list(RUNS), indirect=True)
def test_legacy_run_loads_and_computes_the_saved_log_probs(legacy_run):
    preset = legacy_run.name.removeprefix("run-")
    old = json.loads((legacy_run / "run.json").read_text())
    model, info = load_model(legacy_run)
    assert info.model.name == preset and info.model.encoder.kind == old["model"]["encoder"]
    # the encoder's options are the ones of the 0.1 section the model used
    kind = old["model"]["encoder"]
    assert json.loads(json.dumps(info.model.encoder.to_dict())) == {"kind": kind,
                                                                    **old["model"][kind]}
    # flat 0.1 training options land in their sections with the same values
    flat = old["train"]
    train = TrainConfig.from_dict(info.train)
    assert (train.epochs, train.optim.learning_rate) == (flat["epochs"], flat["learning_rate"])
    assert train.checkpoint.keep == flat["keep_checkpoints"]
    assert train.data.batch_size == flat["batch_size"]
    assert TrainConfig.from_dict(train.to_dict()) == train

    # a model rebuilt from the migrated config takes every saved weight, none skipped
    rebuilt = build_model(info.model, info.vocabulary)
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns when it skips a saved variable
        restore_checkpoint(rebuilt, RunDirectory(legacy_run).resolve_checkpoint("best"),
                           with_optimizer=False)
    for a, b in zip(rebuilt.weights, model.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    wave = np.load(LEGACY / "input.npy")
    expected = np.load(LEGACY / f"{preset}-logprobs.npy")
    np.testing.assert_allclose(_log_probs(model, wave), expected, atol=1e-4)
    np.testing.assert_allclose(_log_probs(rebuilt, wave), expected, atol=1e-4)


@pytest.mark.parametrize("preset", list(RUNS))
def test_legacy_tflite_metadata_and_log_probs(preset):
    path = LEGACY / f"{preset}-float32.tflite"
    metadata = read_metadata(path)
    config = ModelConfig.from_dict(metadata.model)
    run_config = RunDirectory(LEGACY / RUNS[preset]).read_info().model
    assert config == run_config
    assert metadata.frame_duration == pytest.approx(config.frame_seconds)
    assert metadata.frontend == json.loads(json.dumps(config.to_dict()["frontend"]))
    wave = np.load(LEGACY / "input.npy")
    expected = np.load(LEGACY / f"{preset}-logprobs.npy")
    log_probs = Recognizer(str(path)).log_probs(wave)
    np.testing.assert_allclose(log_probs, expected, atol=1e-4)


@pytest.mark.parametrize("legacy_run", ["tiny"], indirect=True)
def test_legacy_run_exports(legacy_run, tmp_path):
    from click.testing import CliRunner

    from edgeasr.cli import main

    out = tmp_path / "again.tflite"
    result = CliRunner().invoke(main, ["export", "--run", str(legacy_run), "--out", str(out),
                                       "--quantize", "float32"])
    assert result.exit_code == 0, result.output
    metadata = read_metadata(out)
    assert ModelConfig.from_dict(metadata.model) == RunDirectory(legacy_run).read_info().model
    assert metadata.model["encoder"]["kind"] == "conv"  # written in today's layout
    wave = np.load(LEGACY / "input.npy")
    np.testing.assert_allclose(Recognizer(str(out)).log_probs(wave),
                               np.load(LEGACY / "tiny-logprobs.npy"), atol=1e-4)
