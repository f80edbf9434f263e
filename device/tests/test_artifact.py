"""Tests for edgeasr_device.artifact, using flatbuffers built in the tests (no TensorFlow)."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

from edgeasr_device.artifact import (
    FORMAT_VERSION,
    METADATA_NAME,
    PIECES_FORMAT_VERSION,
    ArtifactMetadata,
    read_metadata,
    read_tflite_metadata,
)
from edgeasr_device.errors import ArtifactError, EdgeAsrError
from edgeasr_device.vocab import Vocabulary

flatbuffers = pytest.importorskip("flatbuffers")

META = ArtifactMetadata(
    format_version=FORMAT_VERSION, edgeasr_version="0.1.0", vocabulary=Vocabulary.english(),
    sample_rate=16000, frame_duration=0.04,
    frontend={"type": "log_mel", "n_mels": 80, "win_ms": 25.0, "hop_ms": 10.0},
    model={"architecture": "conformer", "params": 1234567, "name": "tiny \u00e9"},
    quantization="dynamic", created="2025-01-02T03:04:05+00:00")


def build_model(entries: dict[str, bytes], identifier: bytes = b"TFL3",
                buffer_index: dict[str, int] | None = None) -> bytes:
    """Hand-built TFLite-shaped flatbuffer: Model{version, description, buffers, metadata}.

    Buffer 0 is empty (as in real models); entry i lives in buffer i + 1.
    """
    b = flatbuffers.Builder(256)
    datas = [b.CreateByteVector(data) for data in entries.values()]
    buffers = []
    b.StartObject(3)
    buffers.append(b.EndObject())
    for vec in datas:
        b.StartObject(3)
        b.PrependUOffsetTRelativeSlot(0, vec, 0)
        buffers.append(b.EndObject())
    buffers_vec = _table_vector(b, buffers)
    names = [b.CreateString(name) for name in entries]
    metas = []
    for i, (name, name_off) in enumerate(zip(entries, names)):
        b.StartObject(2)
        b.PrependUOffsetTRelativeSlot(0, name_off, 0)
        b.PrependUint32Slot(1, (buffer_index or {}).get(name, i + 1), 0)
        metas.append(b.EndObject())
    metas_vec = _table_vector(b, metas)
    desc = b.CreateString("hand-built")
    b.StartObject(8)
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(3, desc, 0)
    b.PrependUOffsetTRelativeSlot(4, buffers_vec, 0)
    b.PrependUOffsetTRelativeSlot(6, metas_vec, 0)
    b.Finish(b.EndObject(), file_identifier=identifier)
    return bytes(b.Output())


def _table_vector(b, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


# ------------------------------------------------------------------ metadata JSON


def test_metadata_json_roundtrip():
    data = META.to_json()
    assert isinstance(data, bytes)
    doc = json.loads(data.decode("utf-8"))
    assert doc["format_version"] == 1 and doc["vocabulary"]["blank_index"] == 0
    assert ArtifactMetadata.from_json(data, "m.tflite") == META
    assert "margin" not in doc and META.margin == 0.0  # files from before margins read the same
    with_margin = replace(META, margin=0.2)
    assert json.loads(with_margin.to_json())["margin"] == 0.2
    assert ArtifactMetadata.from_json(with_margin.to_json(), "m.tflite") == with_margin


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.update(format_version=PIECES_FORMAT_VERSION + 1),
     f"made by a newer edgeasr (format {PIECES_FORMAT_VERSION + 1}); upgrade edgeasr-device"),
    (lambda d: d.update(format_version=0), "invalid metadata format_version 0"),
    (lambda d: d.pop("format_version"), "without an integer format_version"),
    (lambda d: d.update(format_version="1"), "without an integer format_version"),
    (lambda d: d.pop("vocabulary"), "missing vocabulary"),
    (lambda d: [d.pop("sample_rate"), d.pop("created")], "missing sample_rate, created"),
    (lambda d: d.update(sample_rate="16k"), "sample_rate = '16k'"),
    (lambda d: d.update(sample_rate=-1), "must be positive"),
    (lambda d: d.update(frame_duration=float("inf")), "must be positive and finite"),
    (lambda d: d.update(frame_duration=float("nan")), "must be positive and finite"),
    (lambda d: d.update(frontend=[]), "frontend = []"),
    (lambda d: d["vocabulary"].update(blank_index=99), "invalid vocabulary"),
    (lambda d: d.update(margin=-0.1), "margin = -0.1"),
    (lambda d: d.update(margin=3600), "margin = 3600"),
    (lambda d: d.update(margin="0.2"), "margin = '0.2'"),
    (lambda d: d.update(margin=True), "margin = True"),
])
def test_metadata_json_validation(mutate, fragment):
    doc = json.loads(META.to_json())
    mutate(doc)
    with pytest.raises(ArtifactError) as info:
        ArtifactMetadata.from_json(json.dumps(doc).encode(), "models/asr.tflite")
    assert "models/asr.tflite" in str(info.value) and fragment in str(info.value)


def test_future_format_checked_before_other_keys():
    data = json.dumps({"format_version": 7, "something_new": {}}).encode()
    with pytest.raises(ArtifactError, match=r"newer edgeasr \(format 7\)"):
        ArtifactMetadata.from_json(data, "x.tflite")


@pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe", b"[1, 2]", b""])
def test_metadata_json_garbage(data):
    with pytest.raises(ArtifactError, match="x.tflite has corrupt edgeasr metadata"):
        ArtifactMetadata.from_json(data, "x.tflite")


# ------------------------------------------------------------------ flatbuffer reader


def test_reads_hand_built_model():
    model = build_model({"min_runtime_version": b"1.5.0\x00", METADATA_NAME: META.to_json()})
    entries = read_tflite_metadata(model)
    assert entries == {"min_runtime_version": b"1.5.0\x00", METADATA_NAME: META.to_json()}
    assert read_metadata(model) == META


def test_reads_from_path_and_names_it(tmp_path):
    path = tmp_path / "asr.tflite"
    path.write_bytes(build_model({METADATA_NAME: META.to_json()}))
    assert read_metadata(path) == META
    assert read_metadata(str(path)) == META
    broken = replace(META, format_version=PIECES_FORMAT_VERSION + 1)
    path.write_bytes(build_model({METADATA_NAME: broken.to_json()}))
    with pytest.raises(ArtifactError, match="asr.tflite was made by a newer edgeasr"):
        read_metadata(path)


def test_model_without_metadata_entry(tmp_path):
    path = tmp_path / "plain.tflite"
    path.write_bytes(build_model({"min_runtime_version": b"2.3"}))
    with pytest.raises(ArtifactError) as info:
        read_metadata(path)
    assert str(info.value) == (f"{path} has no edgeasr metadata: it was not exported by "
                               "`edgeasr export` (re-export it)")
    assert read_tflite_metadata(build_model({})) == {}


def test_wrong_identifier():
    model = build_model({METADATA_NAME: META.to_json()}, identifier=b"TFL2")
    with pytest.raises(ArtifactError, match="m.tflite is not a TFLite model .*'TFL3'"):
        read_metadata(model, source="m.tflite")


@pytest.mark.parametrize("data", [b"", b"TFL3", b"\x00" * 7, b"hello world, not a model",
                                  b"\x10\x00\x00\x00TFL3" + b"\xff" * 8])
def test_garbage_bytes(data):
    with pytest.raises(ArtifactError, match="<bytes> is not a TFLite model"):
        read_tflite_metadata(data)


def test_every_truncation_is_an_artifact_error():
    model = build_model({METADATA_NAME: META.to_json()})
    for n in range(len(model)):
        try:
            read_metadata(model[:n], source="cut.tflite")
        except ArtifactError as exc:
            assert "cut.tflite" in str(exc)
        else:  # pragma: no cover - would mean a truncated model parsed
            pytest.fail(f"truncation to {n} bytes was not detected")


def test_corrupted_bytes_never_raise_other_errors():
    model = bytearray(build_model({"a": b"x" * 10, METADATA_NAME: META.to_json()}))
    rng = random.Random(0)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(400):
        bad = bytearray(model)
        for _ in range(rng.randint(1, 4)):
            bad[rng.randrange(8, 160 if rng.random() < 0.8 else len(bad))] = rng.randrange(256)
        try:
            read_metadata(bytes(bad))
            outcomes["ok"] += 1
        except ArtifactError:  # anything else (IndexError, struct.error, ...) fails the test
            outcomes["error"] += 1
    assert outcomes["error"] > 100, outcomes  # the corruption really reached the structure


def test_metadata_pointing_past_buffers():
    model = build_model({METADATA_NAME: b"{}"}, buffer_index={METADATA_NAME: 9})
    with pytest.raises(ArtifactError, match="points at buffer 9 of 2"):
        read_tflite_metadata(model, source="x.tflite")


def test_file_errors(tmp_path):
    with pytest.raises(ArtifactError, match="no such model file"):
        read_metadata(tmp_path / "missing.tflite")
    with pytest.raises(ArtifactError, match="is a directory"):
        read_metadata(tmp_path)
    empty = tmp_path / "empty.tflite"
    empty.touch()
    with pytest.raises(ArtifactError, match="empty.tflite is not a TFLite model"):
        read_metadata(empty)
    text = tmp_path / "notes.tflite"
    text.write_text("not a model at all")
    with pytest.raises(ArtifactError, match="notes.tflite is not a TFLite model") as info:
        read_metadata(text)
    assert isinstance(info.value, EdgeAsrError) and isinstance(info.value, ValueError)


# ------------------------------------------------------------------ real schema (object API)


def _schema():
    return pytest.importorskip("ai_edge_litert.schema_py_generated")


def _pack(schema, model) -> bytes:
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _schema_model(schema, buffers, metadata):
    m = schema.ModelT()
    m.version = 3
    m.description = "schema-built"
    m.buffers = buffers
    m.metadata = []
    for name, index in metadata:
        md = schema.MetadataT()
        md.name, md.buffer = name, index
        m.metadata.append(md)
    sub = schema.SubGraphT()
    sub.name = "main"
    m.subgraphs = [sub]
    return m


def test_reads_model_written_by_real_schema():
    schema = _schema()
    payload = META.to_json()
    buffers = [schema.BufferT(), schema.BufferT(data=list(b"1.14.0")),
               schema.BufferT(data=list(payload))]
    model = _schema_model(schema, buffers, [("min_runtime_version", 1), (METADATA_NAME, 2)])
    data = _pack(schema, model)
    assert read_tflite_metadata(data) == {"min_runtime_version": b"1.14.0",
                                          METADATA_NAME: payload}
    assert read_metadata(data) == META
    # cross-check our view with the generated reader
    parsed = schema.Model.GetRootAsModel(data, 0)
    assert parsed.MetadataLength() == 2 and parsed.Metadata(1).Name() == METADATA_NAME.encode()


def test_reads_buffer_stored_outside_the_flatbuffer(tmp_path):
    """Large models keep buffer bytes after the flatbuffer (Buffer.offset > 1)."""
    schema = _schema()
    payload = META.to_json()
    outside = schema.BufferT(offset=1, size=len(payload))  # placeholder offset, same layout
    model = _schema_model(schema, [schema.BufferT(), outside], [(METADATA_NAME, 1)])
    flat = _pack(schema, model)
    start = (len(flat) + 15) // 16 * 16
    outside.offset = start
    flat = _pack(schema, model)
    assert len(flat) <= start
    data = flat + b"\x00" * (start - len(flat)) + payload
    path = tmp_path / "big.tflite"
    path.write_bytes(data)
    assert read_metadata(path) == META
    with pytest.raises(ArtifactError, match="is past the end"):
        read_tflite_metadata(data[:-1], source="big.tflite")
