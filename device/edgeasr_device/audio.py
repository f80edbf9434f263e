"""Audio loading and conversion to the mono float32 waveform a model expects.

Everything returns a 1-D ``float32`` array of shape ``(N,)`` in roughly
``[-1, 1]`` at the requested sample rate. Files are decoded with soundfile
(libsndfile: WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF, ...), channels are mixed
to mono by averaging, and rates are converted with ``soxr`` ("HQ" quality).

Truncation
----------
libsndfile does not report a WAV/AIFF/AU file whose audio data was cut short:
it silently clamps the frame count to the bytes present. :func:`load_audio`
therefore parses the container header itself and compares the declared size
of the audio chunk with the bytes actually in the file:

* RIFF/RIFX/RF64 WAV (``data`` chunk, RF64 via ``ds64``), AIFF/AIFC (``SSND``)
  and AU/SND (header data size): any shortfall is detected, even a partial
  sample. Streaming placeholders (size 0 or 0xFFFFFFFF, sox's 0x7FFFF000)
  mean "length unknown" and are accepted.
* FLAC, OGG and other formats whose header states an exact frame count:
  a file that decodes to fewer frames than declared is reported. With
  libsndfile 1.2 a cut FLAC fails to decode ("lost sync") and a cut OGG either
  fails to open or decodes to nothing; both are reported (as undecodable /
  "no audio samples, empty or truncated").
* MP3: the length is exact only when a Xing/Info/VBRI header is present;
  then a shortfall of more than one MPEG frame (1152 samples) is reported.
  MP3s without such a header have estimated lengths and are not checked.
* Not detectable: W64 and other containers not parsed here, a file cut
  exactly at a chunk/packet boundary whose header was rewritten to match, and
  a truncated file whose length fields are streaming placeholders.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO, Union

import numpy as np
import soundfile as sf
import soxr

#: Sample rate (Hz) of every edgeasr preset, corpus and TTS default: wideband speech.
DEFAULT_SAMPLE_RATE = 16000

#: File suffixes of the audio formats :func:`load_audio` decodes (libsndfile), the most common
#: first: where a name is tried with each suffix in turn, ``.wav`` wins.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".oga", ".aif", ".aiff", ".aifc",
                    ".au", ".snd", ".w64", ".caf")

from .errors import AudioError

__all__ = ["audio_blocks", "audio_duration", "load_audio", "prepare_waveform", "resample"]

PathLike = Union[str, "os.PathLike[str]"]

_CONVERT_HINT = f"convert it, e.g. `ffmpeg -i INPUT -ac 1 -ar {DEFAULT_SAMPLE_RATE} OUTPUT.wav`"
_UNKNOWN_SIZES = frozenset({0, 0xFFFFFFFF, 0x7FFFF000})
_MAX_CHUNKS = 4096
_MP3_FRAME = 1152
_UNKNOWN_FRAMES = 1 << 40  # libsndfile reports huge counts for "unknown length"
_INT_SCALES = {
    np.dtype(np.int16): 1.0 / 32768.0,
    np.dtype(np.int32): 1.0 / 2147483648.0,
}


def load_audio(path: PathLike, sample_rate: int) -> np.ndarray:
    """Decode an audio file to a mono float32 waveform of shape ``(N,)``.

    Multi-channel audio is averaged to mono; the result is resampled to
    ``sample_rate`` Hz when the file's rate differs.

    Raises:
        AudioError: naming ``path``, if the file is missing, a directory,
            empty, undecodable, truncated, has no samples, or has NaN/Inf.
    """
    name = os.fspath(path)
    _check_whole_file(name)
    try:
        with sf.SoundFile(name) as f:
            declared, native_rate, fmt = f.frames, f.samplerate, f.format
            data = f.read(dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError) as exc:
        raise AudioError(f"{name} cannot be decoded as audio "
                         f"({_libsndfile_message(exc)}); it is corrupt, truncated or "
                         f"not in a supported format: {_CONVERT_HINT}") from exc
    got = data.shape[0]
    if got == 0:
        raise AudioError(f"{name} contains no audio samples (it is empty or truncated); "
                         "re-record or re-export it")
    tolerance = _declared_length_tolerance(name, fmt)
    if tolerance is not None and declared < _UNKNOWN_FRAMES and got + tolerance < declared:
        raise AudioError(f"{name} is truncated: its header declares {declared} frames but "
                         f"only {got} could be decoded; re-copy or re-record it")
    return prepare_waveform(data, native_rate, sample_rate, name=name)


def audio_blocks(path: PathLike, sample_rate: int, seconds: float = 2.0) -> Iterator[np.ndarray]:
    """Decode an audio file block by block: float32 mono (n,) arrays at ``sample_rate``.

    Memory stays at one block whatever the file's length (resampled with a streaming soxr
    resampler when the file's rate differs). Same checks as
    :func:`load_audio`.

    Raises:
        AudioError: naming the file, when it is missing, truncated or undecodable.
    """
    name = os.fspath(path)
    _check_whole_file(name)
    try:
        with sf.SoundFile(name) as f:
            rate = f.samplerate
            resampler = None if rate == sample_rate else \
                soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ")
            size = max(1, int(seconds * rate))
            total = 0
            while True:
                data = f.read(size, dtype="float32", always_2d=True)
                last = data.shape[0] < size
                mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
                if mono.size and not np.isfinite(mono).all():
                    raise AudioError(f"{name} contains NaN/Inf samples; the audio is corrupt")
                total += mono.shape[0]
                if resampler is not None:
                    mono = resampler.resample_chunk(np.ascontiguousarray(mono), last=last)
                if mono.size:
                    yield np.ascontiguousarray(mono, dtype=np.float32)
                if last:
                    break
    except (sf.SoundFileError, RuntimeError) as exc:
        raise AudioError(f"{name} cannot be decoded as audio ({_libsndfile_message(exc)})") from exc
    if total == 0:
        raise AudioError(f"{name} contains no audio samples (it is empty or truncated)")


def prepare_waveform(audio: np.ndarray, sample_rate: int, target_rate: int,
                     name: str = "<array>") -> np.ndarray:
    """Convert an in-memory signal to a mono float32 waveform of shape ``(N,)``.

    Args:
        audio: ``(N,)`` or ``(N, C)`` samples. ``int16`` is scaled by 1/32768,
            ``int32`` by 1/2**31, ``uint8`` (unsigned 8-bit PCM) maps to
            ``(x - 128) / 128``; ``float32``/``float64`` are used as they are.
        sample_rate: rate of ``audio`` in Hz.
        target_rate: rate of the result in Hz.
        name: how to refer to the signal in error messages (e.g. a file name).

    Raises:
        AudioError: naming ``name``, for bad shape/dtype/rate, no samples, or
            NaN/Inf samples.
    """
    sample_rate = _check_rate(sample_rate, name, "sample_rate")
    target_rate = _check_rate(target_rate, name, "target_rate")
    arr = np.asarray(audio)
    if arr.ndim not in (1, 2):
        raise AudioError(f"{name}: audio must have shape (N,) or (N, channels), "
                         f"got shape {arr.shape}; reshape or select one signal")
    if arr.size == 0:
        raise AudioError(f"{name} contains no audio samples (shape {arr.shape}); "
                         "pass a non-empty signal")
    if arr.ndim == 2 and arr.shape[1] > arr.shape[0]:
        raise AudioError(f"{name}: audio of shape {arr.shape} has more channels than "
                         "samples; it looks like (channels, N): pass its transpose `audio.T`")
    mono = _to_float32(arr, name)
    if mono.ndim == 2:
        mono = mono[:, 0] if mono.shape[1] == 1 else mono.mean(axis=1, dtype=np.float32)
    bad = ~np.isfinite(mono)
    if bad.any():
        first = int(np.argmax(bad))
        raise AudioError(f"{name} contains {int(bad.sum())} NaN/Inf samples (first at sample "
                         f"{first}, {first / sample_rate:.3f} s); the audio is corrupt or was "
                         "written from invalid float data: fix or re-export it")
    out = resample(mono, sample_rate, target_rate)
    if out.shape[0] == 0:
        raise AudioError(f"{name} is too short to resample ({mono.shape[0]} samples at "
                         f"{sample_rate} Hz gives none at {target_rate} Hz); pass longer audio")
    return np.ascontiguousarray(out, dtype=np.float32)


def resample(x: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample ``x`` (``(N,)`` or ``(N, C)``) from ``from_rate`` to ``to_rate`` Hz.

    Uses soxr "HQ"; the result has ``round(N * to_rate / from_rate)`` frames
    and dtype float32. Equal rates return ``x`` as float32 without resampling.
    """
    from_rate = _check_rate(from_rate, "<array>", "from_rate")
    to_rate = _check_rate(to_rate, "<array>", "to_rate")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if from_rate == to_rate:
        return x
    return soxr.resample(x, from_rate, to_rate, quality="HQ")


