"""Manifests: parsing, relative paths, and errors that name file and line."""

from __future__ import annotations

import json

import pytest

from edgeasr.data.manifest import ManifestError, Utterance, read_manifest, write_manifest


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def audio(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF")  # existence is all the manifest checks
    return tmp_path / "a.wav"


def test_reads_relative_and_absolute_paths(tmp_path, audio):
    sub = tmp_path / "lists"
    sub.mkdir()
    manifest = _write(sub / "m.jsonl", [
        json.dumps({"audio_filepath": "../a.wav", "duration": 1.5, "text": "hi", "speaker": 7}),
        "",
        json.dumps({"audio_filepath": str(audio), "duration": 2, "text": "there", "lang": "en"}),
    ])
    first, second = read_manifest(manifest)
    assert first.audio_path == audio.resolve()
    assert first.speaker == "7" and first.source.endswith("m.jsonl:1")
    assert second.audio_path == audio and second.extra == {"lang": "en"}
    assert second.source.endswith("m.jsonl:3")


@pytest.mark.parametrize("line, message", [
    ('{"audio_filepath": "a.wav", "duration": 1', "not valid JSON"),
    ('["a.wav", 1, "x"]', "expected a JSON object"),
    ('{"audio_filepath": "a.wav", "text": "x"}', "missing duration"),
    ('{"audio_filepath": "a.wav", "duration": "long", "text": "x"}', "duration must be a number"),
    ('{"audio_filepath": "a.wav", "duration": -1, "text": "x"}', "positive"),
    ('{"audio_filepath": "a.wav", "duration": 1, "text": 5}', "text must be a string"),
    ('{"audio_filepath": "", "duration": 1, "text": "x"}', "non-empty string"),
    ('{"audio_filepath": "gone.wav", "duration": 1, "text": "x"}', "does not exist"),
])
def test_bad_lines_name_file_and_line(tmp_path, audio, line, message):
    good = json.dumps({"audio_filepath": "a.wav", "duration": 1, "text": "ok"})
    manifest = _write(tmp_path / "bad.jsonl", [good, line])
    with pytest.raises(ManifestError, match=message) as err:
        read_manifest(manifest)
    assert "bad.jsonl:2" in str(err.value)


def test_missing_empty_and_binary_manifests(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(tmp_path / "nope.jsonl")
    with pytest.raises(ManifestError, match="is a directory"):
        read_manifest(tmp_path)
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(ManifestError, match="holds no utterances"):
        read_manifest(tmp_path / "empty.jsonl")
    (tmp_path / "latin1.jsonl").write_bytes(b'{"text": "caf\xe9"}\n')
    with pytest.raises(ManifestError, match=r"latin1.jsonl:1: not UTF-8"):
        read_manifest(tmp_path / "latin1.jsonl")


def test_write_round_trips_with_portable_paths(tmp_path, audio):
    outside = tmp_path.parent / "elsewhere.wav"
    utterances = [Utterance(audio.resolve(), 1.25, "hello", "s1"),
                  Utterance(outside, 2.0, "far away")]
    path = write_manifest(utterances, tmp_path / "out.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["audio_filepath"] == "a.wav"  # inside the folder: relative
    assert lines[1]["audio_filepath"] == str(outside)  # outside: absolute
    again = read_manifest(path, check_files=False)
    assert [u.audio_path for u in again] == [audio.resolve(), outside]
    assert [u.text for u in again] == ["hello", "far away"]
