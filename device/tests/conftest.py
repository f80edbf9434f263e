"""Fixtures of the device tests: a small exported model, without TensorFlow."""

from __future__ import annotations

from pathlib import Path

import pytest

#: float32 exports written by edgeasr 0.1.0 (untrained weights), kept in the repository.
LEGACY = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "legacy_v1"


@pytest.fixture(scope="session")
def tiny_tflite() -> Path:
    """An exported ``tiny`` model with format-1 metadata (skips outside the repository)."""
    path = LEGACY / "tiny-float32.tflite"
    if not path.is_file():
        pytest.skip(f"needs the repository's model fixture {path}")
    return path
