"""NeMo-style JSON-lines manifests: one utterance per line.

``{"audio_filepath": "wavs/a.wav", "duration": 1.83, "text": "turn it on", "speaker": "s1"}``

``audio_filepath`` is absolute or relative to the manifest's folder; ``speaker`` is optional;
other keys are kept in ``extra``. Every error names the manifest file and line.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeasr.files import atomic_write_text
from edgeasr_device.errors import EdgeAsrError

REQUIRED_KEYS = ("audio_filepath", "duration", "text")


class ManifestError(EdgeAsrError, ValueError):
    """A manifest is missing, malformed, or names audio that does not exist."""


@dataclass(frozen=True)
class Utterance:
    """One manifest line. ``audio_path`` is resolved (absolute)."""

    audio_path: Path
    duration: float
    text: str
    speaker: str | None = None
    source: str = ""  # "manifest.jsonl:12", for error messages and reports
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self, relative_to: Path | None = None) -> dict[str, Any]:
        path = self.audio_path
        if relative_to is not None and path.is_relative_to(relative_to):
            path = path.relative_to(relative_to)  # inside the manifest's folder: portable
        entry: dict[str, Any] = {
            "audio_filepath": path.as_posix(),
            "duration": round(self.duration, 4),
            "text": self.text,
        }
        if self.speaker is not None:
            entry["speaker"] = self.speaker
        entry.update(self.extra)
        return entry


def parse_line(line: str, base: Path, source: str) -> Utterance:
    """Parse one JSON line; ``base`` is the folder relative paths start from."""
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as err:
        raise ManifestError(f"{source}: not valid JSON ({err.msg} at column {err.colno})") from err
    if not isinstance(entry, dict):
        raise ManifestError(f"{source}: expected a JSON object, got {type(entry).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in entry]
    if missing:
        raise ManifestError(
            f"{source}: missing {', '.join(missing)}; each line needs "
            '{"audio_filepath": ..., "duration": seconds, "text": ...}'
        )
    path_value, duration, text = entry["audio_filepath"], entry["duration"], entry["text"]
    if not isinstance(path_value, str) or not path_value:
        raise ManifestError(f"{source}: audio_filepath must be a non-empty string")
    if isinstance(duration, bool) or not isinstance(duration, (int, float)):
        raise ManifestError(f"{source}: duration must be a number of seconds, got {duration!r}")
    if not math.isfinite(duration) or duration <= 0:
        raise ManifestError(f"{source}: duration must be positive and finite, got {duration!r}")
    if not isinstance(text, str):
        raise ManifestError(f"{source}: text must be a string, got {type(text).__name__}")
    speaker = entry.get("speaker")
    if speaker is not None:
        speaker = str(speaker)
    path = Path(path_value).expanduser()
    if not path.is_absolute():
        path = Path(os.path.normpath(base / path))
    extra = {k: v for k, v in entry.items() if k not in (*REQUIRED_KEYS, "speaker")}
    return Utterance(path, float(duration), text, speaker, source, extra)


def read_manifest(path: str | os.PathLike, check_files: bool = True) -> list[Utterance]:
    """All utterances of a manifest; raise ManifestError naming file:line on the first problem.

    Blank lines are skipped. With ``check_files``, every audio file must exist.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"manifest {path} does not exist") from None
    except IsADirectoryError:
        raise ManifestError(f"manifest {path} is a directory; pass the .jsonl file") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line_no = raw[: err.start].count(b"\n") + 1
        raise ManifestError(f"{path}:{line_no}: not UTF-8 text; re-save the manifest as UTF-8") from err
    base = path.parent.resolve()
    utterances = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        utterance = parse_line(line, base, f"{path}:{number}")
        if check_files and not utterance.audio_path.is_file():
            raise ManifestError(f"{utterance.source}: audio file {utterance.audio_path} does not exist")
        utterances.append(utterance)
    if not utterances:
        raise ManifestError(f"manifest {path} holds no utterances")
    return utterances


def write_manifest(utterances: Iterable[Utterance], path: str | os.PathLike) -> Path:
    """Write atomically, with audio paths relative to the manifest's folder."""
    path = Path(path)
    base = path.parent.resolve()
    lines = [json.dumps(u.to_json(base), ensure_ascii=False) for u in utterances]
    return atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


def total_hours(utterances: Iterable[Utterance]) -> float:
    return sum(u.duration for u in utterances) / 3600.0
