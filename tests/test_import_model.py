"""`edgeasr import`: an exported .tflite back into a run whose Keras model computes the same
function, with batch norm re-parametrised from measured statistics; then fine-tuned."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from edgeasr.cli import main
from edgeasr.models.adapters.naming import leaf_layers
from edgeasr.runs import RunDirectory, load_model, save_checkpoint
from edgeasr_device.artifact import read_metadata
from edgeasr_device.audio import load_audio
from edgeasr_device.decoding import log_softmax
from edgeasr_device.model import TfliteModel
from edgeasr_device.models import packaged_model
from edgeasr_export.errors import ExportError
from edgeasr_export.exporter import export_run
from edgeasr_export.importer import calibrate_batch_norm, import_model


def _batch_norms(model):
    import keras

    return [layer for layer in leaf_layers(model).values()
            if isinstance(layer, keras.layers.BatchNormalization)]


@pytest.fixture(scope="module")
def varied_run(tiny_run, tmp_path_factory):
    """``tiny_run`` with every batch norm given its own random statistics and affine, so an
    import that mixed up layers, channels or the folding could not pass."""
    out = tmp_path_factory.mktemp("varied") / "run"
    shutil.copytree(tiny_run, out)
    model, info = load_model(out)
    rng = np.random.default_rng(0)
    for norm in _batch_norms(model):
        n = norm.gamma.shape[0]
        norm.gamma.assign(rng.uniform(0.5, 1.5, n).astype(np.float32))
        norm.beta.assign(rng.normal(0, 0.2, n).astype(np.float32))
        norm.moving_mean.assign(rng.normal(0, 0.5, n).astype(np.float32))
        norm.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype(np.float32))
    run = RunDirectory(out)
    state = run.read_state()
    save_checkpoint(model, run.resolve_checkpoint("best"), {"epoch": state["epoch"]}, info)
    return out


@pytest.fixture(scope="module")
def waves(speech_corpus):
    return [load_audio(speech_corpus / f"utt{i}.wav", 16000) for i in range(3)]


def _keras_log_probs(model, wave):
    return log_softmax(np.asarray(model(wave[None], training=False))[0])


def test_a_float32_export_imports_to_the_same_model(varied_run, waves, tmp_path):
    export_run(varied_run, tmp_path / "f32.tflite", "float32")
    report = import_model(str(tmp_path / "f32.tflite"), str(tmp_path / "imported"))
    original, _ = load_model(varied_run)
    imported, info = load_model(report.run)
    assert report.parameters == sum(int(np.prod(w.shape)) for w in original.weights)
    assert info.model == load_model(varied_run)[1].model
    for wave in waves:
        assert np.abs(_keras_log_probs(imported, wave) - _keras_log_probs(original, wave)).max() < 1e-3
    # Kernels are copied, not only the function. Export folds each batch norm's scale into
    # the conv before it, so a conv kernel comes back times that scale (per output channel);
    # a depthwise kernel (its norm follows the pointwise conv) comes back as it was.
    for a, b in zip(original.encoder.blocks, imported.encoder.blocks):
        norm = a.residual_norm
        scale = norm.gamma.numpy() / np.sqrt(norm.moving_variance.numpy() + norm.epsilon)
        np.testing.assert_allclose(b.residual.kernel.numpy(), a.residual.kernel.numpy() * scale,
                                   atol=1e-6)
        np.testing.assert_allclose(b.convs[0].depthwise_kernel.numpy(),
                                   a.convs[0].depthwise_kernel.numpy(), atol=1e-6)


@pytest.mark.parametrize("quantization,tolerance", [("float16", 0.05), ("dynamic", 0.5)])
def test_float16_and_dynamic_exports_import(varied_run, waves, tmp_path, quantization, tolerance):
    export_run(varied_run, tmp_path / "m.tflite", quantization)
    imported, _ = load_model(import_model(str(tmp_path / "m.tflite"), str(tmp_path / "i")).run)
    original, _ = load_model(varied_run)
    for wave in waves:
        delta = np.abs(_keras_log_probs(imported, wave) - _keras_log_probs(original, wave)).max()
        assert delta < tolerance


def test_an_int8_export_imports_to_its_dequantised_weights(varied_run, waves, tmp_path):
    export_run(varied_run, tmp_path / "int8.tflite", "int8")
    report = import_model(str(tmp_path / "int8.tflite"), str(tmp_path / "imported"))
    assert report.quantization == "int8"
    original, _ = load_model(varied_run)
    imported, _ = load_model(report.run)
    kernel, back = original.classifier.kernel.numpy(), imported.classifier.kernel.numpy()
    step = np.abs(kernel).max(0) / 127  # per output channel
    assert np.all(np.abs(kernel - back) <= step / 2 + 1e-6)
    lite = TfliteModel(str(tmp_path / "int8.tflite"))
    for wave in waves:
        ours, theirs = _keras_log_probs(imported, wave), lite.log_probs(wave)
        assert np.abs(np.exp(ours) - np.exp(theirs)).max() < 0.2
        assert (ours.argmax(-1) == theirs.argmax(-1)).mean() > 0.8


def test_batch_norm_calibration_keeps_the_function_and_measures_the_inputs(varied_run, waves):
    model, _ = load_model(varied_run)
    before = [_keras_log_probs(model, w) for w in waves]
    assert calibrate_batch_norm(model, waves) == len(waves)
    for wave, lp in zip(waves, before):
        assert np.abs(_keras_log_probs(model, wave) - lp).max() < 1e-3
    # input_norm sees the frontend's features: its statistics are theirs now.
    features = np.concatenate([np.asarray(model.frontend(w[None]))[0] for w in waves])
    np.testing.assert_allclose(model.encoder.input_norm.moving_mean.numpy(), features.mean(0),
                               rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(model.encoder.input_norm.moving_variance.numpy(), features.var(0),
                               rtol=1e-2, atol=1e-3)


def test_cli_imports_with_calibration_and_the_run_fine_tunes(varied_run, speech_corpus, tmp_path):
    export_run(varied_run, tmp_path / "int8.tflite", "int8")
    manifest = str(speech_corpus / "train.jsonl")
    runner = CliRunner()
    result = runner.invoke(main, ["import", str(tmp_path / "int8.tflite"), "--out",
                                  str(tmp_path / "imported"), "--calibration", manifest])
    assert result.exit_code == 0, result.output
    assert "measured on" in result.output and "note:" not in result.output
    record = json.loads((tmp_path / "imported" / "imported.json").read_text())
    assert record["quantization"] == "int8" and record["calibration_utterances"] > 0
    again = runner.invoke(main, ["import", str(tmp_path / "int8.tflite"), "--out",
                                 str(tmp_path / "imported")])
    assert again.exit_code != 0 and "already holds a run" in again.output
    tuned = runner.invoke(main, ["train", "--init", str(tmp_path / "imported"), "--train", manifest,
                                 "--dev", manifest, "--out", str(tmp_path / "tuned"),
                                 "--epochs", "1", "--batch-size", "4"])
    assert tuned.exit_code == 0, tuned.output
    assert RunDirectory(tmp_path / "tuned").read_state()["epoch"] == 1


def test_streaming_exports_are_refused_with_what_to_do(tiny_run, tmp_path):
    export_run(tiny_run, tmp_path / "s.tflite", "float32", streaming=True)
    with pytest.raises(ExportError, match="streaming.*without --streaming"):
        import_model(str(tmp_path / "s.tflite"), str(tmp_path / "imported"))


def test_the_packaged_starter_model_imports(speech_corpus, tmp_path):
    report = import_model(str(packaged_model("en-starter")), str(tmp_path / "starter"))
    margin = read_metadata(packaged_model("en-starter").read_bytes()).margin
    assert margin > 0 and any(f"--margin {margin:g}" in note for note in report.notes)
    assert json.loads((report.run / "imported.json").read_text())["margin"] == margin
    model, info = load_model(report.run)
    assert info.model.name == "small" and report.parameters == 1_329_309
    lite = TfliteModel(str(packaged_model("en-starter")))
    wave = load_audio(speech_corpus / "utt0.wav", 16000)
    ours, theirs = _keras_log_probs(model, wave), lite.log_probs(wave)
    assert (ours.argmax(-1) == theirs.argmax(-1)).mean() > 0.8
