"""What every corpus recipe shares: listings, skip reasons, checks.

A recipe's ``collect(src, options)`` (options: :class:`~edgeasr.prepare.options.PrepareOptions`)
walks a corpus in its own on-disk layout and returns a
:class:`Collected`: in input order, one :class:`Entry` per listed utterance (audio path +
original transcript, not yet checked) and one :class:`Skip` per listing it could not even read
(a line that is not UTF-8, a malformed row, audio with no transcript).
:func:`validate_entries` then checks every entry (duplicates, transcript, audio header) and
turns it into an :class:`~edgeasr.data.manifest.Utterance` or a :class:`Skip`. Every input
ends up in exactly one of the two, so a report's counts always add up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from edgeasr.data.manifest import Utterance
from edgeasr.prepare.options import PrepareOptions
from edgeasr.text.french import is_non_speech
from edgeasr.text.languages import get_language
from edgeasr_device.audio import AUDIO_EXTENSIONS, audio_duration
from edgeasr_device.errors import AudioError, EdgeAsrError, VocabularyError
from edgeasr_device.vocab import Vocabulary

#: Why an input was skipped: reason -> what it means and what to do.
REASONS: dict[str, str] = {
    "missing_audio": "the listed audio file does not exist; restore it or remove the listing",
    "empty_audio": "the audio file is 0 bytes or holds no audio frames; re-record or re-copy it",
    "unreadable_audio": "the audio file cannot be read as audio (corrupt or unsupported "
                        "format); convert it, e.g. with ffmpeg, or re-copy it",
    "missing_transcript": "audio with no transcript; add one or remove the audio",
    "empty_transcript": "the transcript is empty (or nothing is left after normalisation); "
                        "fill it in or remove the listing",
    "out_of_vocabulary": "after normalisation the transcript has characters outside the "
                         "vocabulary; fix or transliterate the text",
    "non_speech": "the transcript is one bracketed description of a sound ([ascending "
                  "tones], (beep)), not speech (prepare --language other than en)",
    "bad_encoding": "the line is not UTF-8 text; re-save the file as UTF-8 "
                    "(e.g. `iconv -f latin1 -t utf-8`)",
    "malformed_line": "the line does not have the fields this layout needs; fix the line",
    "unrecognised_name": "the file name does not follow the corpus's naming scheme; rename it",
    "duplicate_audio": "the same audio file is listed more than once; only the first listing "
                       "is used: remove the others",
    "duplicate_id": "the same utterance ID is listed more than once; only the first listing "
                    "is used: remove or rename the others",
    "test_text_in_train": "train utterance whose normalised text is also in dev or test "
                          "(--exclude-test-text)",
    # left out by --preprocess (edgeasr.prepare.audio_stage)
    "silent": "preprocessing (trim: true) found no sound above -80 dBFS; check the recording "
              "or remove it",
    "too_short": "shorter than min_seconds after preprocessing (trimming); lower min_seconds "
                 "or set too_short: pad",
    "too_long": "longer than max_seconds after preprocessing; raise max_seconds, or set "
                "too_long: split and pass --align-model",
    "too_long_unsplittable": "longer than max_seconds and no cut between aligned words keeps "
                             "every piece under it (no pause, text the model cannot align); "
                             "raise max_seconds or cut the recording by hand",
}


class CorpusError(EdgeAsrError, ValueError):
    """A corpus cannot be prepared: wrong layout, unreadable index, or (with --strict) bad input."""


@dataclass(frozen=True)
class Entry:
    """One utterance as a corpus lists it, before any check.

    ``source`` says where it was listed (``"file:line"``, or the audio path for corpora
    indexed by their audio files); ``split`` is the corpus's official split or None.
    """

    audio_path: Path
    text: str
    source: str
    speaker: str | None = None
    utterance_id: str | None = None
    split: str | None = None


@dataclass(frozen=True)
class Skip:
    """One input left out, why (a key of :data:`REASONS`), and where."""

    reason: str
    source: str
    message: str

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown skip reason {self.reason!r}; use one of {sorted(REASONS)}")

    def describe(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass(frozen=True)
class Collected:
    """What a recipe found, in input order: entries to check and inputs already skipped."""

    items: list[Entry | Skip]
    layout: str = ""

    @property
    def entries(self) -> list[Entry]:
        return [item for item in self.items if isinstance(item, Entry)]

    @property
    def skipped(self) -> list[Skip]:
        return [item for item in self.items if isinstance(item, Skip)]


# --------------------------------------------------------------------------- reading

def read_lines(path: Path) -> list[tuple[int, str | Skip]]:
    """Lines of a text file as ``(line number, text)``, decoding each line on its own.

    A UTF-8 byte-order mark is dropped. A line that is not UTF-8 (or holds NUL bytes, as
    UTF-16 text does) comes as ``(line number, Skip("bad_encoding", "path:line", ...))`` in
    its place; the other lines are still usable. Blank lines are left out (they list nothing).
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise CorpusError(f"{path} cannot be read ({err.strerror}); check it exists and is "
                          "readable") from err
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    lines: list[tuple[int, str | Skip]] = []
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        chunk = chunk.rstrip(b"\r")
        if b"\x00" in chunk:
            lines.append((number, Skip("bad_encoding", f"{path}:{number}", "holds NUL bytes: "
                                       "the file looks like UTF-16; re-save it as UTF-8")))
            continue
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as err:
            lines.append((number, Skip(
                "bad_encoding", f"{path}:{number}",
                f"not UTF-8 (byte 0x{chunk[err.start]:02x} at column {err.start + 1}); "
                "re-save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`")))
            continue
        if text.strip():
            lines.append((number, text))
    return lines


