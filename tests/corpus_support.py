"""Helpers shared by the corpus-recipe tests (test_corpora*.py): tiny audio, a recipe run,
and checks on what a prepare report says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from edgeasr.data.manifest import read_manifest
from edgeasr.prepare.options import PrepareOptions
from edgeasr.prepare.pipeline import prepare_corpus

HAVE_MP3 = "MP3" in sf.available_formats()
NO_MP3 = "this libsndfile cannot write MP3 (soundfile.available_formats() lacks it)"


def tone(path: Path, seconds: float = 0.2, rate: int = 16000, **kwargs) -> float:
    """Write a short tone + noise; return its duration in seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    noise = np.random.default_rng(n).standard_normal(n)
    sf.write(path, (0.2 * np.sin(2 * np.pi * 440 * t) + 0.01 * noise).astype(np.float32), rate,
             **kwargs)
    return n / rate


def run(recipe: str, src: Path, out: Path, **options):
    return prepare_corpus(recipe, src, out, PrepareOptions(workers=1, **options))


def manifest_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def all_utterances(manifests: dict[str, Path]) -> dict[str, list]:
    """Read every split back (read_manifest checks that each audio path resolves)."""
    return {name: read_manifest(path) if path.stat().st_size else []
            for name, path in manifests.items()}


def check_counts(report: dict) -> None:
    assert report["input"] == report["kept"] + report["skipped"]
    assert report["kept"] == sum(s["utterances"] for s in report["splits"].values())
    assert report["skipped"] == sum(r["count"] for r in report["skipped_by_reason"].values())


def reasons(report: dict) -> dict[str, list[str]]:
    return {reason: [e["source"] for e in info["examples"]]
            for reason, info in report["skipped_by_reason"].items()}


def make_fsdd(root: Path, indices: range, speakers=("george", "jackson", "lucas")) -> None:
    for speaker in speakers:
        for digit in range(3):
            for index in indices:
                tone(root / "recordings" / f"{digit}_{speaker}_{index}.wav", 0.1, rate=8000)
