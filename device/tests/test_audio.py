"""Tests for edgeasr_device.audio (fixtures are generated into tmp_path)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgeasr_device.audio import (
    audio_blocks,
    audio_duration,
    load_audio,
    prepare_waveform,
    resample,
)
from edgeasr_device.errors import AudioError, EdgeAsrError

FORMATS = sf.available_formats()


def tone(freq: float, rate: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(rate * seconds))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


def write(path: Path, data: np.ndarray, rate: int, **kw) -> Path:
    sf.write(str(path), data, rate, **kw)
    return path


@pytest.mark.parametrize("subtype, tol", [
    ("PCM_U8", 2e-2), ("PCM_16", 1e-4), ("PCM_24", 1e-6), ("PCM_32", 1e-7), ("FLOAT", 0.0),
])
def test_wav_subtypes_decode_to_float32(tmp_path, subtype, tol):
    x = tone(440, 16000, 0.25)
    path = write(tmp_path / f"t_{subtype}.wav", x, 16000, subtype=subtype)
    y = load_audio(path, 16000)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.max(np.abs(y - x)) <= tol + 1e-9
    assert audio_duration(path) == pytest.approx(0.25)


@pytest.mark.parametrize("fmt, ext", [("FLAC", "flac"), ("OGG", "ogg"), ("MP3", "mp3")])
def test_compressed_formats(tmp_path, fmt, ext):
    if fmt not in FORMATS:
        pytest.skip(f"libsndfile {sf.__libsndfile_version__} has no {fmt} support")
    x = tone(1000, 16000, 0.5)
    path = write(tmp_path / f"t.{ext}", x, 16000, format=fmt)
    y = load_audio(path, 16000)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - len(x)) <= 1152  # lossy codecs may pad a frame
    assert peak_hz(y, 16000) == pytest.approx(1000, abs=5)
    if fmt == "FLAC":
        assert np.max(np.abs(y - x)) < 1e-4  # lossless (16-bit)


def test_stereo_is_averaged_to_mono(tmp_path):
    left, right = tone(300, 16000, 0.2, 0.4), tone(300, 16000, 0.2, 0.2)
    path = write(tmp_path / "st.wav", np.stack([left, right], 1), 16000, subtype="FLOAT")
    y = load_audio(path, 16000)
    assert y.shape == left.shape
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-7)


@pytest.mark.parametrize("rate", [8000, 44100])
def test_resampled_to_target_rate(tmp_path, rate):
    path = write(tmp_path / f"r{rate}.wav", tone(1000, rate, 1.0), rate, subtype="PCM_16")
    y = load_audio(path, 16000)
    assert y.shape == (16000,)
    assert peak_hz(y, 16000) == pytest.approx(1000, abs=2)
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


# ------------------------------------------------------------------ bad files


def assert_audio_error(path: Path, fragment: str, rate: int = 16000) -> AudioError:
    with pytest.raises(AudioError) as info:
        load_audio(path, rate)
    msg = str(info.value)
    assert str(path) in msg and fragment in msg, msg
    assert isinstance(info.value, EdgeAsrError) and isinstance(info.value, ValueError)
    return info.value


@pytest.mark.parametrize("rate", [16000, 44100])
def test_audio_blocks_decode_the_file_in_bounded_blocks(tmp_path, rate):
    x = np.stack([tone(440, rate, 5.3), tone(300, rate, 5.3)], axis=1)
    path = write(tmp_path / f"long_{rate}.wav", x, rate, subtype="FLOAT")
    blocks = list(audio_blocks(path, 16000, seconds=1.0))
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    assert len(blocks) >= 5 and max(len(b) for b in blocks) <= 16000 * 1.1
    whole = np.concatenate(blocks)
    reference = load_audio(path, 16000)
    assert abs(len(whole) - len(reference)) <= 2
    n = min(len(whole), len(reference))  # the streaming resampler matches the one-shot one
    np.testing.assert_allclose(whole[100:n - 100], reference[100:n - 100], atol=2e-3)


def test_audio_blocks_name_the_bad_file(tmp_path):
    with pytest.raises(AudioError, match="empty.wav"):
        list(audio_blocks(write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000), 16000))
    cut = write(tmp_path / "cut.wav", tone(440, 16000, 1.0), 16000)
    cut.write_bytes(cut.read_bytes()[:-2000])
    with pytest.raises(AudioError, match="cut.wav is truncated"):
        list(audio_blocks(cut, 16000))


def test_missing_file(tmp_path):
    assert_audio_error(tmp_path / "nope.wav", "no such audio file")
    with pytest.raises(AudioError, match="nope.wav"):
        audio_duration(tmp_path / "nope.wav")


def test_directory(tmp_path):
    assert_audio_error(tmp_path, "is a directory")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()
    assert_audio_error(path, "is empty (0 bytes)")


def test_text_file_renamed_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 20)
    assert_audio_error(path, "cannot be decoded as audio")
    with pytest.raises(AudioError, match="notes.wav"):
        audio_duration(path)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_wav(tmp_path, subtype, keep):
    full = write(tmp_path / "full.wav", tone(440, 16000, 0.5), 16000, subtype=subtype)
    data = full.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[:int(len(data) * keep)])
    # libsndfile itself accepts this silently: it reports only the frames present
    assert 0 < sf.info(str(cut)).frames < 8000
    assert_audio_error(cut, "is truncated")


def test_truncated_inside_header(tmp_path):
    full = write(tmp_path / "full.wav", tone(440, 16000, 0.1), 16000, subtype="PCM_16")
    cut = tmp_path / "hdr.wav"
    cut.write_bytes(full.read_bytes()[:30])
    assert_audio_error(cut, "cannot be decoded")


@pytest.mark.parametrize("fmt, ext", [("AIFF", "aiff"), ("AU", "au"), ("RF64", "rf64")])
def test_truncated_other_containers(tmp_path, fmt, ext):
    full = write(tmp_path / f"full.{ext}", tone(440, 16000, 0.5), 16000, format=fmt,
                 subtype="PCM_16")
    assert load_audio(full, 16000).shape == (8000,)
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(full.read_bytes()[:-1001])
    assert_audio_error(cut, "is truncated")


def test_streaming_wav_with_unknown_size_is_accepted(tmp_path):
    """A pipe-written WAV (data size 0xFFFFFFFF) is not reported as truncated."""
    x = tone(440, 16000, 0.25)
    full = write(tmp_path / "full.wav", x, 16000, subtype="PCM_16")
    data = bytearray(full.read_bytes())
    pos = data.index(b"data")
    data[pos + 4:pos + 8] = struct.pack("<I", 0xFFFFFFFF)
    data[4:8] = struct.pack("<I", 0xFFFFFFFF)
    stream = tmp_path / "stream.wav"
    stream.write_bytes(bytes(data))
    np.testing.assert_allclose(load_audio(stream, 16000), x, atol=1e-4)


@pytest.mark.parametrize("fmt, ext", [("FLAC", "flac"), ("MP3", "mp3"), ("OGG", "ogg")])
def test_truncated_compressed(tmp_path, fmt, ext):
    if fmt not in FORMATS:
        pytest.skip(f"no {fmt} support")
    full = write(tmp_path / f"full.{ext}", tone(440, 16000, 2.0), 16000, format=fmt)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(AudioError) as info:
        load_audio(cut, 16000)
    msg = str(info.value)
    assert str(cut) in msg
    assert any(w in msg for w in ("truncated", "cannot be decoded")), msg


def test_nan_float_wav(tmp_path):
    x = tone(440, 16000, 0.1)
    x[800] = np.nan
    x[900] = np.inf
    path = write(tmp_path / "nan.wav", x, 16000, subtype="FLOAT")
    err = assert_audio_error(path, "2 NaN/Inf samples")
    assert "sample 800" in str(err) and "0.050 s" in str(err)


def test_header_only_wav_has_no_samples(tmp_path):
    path = write(tmp_path / "silent.wav", np.zeros(0, np.float32), 16000, subtype="PCM_16")
    assert_audio_error(path, "no audio samples")


# ------------------------------------------------------------------ arrays


@pytest.mark.parametrize("dtype, values, expected", [
    (np.int16, [-32768, 0, 16384], [-1.0, 0.0, 0.5]),
    (np.int32, [-2**31, 0, 2**30], [-1.0, 0.0, 0.5]),
    (np.uint8, [0, 128, 192, 255], [-1.0, 0.0, 0.5, 127 / 128]),
    (np.float64, [-0.25, 0.0, 0.75], [-0.25, 0.0, 0.75]),
    (np.float32, [-0.25, 0.0, 0.75], [-0.25, 0.0, 0.75]),
    (">i2", [-32768, 0, 16384], [-1.0, 0.0, 0.5]),  # big-endian input
])
def test_prepare_waveform_scales_dtypes(dtype, values, expected):
    y = prepare_waveform(np.array(values, dtype=dtype), 16000, 16000)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, atol=1e-7)


def test_prepare_waveform_mixes_and_resamples():
    stereo = np.stack([tone(1000, 48000, 0.5), np.zeros(24000, np.float32)], 1)
    y = prepare_waveform((stereo * 32767).astype(np.int16), 48000, 16000)
    assert y.shape == (8000,)
    assert peak_hz(y, 16000) == pytest.approx(1000, abs=3)
    assert np.max(np.abs(y[500:-500])) == pytest.approx(0.25, rel=0.02)


@pytest.mark.parametrize("audio, fragment", [
    (np.zeros(0, np.float32), "no audio samples"),
    (np.zeros((0, 2), np.float32), "no audio samples"),
    (np.zeros((2, 3, 4), np.float32), "shape (N,) or (N, channels)"),
    (np.float32(0.5), "shape (N,) or (N, channels)"),
    (np.zeros((2, 16000), np.float32), "audio.T"),
    (np.array([0.1, np.nan, 0.2], np.float32), "1 NaN/Inf samples"),
    (np.array([0.1, -np.inf], np.float64), "1 NaN/Inf samples"),
    (np.zeros(10, np.int64), "unsupported sample dtype int64"),
])
def test_prepare_waveform_rejects(audio, fragment):
    with pytest.raises(AudioError) as info:
        prepare_waveform(audio, 16000, 16000, name="mic-capture")
    assert "mic-capture" in str(info.value) and fragment in str(info.value)


def test_prepare_waveform_rejects_bad_rates():
    with pytest.raises(AudioError, match="sample_rate"):
        prepare_waveform(np.zeros(10, np.float32), 0, 16000)
    with pytest.raises(AudioError, match="target_rate"):
        prepare_waveform(np.zeros(10, np.float32), 16000, 16000.5)
    with pytest.raises(AudioError, match="too short to resample"):
        prepare_waveform(np.zeros(1, np.float32), 44100, 16000, name="blip")


def test_resample_lengths_and_passthrough():
    x = tone(500, 8000, 0.5)
    assert resample(x, 8000, 8000) is x
    y = resample(x, 8000, 22050)
    assert y.dtype == np.float32 and y.shape == (11025,)
    assert peak_hz(y, 22050) == pytest.approx(500, abs=3)


def _id3v2_tag(payload_size: int) -> bytes:
    size = bytes((payload_size >> shift) & 0x7F for shift in (21, 14, 7, 0))  # syncsafe
    return b"ID3\x04\x00\x00" + size + b"\x00" * payload_size


@pytest.mark.parametrize("tag_size", [5000, 70000])  # past the 4 KiB search window / 64 KiB head
def test_mp3_behind_id3_tag_is_checked_for_truncation(tmp_path, tag_size):
    if "MP3" not in FORMATS:
        pytest.skip("no MP3 support")
    x = tone(440, 16000, 2.0)
    raw = write(tmp_path / "raw.mp3", x, 16000, format="MP3").read_bytes()
    tagged = tmp_path / "tagged.mp3"
    tagged.write_bytes(_id3v2_tag(tag_size) + raw)
    assert abs(len(load_audio(tagged, 16000)) - len(x)) <= 1152
    cut = tmp_path / "tagged_cut.mp3"
    cut.write_bytes(_id3v2_tag(tag_size) + raw[:len(raw) // 2])
    assert_audio_error(cut, "is truncated: its header declares 32000 frames")
