"""Fixtures of the device tests: a small exported model, without TensorFlow."""

from __future__ import annotations

from pathlib import Path

import pytest

def pytest_addoption(parser):
    """``--slow`` for the device tests run alone (on a Pi, or ``pytest device/tests``); in a
    whole-repository run tests/conftest.py has added it already."""
    try:
        parser.addoption("--slow", action="store_true", help="also run tests marked slow")
    except ValueError:
        pass


#: float32 exports written by edgeasr 0.1.0 (untrained weights), kept in the repository.
LEGACY = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "legacy_v1"


@pytest.fixture(scope="session")
def tiny_tflite() -> Path:
    """An exported ``tiny`` model with format-1 metadata (skips outside the repository)."""
    path = LEGACY / "tiny-float32.tflite"
    if not path.is_file():
        pytest.skip(f"needs the repository's model fixture {path}")
    return path
