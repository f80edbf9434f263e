"""LibriSpeech: ``{split}/{speaker}/{chapter}/{speaker}-{chapter}.trans.txt`` + ``*.flac``.

Each transcript line is ``ID TEXT`` (``ID`` = ``speaker-chapter-seq``, text in upper case) and
names ``ID.flac`` beside it. ``--src`` is either the LibriSpeech root holding split folders
(``train-clean-100``, ``dev-clean``, ``test-other``, ...: ``train-*`` -> train, ``dev-*`` ->
dev, ``test-*`` -> test), the folder above it, or one split folder (then the corpus is split
speaker-disjoint with the seed). A ``.flac`` that no transcript lists is reported as
``missing_transcript``.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgeasr.prepare.corpora.common import (
    Collected,
    CorpusError,
    Entry,
    Skip,
    find_audio,
    read_lines,
    require_dir,
)
from edgeasr.prepare.options import PrepareOptions

SPLIT_FOLDER = re.compile(r"^(train|dev|test)(?:[-_].*)?$", re.IGNORECASE)
AUDIO = (".flac", ".wav")
LAYOUT = "{split}/{speaker}/{chapter}/{speaker}-{chapter}.trans.txt + {ID}.flac"


def official_split(trans: Path, root: Path) -> str | None:
    """``train``/``dev``/``test`` from the split folder above ``speaker/chapter``, or None."""
    parts = trans.relative_to(root).parts
    if len(parts) < 4:
        return None
    match = SPLIT_FOLDER.match(parts[-4])
    return match.group(1).lower() if match else None


def collect(src: Path, options: PrepareOptions) -> Collected:
    root = require_dir(src, "the LibriSpeech root or one of its split folders")
    if (root / "LibriSpeech").is_dir():
        root = root / "LibriSpeech"
    transcripts = sorted(root.rglob("*.trans.txt"))
    if not transcripts:
        raise CorpusError(f"no *.trans.txt under {root}; the librispeech recipe reads {LAYOUT}")
    items: list[Entry | Skip] = []
    split_folders: set[str] = set()
    for trans in transcripts:
        split = official_split(trans, root)
        if split is not None:
            split_folders.add(trans.relative_to(root).parts[-4])
        chapter_dir = trans.parent
        speaker = chapter_dir.parent.name
        listed: set[str] = set()
        for number, line in read_lines(trans):
            if isinstance(line, Skip):
                items.append(line)
                continue
            utterance_id, _, text = line.strip().partition(" ")
            listed.add(utterance_id)
            items.append(Entry(find_audio(chapter_dir, utterance_id, AUDIO), text.strip(),
                                 f"{trans}:{number}", speaker, utterance_id, split))
        for audio in sorted(chapter_dir.iterdir()):
            if audio.suffix.lower() in AUDIO and audio.stem not in listed:
                items.append(Skip("missing_transcript", str(audio),
                                  f"{audio.name} has no line in {trans.name}"))
    if split_folders:
        layout = f"LibriSpeech root with {', '.join(sorted(split_folders))}"
    else:
        layout = f"one LibriSpeech folder ({root.name}) without official splits"
    return Collected(items, layout)
