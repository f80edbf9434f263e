"""The shard cache: a manifest decoded once into memory-mappable 16-bit shards.

```
CACHE/<manifest-stem>-<key>/
  index.json      format, key, sample rate, manifest, shard files, skipped lines + reasons
  arrays.npz      per utterance: shard, offset, length (samples); labels (concatenated) + offsets
  texts.json      normalised texts and manifest sources ("file.jsonl:12")
  shard-00000.pcm raw little-endian int16, utterances back to back
```

The key hashes the manifest's bytes, the sample rate, the vocabulary, the tokenizer (for piece
vocabularies: the SentencePiece model's hash) and the edgeasr version (the normaliser's
behaviour), so a changed manifest never reuses a stale cache. A cache is
built in a temporary folder and renamed into place when complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgeasr import __version__
from edgeasr.data.corpus import ShardCorpus, to_pcm16
from edgeasr.data.manifest import ManifestError, Utterance, read_manifest
from edgeasr.files import atomic_directory
from edgeasr.text.normalize import normalize_english
from edgeasr.text.subword import TextEncoder, text_encoder
from edgeasr_device.audio import load_audio
from edgeasr_device.errors import AudioError, VocabularyError
from edgeasr_device.vocab import Vocabulary

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # 2: empty manifest texts are non-speech examples, no longer skipped
SHARD_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Skipped:
    source: str  # "manifest.jsonl:12"
    reason: str


def default_cache_root() -> Path:
    """``$EDGEASR_CACHE``, else ``$XDG_CACHE_HOME/edgeasr``, else ``~/.cache/edgeasr``."""
    if os.environ.get("EDGEASR_CACHE"):
        return Path(os.environ["EDGEASR_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "edgeasr"


def cache_key(manifest: Path, sample_rate: int, vocabulary: Vocabulary,
              tokenizer_key: str = "") -> str:
    """16 hex digits; ``tokenizer_key`` identifies how text becomes labels beyond the
    vocabulary (a SentencePiece model's hash; empty for characters)."""
    digest = hashlib.sha256()
    digest.update(manifest.read_bytes())
    digest.update(str(manifest.resolve().parent).encode())  # relative audio paths resolve here
    digest.update(json.dumps([CACHE_FORMAT, sample_rate, vocabulary.to_dict(), __version__]).encode())
    if tokenizer_key:
        digest.update(tokenizer_key.encode())
    return digest.hexdigest()[:16]


def encode_text(utterance: Utterance, encode: Callable[[str], list[int]],
                normalizer: Callable[[str], str]) -> tuple[str, np.ndarray] | Skipped:
    """The normalised transcript and its labels ``(L,)`` int32, or why it is skipped.

    A manifest text that is empty (or only white space) marks a **non-speech** example
    (noise, music, silence): it is kept with no labels, and CTC teaches the model to emit
    only blanks there. A text that becomes empty only once normalised (``"¿?"``) is a broken
    transcript and is skipped.
    """
    if not utterance.text.strip():
        return "", np.zeros(0, dtype=np.int32)
    text = normalizer(utterance.text)
    if not text:
        return Skipped(utterance.source, "empty transcript after normalisation")
    try:
        return text, np.asarray(encode(text), dtype=np.int32)
    except VocabularyError as err:
        return Skipped(utterance.source, str(err))


def build_cache(utterances: Sequence[Utterance], directory: Path, vocabulary: Vocabulary,
                sample_rate: int, manifest: str = "", key: str = "",
                normalizer: Callable[[str], str] = normalize_english, workers: int = 4,
                encoder: TextEncoder | None = None) -> ShardCorpus:
    """Decode, resample and encode every utterance into a shard cache at ``directory``.

    Labels come from ``encoder`` (default: the vocabulary's characters)."""
    encode = encoder if encoder is not None else text_encoder(vocabulary)
    skipped: list[Skipped] = []
    encoded = []
    for utterance in utterances:
        result = encode_text(utterance, encode, normalizer)
        if isinstance(result, Skipped):
            skipped.append(result)
        else:
            encoded.append((utterance, *result))

    def load(item):
        try:
            return to_pcm16(load_audio(item[0].audio_path, sample_rate))
        except AudioError as err:
            return Skipped(item[0].source, str(err))

    shard_ids, offsets, lengths, labels, texts, sources = [], [], [], [], [], []
    shards: list[dict] = []
    with atomic_directory(directory) as tmp, ThreadPoolExecutor(max(1, workers)) as pool:
        handle, written = None, 0
        for (utterance, text, ids), audio in zip(encoded, pool.map(load, encoded)):
            if isinstance(audio, Skipped):
                skipped.append(audio)
                continue
            if audio.shape[0] == 0:
                skipped.append(Skipped(utterance.source, "no audio samples"))
                continue
            if handle is None or written * 2 >= SHARD_BYTES:
                if handle is not None:
                    handle.close()
                shards.append({"file": f"shard-{len(shards):05d}.pcm", "samples": 0})
                handle, written = open(tmp / shards[-1]["file"], "wb"), 0
            handle.write(audio.astype("<i2").tobytes())
            shard_ids.append(len(shards) - 1)
            offsets.append(written)
            lengths.append(audio.shape[0])
            written += audio.shape[0]
            shards[-1]["samples"] = written
            labels.append(ids)
            texts.append(text)
            sources.append(utterance.source)
        if handle is not None:
            handle.close()
        label_offsets = np.zeros(len(labels) + 1, dtype=np.int64)
        label_offsets[1:] = np.cumsum([ids.size for ids in labels])
        np.savez(
            tmp / "arrays.npz",
            shard=np.asarray(shard_ids, np.int32), offset=np.asarray(offsets, np.int64),
            length=np.asarray(lengths, np.int64), label_offsets=label_offsets,
            labels=np.concatenate(labels) if labels else np.zeros(0, np.int32),
        )
        (tmp / "texts.json").write_text(json.dumps({"texts": texts, "sources": sources}))
        index = {
            "format": CACHE_FORMAT, "key": key, "manifest": manifest, "sample_rate": sample_rate,
            "edgeasr_version": __version__, "utterances": len(lengths),
            "seconds": float(np.sum(lengths)) / sample_rate if lengths else 0.0,
            "shards": shards, "skipped": [asdict(s) for s in skipped],
        }
        (tmp / "index.json").write_text(json.dumps(index, indent=1))
    return ShardCorpus(directory)


def load_corpus(manifest: str | os.PathLike, vocabulary: Vocabulary, sample_rate: int,
                cache_root: str | os.PathLike | None = None, strict: bool = False,
                workers: int = 4, normalizer: Callable[[str], str] = normalize_english,
                encoder: TextEncoder | None = None) -> ShardCorpus:
    """The shard cache of ``manifest``, built on first use; skipped lines are logged.

    With ``strict`` the first unusable line raises ManifestError instead. ``normalizer``
    turns transcripts into the vocabulary's text (another one gets its own cache).
    ``encoder`` makes the labels (``edgeasr.text.subword.text_encoder``; default: the
    vocabulary's characters; a piece vocabulary needs its tokenizer).
    """
    manifest = Path(manifest)
    utterances = read_manifest(manifest)  # validates the manifest every time (cheap)
    encoder = encoder if encoder is not None else text_encoder(vocabulary)
    if encoder.vocabulary != vocabulary:
        raise ValueError("load_corpus: the encoder is for another vocabulary")
    key = cache_key(manifest, sample_rate, vocabulary, encoder.key)
    if normalizer is not normalize_english:
        name = f"{key}:{normalizer.__module__}.{normalizer.__qualname__}"
        key = hashlib.sha256(name.encode()).hexdigest()[:16]
    directory = Path(cache_root or default_cache_root()) / f"{manifest.stem}-{key}"
    corpus = None
    if (directory / "index.json").exists():
        try:
            corpus = ShardCorpus(directory)
        except (OSError, ValueError, KeyError):
            log.warning("shard cache %s is damaged; rebuilding it", directory)
    if corpus is None:
        log.info("building shard cache %s for %s", directory, manifest)
        corpus = build_cache(utterances, directory, vocabulary, sample_rate, str(manifest), key,
                             normalizer=normalizer, workers=workers, encoder=encoder)
    skipped = [Skipped(**s) for s in corpus.skipped]
    if strict and skipped:
        raise ManifestError(f"{skipped[0].source}: {skipped[0].reason} (--strict)")
    report_skipped(skipped, str(manifest))
    nonspeech = sum(1 for text in corpus.texts if not text)
    if nonspeech:
        log.info("%s: %d non-speech example(s) (empty text: the model learns to emit nothing)",
                 manifest, nonspeech)
    return corpus


def report_skipped(skipped: Sequence[Skipped], name: str, limit: int = 5) -> None:
    """Log what was skipped: the count and the first few lines with their reasons."""
    if not skipped:
        return
    lines = "\n".join(f"  {s.source}: {s.reason}" for s in skipped[:limit])
    more = f"\n  ... and {len(skipped) - limit} more" if len(skipped) > limit else ""
    log.warning("%s: skipped %d utterance(s):\n%s%s", name, len(skipped), lines, more)
