"""Kaldi data dirs (also ESPnet's and icefall's): ``text``, ``wav.scp``, ``utt2spk``.

One data dir holds ``text`` (``UTT transcript``), ``wav.scp`` (``UTT path`` or, with
``segments``, ``RECORDING path``) and optionally ``utt2spk`` (``UTT speaker``),
``segments`` (``UTT RECORDING start end``, seconds) and ``spk2gender``. Fields are
separated by spaces or tabs. ``--src`` is such a dir, or a folder of them (``train/``,
``dev/``, ``test/``, as in speechocean762's release): a sub-dir whose name starts with
``train``, ``dev``/``valid`` or ``test``/``eval`` is that official split (missing dev/test are
carved out speaker-disjoint by the shared pipeline); any other name goes to train.

Relative audio paths start from the data dir's parent (Kaldi convention: paths are relative
to the recipe folder, which holds ``data/``) or, if not found there, from the data dir or
its parent's parent. A ``wav.scp`` line that is a pipe command (``sox ... |``) is refused:
edgeasr reads audio files, it runs no shell commands; convert the audio first. With
``segments`` each utterance is cut out of its recording once, into a WAV in the cache
(``$EDGEASR_CACHE`` or ``~/.cache/edgeasr``, ``kaldi-segments/``), and the manifest names that
file. A speaker's gender from ``spk2gender`` goes into the report's layout line only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from edgeasr.prepare.corpora.common import (
    Collected,
    CorpusError,
    Entry,
    Skip,
    read_lines,
    require_dir,
)
from edgeasr.prepare.options import PrepareOptions

REQUIRED = ("text", "wav.scp")
SPLIT_PREFIXES = (("train", "train"), ("dev", "dev"), ("valid", "dev"), ("test", "test"),
                  ("eval", "test"))


def is_data_dir(path: Path) -> bool:
    return all((path / name).is_file() for name in REQUIRED)


def data_dirs(src: Path) -> list[tuple[Path, str | None]]:
    """``[(data dir, official split or None)]`` under ``src`` (``src`` itself if it is one)."""
    root = require_dir(src, "a Kaldi data dir (text, wav.scp, utt2spk) or a folder of them")
    if is_data_dir(root):
        return [(root, None)]
    found = [(sub, _split_of(sub.name)) for sub in sorted(root.iterdir())
             if sub.is_dir() and is_data_dir(sub)]
    if not found:
        missing = [name for name in REQUIRED if not (root / name).is_file()]
        raise CorpusError(f"{root} is not a Kaldi data dir (no {' or '.join(missing)}) and holds "
                          "no sub-folder that is one; --src must hold text and wav.scp "
                          "(and utt2spk), or sub-folders train/ dev/ test/ that do")
    return found


def _split_of(name: str) -> str:
    lowered = name.lower()
    for prefix, split in SPLIT_PREFIXES:
        if lowered.startswith(prefix):
            return split
    return "train"


def read_table(path: Path, min_fields: int, what: str) -> tuple[dict[str, tuple[str, str]],
                                                                  list[Skip]]:
    """``{key: (rest of the line, "file:line")}`` of a Kaldi table, and skips for bad lines.

    The first field is the key, the rest is kept as one string (a transcript keeps its
    spaces). A line with fewer than ``min_fields`` fields is a ``malformed_line`` skip.
    """
    table: dict[str, tuple[str, str]] = {}
    skips: list[Skip] = []
    for number, line in read_lines(path):
        where = f"{path}:{number}"
        if isinstance(line, Skip):
            skips.append(line)
            continue
        fields = line.split(maxsplit=1)
        if len(fields) < 2 or len(fields[1].split()) < min_fields - 1:
            skips.append(Skip("malformed_line", where, f"expected {what}, got {line.strip()!r}"))
            continue
        table.setdefault(fields[0], (fields[1].strip(), where))
    return table, skips


def _optional(path: Path, min_fields: int, what: str) -> tuple[dict[str, tuple[str, str]],
                                                               list[Skip]]:
    return read_table(path, min_fields, what) if path.is_file() else ({}, [])


def audio_file(value: str, where: str, data_dir: Path) -> Path:
    """The file a ``wav.scp`` value names; CorpusError for a pipe command or an extended name."""
    if value.endswith("|") or value.startswith("|") or " | " in value:
        raise CorpusError(f"{where}: wav.scp line is a pipe command ({value!r}); edgeasr reads "
                          "audio files and runs no commands: write the audio out first (e.g. "
                          "run the command into WAV files and point wav.scp at them)")
    if len(value.split()) > 1 and not Path(value).exists():
        raise CorpusError(f"{where}: wav.scp value {value!r} is not one file path (an "
                          "extended filename or a command?); give one audio path per line")
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    bases = (data_dir.parent, data_dir, data_dir.parent.parent)
    for base in bases:
        if (base / path).is_file():
            return (base / path).resolve()
    return (bases[0] / path).resolve()


def segment_cache() -> Path:
    from edgeasr.data.shards import default_cache_root  # light module, imported on use
    return default_cache_root() / "kaldi-segments"


def cut_segment(recording: Path, start: float, end: float) -> Path:
    """The WAV holding ``recording[start:end]`` (seconds), cut once into the cache."""
    import soundfile

    stat = recording.stat()
    key = f"{recording.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{start:.4f}\0{end:.4f}"
    digest = hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
    target = segment_cache() / digest[:2] / f"{recording.stem}_{digest}.wav"
    if target.is_file():
        return target
    with soundfile.SoundFile(str(recording)) as handle:
        rate = handle.samplerate
        first = round(start * rate)
        handle.seek(min(first, handle.frames))
        frames = max(0, round(end * rate) - first) if end >= 0 else -1
        audio = handle.read(frames, dtype="float32", always_2d=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part.wav")
    soundfile.write(str(partial), np.asarray(audio), rate, subtype="PCM_16")
    partial.replace(target)
    return target


def _segment_entry(utt: str, value: str, where: str, recordings: dict[str, Path],
                   text: str, speaker: str | None, split: str | None) -> Entry | Skip:
    fields = value.split()
    try:
        start, end = float(fields[1]), float(fields[2])
    except (IndexError, ValueError):
        return Skip("malformed_line", where, f"expected UTT RECORDING START END, got {utt} {value}")
    recording = recordings.get(fields[0])
    if recording is None:
        return Skip("missing_audio", where, f"recording {fields[0]} is not in wav.scp")
    if not recording.is_file():
        return Skip("missing_audio", where, f"audio file {recording} does not exist")
    if end >= 0 and end <= start:
        return Skip("malformed_line", where, f"segment end {end} is not after start {start}")
    try:
        path = cut_segment(recording, start, end)
    except Exception as err:  # noqa: BLE001 - any libsndfile failure is a bad input
        return Skip("unreadable_audio", where, f"cannot cut {recording}: {err}")
    return Entry(path, text, where, speaker, utt, split)


def collect_dir(data_dir: Path, split: str | None) -> tuple[list[Entry | Skip], dict[str, str]]:
    """Entries of one data dir in ``text`` order, and its ``{speaker: gender}``."""
    texts, items = read_table(data_dir / "text", 1, "UTT TRANSCRIPT")
    items = list(items)
    scp, scp_skips = read_table(data_dir / "wav.scp", 2, "UTT PATH")
    items += scp_skips
    speakers, spk_skips = _optional(data_dir / "utt2spk", 2, "UTT SPEAKER")
    segments, seg_skips = _optional(data_dir / "segments", 4, "UTT RECORDING START END")
    genders, gender_skips = _optional(data_dir / "spk2gender", 2, "SPEAKER GENDER")
    items += spk_skips + seg_skips + gender_skips
    paths = {key: audio_file(value, where, data_dir) for key, (value, where) in scp.items()}
    for utt, (text, where) in texts.items():
        speaker = speakers[utt][0] if utt in speakers else None
        if segments:
            if utt not in segments:
                items.append(Skip("missing_audio", where, f"utterance {utt} is not in segments"))
                continue
            value, seg_where = segments[utt]
            items.append(_segment_entry(utt, value, seg_where, paths, text, speaker, split))
        elif utt in paths:
            items.append(Entry(paths[utt], text, where, speaker, utt, split))
        else:
            items.append(Skip("missing_audio", where, f"utterance {utt} is not in wav.scp"))
    listed = set(texts)
    for utt, (_, where) in scp.items():
        if not segments and utt not in listed:
            items.append(Skip("missing_transcript", where, f"utterance {utt} is not in text"))
    return items, {speaker: value.split()[0] for speaker, (value, _) in genders.items()}


def collect(src: Path, options: PrepareOptions) -> Collected:
    items: list[Entry | Skip] = []
    genders: dict[str, str] = {}
    described = []
    for data_dir, split in data_dirs(src):
        found, dir_genders = collect_dir(data_dir, split)
        items += found
        genders.update(dir_genders)
        extras = [name for name in ("utt2spk", "segments", "spk2gender")
                  if (data_dir / name).is_file()]
        described.append(f"{data_dir.name}/ ({split or 'no official split'}; "
                         f"{', '.join(extras) or 'no utt2spk'})")
    counts = {g: sum(1 for v in genders.values() if v == g) for g in sorted(set(genders.values()))}
    gender = (f"; spk2gender: {', '.join(f'{n} {g}' for g, n in counts.items())}"
              if counts else "")
    return Collected(items, f"Kaldi data dir(s): {', '.join(described)}{gender}")
