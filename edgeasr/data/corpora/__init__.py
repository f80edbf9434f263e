"""Registry of corpus recipes for ``edgeasr prepare RECIPE --src PATH --out DIR``.

Each recipe is a module of this package with one function,
``collect(src: Path, options: PrepareOptions) -> Collected``, that reads the corpus in its real
on-disk layout. Checking, splitting, manifests and the report are shared
(:func:`edgeasr.data.prepare.prepare_corpus`). Modules load on first use, so listing the
recipes (the CLI does, for its help) imports nothing heavy.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgeasr.data.corpora.common import Collected, PrepareOptions


@dataclass(frozen=True)
class Recipe:
    """A corpus recipe: its name, module, what --src is, and how it splits."""

    name: str
    module: str
    src: str
    splits: str

    def collect(self, src: Path, options: PrepareOptions) -> Collected:
        """List the corpus at ``src`` (see the recipe module)."""
        return importlib.import_module(f"{__name__}.{self.module}").collect(src, options)


RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe("librispeech", "librispeech",
               "the LibriSpeech root (train-clean-100/, dev-clean/, ...) or one split folder",
               "train-*/dev-*/test-* folders; a single folder is split speaker-disjoint"),
        Recipe("mls", "mls", "a Multilingual LibriSpeech language root (train/ dev/ test/) "
               "or one split folder", "official train/dev/test; a single folder is split"),
        Recipe("commonvoice", "commonvoice",
               "a Common Voice language folder (train.tsv ... + clips/)",
               "train/dev/test.tsv; only validated.tsv: split speaker-disjoint by client_id"),
        Recipe("ljspeech", "ljspeech", "the LJSpeech folder (metadata.csv + wavs/)",
               "one speaker: split by utterance"),
        Recipe("fsdd", "fsdd", "the Free Spoken Digit Dataset (recordings/ or the folder itself)",
               "indices 0-4 are the official test part; otherwise split speaker-disjoint"),
        Recipe("folder", "folder", "any folder tree of audio files with same-name .txt beside",
               "top-level train/ dev/ test/ folders if present; otherwise split"),
        Recipe("table", "table", "a CSV/TSV of audio path + text (or the folder holding one)",
               "split (speaker-disjoint when a speaker column is present)"),
    )
}


def recipe_names() -> tuple[str, ...]:
    """Names of the corpus recipes, in registry order."""
    return tuple(RECIPES)


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; ValueError listing the known ones otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown corpus recipe {name!r}; known: {', '.join(RECIPES)}") from None
