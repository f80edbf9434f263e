"""Chunked models on the device: the chunk loop equals the whole-utterance model; metadata."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from edgeasr_device.artifact import (
    FORMAT_VERSION,
    STREAMING_FORMAT_VERSION,
    ArtifactMetadata,
    read_metadata,
)
from edgeasr_device.errors import ArtifactError
from edgeasr_device.model import TfliteModel
from edgeasr_device.recognizer import Recognizer
from edgeasr_device.streaming_model import (
    ChunkRunner,
    StreamingSpec,
    StreamingTfliteModel,
    open_model,
)

HERE = Path(__file__).resolve().parent
STREAM = HERE.parents[1] / "tests" / "fixtures" / "streaming" / "tiny-stream-float32.tflite"
LEGACY = HERE.parents[1] / "tests" / "fixtures" / "legacy_v1"

#: Largest |log-prob| difference allowed between the chunked and the whole float32 graph
#: (measured: 3e-6 on this fixture, 2e-5 on the demo's `small` model).
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def stream_model() -> StreamingTfliteModel:
    if not STREAM.is_file():
        pytest.skip(f"needs the fixture {STREAM}")
    return StreamingTfliteModel(STREAM)


@pytest.fixture(scope="module")
def whole_model() -> TfliteModel:
    return TfliteModel(LEGACY / "tiny-float32.tflite")


@pytest.mark.parametrize("seconds", [0.01, 0.032, 0.08, 0.37, 1.0, 2.345])
def test_chunked_log_probs_equal_whole_utterance(stream_model, whole_model, seconds):
    rng = np.random.default_rng(int(seconds * 1000))
    audio = (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
    whole = whole_model.log_probs(audio)
    chunked = stream_model.log_probs(audio)
    assert chunked.shape == whole.shape
    assert np.abs(chunked - whole).max() < TOLERANCE


@pytest.mark.parametrize("block", [1, 157, 1280, 4000])
def test_any_feed_size_gives_the_same_frames(stream_model, whole_model, block):
    audio = np.load(LEGACY / "input.npy")
    runner = stream_model.runner()
    parts = [runner.feed(audio[i:i + block]) for i in range(0, audio.shape[0], block)]
    parts.append(runner.finish())
    chunked = np.concatenate([p for p in parts if p.shape[0]])
    assert np.abs(chunked - whole_model.log_probs(audio)).max() < TOLERANCE
    # after finish() the runner starts over
    again = np.concatenate([runner.feed(audio), runner.finish()])
    assert np.array_equal(again, chunked)


def test_frames_become_final_after_the_lookahead(stream_model):
    spec = stream_model.spec
    runner = stream_model.runner()
    out = runner.feed(np.zeros(spec.chunk_samples * 10, np.float32))
    assert out.shape[0] == 10 * spec.chunk_frames - spec.delay
    assert stream_model.spec.lookahead_seconds(16000) == pytest.approx(spec.delay * 0.02)


def test_streaming_files_are_format_2_and_old_readers_refuse_them(monkeypatch):
    metadata = read_metadata(STREAM)
    assert metadata.format_version == STREAMING_FORMAT_VERSION == FORMAT_VERSION + 1
    assert StreamingSpec.from_dict(metadata.streaming).chunk_frames == 4
    assert read_metadata(LEGACY / "tiny-float32.tflite").streaming is None
    # a reader of format 1 (what edgeasr-device 0.1 is) says why it cannot read the file
    from edgeasr_device import artifact

    monkeypatch.setattr(artifact, "_READABLE_VERSION", 1)
    with pytest.raises(ArtifactError, match=r"newer edgeasr \(format 2\); upgrade"):
        read_metadata(STREAM)


def test_metadata_keeps_streaming_consistent_with_its_version():
    metadata = read_metadata(STREAM)
    doc = json.loads(metadata.to_json())
    assert ArtifactMetadata.from_json(json.dumps(doc).encode(), "x") == metadata
    for version, streaming in ((1, doc["streaming"]), (2, None)):
        broken = {**doc, "format_version": version, "streaming": streaming}
        with pytest.raises(ArtifactError, match="streaming"):
            ArtifactMetadata.from_json(json.dumps(broken).encode(), "x")


def test_bad_streaming_metadata_is_refused():
    spec = read_metadata(STREAM).streaming
    for change in ({"chunk_samples": 0}, {"states": "x"}, {"mask_delays": [-1]}):
        with pytest.raises(ArtifactError, match="invalid streaming metadata"):
            StreamingSpec.from_dict({**spec, **change}, "m.tflite")


def test_a_graph_that_does_not_match_its_metadata_is_refused():
    metadata = read_metadata(STREAM)
    wrong = dataclasses.replace(metadata, streaming={**metadata.streaming,
                                                     "states": {"other": [3]}})
    with pytest.raises(ArtifactError, match="do not match its streaming metadata"):
        StreamingTfliteModel(STREAM, metadata=wrong)
    with pytest.raises(ArtifactError, match="not a streaming model"):
        StreamingTfliteModel(LEGACY / "tiny-float32.tflite")


def test_open_model_and_the_recognizer_pick_the_class():
    assert isinstance(open_model(STREAM), StreamingTfliteModel)
    assert isinstance(open_model(LEGACY / "tiny-float32.tflite"), TfliteModel)
    assert isinstance(Recognizer(STREAM).model, StreamingTfliteModel)
    text = Recognizer(STREAM).transcribe(np.load(LEGACY / "input.npy"), sample_rate=16000).text
    assert text == Recognizer(LEGACY / "tiny-float32.tflite").transcribe(
        np.load(LEGACY / "input.npy"), sample_rate=16000).text


def test_chunk_runner_with_a_step_function():
    """The loop itself, on a step that reports which output frames each row is."""
    spec = StreamingSpec(chunk_samples=320, input_frames=2, chunk_frames=2, time_stride=1,
                         n_fft=160, hop_length=160, input_delay=0, delay=3, mask_delays=(1,),
                         states={"count": (1,)})
    seen = []

    def step(inputs):
        seen.append(inputs["frame_masks"].copy())
        k = inputs["state_count"][0, 0]
        rows = np.stack([np.full(4, 2 * k + i - 3, np.float32) for i in range(2)])[None]
        return {"log_probs": rows, "next_count": inputs["state_count"] + 1}

    runner = ChunkRunner(step, spec)
    got = [runner.feed(np.zeros(100, np.float32)) for _ in range(10)]
    got.append(runner.finish())
    frames = np.concatenate([g for g in got if g.shape[0]])[:, 0]
    # 1000 samples -> 1 + (1000 - 160) // 160 = 6 output frames, each exactly once, in order
    assert frames.tolist() == [0, 1, 2, 3, 4, 5]
    assert seen[0][0, 0].tolist() == [0, 1]  # site lag 1: frame -1 is masked
    assert seen[-1][0, 0].tolist() == [0, 0]  # past the last frame after finish()
