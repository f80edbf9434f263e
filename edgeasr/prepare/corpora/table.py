"""A CSV or TSV listing audio paths and transcripts.

``--src`` is the table file, or a folder holding exactly one ``.csv``/``.tsv``. The delimiter
is a tab for ``.tsv``; otherwise it is sniffed from the first lines (comma, tab, ``|`` or
``;``; comma if unsure). A first row naming the path column is a header; the columns are
``--path-column`` / ``--text-column`` or the first of :data:`PATH_COLUMNS` /
:data:`TEXT_COLUMNS` present (any case), and a ``speaker``/``speaker_id``/``client_id``
column gives the speaker. Without a header the table must have two columns (path, text), or
the columns are given as 0-based indexes (``--path-column 0 --text-column 2``).

Relative paths start at ``--audio-dir`` (default: the table's folder). A name not found
there is also looked for with each audio extension added (``hello`` -> ``hello.wav``) and,
without ``--audio-dir``, in a ``wav/``, ``wavs/``, ``audio/`` or ``clips/`` folder beside the
table (as in the Asterisk prompts: ``prompts.tsv`` + ``wav/``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from edgeasr.prepare.corpora.common import (
    Collected,
    CorpusError,
    Entry,
    Skip,
    read_lines,
)
from edgeasr.prepare.options import PrepareOptions
from edgeasr_device.audio import AUDIO_EXTENSIONS

PATH_COLUMNS = ("path", "audio_filepath", "file", "audio", "filename", "file_name", "wav")
TEXT_COLUMNS = ("text", "sentence", "transcript", "transcription")
SPEAKER_COLUMNS = ("speaker", "speaker_id", "client_id")
AUDIO_FOLDERS = ("wav", "wavs", "audio", "clips")
DELIMITERS = ",\t|;"
SNIFF_LINES = 20


@dataclass(frozen=True)
class Columns:
    """0-based indexes of the columns used, and whether row 1 is a header."""

    path: int
    text: int
    speaker: int | None
    header: bool


def find_table(src: Path) -> Path:
    if src.is_file():
        return src
    tables = sorted(p for p in src.iterdir() if p.suffix.lower() in (".csv", ".tsv"))
    if len(tables) != 1:
        found = ", ".join(p.name for p in tables) or "none"
        raise CorpusError(f"{src} must hold exactly one .csv or .tsv (found: {found}); "
                          "pass the table file itself as --src")
    return tables[0]


def delimiter_of(table: Path, lines: list[str]) -> str:
    if table.suffix.lower() == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff("\n".join(lines[:SNIFF_LINES]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _named(header: list[str], wanted: str | None, defaults: tuple[str, ...]) -> int | None:
    lowered = [name.strip().lower() for name in header]
    for name in (wanted,) if wanted is not None else defaults:
        if name.lower() in lowered:
            return lowered.index(name.lower())
    return None


def _index(value: str | None, default: int) -> int | None:
    if value is None:
        return default
    return int(value) if value.isdigit() else None


def resolve_columns(first_row: list[str], options: PrepareOptions, where: str) -> Columns:
    """Which columns hold path, text and speaker; raises CorpusError naming ``where``."""
    path_at = _named(first_row, options.path_column, PATH_COLUMNS)
    if path_at is not None:
        text_at = _named(first_row, options.text_column, TEXT_COLUMNS)
        if text_at is None:
            wanted = options.text_column or " or ".join(TEXT_COLUMNS)
            raise CorpusError(f"{where}: the header has no text column {wanted} (columns: "
                              f"{', '.join(first_row)}); name it with --text-column")
        return Columns(path_at, text_at, _named(first_row, None, SPEAKER_COLUMNS), True)
    path_index = _index(options.path_column, 0)
    text_index = _index(options.text_column, 1)
    named = options.path_column is not None or options.text_column is not None
    if path_index is None or text_index is None or (not named and len(first_row) != 2):
        wanted = options.path_column or " or ".join(PATH_COLUMNS)
        raise CorpusError(f"{where}: no column named {wanted} in the first row "
                          f"({', '.join(first_row)}), and it is not a 2-column table (path, text) "
                          "without a header; name the columns with --path-column and "
                          "--text-column, or give 0-based indexes for a table without a header")
    return Columns(path_index, text_index, None, False)


def audio_path(value: str, table: Path, options: PrepareOptions) -> Path:
    """The file a table's path cell names (see the module docstring for the search)."""
    name = Path(value).expanduser()
    if name.is_absolute():
        bases = [Path("/")]
    elif options.audio_dir is not None:
        bases = [table.parent / Path(options.audio_dir).expanduser()]
    else:
        bases = [table.parent, *(table.parent / folder for folder in AUDIO_FOLDERS)]
    suffixes = ("",) if name.suffix.lower() in AUDIO_EXTENSIONS else ("", *AUDIO_EXTENSIONS)
    for base in bases:
        for suffix in suffixes:
            candidate = base / f"{name}{suffix}"
            if candidate.is_file():
                return candidate.resolve()
    return (bases[0] / name).resolve()


def parse_rows(table: Path) -> tuple[str, list[tuple[int, list[str] | Skip]]]:
    """The delimiter and ``(line number, fields or bad_encoding skip)`` in file order."""
    lines = read_lines(table)
    good = [(number, text) for number, text in lines if isinstance(text, str)]
    if not good:
        raise CorpusError(f"{table} lists nothing readable; it needs rows of audio path and text")
    delimiter = delimiter_of(table, [text for _, text in good])
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader((text + "\n" for _, text in good), delimiter=delimiter, quoting=quoting)
    rows: list[tuple[int, list[str] | Skip]] = []
    consumed = 0
    for fields in reader:  # a quoted field may span lines: number rows by their first line
        rows.append((good[consumed][0], fields))
        consumed = reader.line_num
    rows += [(number, text) for number, text in lines if isinstance(text, Skip)]
    return delimiter, sorted(rows, key=lambda row: row[0])


def collect(src: Path, options: PrepareOptions) -> Collected:
    table = find_table(src)
    delimiter, rows = parse_rows(table)
    number, first = next((n, row) for n, row in rows if not isinstance(row, Skip))
    columns = resolve_columns(first, options, f"{table}:{number}")
    items: list[Entry | Skip] = []
    for number, row in rows:
        source = f"{table}:{number}"
        if isinstance(row, Skip):
            items.append(row)
            continue
        if columns.header and row is first:
            continue
        if len(row) <= max(columns.path, columns.text) or not row[columns.path].strip():
            items.append(Skip("malformed_line", source, f"expected a path in column "
                              f"{columns.path + 1} and text in column {columns.text + 1}, "
                              f"got {len(row)} field(s)"))
            continue
        path = audio_path(row[columns.path].strip(), table, options)
        speaker = None
        if columns.speaker is not None and columns.speaker < len(row):
            speaker = row[columns.speaker].strip() or None
        if options.speaker_from_folder:
            speaker = path.parent.name
        items.append(Entry(path, row[columns.text].strip(), source, speaker))
    name = {"\t": "tab", ",": "comma"}.get(delimiter, repr(delimiter))
    header = "with header" if columns.header else "without header"
    return Collected(items, f"{table.name}: {name}-separated, {header}")
