"""Untrusted model files: every kind of bad .tflite gives one ArtifactError naming the file.

Truncated, random, foreign (no edgeasr metadata), newer-format and absurd-shape files are
made from the repository's tiny export by cutting or patching bytes in place.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from edgeasr_device import TfliteModel
from edgeasr_device.cli import main
from edgeasr_device.errors import ArtifactError
from edgeasr_device.flatbuffer import FlatbufferReader
from edgeasr_device.tflite_graph import GraphLimits, check_graph


def patch(content: bytes, pos: int, fmt: str, value: int) -> bytes:
    out = bytearray(content)
    struct.pack_into(fmt, out, pos, value)
    return bytes(out)


def tensor_shape_pos(content: bytes, tensor: int) -> int:
    """File position of the first dimension of tensor ``tensor`` of subgraph 0."""
    r = FlatbufferReader(content, "x")
    root = r.uoffset(0)
    table = r.table_vector(r.table_vector(root, 2)[0], 0)[tensor]
    return r.field_ref(table, 0) + 4


def expect_refusal(path, *fragments: str) -> str:
    """TfliteModel(path) raises an ArtifactError naming the file; the CLI prints it cleanly."""
    with pytest.raises(ArtifactError) as info:
        TfliteModel(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    result = CliRunner().invoke(main, ["transcribe", "--model", str(path), str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and str(path) in result.output
    return message


@pytest.mark.parametrize("keep", [0.0, 0.001, 0.1, 0.5, 0.9, 0.999])
def test_truncated_files(tiny_tflite, tmp_path, keep):
    content = tiny_tflite.read_bytes()
    path = tmp_path / "cut.tflite"
    path.write_bytes(content[:int(len(content) * keep)])
    message = expect_refusal(path)
    assert "edgeasr export" in message or "re-copy" in message


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes(tmp_path, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, 4096 * (seed + 1), dtype=np.uint8).tobytes()
    if seed % 2:  # with a valid identifier, so the flatbuffer reader is exercised
        data = data[:4] + b"TFL3" + data[8:]
    path = tmp_path / "random.tflite"
    path.write_bytes(data)
    expect_refusal(path)


def test_foreign_model_without_edgeasr_metadata(tiny_tflite, tmp_path):
    content = tiny_tflite.read_bytes()
    assert content.count(b"edgeasr\x00") == 1  # the metadata entry's name
    path = tmp_path / "foreign.tflite"
    path.write_bytes(content.replace(b"edgeasr\x00", b"someone\x00"))
    expect_refusal(path, "has no edgeasr metadata", "edgeasr export")


def test_newer_metadata_format(tiny_tflite, tmp_path):
    content = tiny_tflite.read_bytes()
    assert content.count(b'"format_version": 1') == 1
    path = tmp_path / "future.tflite"
    path.write_bytes(content.replace(b'"format_version": 1', b'"format_version": 9'))
    expect_refusal(path, "newer edgeasr (format 9)", "upgrade edgeasr-device")


def test_newer_tflite_schema(tiny_tflite, tmp_path):
    content = tiny_tflite.read_bytes()
    r = FlatbufferReader(content, "x")
    pos = r.field_pos(r.uoffset(0), 0)
    assert struct.unpack_from("<I", content, pos)[0] == 3
    path = tmp_path / "schema4.tflite"
    path.write_bytes(patch(content, pos, "<I", 4))
    expect_refusal(path, "TFLite schema version 4")


@pytest.mark.parametrize("dim, fragment", [
    (2 ** 30, "more than the"),          # the input alone would need 4 GiB
    (-5, "negative dimension"),
])
def test_absurd_activation_shape(tiny_tflite, tmp_path, dim, fragment):
    content = tiny_tflite.read_bytes()
    path = tmp_path / "huge.tflite"
    path.write_bytes(patch(content, tensor_shape_pos(content, 0), "<i", dim))
    expect_refusal(path, "tensor 0", fragment)


def test_constant_shape_that_does_not_match_its_buffer(tiny_tflite, tmp_path):
    content = tiny_tflite.read_bytes()
    path = tmp_path / "weights.tflite"
    path.write_bytes(patch(content, tensor_shape_pos(content, 1), "<i", 129))  # was 128
    expect_refusal(path, "tensor 1", "constant buffer holds 49152")


def test_size_limits_are_checked_before_reading(tiny_tflite, tmp_path):
    size = tiny_tflite.stat().st_size
    with pytest.raises(ArtifactError, match=f"{size} bytes, more than the 1000 bytes"):
        TfliteModel(tiny_tflite, limits=GraphLimits(max_file_bytes=1000))
    with pytest.raises(ArtifactError, match="more than the 1000 one tensor may have"):
        TfliteModel(tiny_tflite, limits=GraphLimits(max_tensor_bytes=1000))
    with pytest.raises(ArtifactError, match="bytes of tensors, more than the 100000 allowed"):
        TfliteModel(tiny_tflite, limits=GraphLimits(max_total_bytes=100_000))
    summary = check_graph(tiny_tflite.read_bytes(), "tiny")
    assert summary.subgraphs == 1 and summary.tensors > 0 < summary.operators
    assert summary.largest_tensor_bytes <= summary.tensor_bytes < 1 << 20


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(ArtifactError, match="is a directory"):
        TfliteModel(tmp_path)
    with pytest.raises(ArtifactError, match="cannot read model file .*nothing.tflite"):
        TfliteModel(tmp_path / "nothing.tflite")


_MUTANTS = textwrap.dedent("""
    import sys, numpy as np
    from edgeasr_device import TfliteModel
    from edgeasr_device.errors import ArtifactError
    from edgeasr_device.flatbuffer import FlatbufferReader
    from edgeasr_device.tflite_graph import buffer_span
    content = open(sys.argv[1], "rb").read()
    # Most bytes are weights; aim most changes at the graph's structure (all but buffers).
    reader = FlatbufferReader(content, "x")
    structure = np.ones(len(content), bool)
    for buffer in reader.table_vector(reader.uoffset(0), 4):
        start, size = buffer_span(reader, buffer)
        structure[start:start + size] = False
    structure = np.flatnonzero(structure)
    rng = np.random.default_rng(int(sys.argv[2]))
    loaded = refused = 0
    for i in range(int(sys.argv[3])):
        data = bytearray(content)
        for _ in range(int(rng.integers(1, 4))):
            pool = structure if rng.random() < 0.8 else np.arange(len(content))
            data[int(pool[rng.integers(0, pool.size)])] = int(rng.integers(0, 256))
        try:
            model = TfliteModel(bytes(data), source=f"mutant {i}")
            model.log_probs(np.zeros(4000, np.float32))
            loaded += 1
        except ArtifactError as err:
            assert f"mutant {i}" in str(err), err
            refused += 1
    print(loaded, refused)
""")


@pytest.mark.parametrize("name", ["tiny-float32.tflite", "deepspeech-tiny-float32.tflite"])
def test_mutated_files_never_crash_the_process(tiny_tflite, name):
    """Random byte changes in a real export, mostly in its graph structure: each mutant either
    runs or is refused with an ArtifactError, and the process survives (it runs in a
    subprocess, so a crash shows). With tflite-runtime, which does not verify flatbuffers,
    this is what tflite_graph's checks are for (test_tflite_runtime runs this file there)."""
    path = tiny_tflite.parent / name
    run = subprocess.run([sys.executable, "-c", _MUTANTS, str(path), "7", "200"],
                         check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded, refused = map(int, run.stdout.split())
    assert loaded + refused == 200 and refused > 100
