"""Mozilla Common Voice: ``{train,dev,test}.tsv`` + ``clips/*.mp3``.

The TSV files have a header naming their columns (``client_id``, ``path``, ``sentence``,
``up_votes``, ...; extra or reordered columns are fine). ``path`` is the clip's file name in
``clips/``; ``client_id`` is the speaker. Common Voice quotes nothing, so a ``"`` is plain text.
With ``train.tsv``/``dev.tsv``/``test.tsv`` present those official (speaker-disjoint) splits
are kept; with only ``validated.tsv`` the clips are split speaker-disjoint with the seed.
"""

from __future__ import annotations

from pathlib import Path

from edgeasr.prepare.corpora.common import (
    Collected,
    CorpusError,
    Entry,
    Skip,
    read_lines,
    require_dir,
)
from edgeasr.prepare.options import PrepareOptions

SPLIT_FILES = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
PATH_COLUMN, TEXT_COLUMN, SPEAKER_COLUMN = "path", "sentence", "client_id"


def read_tsv(table: Path, clips: Path, split: str | None) -> list[Entry | Skip]:
    """Entries of one Common Voice TSV; its first line must be the header."""
    lines = read_lines(table)
    if not lines:
        return []
    header_number, header_line = lines[0]
    if isinstance(header_line, Skip):
        raise CorpusError(f"{header_line.describe()}; the header line must be readable")
    header = [name.strip() for name in header_line.split("\t")]
    missing = [c for c in (PATH_COLUMN, TEXT_COLUMN) if c not in header]
    if missing:
        raise CorpusError(f"{table}:{header_number}: header lacks the column(s) "
                          f"{', '.join(missing)} (found {', '.join(header)}); a Common Voice "
                          "TSV starts with client_id<TAB>path<TAB>sentence...")
    path_at, text_at = header.index(PATH_COLUMN), header.index(TEXT_COLUMN)
    speaker_at = header.index(SPEAKER_COLUMN) if SPEAKER_COLUMN in header else None
    items: list[Entry | Skip] = []
    for number, line in lines[1:]:
        if isinstance(line, Skip):
            items.append(line)
            continue
        source = f"{table}:{number}"
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) <= max(path_at, text_at) or not fields[path_at].strip():
            items.append(Skip("malformed_line", source, f"expected {len(header)} tab-separated "
                              f"fields with a path, got {len(fields)}"))
            continue
        speaker = None
        if speaker_at is not None and speaker_at < len(fields):
            speaker = fields[speaker_at].strip() or None
        items.append(Entry(clips / fields[path_at].strip(), fields[text_at].strip(), source,
                           speaker, None, split))
    return items


def collect(src: Path, options: PrepareOptions) -> Collected:
    root = require_dir(src, "a Common Voice language folder (train.tsv, dev.tsv, test.tsv, clips/)")
    tables = [(root / name, split) for split, name in SPLIT_FILES.items()
              if (root / name).is_file()]
    if tables:
        layout = f"Common Voice with {', '.join(table.name for table, _ in tables)}"
    elif (root / "validated.tsv").is_file():
        tables = [(root / "validated.tsv", None)]
        layout = "Common Voice validated.tsv without official splits"
    else:
        raise CorpusError(f"no train.tsv, dev.tsv, test.tsv or validated.tsv in {root}; the "
                          "commonvoice recipe reads {train,dev,test}.tsv + clips/*.mp3")
    items = [item for table, split in tables for item in read_tsv(table, root / "clips", split)]
    return Collected(items, layout)
