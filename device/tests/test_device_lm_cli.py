"""`edgeasr-device transcribe` with beam search, a language model and hotwords."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "edgeasr_device.cli", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("audio") / "clip.wav"
    noise = np.random.default_rng(0).standard_normal(16000) * 0.1
    sf.write(path, noise.astype(np.float32), 16000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lm")
    text = folder / "commands.txt"
    text.write_text("turn on the kitchen light\nturn off the light\nthe café is open\n")
    out = folder / "lm.arpa"
    result = run_cli("lm", "build", "--text", str(text), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_beam_search_with_an_lm_and_hotwords(tiny_tflite, clip, lm):
    result = run_cli("transcribe", "--model", str(tiny_tflite), str(clip), "--json",
                     "--lm", str(lm), "--nbest", "3", "--hotword", "kitchen:2",
                     "--hotword", "turn on")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert set(record) >= {"text", "words", "confidence", "alternatives"}
    assert 1 <= len(record["alternatives"]) <= 3
    assert record["alternatives"][0]["text"] == record["text"]
    # "café" cannot be written by the model: skipped, and said so once on stderr
    assert result.stderr.count("warning:") == 1 and "'café'" in result.stderr


def test_beam_flags_without_an_lm_and_greedy_default(tiny_tflite, clip):
    greedy = run_cli("transcribe", "--model", str(tiny_tflite), str(clip))
    beam = run_cli("transcribe", "--model", str(tiny_tflite), str(clip), "--beam-width", "4")
    assert greedy.returncode == 0 and beam.returncode == 0, greedy.stderr + beam.stderr
    assert greedy.stderr == "" and beam.stderr == ""


def test_bad_decoding_input_is_a_clear_error(tiny_tflite, clip, tmp_path):
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\ta\n\\end\\\n")
    result = run_cli("transcribe", "--model", str(tiny_tflite), str(clip), "--lm", str(bad))
    assert result.returncode == 1
    assert "bad.arpa, line 4: the header declares 2 1-grams but this section has 1" in \
        result.stderr
    result = run_cli("transcribe", "--model", str(tiny_tflite), str(clip), "--hotword",
                     "kitchen:lots")
    assert result.returncode == 2 and "'lots' after ':' is not a number" in result.stderr
    result = run_cli("transcribe", "--model", str(tiny_tflite), str(clip), "--hotword", "ça")
    assert result.returncode == 1 and "hotword 'ça'" in result.stderr