def read_transcript_file(path: Path) -> str | Skip:
    """Whole-file transcript (a folder corpus's ``.txt``): lines joined by spaces."""
    texts = []
    for _, text in read_lines(path):
        if isinstance(text, Skip):
            return text
        texts.append(text.strip())
    return " ".join(texts)


def walk_files(root: Path, extensions: Sequence[str]) -> Iterator[Path]:
    """Files under ``root`` whose lower-cased suffix is in ``extensions``, in sorted order."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in extensions and not name.startswith("."):
                yield Path(folder) / name


def find_audio(base: Path, stem: str, extensions: Sequence[str] = AUDIO_EXTENSIONS) -> Path:
    """``base/stem`` + the first extension that exists, else ``base/stem`` + the first one."""
    for extension in extensions:
        candidate = base / f"{stem}{extension}"
        if candidate.is_file():
            return candidate
    return base / f"{stem}{extensions[0]}"


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise CorpusError(f"{path} is not a folder; --src must be {what}")
    return path


# --------------------------------------------------------------------------- checks

def text_problem(text: str, vocabulary: Vocabulary, language: str = "en") -> tuple[str, str] | None:
    """``(reason, message)`` if a transcript is unusable, else None."""
    if not text.strip():
        return "empty_transcript", "empty transcript"
    if language != "en" and is_non_speech(text):
        return "non_speech", f"transcript {text!r} describes a sound, not speech"
    normalized = get_language(language).normalize(text)
    if not normalized:
        return "empty_transcript", f"transcript {text!r} is empty after normalisation"
    try:
        vocabulary.encode(normalized)
    except VocabularyError as err:
        return "out_of_vocabulary", f"transcript {text!r}: {err}"
    return None


def audio_problem(path: Path) -> tuple[float, tuple[str, str] | None]:
    """``(duration, None)`` or ``(0, (reason, message))``, reading only the file's header."""
    if not path.exists():
        return 0.0, ("missing_audio", f"audio file {path} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        return 0.0, ("empty_audio", f"audio file {path} is empty (0 bytes)")
    try:
        duration = audio_duration(path)
    except AudioError as err:
        return 0.0, ("unreadable_audio", str(err))
    if not duration > 0:
        return 0.0, ("empty_audio", f"audio file {path} holds no audio frames")
    return duration, None


def _check(entry: Entry, vocabulary: Vocabulary, language: str = "en") -> Utterance | Skip:
    problem = text_problem(entry.text, vocabulary, language)
    duration = 0.0
    if problem is None:
        duration, problem = audio_problem(entry.audio_path)
    if problem is not None:
        return Skip(problem[0], entry.source, problem[1])
    return Utterance(entry.audio_path, duration, entry.text.strip(), entry.speaker, entry.source)


def find_duplicates(entries: Sequence[Entry | Skip]) -> dict[int, Skip]:
    """Index -> skip for every entry whose audio file or utterance ID was listed before."""
    first_audio: dict[Path, Entry] = {}
    first_id: dict[str, Entry] = {}
    duplicates: dict[int, Skip] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, Entry):
            continue
        first = first_audio.get(entry.audio_path)
        if first is not None:
            what = f"{entry.audio_path.name} is already listed"
        elif entry.utterance_id is not None and entry.utterance_id in first_id:
            first = first_id[entry.utterance_id]
            what = f"utterance ID {entry.utterance_id} is already listed"
        else:
            first_audio[entry.audio_path] = entry
            if entry.utterance_id is not None:
                first_id[entry.utterance_id] = entry
            continue
        differs = (f" with a different transcript ({first.text!r} there, {entry.text!r} here)"
                   if first.text.strip() != entry.text.strip() else "")
        reason = "duplicate_audio" if first.audio_path == entry.audio_path else "duplicate_id"
        duplicates[index] = Skip(reason, entry.source, f"{what} at {first.source}{differs}")
    return duplicates


def strict_error(skip: Skip) -> CorpusError:
    return CorpusError(f"{skip.describe()} [{skip.reason}: {REASONS[skip.reason]}]; run "
                       "without --strict to skip bad inputs and list them in prepare_report.json")


def validate_entries(items: Sequence[Entry | Skip], options: PrepareOptions
                     ) -> tuple[list[tuple[Utterance, str | None]], list[Skip]]:
    """Check every entry; return ``[(utterance, official split)]`` and the skips, in order.

    Checks, first failure wins: duplicate audio/ID, empty or out-of-vocabulary transcript,
    missing/empty/unreadable audio (header only, in ``options.workers`` threads). Skips among
    ``items`` pass through. With ``options.strict`` the first problem in input order raises
    :class:`CorpusError`.
    """
    duplicates = find_duplicates(items)
    todo = [item for index, item in enumerate(items)
            if isinstance(item, Entry) and index not in duplicates]
    kept: list[tuple[Utterance, str | None]] = []
    skipped: list[Skip] = []
    executor = ThreadPoolExecutor(max_workers=max(1, options.workers))
    try:
        checked = executor.map(lambda entry: _check(entry, options.vocabulary, options.language), todo)
        for index, item in enumerate(items):
            if isinstance(item, Skip):
                result: Utterance | Skip = item
            else:
                result = duplicates[index] if index in duplicates else next(checked)
            if isinstance(result, Skip):
                if options.strict:
                    raise strict_error(result)
                skipped.append(result)
            else:
                kept.append((result, item.split))
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return kept, skipped