def audio_duration(path: PathLike) -> float:
    """Duration of an audio file in seconds, from its header (no decoding).

    For WAV/AIFF/AU this is the duration of the audio actually present; for
    MP3 without a Xing/VBRI header it is libsndfile's estimate.

    Raises:
        AudioError: naming ``path`` if it is missing, empty or undecodable.
    """
    name = os.fspath(path)
    _check_file(name)
    try:
        with sf.SoundFile(name) as f:
            frames, rate = f.frames, f.samplerate
    except (sf.SoundFileError, RuntimeError) as exc:
        raise AudioError(f"{name} cannot be read as audio ({_libsndfile_message(exc)}); "
                         f"{_CONVERT_HINT}") from exc
    return frames / float(rate)


# --------------------------------------------------------------------------- helpers

def _check_file(name: str) -> None:
    if os.path.isdir(name):
        raise AudioError(f"{name} is a directory, not an audio file; pass a file inside it")
    if not os.path.exists(name):
        raise AudioError(f"{name}: no such audio file; check the path")
    if os.path.getsize(name) == 0:
        raise AudioError(f"{name} is empty (0 bytes); re-record or re-copy it")
    if not os.access(name, os.R_OK):
        raise AudioError(f"{name} is not readable (permission denied); fix its permissions")


