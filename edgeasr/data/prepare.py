"""``edgeasr prepare RECIPE``: a corpus on disk -> manifests (and a prepare report)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from edgeasr.data.manifest import ManifestError, Utterance, write_manifest
from edgeasr_device.audio import audio_duration


def prepare(recipe: str, out_dir: str | os.PathLike, src: str | os.PathLike | None = None,
            config_path: str | os.PathLike | None = None, workers: int = 2) -> dict[str, Path]:
    """Run a recipe's preparation; return ``{split: manifest path}``."""
    if recipe == "synthetic":
        return prepare_synthetic(out_dir, config_path, workers)
    if recipe == "ldc93s1":
        if src is None:
            raise ManifestError("the ldc93s1 recipe needs --src, the folder holding LDC93S1.wav/.txt")
        return {"all": prepare_ldc93s1(src, out_dir)}
    raise ValueError(f"unknown recipe {recipe!r}")


def prepare_synthetic(out_dir, config_path=None, workers: int = 2) -> dict[str, Path]:
    from edgeasr.data.synthetic import SyntheticCorpusConfig, build_synthetic_corpus

    options = {}
    if config_path is not None:
        import yaml

        data = yaml.safe_load(Path(config_path).read_text()) or {}
        options = data.get("corpus", {}) or {}
    return build_synthetic_corpus(SyntheticCorpusConfig(**options), out_dir, workers=workers)


def prepare_ldc93s1(src: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """The TIMIT sample DeepSpeech's CI overfits on: ``LDC93S1.wav`` + ``LDC93S1.txt``.

    The transcript file is either plain text or TIMIT's ``<start> <end> <text>`` form.
    """
    src = Path(src)
    wav, txt = src / "LDC93S1.wav", src / "LDC93S1.txt"
    for path in (wav, txt):
        if not path.is_file():
            raise ManifestError(f"{path} is missing; --src must be the folder holding LDC93S1.wav and .txt")
    text = re.sub(r"^\s*\d+\s+\d+\s+", "", txt.read_text(encoding="utf-8").strip())
    utterance = Utterance(wav.resolve(), audio_duration(wav), text, "ldc93s1")
    return write_manifest([utterance], Path(out_dir) / "ldc93s1.jsonl")
