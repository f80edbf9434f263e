"""Export: builtin ops only, embedded metadata the device reads, Keras/TFLite parity."""

from __future__ import annotations

import numpy as np
import pytest

from edgeasr.models.config import ModelConfig
from edgeasr.runs import load_model
from edgeasr_device.artifact import FORMAT_VERSION, ArtifactMetadata, read_metadata
from edgeasr_device.decoding import log_softmax
from edgeasr_device.errors import ArtifactError
from edgeasr_device.model import TfliteModel
from edgeasr_device.recognizer import Recognizer
from edgeasr_export.convert import convert
from edgeasr_export.errors import ExportError
from edgeasr_export.exporter import export_run
from edgeasr_export.ops import check_builtin_ops
from edgeasr_export.parity import check_parity


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    return {q: export_run(tiny_run, out / f"{q}.tflite", q) for q in ("float32", "dynamic", "int8")}


def test_float32_export_matches_keras(exported, tiny_run):
    report = exported["float32"]
    assert report.parity.max_abs_delta < 1e-3
    assert report.parity.transcript_agreement == 1.0
    assert "RFFT2D" in report.ops and not any(op.startswith("CUSTOM") for op in report.ops)


def test_quantised_exports_are_smaller_and_close(exported):
    size = {q: r.size_bytes for q, r in exported.items()}
    assert size["dynamic"] < 0.6 * size["float32"] and size["int8"] < 0.6 * size["float32"]
    for q in ("dynamic", "int8"):
        assert exported[q].parity.argmax_agreement > 0.8, exported[q].parity


def test_metadata_travels_with_the_file(exported, tiny_run):
    _, info = load_model(tiny_run)
    metadata = read_metadata(exported["int8"].path)
    assert metadata.vocabulary == info.vocabulary
    assert metadata.sample_rate == 16000
    assert metadata.quantization == "int8"
    assert metadata.frame_duration == pytest.approx(info.model.frame_seconds)
    assert ModelConfig.from_dict(metadata.model) == info.model


def test_device_recognizer_runs_the_export(exported, speech_corpus):
    recognizer = Recognizer(exported["int8"].path)
    result = recognizer.transcribe(speech_corpus / "utt0.wav")
    assert isinstance(result.text, str) and 0.0 <= result.confidence <= 1.0
    samples = (np.sin(np.arange(8000) / 5) * 8000).astype(np.int16)
    lp = recognizer.log_probs(recognizer.waveform(samples, sample_rate=8000))
    assert lp.shape[1] == 29 and np.allclose(np.exp(lp).sum(-1), 1.0, atol=1e-3)


def test_runtime_refuses_a_file_without_metadata(tiny_run, tmp_path):
    model, _ = load_model(tiny_run)
    bare = tmp_path / "bare.tflite"
    bare.write_bytes(convert(model, "float32"))
    with pytest.raises(ArtifactError, match="no edgeasr metadata"):
        Recognizer(bare)


def test_int8_needs_calibration(tiny_run):
    model, _ = load_model(tiny_run)
    with pytest.raises(ExportError, match="calibration"):
        convert(model, "int8", calibration=[])


def test_flex_ops_are_refused():
    tf = pytest.importorskip("tensorflow")

    @tf.function(input_signature=[tf.TensorSpec([4], tf.float32)])
    def uses_flex(x):
        return tf.linalg.inv(tf.reshape(x, [2, 2]))  # MatrixInverse: a Flex op, no builtin kernel

    converter = tf.lite.TFLiteConverter.from_concrete_functions([uses_flex.get_concrete_function()])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    content = converter.convert()
    with pytest.raises(ExportError, match="FlexMatrixInverse"):
        check_builtin_ops(content)




def test_parity_runs_the_device_loop_so_short_audio_works(exported, tiny_run):
    """Parity feeds the TFLite file through TfliteModel (short audio padded to one analysis
    frame) and gives Keras the same padded waveform."""
    model, info = load_model(tiny_run)
    content = exported["float32"].path.read_bytes()
    rng = np.random.default_rng(3)
    short = (rng.standard_normal(300) * 0.1).astype(np.float32)  # < n_fft = 512 samples
    normal = (rng.standard_normal(16000) * 0.1).astype(np.float32)
    report = check_parity(model, content, [short, normal], info.vocabulary)
    assert report.utterances == 2
    assert report.max_abs_delta < 1e-3 and report.transcript_agreement == 1.0
    lite = TfliteModel(content)
    assert lite.log_probs(short).shape == (1, info.vocabulary.size)
    np.testing.assert_array_equal(lite.log_probs(short), Recognizer(exported["float32"].path)
                                  .log_probs(short))


def test_deepspeech_lstm_graph_exports_with_parity():
    """The DeepSpeech shape (context window, clipped ReLU, LSTM -> WHILE loop) converts to
    builtin ops and matches Keras in float32."""
    from edgeasr.models.presets import get_preset
    from edgeasr.runs import build_model
    from edgeasr_device.vocab import Vocabulary
    from edgeasr_export.ops import list_ops

    vocabulary = Vocabulary.english()
    model = build_model(get_preset("deepspeech-tiny"), vocabulary)
    content = convert(model, "float32")
    assert "WHILE" in list_ops(content)
    audio = (np.random.default_rng(0).standard_normal(12000) * 0.1).astype(np.float32)
    lite = TfliteModel(content, metadata=_bare_metadata(model, vocabulary)).log_probs(audio)
    reference = log_softmax(np.asarray(model.predict_on_batch(audio[None]))[0])
    np.testing.assert_allclose(lite, reference, atol=1e-3)


def _bare_metadata(model, vocabulary) -> ArtifactMetadata:
    """What export would embed, for a graph converted without metadata."""
    config = model.config.to_dict()
    return ArtifactMetadata(format_version=FORMAT_VERSION, edgeasr_version="test",
                            vocabulary=vocabulary, sample_rate=model.config.frontend.sample_rate,
                            frame_duration=model.config.frame_seconds, frontend=config["frontend"],
                            model=config, quantization="float32", created="")


def test_the_margin_is_written_into_the_file_and_used_by_default(tiny_run, tmp_path):
    """`edgeasr export --margin S`: the device decodes the file between S seconds of silence
    unless told otherwise; a file exported without it decodes as given."""
    from click.testing import CliRunner

    from edgeasr.cli import main

    out = tmp_path / "m.tflite"
    result = CliRunner().invoke(main, ["export", "--run", str(tiny_run), "--out", str(out),
                                       "--quantize", "float32", "--margin", "0.25"])
    assert result.exit_code == 0, result.output
    assert "margin: 0.25 s" in result.output
    assert read_metadata(out).margin == 0.25
    assert Recognizer(out).margin == 0.25 and Recognizer(out, margin=0).margin == 0.0
    bad = CliRunner().invoke(main, ["export", "--run", str(tiny_run), "--out", str(out),
                                    "--margin", "9"])
    assert bad.exit_code == 2 and "--margin" in bad.output
    with pytest.raises(ExportError, match="margin"):
        export_run(tiny_run, tmp_path / "x.tflite", "float32", margin=-1)
