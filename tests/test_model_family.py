"""The model family: ``deepspeech2`` (offline and streaming), ``conformer``, the edge conv sizes.

Tiny presets throughout: shapes and padding invariance, chunked == whole for the streaming
DS2, MACs counted by hand, training through the real entry point (TensorFlow here, other
Keras backends in a subprocess), export to builtin TFLite ops in every quantisation mode,
and int8 transcripts equal to Keras' on a model overfitted to two utterances (slow).
"""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from support import REPO, speak, write_manifest_lines

from edgeasr.data.manifest import read_manifest
from edgeasr.errors import ConfigError
from edgeasr.models.config import FrontendConfig, ModelConfig
from edgeasr.models.cost import model_cost
from edgeasr.models.encoders import ConformerConfig, DeepSpeech2Config
from edgeasr.models.encoders.conformer import relative_shift
from edgeasr.models.presets import get_preset
from edgeasr.runs import build_model, load_model
from edgeasr.training.config import TrainConfig
from edgeasr.training.trainer import train
from edgeasr_device.artifact import FORMAT_VERSION, STREAMING_FORMAT_VERSION, ArtifactMetadata
from edgeasr_device.decoding import DecodingOptions, log_softmax, make_decoder
from edgeasr_device.vocab import Vocabulary
from edgeasr_export.convert import QUANTIZATIONS, convert, export_mode
from edgeasr_export.errors import ExportError
from edgeasr_export.exporter import export_run
from edgeasr_export.metadata import embed_metadata
from edgeasr_export.ops import list_ops
from edgeasr_export.parity import check_parity
from edgeasr_export.streaming import (
    check_streaming_parity,
    convert_streaming,
    keras_runner,
    streaming_spec,
)

VOCAB = Vocabulary.english()
TINY = ("deepspeech2-tiny", "deepspeech2-streaming-tiny", "conformer-tiny")


def quiet(_line: str) -> None:
    pass


def noise(samples: int, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(samples)).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_models():
    return {name: build_model(get_preset(name), VOCAB, seed=1) for name in TINY}


@pytest.mark.parametrize("preset", TINY)
def test_output_length_and_padded_batch_equal_lone_utterances(tiny_models, preset):
    model = tiny_models[preset]
    config = model.config
    lengths = [16000, 9001, 2345]  # 9001: odd frame count, catches parity-dependent padding
    audio = np.zeros((3, lengths[0]), np.float32)
    for i, n in enumerate(lengths):
        audio[i, :n] = noise(n, seed=i)
    batch = np.asarray(model({"audio": audio, "audio_lengths": np.array(lengths, np.int32)}))
    assert batch.shape == (3, config.num_output_frames(lengths[0]), VOCAB.size)
    assert list(np.asarray(model.output_lengths(np.array(lengths)))) == [
        config.num_output_frames(n) for n in lengths]
    for i, n in enumerate(lengths):
        alone = np.asarray(model(audio[i:i + 1, :n]))[0]
        assert alone.shape[0] == config.num_output_frames(n)
        np.testing.assert_allclose(batch[i, :alone.shape[0]], alone, atol=1e-4)


def _chunked(runner, audio: np.ndarray, block: int) -> np.ndarray:
    parts = [runner.feed(audio[i:i + block]) for i in range(0, audio.shape[0], block)]
    parts.append(runner.finish())  # flushes the lookahead and resets the runner
    return np.concatenate([p for p in parts if p.shape[0]])


@pytest.mark.parametrize("encoder, chunk_sizes", [
    (get_preset("deepspeech2-streaming-tiny").encoder, (1, 5)),
    (DeepSpeech2Config(conv_channels=(3, 4, 2), conv_time_kernels=(4, 3, 1),
                       conv_freq_kernels=(5, 3, 2), conv_time_strides=(3, 1, 1),
                       conv_freq_strides=(2, 1, 2), rnn_layers=1, rnn_units=8, fc_units=8,
                       bidirectional=False, dropout=0.0), (3,)),
], ids=["preset", "stride3-even-kernel-no-lookahead"])
def test_streaming_deepspeech2_chunks_equal_the_whole_utterance(encoder, chunk_sizes):
    config = get_preset("deepspeech2-streaming-tiny").replace(encoder=encoder)
    model = build_model(config, VOCAB, seed=3)
    for chunk_frames in chunk_sizes:
        spec = streaming_spec(config, chunk_frames)
        runner = keras_runner(model, spec)
        for samples in (100, spec.chunk_samples * 2, 7777):
            audio = noise(samples, seed=samples)
            padded = np.pad(audio, (0, max(0, 512 - samples)))
            with export_mode(model):
                whole = log_softmax(np.asarray(model.predict_on_batch(padded[None]))[0])
                got = _chunked(runner, audio, block=333)
            assert got.shape == whole.shape, (chunk_frames, samples)
            assert np.abs(got - whole).max() < 1e-4, (chunk_frames, samples)


