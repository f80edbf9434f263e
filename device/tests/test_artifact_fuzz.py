"""Fuzzing the metadata reader and the graph checks (hypothesis): whatever the bytes, the
answer is metadata or an ArtifactError naming the source, never another exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeasr_device.artifact import (
    ArtifactMetadata,
    read_metadata,
    read_tflite_metadata,
)
from edgeasr_device.errors import ArtifactError
from edgeasr_device.tflite_graph import check_graph

_TINY_PATH = Path(__file__).resolve().parents[2] / "tests/fixtures/legacy_v1/tiny-float32.tflite"
TINY = _TINY_PATH.read_bytes() if _TINY_PATH.is_file() else b""
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20)


def refuses_or_reads(call, *args) -> None:
    try:
        call(*args)
    except ArtifactError as err:
        assert "fuzz.tflite" in str(err)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    refuses_or_reads(read_metadata, data, "fuzz.tflite")
    refuses_or_reads(check_graph, data, "fuzz.tflite")


@FUZZ
@given(st.binary(min_size=4, max_size=512))
def test_random_bytes_with_identifier(data):
    data = data[:4] + b"TFL3" + data[8:]
    refuses_or_reads(read_tflite_metadata, data, "fuzz.tflite")
    refuses_or_reads(check_graph, data, "fuzz.tflite")


@pytest.mark.skipif(not TINY, reason="needs the repository's model fixture")
@FUZZ
@given(st.lists(st.tuples(st.integers(0, max(len(TINY) - 1, 0)), st.integers(0, 255)),
                min_size=1, max_size=16),
       st.integers(0, max(len(TINY), 0)))
def test_mutated_real_export(changes, cut):
    data = bytearray(TINY)
    for pos, value in changes:
        data[pos] = value
    data = bytes(data[:cut]) if cut < len(TINY) // 2 else bytes(data)
    refuses_or_reads(read_metadata, data, "fuzz.tflite")
    refuses_or_reads(check_graph, data, "fuzz.tflite")


@FUZZ
@given(st.dictionaries(st.sampled_from(
    ["format_version", "edgeasr_version", "vocabulary", "sample_rate", "frame_duration",
     "frontend", "model", "quantization", "created", "other"]), json_values))
def test_metadata_documents(doc):
    refuses_or_reads(ArtifactMetadata.from_json, json.dumps(doc).encode(), "fuzz.tflite")


@FUZZ
@given(st.fixed_dictionaries({
    "format_version": st.just(1), "edgeasr_version": st.text(max_size=5),
    "vocabulary": json_values | st.fixed_dictionaries(
        {"blank_index": json_values, "tokens": st.lists(json_values, max_size=6)}),
    "sample_rate": json_values, "frame_duration": json_values, "frontend": st.just({}),
    "model": st.just({}), "quantization": st.text(max_size=5), "created": st.text(max_size=5)}))
def test_nearly_valid_metadata(doc):
    refuses_or_reads(ArtifactMetadata.from_json, json.dumps(doc).encode(), "fuzz.tflite")


def test_deeply_nested_metadata_is_refused():
    with pytest.raises(ArtifactError, match="fuzz.tflite has corrupt edgeasr metadata"):
        ArtifactMetadata.from_json(b"[" * 100_000 + b"]" * 100_000, "fuzz.tflite")
