"""`edgeasr-device transcribe --format txt|json|srt|vtt`, and long files streamed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from edgeasr_device.cli import main, transcribe_file
from edgeasr_device.recognizer import Recognizer
from edgeasr_device.streaming import EndpointOptions

HERE = Path(__file__).resolve().parent
STREAM = HERE.parents[1] / "tests" / "fixtures" / "streaming" / "tiny-stream-float32.tflite"
WHOLE = HERE.parents[1] / "tests" / "fixtures" / "legacy_v1" / "tiny-float32.tflite"


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "noise.wav"
    rng = np.random.default_rng(0)
    sf.write(path, (0.2 * rng.standard_normal(16000 * 3)).astype(np.float32), 16000)
    return path


def invoke(*args: str):
    result = CliRunner().invoke(main, ["transcribe", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("model", [STREAM, WHOLE], ids=["streaming", "whole"])
def test_json_has_words_with_times_and_confidence(model, wav):
    record = json.loads(invoke("--model", str(model), "--format", "json", str(wav)))
    assert {"file", "text", "confidence", "words", "utterances", "audio_seconds", "rtf"} <= set(record)
    assert record["audio_seconds"] == 3.0
    for word in record["words"]:
        assert set(word) == {"text", "start", "end", "confidence"}
        assert 0 <= word["start"] <= word["end"] <= 3.0


def test_streaming_and_whole_exports_print_the_same_text(wav):
    assert invoke("--model", str(STREAM), str(wav)) == invoke("--model", str(WHOLE), str(wav))


@pytest.mark.parametrize("fmt, head", [("srt", "1\n00:00:0"), ("vtt", "WEBVTT\n\n00:00:0")])
def test_subtitles(fmt, head, wav, tmp_path):
    out = invoke("--model", str(STREAM), "--format", fmt, str(wav))
    if out.strip():  # an untrained model may say nothing
        assert out.startswith(head) and " --> " in out
    result = CliRunner().invoke(main, ["transcribe", "--model", str(STREAM), "--format", fmt,
                                       str(wav), str(wav)])
    assert result.exit_code != 0 and "--output-dir" in result.output
    invoke("--model", str(STREAM), "--format", fmt, "--output-dir", str(tmp_path), str(wav))
    assert (tmp_path / f"noise.{fmt}").is_file()


def test_long_files_are_streamed_in_utterances(tmp_path):
    """A whole-utterance model on a file longer than --max-utterance goes through the VAD."""
    rng = np.random.default_rng(1)
    burst = (0.3 * rng.standard_normal(16000)).astype(np.float32)
    gap = np.zeros(16000, np.float32)
    path = tmp_path / "long.wav"
    sf.write(path, np.concatenate([burst, gap, burst, gap, burst]), 16000)
    rec = Recognizer(WHOLE)
    endpoint = EndpointOptions(trailing_silence=0.5, max_utterance=2.0, vad="energy")
    utterances, seconds = transcribe_file(rec, str(path), endpoint)
    assert seconds == 5.0
    starts = [u.words[0].start for u in utterances if u.words]
    assert starts == sorted(starts) and all(0 <= s < 5.0 for s in starts)
    assert len(utterances) >= 2
