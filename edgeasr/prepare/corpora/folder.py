"""Any folder tree of audio files (wav, flac, ogg, opus, mp3, ...) with a same-name ``.txt`` beside.

The audio formats are those of :data:`edgeasr_device.audio.AUDIO_EXTENSIONS`.

``kitchen/take1.wav`` + ``kitchen/take1.txt``. A transcript file may hold several lines; they
are joined with spaces. With ``--speaker-from-folder`` the audio's parent folder names the
speaker. If the top level holds only ``train/``, ``dev/`` and/or ``test/`` folders (``valid``
or ``validation`` count as dev), they are the official splits; otherwise the tree is split with
the seed. Audio without a transcript is ``missing_transcript``; a ``.txt`` without audio is
``missing_audio``.
"""

from __future__ import annotations

from pathlib import Path

from edgeasr.prepare.corpora.common import (
    Collected,
    CorpusError,
    Entry,
    Skip,
    read_transcript_file,
    require_dir,
    walk_files,
)
from edgeasr.prepare.options import PrepareOptions
from edgeasr_device.audio import AUDIO_EXTENSIONS

SPLIT_NAMES = {"train": "train", "dev": "dev", "valid": "dev", "validation": "dev", "test": "test"}


def official_splits(root: Path, audio: list[Path]) -> dict[Path, str] | None:
    """Audio -> split when every file lies under a top-level train/dev/test folder."""
    splits = {}
    for path in audio:
        top = path.relative_to(root).parts[0].lower()
        if len(path.relative_to(root).parts) < 2 or top not in SPLIT_NAMES:
            return None
        splits[path] = SPLIT_NAMES[top]
    return splits


def collect(src: Path, options: PrepareOptions) -> Collected:
    root = require_dir(src, "a folder of audio files with same-name .txt transcripts")
    audio = list(walk_files(root, AUDIO_EXTENSIONS))
    if not audio:
        raise CorpusError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) under {root}; the "
                          "folder recipe reads NAME.wav + NAME.txt pairs")
    splits = official_splits(root, audio) or {}
    items: list[Entry | Skip] = []
    stems = {path.with_suffix("") for path in audio}
    for path in audio:
        transcript = path.with_suffix(".txt")
        if not transcript.is_file():
            items.append(Skip("missing_transcript", str(path),
                              f"{path.name} has no {transcript.name} beside it"))
            continue
        text = read_transcript_file(transcript)
        if isinstance(text, Skip):
            items.append(text)
            continue
        speaker = path.parent.name if options.speaker_from_folder and path.parent != root else None
        items.append(Entry(path, text, str(transcript), speaker, None, splits.get(path)))
    for transcript in walk_files(root, (".txt",)):
        if transcript.with_suffix("") not in stems:
            items.append(Skip("missing_audio", str(transcript), f"no audio file "
                              f"{transcript.stem}{{{','.join(AUDIO_EXTENSIONS)}}} beside it"))
    layout = "folder tree with top-level train/dev/test" if splits else "folder tree"
    return Collected(items, layout)
