"""Free Spoken Digit Dataset: ``recordings/{digit}_{speaker}_{index}.wav``.

The transcript is the digit as a word (``7`` -> ``seven``); the speaker is in the name.
FSDD's own convention makes indices 0-4 of every speaker/digit the test set: when such files
are present they are the test split and dev is carved out of the rest; without them (as in a
copy holding only indices 5-49) the recordings are split speaker-disjoint with the seed.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgeasr.prepare.corpora.common import (
    Collected,
    CorpusError,
    Entry,
    Skip,
    require_dir,
    walk_files,
)
from edgeasr.prepare.options import PrepareOptions
from edgeasr_device.audio import AUDIO_EXTENSIONS

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
NAME = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)$")
#: FSDD's official test part: indices below this.
TEST_INDICES = 5


def collect(src: Path, options: PrepareOptions) -> Collected:
    root = require_dir(src, "the FSDD folder (holding recordings/) or recordings/ itself")
    recordings = root / "recordings" if (root / "recordings").is_dir() else root
    files = list(walk_files(recordings, AUDIO_EXTENSIONS))
    if not files:
        raise CorpusError(f"no audio files in {recordings}; the fsdd recipe reads "
                          "recordings/{digit}_{speaker}_{index}.wav")
    matches = [(path, NAME.match(path.stem)) for path in files]
    official = any(int(m.group(3)) < TEST_INDICES for _, m in matches if m is not None)
    items: list[Entry | Skip] = []
    for path, match in matches:
        if match is None:
            items.append(Skip("unrecognised_name", str(path), f"{path.name} is not "
                              "{digit}_{speaker}_{index}.wav"))
            continue
        digit, speaker, index = int(match.group(1)), match.group(2), int(match.group(3))
        split = ("test" if index < TEST_INDICES else "train") if official else None
        items.append(Entry(path, DIGIT_WORDS[digit], str(path), speaker, path.stem, split))
    layout = (f"FSDD recordings/ with the official test part (indices 0-{TEST_INDICES - 1})"
              if official else f"FSDD recordings/ without indices 0-{TEST_INDICES - 1}")
    return Collected(items, layout)
