"""The registry of ``edgeasr prepare RECIPE`` recipes: the one list of what RECIPE can be.

Each recipe is a module of this package, of one of two kinds (:attr:`Recipe.writes_report`):

* a *corpus* recipe has ``collect(src: Path, options: PrepareOptions) -> Collected``, which
  reads the corpus in its real on-disk layout; checking, splitting, manifests, the report and
  ``--preprocess`` are shared (:func:`edgeasr.prepare.pipeline.prepare_corpus`);
* a *builder* recipe has ``build(src, out_dir, config_path, workers) -> {name: manifest}`` and
  writes its manifests itself (the synthetic TTS corpus, the one-utterance LDC93S1 sample).

The CLI's RECIPE choices and :func:`edgeasr.prepare.pipeline.prepare` both read
:data:`RECIPES`. Modules load on first use, so listing the recipes (the CLI does, for its
help) imports nothing heavy.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edgeasr.errors import ConfigError

if TYPE_CHECKING:
    from edgeasr.prepare.corpora.common import Collected
    from edgeasr.prepare.options import PrepareOptions

__all__ = ["RECIPES", "Recipe", "get_recipe", "recipe_names"]


@dataclass(frozen=True)
class Recipe:
    """A recipe: its name, module, what ``--src`` is, how it splits, and what it takes.

    Attributes:
        name: what ``edgeasr prepare NAME`` calls it.
        module: its module in this package.
        src: what ``--src`` must be (for messages and help); empty when it takes none.
        splits: how its utterances are split.
        needs_src: ``--src`` is required.
        writes_report: a corpus recipe (``collect``): the shared pipeline checks every
            input, writes ``train``/``dev``/``test`` manifests and ``prepare_report.json``,
            and can ``--preprocess``. Otherwise a builder recipe (``build``), which may read
            ``--config``.
    """

    name: str
    module: str
    src: str
    splits: str
    needs_src: bool = True
    writes_report: bool = True

    def _module(self):
        return importlib.import_module(f"{__name__}.{self.module}")

    def collect(self, src: Path, options: PrepareOptions) -> Collected:
        """List the corpus at ``src`` (a corpus recipe; see its module)."""
        return self._module().collect(src, options)

    def build(self, src: str | os.PathLike | None, out_dir: str | os.PathLike,
              config_path: str | os.PathLike | None, workers: int) -> dict[str, Path]:
        """Write the manifests into ``out_dir`` (a builder recipe); ``{name: manifest}``."""
        return self._module().build(src, out_dir, config_path, workers)


RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe("synthetic", "synthetic", "", "train/dev and held-out voices: test_variants, "
               "test_accents", needs_src=False, writes_report=False),
        Recipe("ldc93s1", "ldc93s1", "the folder holding LDC93S1.wav and LDC93S1.txt",
               "one manifest (ldc93s1.jsonl) of the one utterance", writes_report=False),
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
        Recipe("kaldi", "kaldi", "a Kaldi/ESPnet/icefall data dir (text, wav.scp, utt2spk; "
               "optional segments, spk2gender) or a folder of them (train/ dev/ test/)",
               "sub-dirs train*/dev*/test*; otherwise split speaker-disjoint by utt2spk"),
        Recipe("table", "table", "a CSV/TSV of audio path + text (or the folder holding one)",
               "split (speaker-disjoint when a speaker column is present)"),
    )
}


def recipe_names(writes_report: bool | None = None) -> tuple[str, ...]:
    """Names of the recipes in registry order (only corpus / builder recipes if asked)."""
    return tuple(name for name, recipe in RECIPES.items()
                 if writes_report is None or recipe.writes_report == writes_report)


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; ConfigError listing the known ones otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ConfigError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}") from None