def _check_whole_file(name: str) -> None:
    """:func:`_check_file`, then the container's declared size against the bytes present."""
    _check_file(name)
    problem = _container_truncation(name)
    if problem is not None:
        raise AudioError(f"{name} is truncated: {problem}; the file was cut short "
                         "(interrupted copy, download or recording): re-copy or re-record it")


def _check_rate(rate: object, name: str, what: str) -> int:
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise AudioError(f"{name}: {what} must be a positive integer number of Hz, got {rate!r}")
    return int(rate)


def _to_float32(arr: np.ndarray, name: str) -> np.ndarray:
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype in _INT_SCALES:
        return arr.astype(np.float32) * np.float32(_INT_SCALES[arr.dtype])
    if arr.dtype == np.uint8:
        return (arr.astype(np.float32) - 128.0) / np.float32(128.0)
    if arr.dtype in (np.float32, np.float64):
        return arr.astype(np.float32, copy=False)
    raise AudioError(f"{name}: unsupported sample dtype {arr.dtype}; pass int16, int32, "
                     "uint8 (8-bit unsigned PCM), float32 or float64 samples")


def _libsndfile_message(exc: BaseException) -> str:
    return str(getattr(exc, "error_string", None) or exc).strip()


def _declared_length_tolerance(name: str, fmt: str) -> int | None:
    """Frames a decode may fall short of the header's count, or None: don't check."""
    if fmt == "MP3":
        return _MP3_FRAME if _mp3_has_length_header(name) else None
    if fmt in ("WAV", "WAVEX", "RF64", "AIFF", "AU"):
        return None  # libsndfile clamps these; the container check covers them
    return 0


def _mp3_has_length_header(name: str) -> bool:
    with open(name, "rb") as f:
        head = f.read(1 << 16)
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        size = 0
        for byte in head[6:10]:
            size = (size << 7) | (byte & 0x7F)
        start = 10 + size + (10 if head[5] & 0x10 else 0)
        if start + 4096 > len(head):
            with open(name, "rb") as f:
                f.seek(start)
                head, start = f.read(4096), 0
    window = head[start:start + 4096]
    return any(tag in window for tag in (b"Xing", b"Info", b"VBRI"))


def _container_truncation(name: str) -> str | None:
    """Describe how a WAV/AIFF/AU file falls short of its header, or None."""
    size = os.path.getsize(name)
    with open(name, "rb") as f:
        head = f.read(12)
        if len(head) < 12:
            return None
        if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") and head[8:12] == b"WAVE":
            return _riff_truncation(f, size, big_endian=head[:4] == b"RIFX")
        if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
            return _iff_truncation(f, size)
        if head[:4] in (b".snd", b"dns."):
            endian = ">" if head[:4] == b".snd" else "<"
            offset, declared = struct.unpack(endian + "II", head[4:12])
            if declared in _UNKNOWN_SIZES:
                return None
            return _shortfall(declared, size - offset, "data section")
    return None


def _riff_truncation(f: BinaryIO, file_size: int, big_endian: bool) -> str | None:
    endian = ">" if big_endian else "<"
    pos, ds64_data = 12, None
    for _ in range(_MAX_CHUNKS):
        if pos + 8 > file_size:
            return None  # no data chunk: libsndfile will report the file itself
        f.seek(pos)
        chunk_id, chunk_size = struct.unpack(endian + "4sI", f.read(8))
        if chunk_id == b"ds64" and chunk_size >= 16 and pos + 24 <= file_size:
            ds64_data = struct.unpack("<QQ", f.read(16))[1]
        elif chunk_id == b"data":
            if chunk_size == 0xFFFFFFFF and ds64_data is not None:
                chunk_size = ds64_data
            elif chunk_size in _UNKNOWN_SIZES:
                return None
            return _shortfall(chunk_size, file_size - pos - 8, "'data' chunk")
        pos += 8 + chunk_size + (chunk_size & 1)
    return None


def _iff_truncation(f: BinaryIO, file_size: int) -> str | None:
    pos = 12
    for _ in range(_MAX_CHUNKS):
        if pos + 8 > file_size:
            return None
        f.seek(pos)
        chunk_id, chunk_size = struct.unpack(">4sI", f.read(8))
        if chunk_id == b"SSND":
            if chunk_size in _UNKNOWN_SIZES:
                return None
            return _shortfall(chunk_size, file_size - pos - 8, "'SSND' chunk")
        pos += 8 + chunk_size + (chunk_size & 1)
    return None


def _shortfall(declared: int, available: int, what: str) -> str | None:
    if available >= declared:
        return None
    return (f"its header declares a {what} of {declared} bytes but only "
            f"{max(available, 0)} are present")