def test_streaming_plan_of_the_streaming_preset():
    spec = streaming_spec(get_preset("deepspeech2-streaming"), 16)
    # frontend + conv0 lag 4 frames of 20 ms, conv1 5 more, the row convolution 4: 13
    assert spec.delay == 13 and spec.lookahead_seconds(16000) == pytest.approx(0.26)
    assert spec.states["gru4"] == (768,) and spec.states["lookahead"] == (4, 768)
    assert spec.states["conv1"] == (10, 40, 32)


@pytest.mark.parametrize("preset", ["deepspeech2-tiny", "conformer-tiny"])
def test_whole_utterance_encoders_refuse_streaming_export(preset):
    config = get_preset(preset)
    assert config.encoder.streaming_state(config.frontend.num_features, 4) is None
    with pytest.raises(ExportError, match="cannot be exported for streaming"):
        streaming_spec(config, 4)


def test_relative_shift_lines_distances_up_with_keys():
    frames = 5
    scores = np.random.default_rng(0).standard_normal((2, 3, frames, 2 * frames - 1))
    shifted = np.asarray(relative_shift(scores.astype(np.float32)))
    i, j = np.meshgrid(np.arange(frames), np.arange(frames), indexing="ij")
    np.testing.assert_allclose(shifted, scores[:, :, i, frames - 1 - i + j], rtol=1e-6)


@pytest.mark.parametrize("options, message", [
    ({"conv_channels": (4,)}, "one entry per conv"),
    ({"rnn_units": 0}, "rnn_units must be whole numbers >= 1"),
    ({"bidirectional": True, "lookahead": 3}, "lookahead is for unidirectional"),
    ({"lookahead": -1, "bidirectional": False}, "lookahead must be a whole number"),
], ids=["lengths", "units", "lookahead-bidirectional", "lookahead-negative"])
def test_deepspeech2_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        get_preset("deepspeech2-tiny").replace(encoder=options)


def test_conformer_config_errors():
    with pytest.raises(ConfigError, match="multiple of 2 x num_heads"):
        ConformerConfig(d_model=30, num_heads=4)
    with pytest.raises(ConfigError, match="num_blocks"):
        get_preset("conformer-tiny").replace(encoder={"num_blocks": 0})


def test_deepspeech2_macs_count_2d_kernels_per_frequency_position_at_their_own_rate():
    """By hand: 40 mels; conv0 (3 x 5, 1 -> 2 ch, time stride 1) runs at 100 frames/s over
    20 frequency positions, conv1 (3 x 3, 2 -> 2, time stride 2) at 50/s over 10; then per
    logit frame (50/s) a GRU from 10 x 2 inputs to 4 units, dense 4 -> 6, classifier."""
    encoder = DeepSpeech2Config(conv_channels=(2, 2), conv_time_kernels=(3, 3),
                                conv_freq_kernels=(5, 3), conv_time_strides=(1, 2),
                                conv_freq_strides=(2, 2), rnn_layers=1, rnn_units=4,
                                bidirectional=False, fc_units=6)
    config = ModelConfig(frontend=FrontendConfig(n_mels=40), encoder=encoder)
    frontend = 257 * 40 * 100
    convs = 3 * 5 * 1 * 2 * 20 * 100 + 3 * 3 * 2 * 2 * 10 * 50
    per_frame = 20 * 12 + 4 * 12 + 4 * 6 + 6 * config.vocab_size
    cost = model_cost(config)
    assert cost.macs_per_second == frontend + convs + per_frame * 50
    assert cost.attention_macs_per_second == 0.0


def test_conformer_macs_include_attention_at_the_stated_length():
    """By hand (d 4, 2 heads, 1 block, ff x 1, kernel 3, 1 subsampling channel, 40 mels;
    logit frames at 25/s): the subsampling convs per frequency position at 50/s and 25/s,
    kernels once per logit frame except the position projection ((2T - 1) / T), and
    attention's (4T - 1) x d per frame, T = 250 logit frames in 10 s."""
    encoder = ConformerConfig(d_model=4, num_blocks=1, num_heads=2, ff_multiplier=1,
                              conv_kernel=3, subsampling_channels=1)
    config = ModelConfig(frontend=FrontendConfig(n_mels=40), encoder=encoder)
    frames = config.num_output_frames(160000)
    assert frames == 250
    subsampling = 9 * 20 * 50 + 9 * 10 * 25
    block = 2 * (4 * 4 + 4 * 4) + 4 * 16 + 32 + 3 * 4 + 16  # 2 FFNs, q/k/v/out, conv module
    per_frame = 10 * 4 + block + 16 * (2 * frames - 1) / frames + 4 * config.vocab_size
    attention = (4 * frames - 1) * 4 * 25
    cost = model_cost(config)
    assert cost.attention_macs_per_second == attention
    assert cost.macs_per_second == pytest.approx(257 * 40 * 100 + subsampling + per_frame * 25
                                                 + attention)
    longer = model_cost(config, context_seconds=20.0)
    assert longer.attention_macs_per_second == pytest.approx(2 * attention, rel=0.01)


