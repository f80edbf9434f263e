"""Tests for the synthetic espeak corpus builder (a tiny corpus, a few seconds)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgeasr.audio.silence import TTS_TRIM, trim_silence
from edgeasr.synth.corpus import build_synthetic_corpus, existing_corpus
from edgeasr.synth.corpus_config import SyntheticCorpusConfig
from edgeasr.synth.grammar import ALPHABET
from edgeasr.synth.plan import SPLITS, plan_corpus
from edgeasr.synth.render import TRIM_PAD_MS, TRIM_THRESHOLD_DB, synthesize_utterance

TINY = SyntheticCorpusConfig(
    train_accents=("en-us", "en-gb-x-rp"),
    test_accents=("en-029",),
    train_variants=("m3", "f1"),
    test_variants=("m8",),
    num_train=8,
    num_dev=2,
    num_test=4,
    seed=7,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    out = tmp_path_factory.mktemp("synth")
    return out, build_synthetic_corpus(TINY, out, workers=2)


def _read(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def test_manifests_and_audio(corpus: tuple[Path, dict[str, Path]]) -> None:
    out, manifests = corpus
    assert set(manifests) == set(SPLITS)
    expected = {"train": 8, "dev": 2, "test_variants": 4, "test_accents": 4}
    for split, manifest in manifests.items():
        assert manifest == out / f"{split}.jsonl"
        rows = _read(manifest)
        assert len(rows) == expected[split]
        for row in rows:
            assert {"audio_filepath", "duration", "text", "speaker"} <= set(row)
            rel = Path(row["audio_filepath"])
            assert not rel.is_absolute() and rel.parts[:2] == ("wavs", split)
            path = manifest.parent / rel
            info = sf.info(str(path))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert abs(info.frames / 16000 - row["duration"]) < 1e-3
            assert 0.3 < row["duration"] < 8.0
            audio, _ = sf.read(str(path), dtype="float32")
            assert np.abs(audio).max() > 0.05
            assert row["text"] and set(row["text"]) <= set(ALPHABET)
    meta = json.loads((out / "corpus.json").read_text())
    assert meta["config"] == TINY.to_json()
    assert meta["counts"] == expected
    assert meta["total_hours"] > 0


def test_splits_keep_voices_apart(corpus: tuple[Path, dict[str, Path]]) -> None:
    _, manifests = corpus
    voices = {s: [tuple(r["speaker"].split("+")) for r in _read(m)] for s, m in manifests.items()}
    for split in ("train", "dev"):
        assert all(a in TINY.train_accents and v in TINY.train_variants for a, v in voices[split])
    assert all(a in TINY.train_accents and v in TINY.test_variants for a, v in voices["test_variants"])
    assert all(a in TINY.test_accents for a, _ in voices["test_accents"])
    train_texts = {r["text"] for r in _read(manifests["train"])}
    assert len(train_texts) == TINY.num_train
    assert not train_texts & {r["text"] for r in _read(manifests["dev"])}
    for split in ("test_variants", "test_accents"):
        rows = _read(manifests[split])
        assert all(r["seen_text"] == (r["text"] in train_texts) for r in rows)
        assert sum(r["seen_text"] for r in rows) == 2  # half seen, half new


def test_rerun_is_skipped(corpus: tuple[Path, dict[str, Path]]) -> None:
    out, manifests = corpus
    stamp = (out / "corpus.json").stat().st_mtime_ns
    started = time.perf_counter()
    again = build_synthetic_corpus(TINY, out, workers=2)
    assert time.perf_counter() - started < 0.5
    assert again == manifests
    assert (out / "corpus.json").stat().st_mtime_ns == stamp
    assert existing_corpus(dataclasses.replace(TINY, seed=8), out) is None


def test_plan_is_deterministic() -> None:
    assert plan_corpus(TINY) == plan_corpus(TINY)
    assert plan_corpus(TINY) != plan_corpus(dataclasses.replace(TINY, seed=8))


def test_default_config_holds_out_voices() -> None:
    config = SyntheticCorpusConfig()
    assert not set(config.train_accents) & set(config.test_accents)
    assert not set(config.train_variants) & set(config.test_variants)
    assert config.sample_rate == 16000
    assert SyntheticCorpusConfig(rates=[140], pitch_range=[40, 60]).rates == (140,)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="overlap"):
        dataclasses.replace(TINY, test_accents=("en-us",))
    with pytest.raises(ValueError, match="unknown espeak"):
        build_synthetic_corpus(dataclasses.replace(TINY, test_variants=("nope",)), "/nonexistent")


def test_synthesize_utterance_and_trim() -> None:
    audio = synthesize_utterance("set a timer for ten minutes", "en-us+m3")
    assert audio.dtype == np.float32 and 0.8 < len(audio) / 16000 < 3.0
    assert len(synthesize_utterance("set a timer for ten minutes", "en-us", rate=300)) < len(audio)
    padded = np.concatenate([np.zeros(16000, np.float32), audio, np.zeros(16000, np.float32)])
    trimmed = trim_silence(padded, 16000, TRIM_THRESHOLD_DB, TRIM_PAD_MS, **TTS_TRIM)
    assert len(trimmed) < len(audio) + 0.2 * 16000


def test_single_process_build_matches(corpus: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    _, manifests = corpus
    serial = build_synthetic_corpus(TINY, tmp_path, workers=1)
    for split in SPLITS:
        a = [(r["text"], r["speaker"]) for r in _read(manifests[split])]
        b = [(r["text"], r["speaker"]) for r in _read(serial[split])]
        assert a == b
