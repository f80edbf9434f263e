"""How ``edgeasr prepare RECIPE`` treats a corpus: :class:`PrepareOptions`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edgeasr.configs import dataclass_from_dict
from edgeasr_device.vocab import Vocabulary

__all__ = ["PrepareOptions"]


@dataclass(frozen=True)
class PrepareOptions:
    """How ``edgeasr prepare RECIPE`` treats a corpus.

    Attributes:
        strict: fail on the first bad input instead of skipping and reporting it.
        seed: seed of the deterministic split (see :mod:`edgeasr.prepare.splits`).
        dev_fraction, test_fraction: split targets by duration, for corpora without
            official splits (or with ``resplit``).
        speaker_disjoint: keep every known speaker in one split.
        exclude_test_text: drop train utterances whose text also occurs in dev/test.
        resplit: ignore a corpus's official splits and split with the fractions above.
        path_column, text_column: table columns (names, or 0-based indexes for a table
            without a header); None picks a default name.
        speaker_from_folder: the audio file's parent folder names the speaker.
        audio_dir: folder relative table paths start from (default: the table's folder).
        workers: threads reading audio headers.
        max_examples: skipped inputs listed per reason in the report.
        vocabulary: what a normalised transcript must fit.
        language: whose normaliser checks transcripts (``en``, ``fr``); other than ``en``,
            transcripts that only describe a sound (``[ascending tones]``) are left out.
    """

    strict: bool = False
    seed: int = 0
    dev_fraction: float = 0.1
    test_fraction: float = 0.1
    speaker_disjoint: bool = True
    exclude_test_text: bool = False
    resplit: bool = False
    path_column: str | None = None
    text_column: str | None = None
    speaker_from_folder: bool = False
    audio_dir: str | None = None
    workers: int = 4
    max_examples: int = 20
    vocabulary: Vocabulary = field(default_factory=Vocabulary.english)
    language: str = "en"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "prepare options"
                  ) -> PrepareOptions:
        """Build from a mapping of option values; unknown names are refused."""
        return dataclass_from_dict(cls, data, where)

    def report_values(self) -> dict[str, Any]:
        """The options as ``prepare_report.json`` records them: plain data, the vocabulary as
        its tokens (one string when every token is one character), the blank left out."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        vocabulary = self.vocabulary
        tokens = [t for i, t in enumerate(vocabulary.tokens) if i != vocabulary.blank_index]
        values["vocabulary"] = "".join(tokens) if all(len(t) == 1 for t in tokens) else tokens
        return values