SIZES = {"edge-1m": (0.7e6, 1.5e6), "edge-3m": (2e6, 4e6), "edge-10m": (7e6, 13e6),
         "conformer-small": (7e6, 13e6), "deepspeech2": (20e6, 40e6),
         "deepspeech2-streaming": (10e6, 40e6)}


@pytest.mark.parametrize("preset", [
    "edge-1m", "edge-3m", "edge-10m", "conformer-small",
    *(pytest.param(p, marks=pytest.mark.slow) for p in ("deepspeech2", "deepspeech2-streaming")),
])
def test_presets_build_at_their_stated_size(preset):
    low, high = SIZES[preset]
    assert low < build_model(get_preset(preset), VOCAB).count_params() < high


def test_the_edge_family_keeps_one_streaming_lookahead():
    lookahead = {name: streaming_spec(get_preset(name), 16).lookahead_seconds(16000)
                 for name in ("edge-1m", "edge-3m", "edge-10m")}
    assert list(lookahead.values()) == pytest.approx([1.64] * 3)


# --- training on the real entry point; export ----------------------------------------------


def _losses(run) -> list[float]:
    return [float(row["loss"]) for row in csv.DictReader((run / "log.csv").open())]


@pytest.mark.parametrize("preset", ["deepspeech2-tiny", "conformer-tiny"])
def test_tiny_presets_train_with_a_finite_loss(speech_corpus, tmp_path, preset):
    """One epoch (2 steps of 2 utterances) through trainer.train, on TensorFlow."""
    manifest = speech_corpus / "train.jsonl"
    out = tmp_path / "run"
    train(manifest, manifest, out, get_preset(preset),
          TrainConfig(epochs=1, batch_size=2, warmup_epochs=0), echo=quiet, verbose=0)
    losses = _losses(out)
    assert len(losses) == 1 and math.isfinite(losses[0]) and losses[0] > 0
    _, info = load_model(out)
    assert info.model == get_preset(preset).replace(vocab_size=VOCAB.size)


@pytest.fixture(scope="module")
def speech(speech_corpus) -> list[np.ndarray]:
    return [sf.read(speech_corpus / f"utt{i}.wav", dtype="float32")[0] for i in range(3)]


def _metadata(model, spec=None) -> ArtifactMetadata:
    """What export embeds, for a graph converted from a model in memory."""
    config = model.config.to_dict()
    return ArtifactMetadata(
        format_version=FORMAT_VERSION if spec is None else STREAMING_FORMAT_VERSION,
        edgeasr_version="test", vocabulary=VOCAB, sample_rate=16000,
        frame_duration=model.config.frame_seconds, frontend=config["frontend"], model=config,
        quantization="float32", created="", streaming=None if spec is None else spec.to_dict())


@pytest.mark.parametrize("preset, quantizations, loop_op", [
    ("conformer-tiny", ("float32", "int8"), "BATCH_MATMUL"),
    ("deepspeech2-tiny", ("int8",), "WHILE"),
    pytest.param("deepspeech2-tiny", ("float32", "float16", "dynamic"), "WHILE",
                 marks=pytest.mark.slow),
    pytest.param("conformer-tiny", ("float16", "dynamic"), "BATCH_MATMUL",
                 marks=pytest.mark.slow),
], ids=["conformer", "deepspeech2", "deepspeech2-other-modes", "conformer-other-modes"])
def test_exports_use_builtin_ops_and_match_keras(tiny_models, speech, preset, quantizations,
                                                 loop_op):
    """Random weights (varied outputs) on speech: float32 computes what Keras computes (the
    GRUs' WHILE loop, attention's relative shift, with a dynamic length); the quantised
    graphs convert to builtin ops only and mostly agree. Transcripts: the slow overfit test."""
    model = tiny_models[preset]
    for quantization in quantizations:
        content = convert(model, quantization, calibration=speech)
        ops = list_ops(content)
        assert loop_op in ops and "CONV_2D" in ops, ops
        report = check_parity(model, content, speech, VOCAB, metadata=_metadata(model))
        if quantization in ("float32", "float16"):
            assert report.max_abs_delta < (1e-3 if quantization == "float32" else 0.1), report
            assert report.transcript_agreement == 1.0, report
        assert report.argmax_agreement > 0.8, (quantization, report)


