"""Streaming export: the chunked graph computes what the whole-utterance model computes."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from support import REPO

from edgeasr.models.encoders import ConvEncoderConfig, DeepSpeechConfig
from edgeasr.models.presets import get_preset
from edgeasr.runs import build_model
from edgeasr_device.artifact import STREAMING_FORMAT_VERSION, read_metadata
from edgeasr_device.decoding import log_softmax
from edgeasr_device.model import TfliteModel
from edgeasr_device.recognizer import Recognizer
from edgeasr_device.streaming_model import StreamingTfliteModel
from edgeasr_device.vocab import Vocabulary
from edgeasr_export.convert import export_mode
from edgeasr_export.errors import ExportError
from edgeasr_export.exporter import export_run
from edgeasr_export.ranges import output_scales
from edgeasr_export.streaming import keras_runner, streaming_spec

LEGACY_RUN = REPO / "tests" / "fixtures" / "legacy_v1" / "run-tiny"
VOCAB = Vocabulary.english()


def chunked(model, spec, audio: np.ndarray, block: int) -> np.ndarray:
    runner = keras_runner(model, spec)
    parts = [runner.feed(audio[i:i + block]) for i in range(0, audio.shape[0], block)]
    parts.append(runner.finish())
    return np.concatenate([p for p in parts if p.shape[0]])


@pytest.mark.parametrize("encoder", [
    ConvEncoderConfig(channels=8, prologue_kernel=11, stride=2, kernel_sizes=(5, 7), repeat=2,
                      epilogue_channels=8),
    ConvEncoderConfig(channels=8, prologue_kernel=7, stride=3, kernel_sizes=(4, 3), repeat=1,
                      epilogue_channels=8),
    ConvEncoderConfig(channels=8, prologue_kernel=6, stride=1, kernel_sizes=(9,), repeat=3,
                      epilogue_channels=8),
    DeepSpeechConfig(width=16, context=3),
    DeepSpeechConfig(width=8, context=0),
], ids=["stride2", "stride3-even-kernel", "stride1", "lstm", "lstm-no-context"])
def test_chunked_keras_graph_equals_whole_utterance(encoder):
    config = get_preset("tiny").replace(encoder=encoder, vocab_size=VOCAB.size)
    model = build_model(config, VOCAB, seed=3)
    rng = np.random.default_rng(0)
    for chunk_frames in (1, 3, 8):
        spec = streaming_spec(config, chunk_frames)
        for samples in (100, 512, spec.chunk_samples * 2, 7777):
            audio = (0.1 * rng.standard_normal(samples)).astype(np.float32)
            padded = np.pad(audio, (0, max(0, 512 - samples)))
            with export_mode(model):
                whole = log_softmax(np.asarray(model.predict_on_batch(padded[None]))[0])
                got = chunked(model, spec, audio, block=333)
            assert got.shape == whole.shape, (chunk_frames, samples)
            assert np.abs(got - whole).max() < 1e-4, (chunk_frames, samples)


def test_the_small_preset_plan():
    spec = streaming_spec(get_preset("small"), 16)
    assert (spec.chunk_samples, spec.input_frames, spec.input_delay) == (5120, 32, 3)
    assert spec.lookahead_seconds(16000) == pytest.approx(1.48)  # 74 frames of 20 ms
    assert spec.states["samples"] == (640,) and spec.states["block0_conv0"] == (10, 256)


def test_bad_chunk_sizes_are_refused():
    with pytest.raises(ExportError, match="chunk-frames"):
        streaming_spec(get_preset("tiny"), 0)


@pytest.fixture(scope="module")
def float_stream(tmp_path_factory):
    out = tmp_path_factory.mktemp("stream") / "tiny-stream.tflite"
    return export_run(LEGACY_RUN, out, "float32", streaming=True, chunk_frames=5)


def test_float_streaming_export_runs_on_the_device(float_stream, speech_corpus):
    metadata = read_metadata(float_stream.path)
    assert metadata.format_version == STREAMING_FORMAT_VERSION
    assert metadata.streaming["chunk_frames"] == 5
    assert not any(op.startswith("CUSTOM") for op in float_stream.ops)
    lite = StreamingTfliteModel(float_stream.path)
    whole = TfliteModel(REPO / "tests" / "fixtures" / "legacy_v1" / "tiny-float32.tflite")
    rec = Recognizer(float_stream.path)
    audio = rec.waveform(speech_corpus / "utt0.wav")
    assert np.abs(lite.log_probs(audio) - whole.log_probs(audio)).max() < 1e-4


def test_lstm_streaming_export_matches_its_whole_export(tmp_path):
    legacy = REPO / "tests" / "fixtures" / "legacy_v1"
    report = export_run(legacy / "run-deepspeech-tiny", tmp_path / "ds.tflite", "float32",
                        streaming=True, chunk_frames=6)
    audio = np.load(legacy / "input.npy")
    whole = TfliteModel(legacy / "deepspeech-tiny-float32.tflite").log_probs(audio)
    assert np.abs(StreamingTfliteModel(report.path).log_probs(audio) - whole).max() < 1e-4


def test_int8_streaming_export_keeps_the_audio_in_float(tmp_path, speech_corpus):
    report = export_run(LEGACY_RUN, tmp_path / "int8.tflite", "int8",
                        calibration_manifest=speech_corpus / "train.jsonl", streaming=True,
                        chunk_frames=4)
    assert report.parity.argmax_agreement > 0.8, report.parity  # on the calibration audio
    from ai_edge_litert.interpreter import Interpreter

    tensors = Interpreter(model_path=str(report.path)).get_tensor_details()
    window = [t for t in tensors if "frontend_window" in t["name"]]
    assert window and all(t["dtype"] == np.float32 for t in window)
    assert any(t["dtype"] == np.int8 for t in tensors)
    rec = Recognizer(report.path)
    assert isinstance(rec.transcribe(speech_corpus / "utt1.wav").text, str)


def test_export_cli_streaming_flags(tmp_path):
    from edgeasr.cli import main

    runner = CliRunner()
    out = tmp_path / "s.tflite"
    result = runner.invoke(main, ["export", "--run", str(LEGACY_RUN), "--out", str(out),
                                  "--quantize", "float32", "--streaming", "--chunk-frames", "3"])
    assert result.exit_code == 0, result.output
    assert read_metadata(out).streaming["chunk_frames"] == 3
    result = runner.invoke(main, ["export", "--run", str(LEGACY_RUN), "--out", str(out),
                                  "--chunk-frames", "3"])
    assert result.exit_code != 0 and "--chunk-frames needs --streaming" in result.output


def _classifier_dtypes(path) -> set:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    return {tensors[op["outputs"][0]]["dtype"] for op in interpreter._get_ops_details()
            if op["op_name"] == "FULLY_CONNECTED"}


def test_int8_chunked_graph_is_quantised_as_the_whole_graph(tmp_path, speech_corpus):
    """Same calibration audio -> the same int8 scale on every conv and residual output (the
    whole graph's ranges, edgeasr_export.ranges), the output layer in float in both, and the
    same log-probs up to the float frontends' rounding."""
    manifest = speech_corpus / "train.jsonl"
    whole = export_run(LEGACY_RUN, tmp_path / "w.tflite", "int8", calibration_manifest=manifest)
    chunk = export_run(LEGACY_RUN, tmp_path / "s.tflite", "int8", calibration_manifest=manifest,
                       streaming=True, chunk_frames=4)
    assert _classifier_dtypes(whole.path) == _classifier_dtypes(chunk.path) == {np.float32}
    a, b = (output_scales(p.read_bytes()) for p in (whole.path, chunk.path))
    kinds = [key[0] for key in a]
    assert kinds.count("CONV_2D") >= 5 and "DEPTHWISE_CONV_2D" in kinds and "ADD" in kinds, a
    # equal up to float rounding: a range the chunked graph's concatenations share with a
    # state input may move a scale in its 7th digit (unshared, they differed by up to 50%)
    assert a.keys() == b.keys() and all(np.isclose(a[k], b[k], rtol=1e-5) for k in a), (a, b)
    audio = Recognizer(whole.path).waveform(speech_corpus / "utt1.wav")
    lp_whole = TfliteModel(whole.path).log_probs(audio)
    lp_chunk = StreamingTfliteModel(chunk.path).log_probs(audio)
    assert lp_whole.shape == lp_chunk.shape
    agreement = (lp_whole.argmax(-1) == lp_chunk.argmax(-1)).mean()
    delta = np.abs(np.exp(lp_whole) - np.exp(lp_chunk)).max()
    assert agreement > 0.97 and delta < 0.2, (agreement, delta)
