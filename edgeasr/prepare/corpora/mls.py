"""Multilingual LibriSpeech: ``{split}/transcripts.txt`` + ``{split}/audio/{speaker}/{book}/``.

Each ``transcripts.txt`` line is ``ID<TAB>TEXT`` with ``ID`` = ``speaker_book_seq``, naming
``audio/{speaker}/{book}/{ID}.flac`` (``.opus`` in the compressed release). ``--src`` is a
language root holding ``train/``, ``dev/`` and ``test/`` (official splits kept) or one split
folder (then split speaker-disjoint with the seed). The English vocabulary rejects most
transcripts of other languages (reported as ``out_of_vocabulary``).
"""

from __future__ import annotations

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

SPLITS = ("train", "dev", "test")
AUDIO = (".flac", ".opus", ".wav")
LAYOUT = "{split}/transcripts.txt (ID<TAB>TEXT) + {split}/audio/{speaker}/{book}/{ID}.flac"


def split_folders(root: Path) -> list[tuple[Path, str | None]]:
    """``[(folder, official split)]``: the root's split folders, or the root itself."""
    if (root / "transcripts.txt").is_file():
        return [(root, None)]
    found = [(root / name, name) for name in SPLITS if (root / name / "transcripts.txt").is_file()]
    if not found:
        raise CorpusError(f"no transcripts.txt in {root} or its train/ dev/ test/ folders; "
                          f"the mls recipe reads {LAYOUT}")
    return found


def read_split(folder: Path, split: str | None) -> list[Entry | Skip]:
    transcripts = folder / "transcripts.txt"
    items: list[Entry | Skip] = []
    for number, line in read_lines(transcripts):
        if isinstance(line, Skip):
            items.append(line)
            continue
        source = f"{transcripts}:{number}"
        utterance_id, tab, text = line.rstrip("\r\n").partition("\t")
        utterance_id = utterance_id.strip()
        parts = utterance_id.split("_")
        if not tab or len(parts) != 3 or not all(parts):
            items.append(Skip("malformed_line", source, f"expected speaker_book_seq<TAB>text, "
                              f"got {line.strip()[:60]!r}"))
            continue
        speaker, book, _ = parts
        audio = find_audio(folder / "audio" / speaker / book, utterance_id, AUDIO)
        items.append(Entry(audio, text.strip(), source, speaker, utterance_id, split))
    return items


def collect(src: Path, options: PrepareOptions) -> Collected:
    root = require_dir(src, "an MLS language folder (train/ dev/ test/) or one split folder")
    folders = split_folders(root)
    items = [item for folder, split in folders for item in read_split(folder, split)]
    if folders[0][1] is None:
        layout = f"one MLS folder ({root.name}) without official splits"
    else:
        layout = f"MLS root with {', '.join(split for _, split in folders)}"
    return Collected(items, layout)
