"""Encoded corpora: utterances as int16 audio at the model rate plus label ids.

Two implementations share one small interface that batching and evaluation use:
``MemoryCorpus`` (arrays in RAM: tests, ad-hoc transcription) and ``ShardCorpus``
(memory-mapped int16 shards written by ``edgeasr.data.shards``: training reads no compressed
audio and holds no corpus in RAM).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgeasr_device.audio import DEFAULT_SAMPLE_RATE


class Corpus:
    """Base interface. ``lengths`` (U,) samples; ``texts``/``sources`` (U,) strings."""

    lengths: np.ndarray
    texts: list[str]
    sources: list[str]
    sample_rate: int

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    def audio(self, index: int) -> np.ndarray:
        """int16 (N,) at ``sample_rate``."""
        raise NotImplementedError

    def labels(self, index: int) -> np.ndarray:
        """int32 (L,) label ids (empty for unlabelled audio)."""
        raise NotImplementedError

    @property
    def seconds(self) -> float:
        return float(self.lengths.sum()) / self.sample_rate


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1] -> int16 (clipped)."""
    return np.clip(np.round(np.asarray(audio) * 32767.0), -32768, 32767).astype(np.int16)


class MemoryCorpus(Corpus):
    def __init__(self, audios: Sequence[np.ndarray], labels: Sequence[np.ndarray] | None = None,
                 texts: Sequence[str] | None = None, sources: Sequence[str] | None = None,
                 sample_rate: int = DEFAULT_SAMPLE_RATE):
        self._audio = [a if a.dtype == np.int16 else to_pcm16(a) for a in audios]
        n = len(self._audio)
        self._labels = [np.asarray(l, np.int32) for l in labels] if labels is not None else \
            [np.zeros(0, np.int32)] * n
        self.texts = list(texts) if texts is not None else [""] * n
        self.sources = list(sources) if sources is not None else [f"<audio {i}>" for i in range(n)]
        self.lengths = np.array([a.shape[0] for a in self._audio], dtype=np.int64)
        self.sample_rate = sample_rate

    def audio(self, index: int) -> np.ndarray:
        return self._audio[index]

    def labels(self, index: int) -> np.ndarray:
        return self._labels[index]


class ShardCorpus(Corpus):
    """A finished shard cache folder (see ``edgeasr.data.shards``), memory-mapped lazily.

    Pickles as its folder path and index, so worker processes open their own maps.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        index = json.loads((self.directory / "index.json").read_text())
        self.index = index
        self.sample_rate = int(index["sample_rate"])
        self.skipped = index.get("skipped", [])
        with np.load(self.directory / "arrays.npz") as arrays:
            self._shard = arrays["shard"]
            self._offset = arrays["offset"]
            self.lengths = arrays["length"]
            self._label_offsets = arrays["label_offsets"]
            self._labels = arrays["labels"]
        meta = json.loads((self.directory / "texts.json").read_text())
        self.texts, self.sources = meta["texts"], meta["sources"]
        self._maps: list[np.memmap] | None = None

    def _open(self) -> list[np.memmap]:
        if self._maps is None:
            self._maps = [
                np.memmap(self.directory / shard["file"], dtype=np.int16, mode="r")
                if shard["samples"] else np.zeros(0, np.int16)
                for shard in self.index["shards"]
            ]
        return self._maps

    def audio(self, index: int) -> np.ndarray:
        start = int(self._offset[index])
        return self._open()[int(self._shard[index])][start : start + int(self.lengths[index])]

    def labels(self, index: int) -> np.ndarray:
        return self._labels[self._label_offsets[index] : self._label_offsets[index + 1]]

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_maps"] = None
        return state
