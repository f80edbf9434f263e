"""Noise and room-response sources for waveform augmentation: files, colours, synthetic rooms.

* :func:`list_audio_files` and :class:`AudioCache`: folders of noise or RIR files in any format
  :data:`edgeasr_device.audio.AUDIO_EXTENSIONS` lists, decoded with
  ``edgeasr_device.audio.load_audio`` and kept (LRU, bounded); :func:`looped_window` reads a
  window at an offset, looping a short file.
* :class:`NoiseSource` and :class:`RirSource` pick among those and the synthetic signals of
  :mod:`edgeasr.augment.signals` (``draw``: JSON-friendly parameters from a generator) and
  produce the signal (``render`` / ``response``).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from edgeasr.augment.signals import (
    COLORS,
    align_direct_path,
    colored_noise,
    synthetic_rir,
)
from edgeasr.errors import DataError
from edgeasr_device.audio import AUDIO_EXTENSIONS, load_audio

__all__ = ["AudioCache", "NoiseSource", "RirSource", "list_audio_files", "looped_window"]


def list_audio_files(folders: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Audio files under ``folders`` (recursively), sorted, as absolute paths.

    Raises:
        FileNotFoundError: a folder does not exist.
        DataError: the folders hold no audio file.
    """
    found: list[str] = []
    for folder in folders:
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"audio folder {folder} does not exist")
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            found.extend(os.path.abspath(os.path.join(dirpath, name)) for name in sorted(filenames)
                         if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS)
    if not found:
        raise DataError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) in "
                         f"{', '.join(map(str, folders))}")
    return tuple(sorted(set(found)))


def looped_window(signal: np.ndarray, start: int, length: int) -> np.ndarray:
    """``length`` samples of ``signal`` ``(M,)`` from ``start``, wrapping round (looping) at its end."""
    m = signal.shape[0]
    start %= m
    if start + length <= m:
        return signal[start:start + length]
    return signal[(start + np.arange(length)) % m]


class AudioCache:
    """Decoded audio files at one sample rate, least recently used dropped past ``max_bytes``.

    Pickles empty, so a copy sent to a worker process loads its own files.
    """

    def __init__(self, sample_rate: int, max_bytes: int = 256 << 20) -> None:
        self.sample_rate = sample_rate
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, path: str) -> np.ndarray:
        """The file's mono float32 waveform ``(N,)`` (read-only; do not modify)."""
        audio = self._items.get(path)
        if audio is not None:
            self._items.move_to_end(path)
            return audio
        audio = load_audio(path, self.sample_rate)
        audio.setflags(write=False)
        self._items[path] = audio
        self._bytes += audio.nbytes
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.nbytes
        return audio

    def __getstate__(self) -> dict:
        return {"sample_rate": self.sample_rate, "max_bytes": self.max_bytes}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["sample_rate"], state["max_bytes"])


class NoiseSource:
    """Additive noise: one of ``colors`` or, with probability ``file_fraction`` (always when there
    are no colours), a random window of a file under ``folders``, looped when short."""

    def __init__(self, colors: tuple[str, ...], folders: tuple[str, ...], file_fraction: float,
                 cache: AudioCache) -> None:
        self.colors = tuple(colors)
        self.files = list_audio_files(folders) if folders else ()
        self.file_fraction = file_fraction
        self.cache = cache

    def draw(self, rng: np.random.Generator) -> dict:
        """``{"source": path, "position": 0..1}`` or ``{"source": color, "seed": int}``."""
        if self.files and (not self.colors or rng.random() < self.file_fraction):
            return {"source": self.files[int(rng.integers(len(self.files)))], "position": float(rng.random())}
        return {"source": self.colors[int(rng.integers(len(self.colors)))], "seed": int(rng.integers(2**63))}

    def render(self, params: dict, num_samples: int) -> np.ndarray:
        """The noise ``(num_samples,)`` that ``params`` (from :meth:`draw`) describe."""
        source = params["source"]
        if source in COLORS:
            return colored_noise(num_samples, COLORS[source], self.cache.sample_rate,
                                 np.random.default_rng(params["seed"]))
        clip = self.cache.get(source)
        return looped_window(clip, int(params["position"] * clip.shape[0]), num_samples)


class RirSource:
    """Room responses: synthetic (RT60 and DRR drawn from ranges) or, with probability
    ``file_fraction``, a file under ``folders`` aligned on its direct path."""

    def __init__(self, rt60_s: tuple[float, float], drr_db: tuple[float, float], folders: tuple[str, ...],
                 file_fraction: float, cache: AudioCache) -> None:
        self.rt60_s, self.drr_db = rt60_s, drr_db
        self.files = list_audio_files(folders) if folders else ()
        self.file_fraction = file_fraction
        self.cache = cache

    def draw(self, rng: np.random.Generator) -> dict:
        """``{"source": path}`` or ``{"source": "synthetic", "rt60_s", "drr_db", "seed"}``."""
        if self.files and rng.random() < self.file_fraction:
            return {"source": self.files[int(rng.integers(len(self.files)))]}
        return {"source": "synthetic", "rt60_s": float(rng.uniform(*self.rt60_s)),
                "drr_db": float(rng.uniform(*self.drr_db)), "seed": int(rng.integers(2**63))}

    def response(self, params: dict) -> np.ndarray:
        """The impulse response ``(L,)`` that ``params`` describe, direct path at index 0."""
        if params["source"] == "synthetic":
            return synthetic_rir(params["rt60_s"], params["drr_db"], self.cache.sample_rate,
                                 np.random.default_rng(params["seed"]))
        return align_direct_path(self.cache.get(params["source"]))
