"""`edgeasr-device` start-up: no native INFO noise on stderr unless --verbose, real errors kept."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from edgeasr_device.interpreter import hidden_native_info

XNNPACK_INFO = "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."


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


@pytest.mark.parametrize("command", [["transcribe", "{clip}"], ["transcribe", "--json", "{clip}"],
                                     ["bench", "--seconds", "1", "--runs", "1"], ["info"]])
def test_a_good_run_prints_nothing_on_stderr(tiny_tflite, clip, command):
    args = [a.format(clip=clip) for a in command]
    result = run_cli(args[0], "--model", str(tiny_tflite), *args[1:])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip()


def test_verbose_shows_the_native_info_lines(tiny_tflite, clip):
    result = run_cli("--verbose", "transcribe", "--model", str(tiny_tflite), str(clip))
    assert result.returncode == 0, result.stderr
    assert XNNPACK_INFO in result.stderr
    assert run_cli("-v", "bench", "--model", str(tiny_tflite), "--seconds", "1",
                   "--runs", "1").stderr.count("INFO:") >= 1


def test_real_errors_still_reach_stderr(tiny_tflite, clip, tmp_path):
    result = run_cli("transcribe", "--model", str(tiny_tflite), str(clip), str(tmp_path / "no.wav"))
    assert result.returncode == 1
    assert "no.wav: no such audio file" in result.stderr and "INFO:" not in result.stderr
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"junk")
    result = run_cli("transcribe", "--model", str(junk), str(clip))
    assert result.returncode == 1 and "is not a TFLite model" in result.stderr


def test_hidden_native_info_drops_only_info_lines(capfd):
    with hidden_native_info():
        os.write(2, b"INFO: Created a delegate.\nERROR: a real problem\n")
        print("python says hello", file=sys.stderr)
    err = capfd.readouterr().err
    assert sorted(err.splitlines()) == ["ERROR: a real problem", "python says hello"]
    with pytest.raises(RuntimeError), hidden_native_info():
        os.write(2, b"WARNING: before the failure\n")
        raise RuntimeError("boom")
    assert capfd.readouterr().err == "WARNING: before the failure\n"
    with hidden_native_info(enabled=False):
        os.write(2, b"INFO: shown\n")
    assert capfd.readouterr().err == "INFO: shown\n"
