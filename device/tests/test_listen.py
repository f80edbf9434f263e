"""``edgeasr-device listen`` with a fake sounddevice module standing in for the microphone."""

from __future__ import annotations

import io
import json
import sys
import threading
import types

import numpy as np
import pytest
from click.testing import CliRunner

from edgeasr_device import Recognizer
from edgeasr_device.cli import main
from edgeasr_device.listen import ListenOutput, listen, microphone_blocks
from edgeasr_device.streaming import EndpointOptions


def utterances_signal(rate: int) -> np.ndarray:
    """Two noise bursts (1 s each) separated and followed by 1.5 s of silence."""
    rng = np.random.default_rng(5)
    burst = lambda: (rng.standard_normal(rate) * 0.2).astype(np.float32)
    quiet = np.zeros(int(1.5 * rate), np.float32)
    return np.concatenate([quiet[:rate // 4], burst(), quiet, burst(), quiet])


def fake_sounddevice(signal: np.ndarray, native_rate: int | None = None) -> types.ModuleType:
    """A module with sounddevice's InputStream / check_input_settings / query_devices that
    plays ``signal`` (at ``native_rate`` if the device refuses other rates) from a thread."""
    sd = types.ModuleType("sounddevice")
    sd.opened = []

    def check_input_settings(device=None, samplerate=None, channels=None, dtype=None):
        if native_rate is not None and samplerate != native_rate:
            raise ValueError("Invalid sample rate")

    def query_devices(device=None, kind=None):
        info = {"name": "fake mic", "max_input_channels": 1,
                "default_samplerate": float(native_rate or 16000)}
        return info if device is not None or kind is not None else [info]

    class InputStream:
        def __init__(self, samplerate, device, channels, dtype, blocksize, callback):
            sd.opened.append((samplerate, device, channels, dtype, blocksize))
            self.blocksize, self.callback = blocksize, callback
            self._stop = threading.Event()

        def _play(self):
            for start in range(0, signal.shape[0], self.blocksize):
                if self._stop.is_set():
                    return
                block = signal[start:start + self.blocksize]
                self.callback(block[:, None].copy(), block.shape[0], None, None)

        def __enter__(self):
            self._thread = threading.Thread(target=self._play, daemon=True)
            self._thread.start()
            return self

        def __exit__(self, *exc):
            self._stop.set()
            self._thread.join()

    sd.check_input_settings = check_input_settings
    sd.query_devices = query_devices
    sd.InputStream = InputStream
    return sd


@pytest.fixture(scope="module")
def recognizer(tiny_tflite):
    return Recognizer(tiny_tflite)


def test_listen_writes_one_final_per_utterance(recognizer):
    signal = utterances_signal(16000)
    sd = fake_sounddevice(signal)
    blocks = microphone_blocks(16000, seconds=signal.shape[0] / 16000, sounddevice=sd)
    out = io.StringIO()
    count = listen(recognizer, blocks, ListenOutput(out, partials=True, as_json=True),
                   EndpointOptions(trailing_silence=0.5, vad="energy", partial_interval=0.3))
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    finals = [r for r in records if "text" in r]
    assert count == len(finals) == 2 and all(r["text"] for r in finals)
    assert any("partial" in r for r in records)
    assert sd.opened == [(16000, None, 1, "float32", 1600)]


def test_device_rate_is_resampled(recognizer):
    signal = utterances_signal(48000)
    sd = fake_sounddevice(signal, native_rate=48000)
    blocks = list(microphone_blocks(16000, seconds=signal.shape[0] / 48000, sounddevice=sd))
    assert sd.opened[0][0] == 48000
    assert abs(sum(b.shape[0] for b in blocks) - signal.shape[0] / 3) <= 2


def test_terminal_output_redraws_partials():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    view = ListenOutput(out)
    view.partial("turn on")
    view.partial("turn on")  # unchanged: not redrawn
    view.partial("turn on the")
    view.final(types.SimpleNamespace(text="turn on the light", intent=None))
    assert out.getvalue() == ("\r\x1b[Kturn on\r\x1b[Kturn on the"
                              "\r\x1b[Kturn on the light\n")
    piped = io.StringIO()
    ListenOutput(piped).partial("hidden")
    assert piped.getvalue() == ""


def test_cli_listen_with_a_fake_microphone(tiny_tflite, monkeypatch):
    signal = utterances_signal(16000)
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(signal))
    result = CliRunner().invoke(main, ["listen", "--model", str(tiny_tflite),
                                       "--seconds", str(signal.shape[0] / 16000),
                                       "--trailing-silence", "0.5"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line and "listening" not in line]
    assert len(lines) == 2


def test_cli_listen_without_sounddevice(tiny_tflite, monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails
    result = CliRunner().invoke(main, ["listen", "--model", str(tiny_tflite)])
    assert result.exit_code == 1 and "edgeasr-device[mic]" in result.output


def test_list_devices(tiny_tflite, monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(np.zeros(10, np.float32)))
    result = CliRunner().invoke(main, ["listen", "--model", str(tiny_tflite), "--list-devices"])
    assert result.exit_code == 0 and "fake mic" in result.output
