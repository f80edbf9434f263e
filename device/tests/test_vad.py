"""Voice-activity detectors: the numpy energy VAD, and WebRTC's when installed."""

from __future__ import annotations

import numpy as np
import pytest

from edgeasr_device.errors import EdgeAsrError
from edgeasr_device.vad import EnergyVad, WebrtcVad, make_vad, webrtc_available

RATE = 16000


def tone(seconds: float, level: float, rng) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    voiced = np.sin(2 * np.pi * 140 * t) + 0.5 * np.sin(2 * np.pi * 420 * t)
    return (level * voiced * (1 + 0.3 * np.sin(2 * np.pi * 4 * t))).astype(np.float32) + \
        rng.normal(0, 1e-3, t.shape).astype(np.float32)


def labels(vad, audio):
    n = vad.frame_samples
    return [vad.is_speech(audio[i:i + n]) for i in range(0, len(audio) - n + 1, n)]


def test_energy_vad_follows_the_noise_floor():
    rng = np.random.default_rng(0)
    noise = lambda s, level: rng.normal(0, level, int(s * RATE)).astype(np.float32)
    vad = EnergyVad(RATE)
    audio = np.concatenate([noise(1.0, 1e-3), tone(1.0, 0.2, rng), noise(1.0, 1e-3),
                            noise(4.0, 0.02), tone(1.0, 0.3, rng)])
    got = np.asarray(labels(vad, audio))
    per_second = RATE // vad.frame_samples
    assert not got[:per_second].any()
    assert got[per_second + 2:2 * per_second - 2].all()
    assert not got[2 * per_second + 2:3 * per_second].any()
    # a louder background becomes the floor (6 dB/s), not speech, within about 3 s
    assert got[int(5.5 * per_second):7 * per_second].mean() < 0.1
    assert got[7 * per_second + 2:8 * per_second - 2].mean() > 0.9


def test_silence_is_not_speech():
    vad = EnergyVad(RATE)
    assert labels(vad, np.zeros(RATE, np.float32)) == [False] * (RATE // vad.frame_samples)


@pytest.mark.skipif(not webrtc_available(), reason="webrtcvad-wheels is not installed")
def test_webrtc_vad():
    rng = np.random.default_rng(1)
    vad = WebrtcVad(RATE, aggressiveness=3)
    assert not any(labels(vad, np.zeros(RATE, np.float32)))
    assert isinstance(make_vad("auto", RATE), WebrtcVad)
    assert isinstance(make_vad("auto", 22050), EnergyVad)  # a rate WebRTC does not take
    assert sum(labels(vad, tone(1.0, 0.3, rng))) > 0
    with pytest.raises(EdgeAsrError, match="10/20/30 ms"):
        WebrtcVad(22050)


def test_unknown_vad_is_refused():
    with pytest.raises(EdgeAsrError, match="unknown VAD"):
        make_vad("silero", RATE)
    assert isinstance(make_vad("energy", RATE), EnergyVad)
