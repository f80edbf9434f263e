"""Transcript output formats: plain text, JSON, SubRip (SRT) and WebVTT.

A recording's result is a sequence of utterances (:class:`~edgeasr_device.decoding.Transcript`,
word times in seconds from the start of the file). Subtitles are cut into readable cues:
a cue ends at a pause (``gap`` seconds between words), at an utterance boundary, before it
would exceed ``max_chars`` per line on ``max_lines`` lines, or after ``max_seconds``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edgeasr_device.decoding import Transcript, Word

__all__ = ["FORMATS", "Cue", "make_cues", "render", "to_json_record", "to_srt", "to_txt",
           "to_vtt"]

FORMATS = ("txt", "json", "srt", "vtt")


@dataclass(frozen=True)
class Cue:
    """One subtitle: ``lines`` shown from ``start`` to ``end`` seconds."""

    start: float
    end: float
    lines: tuple[str, ...]


def make_cues(utterances: Sequence[Transcript], max_chars: int = 42, max_lines: int = 2,
              max_seconds: float = 6.0, gap: float = 0.7) -> list[Cue]:
    """Words of ``utterances`` grouped into cues (see the module docstring)."""
    cues: list[Cue] = []
    for transcript in utterances:
        group: list[Word] = []
        for word in transcript.words:
            if group and (word.start - group[-1].end >= gap
                          or word.end - group[0].start > max_seconds
                          or len(_wrap([*group, word], max_chars)) > max_lines):
                cues.append(_cue(group, max_chars))
                group = []
            group.append(word)
        if group:
            cues.append(_cue(group, max_chars))
    return cues


def _wrap(words: Sequence[Word], max_chars: int) -> list[str]:
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word.text) <= max_chars:
            lines[-1] += " " + word.text
        else:
            lines.append(word.text)
    return lines


def _cue(words: Sequence[Word], max_chars: int) -> Cue:
    return Cue(words[0].start, max(words[-1].end, words[0].start + 0.01),
               tuple(_wrap(words, max_chars)))


def _timestamp(seconds: float, separator: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def to_srt(utterances: Sequence[Transcript]) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, a blank line after each."""
    blocks = [f"{i}\n{_timestamp(c.start, ',')} --> {_timestamp(c.end, ',')}\n" + "\n".join(c.lines)
              for i, c in enumerate(make_cues(utterances), start=1)]
    return "".join(b + "\n\n" for b in blocks)


def to_vtt(utterances: Sequence[Transcript]) -> str:
    """WebVTT: a ``WEBVTT`` header, then cues with ``HH:MM:SS.mmm`` times."""
    blocks = [f"{_timestamp(c.start, '.')} --> {_timestamp(c.end, '.')}\n" + "\n".join(c.lines)
              for c in make_cues(utterances)]
    return "WEBVTT\n\n" + "".join(b + "\n\n" for b in blocks)


def to_txt(utterances: Sequence[Transcript]) -> str:
    """The text, one utterance per line."""
    return "".join(t.text + "\n" for t in utterances if t.text)


def to_json_record(utterances: Sequence[Transcript], **extra: Any) -> dict[str, Any]:
    """One JSON-ready object: ``text``, ``confidence`` (the utterance's, or the mean over
    utterances), ``words`` (text, start, end,
    confidence) and ``utterances`` (start, end, text), plus ``extra`` keys first."""
    words = [w for t in utterances for w in t.words]
    spoken = [t for t in utterances if t.words]
    record: dict[str, Any] = dict(extra)
    record["text"] = " ".join(t.text for t in utterances if t.text)
    confidences = [t.confidence for t in spoken]
    record["confidence"] = (utterances[0].confidence if len(utterances) == 1 else
                            sum(confidences) / len(confidences) if confidences else 1.0)
    record["words"] = [w.to_dict() for w in words]
    record["utterances"] = [{"start": t.words[0].start, "end": t.words[-1].end, "text": t.text,
                             "confidence": t.confidence} for t in spoken]
    if len(utterances) == 1:  # a grammar's intent and an n-best list, as before
        single = utterances[0].to_dict()
        for key in ("intent", "no_match", "alternatives"):
            if key in single:
                record[key] = single[key]
    return record


def render(fmt: str, utterances: Sequence[Transcript], **extra: Any) -> str:
    """The result in ``fmt`` (one of :data:`FORMATS`), ending with a newline."""
    if fmt == "txt":
        return to_txt(utterances) or "\n"
    if fmt == "json":
        return json.dumps(to_json_record(utterances, **extra), ensure_ascii=False) + "\n"
    if fmt == "srt":
        return to_srt(utterances)
    if fmt == "vtt":
        return to_vtt(utterances)
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