def test_streaming_deepspeech2_tflite_matches_the_whole_keras_model(tiny_models, speech):
    """The chunked graph (GRU cells unrolled over the chunk: no WHILE) on the device loop."""
    model = tiny_models["deepspeech2-streaming-tiny"]
    spec = streaming_spec(model.config, 4)
    content = embed_metadata(convert_streaming(model, spec, "float32"), _metadata(model, spec))
    assert "WHILE" not in list_ops(content)
    report = check_streaming_parity(model, content, speech, VOCAB)
    assert report.max_abs_delta < 1e-3 and report.transcript_agreement == 1.0, report


# --- slow: an overfitted model in every mode; other Keras backends --------------------------


@pytest.fixture(scope="module")
def overfit_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("overfit")
    entries = []
    for i, text in enumerate(("turn on the kitchen lights", "open the garage door")):
        audio = speak(text)
        sf.write(root / f"u{i}.wav", audio, 16000, subtype="PCM_16")
        entries.append({"audio_filepath": f"u{i}.wav", "duration": len(audio) / 16000,
                        "text": text})
    return write_manifest_lines(root / "two.jsonl", entries)


@pytest.mark.slow  # minutes each: 60-340 steps, then four conversions
@pytest.mark.parametrize("preset", TINY)
def test_overfitted_model_exports_in_every_mode_with_int8_transcripts_equal(
        overfit_corpus, preset, tmp_path):
    """Trained until greedy decoding of both utterances is exact; then every export's greedy
    transcripts equal Keras' (the streaming preset's int8 file is its chunked graph)."""
    out = tmp_path / "run"
    schedule = {"epochs": 15, "learning_rate": 5e-3}
    if preset == "deepspeech2-streaming-tiny":  # forward GRUs learn the alignment slower
        schedule = {"epochs": 30, "learning_rate": 1e-2, "min_learning_rate_fraction": 1.0}
    result = train(overfit_corpus, overfit_corpus, out, get_preset(preset),
                   TrainConfig(batch_size=2, repeat=20, warmup_epochs=0, weight_decay=0.0,
                               stop_at_dev_wer=0.0, **schedule),
                   echo=quiet, verbose=0)
    assert result.best_dev_wer == 0.0, _losses(out)
    model, info = load_model(out)
    decoder = make_decoder(DecodingOptions(), info.vocabulary, model.config.frame_seconds)
    for utterance in read_manifest(overfit_corpus):
        audio = sf.read(utterance.audio_path, dtype="float32")[0]
        logits = np.asarray(model.predict_on_batch(audio[None]))[0]
        assert decoder.decode(log_softmax(logits)).text == utterance.text
    for q in QUANTIZATIONS:
        report = export_run(out, tmp_path / f"{q}.tflite", q,
                            streaming=preset == "deepspeech2-streaming-tiny" and q == "int8")
        assert not any(op.startswith("CUSTOM") for op in report.ops), (q, report.ops)
        assert report.parity.utterances == 2
        assert report.parity.transcript_agreement == 1.0, (q, report.parity)


def _other_backends() -> list:
    """JAX and PyTorch (TensorFlow trains in this process above); one missing is skipped."""
    return [pytest.param(backend, marks=[pytest.mark.skip(reason=f"{backend} is not installed")]
                         if importlib.util.find_spec(backend) is None else [])
            for backend in ("jax", "torch")]


#: One tiny preset per encoder family: conv (the edge sizes), LSTM, GRU offline and
#: streaming, Conformer.
FAMILIES = ("tiny", "deepspeech-tiny", *TINY)


@pytest.mark.slow  # minutes per preset: a fresh process and the backend's compilation
@pytest.mark.parametrize("backend", _other_backends())
def test_tiny_presets_train_on_other_keras_backends(backend, speech_corpus, tmp_path):
    """`edgeasr train --preset X --epochs 1` with KERAS_BACKEND set (fixed per process), for
    every encoder family; then this process (TensorFlow) exports what that backend trained
    to int8 with builtin ops only: checkpoints do not depend on the backend that wrote them.
    PyTorch: `pip install torch`, then run pytest with that interpreter (README, "Tests")."""
    manifest = str(speech_corpus / "train.jsonl")
    env = {**os.environ, "KERAS_BACKEND": backend, "EDGEASR_CACHE": str(tmp_path / "cache")}
    for preset in FAMILIES:
        out = tmp_path / preset
        result = subprocess.run(
            [sys.executable, "-m", "edgeasr.cli", "train", "--train", manifest, "--dev", manifest,
             "--out", str(out), "--preset", preset, "--epochs", "1", "--batch-size", "2"],
            check=False, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        losses = _losses(out)
        assert losses and all(math.isfinite(v) for v in losses), (preset, losses)
        report = export_run(out, tmp_path / f"{preset}.tflite", "int8", checkpoint="last",
                            parity_utterances=2)  # raises on a Flex or custom op
        assert report.parity is not None and report.parity.argmax_agreement > 0.5, (
            preset, report.parity)

