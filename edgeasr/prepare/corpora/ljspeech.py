"""LJSpeech: ``metadata.csv`` (``id|raw text|normalized text``) + ``wavs/{id}.wav``.

The file has no header and no quoting. The normalised column (numbers and abbreviations
spelled out) is used when present and non-empty, else the raw one. LJSpeech is one speaker, so
it is split by utterance with the seed. Many single-speaker TTS corpora share this layout; the
speaker is therefore not written (it would be the same label on every line).
"""

from __future__ import annotations

from pathlib import Path

from edgeasr.prepare.corpora.common import (
    Collected,
    CorpusError,
    Entry,
    Skip,
    read_lines,
)
from edgeasr.prepare.options import PrepareOptions


def collect(src: Path, options: PrepareOptions) -> Collected:
    metadata = src if src.is_file() else src / "metadata.csv"
    if not metadata.is_file():
        raise CorpusError(f"{metadata} does not exist; --src must be the LJSpeech folder holding "
                          "metadata.csv (id|raw text|normalized text) and wavs/")
    wavs = metadata.parent / "wavs"
    items: list[Entry | Skip] = []
    for number, line in read_lines(metadata):
        if isinstance(line, Skip):
            items.append(line)
            continue
        source = f"{metadata}:{number}"
        fields = line.rstrip("\r\n").split("|")
        utterance_id = fields[0].strip()
        if len(fields) < 2 or not utterance_id:
            items.append(Skip("malformed_line", source,
                              f"expected id|raw text|normalized text, got {line.strip()[:60]!r}"))
            continue
        text = fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]
        items.append(Entry(wavs / f"{utterance_id}.wav", text.strip(), source, None, utterance_id))
    return Collected(items, f"LJSpeech-style {metadata.name} + wavs/ (one speaker)")
