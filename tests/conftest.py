"""Shared fixtures: synthetic speech (espeak-ng), tiny manifests, a tiny trained run."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest
import soundfile as sf
from support import PHRASES, REPO, SHARED_DATA, speak, write_manifest_lines  # noqa: F401



@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Shard caches go to a temporary folder, never the user's ~/.cache."""
    old = os.environ.get("EDGEASR_CACHE")
    os.environ["EDGEASR_CACHE"] = str(tmp_path_factory.mktemp("edgeasr-cache"))
    yield
    if old is None:
        os.environ.pop("EDGEASR_CACHE", None)
    else:
        os.environ["EDGEASR_CACHE"] = old


def pytest_addoption(parser):
    try:  # device/tests/conftest.py adds it too (for the device tests run alone)
        parser.addoption("--slow", action="store_true", help="also run tests marked slow")
    except ValueError:
        pass


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --slow to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def speech_corpus(tmp_path_factory) -> Path:
    """A folder with a few synthetic utterances and ``train.jsonl`` listing them."""
    root = tmp_path_factory.mktemp("speech")
    entries = []
    for i, text in enumerate(PHRASES):
        audio = speak(text)
        sf.write(root / f"utt{i}.wav", audio, 16000, subtype="PCM_16")
        entries.append({"audio_filepath": f"utt{i}.wav", "duration": len(audio) / 16000, "text": text})
    write_manifest_lines(root / "train.jsonl", entries)
    return root


@pytest.fixture(scope="session")
def tiny_run(speech_corpus, tmp_path_factory) -> Path:
    """A one-epoch run of the tiny preset (weights barely trained: for plumbing tests)."""
    from edgeasr.models.presets import get_preset
    from edgeasr.training.config import TrainConfig
    from edgeasr.training.trainer import train

    out = tmp_path_factory.mktemp("runs") / "tiny"
    manifest = speech_corpus / "train.jsonl"
    train(manifest, manifest, out, get_preset("tiny"),
          TrainConfig(epochs=1, batch_size=4, warmup_epochs=0), echo=lambda _: None, verbose=0)
    return out
