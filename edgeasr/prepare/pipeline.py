"""``edgeasr prepare RECIPE``: a corpus on disk -> manifests (and a prepare report).

:func:`prepare` looks RECIPE up in the registry (:mod:`edgeasr.prepare.corpora`): a builder
recipe writes its manifests itself; every corpus recipe goes through :func:`prepare_corpus`:

1. the recipe lists the corpus (entries + inputs it could not read);
2. every entry is checked (:func:`~edgeasr.prepare.corpora.common.validate_entries`);
3. with ``--preprocess`` the audio is processed (:mod:`edgeasr.prepare.audio_stage`);
4. the utterances are split: official splits kept (a missing dev/test is carved out of train),
   otherwise :func:`~edgeasr.prepare.splits.split_utterances`;
5. ``train.jsonl``, ``dev.jsonl``, ``test.jsonl`` and ``prepare_report.json``
   (:mod:`edgeasr.prepare.report`) are written to OUT.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edgeasr.data.manifest import Utterance, write_manifest
from edgeasr.errors import ConfigError
from edgeasr.files import atomic_write_json
from edgeasr.prepare.audio_stage import (
    PreprocessPlan,
    plan_preprocessing,
    preprocess_utterances,
)
from edgeasr.prepare.corpora import get_recipe, recipe_names
from edgeasr.prepare.corpora.common import CorpusError, Skip, validate_entries
from edgeasr.prepare.options import PrepareOptions
from edgeasr.prepare.report import REPORT_NAME, build_report
from edgeasr.prepare.splits import (
    SPLITS,
    exclude_test_text,
    speaker_count,
    split_utterances,
)

__all__ = ["MIN_SPEAKERS_FOR_DISJOINT", "assign_splits", "prepare", "prepare_corpus",
           "seeded_split", "split_kept"]

#: Fewer speakers than this cannot fill train, dev and test speaker-disjointly.
MIN_SPEAKERS_FOR_DISJOINT = 3


def prepare(recipe: str, out_dir: str | os.PathLike, src: str | os.PathLike | None = None,
            config_path: str | os.PathLike | None = None, workers: int = 2,
            options: PrepareOptions | None = None,
            preprocess_path: str | os.PathLike | None = None,
            align_model: str | os.PathLike | None = None) -> dict[str, Path]:
    """Run a recipe's preparation; return ``{split: manifest path}``.

    ``preprocess_path`` (YAML of PreprocessConfig fields) and ``align_model`` apply to the
    corpus recipes only; both are checked before any work starts. ``workers`` goes to a
    builder recipe, and to a corpus recipe when ``options`` is not given.

    Raises:
        ConfigError: an unknown recipe, or options it does not take.
        CorpusError: no ``--src`` for a recipe that needs one, or what
            :func:`prepare_corpus` raises.
    """
    entry = get_recipe(recipe)
    if preprocess_path is not None or align_model is not None:
        if not entry.writes_report:
            raise ConfigError(f"--preprocess works with the corpus recipes "
                              f"({', '.join(recipe_names(writes_report=True))}), not {recipe!r}")
        if preprocess_path is None:
            raise ConfigError("--align-model is only used with --preprocess CONFIG.yaml (to "
                              "split long utterances); add --preprocess or drop --align-model")
    if entry.needs_src and src is None:
        raise CorpusError(f"the {recipe} recipe needs --src: {entry.src}")
    if not entry.writes_report:
        return entry.build(src, out_dir, config_path, workers)
    plan = None if preprocess_path is None else plan_preprocessing(preprocess_path, align_model)
    return prepare_corpus(recipe, src, out_dir, options or PrepareOptions(workers=workers),
                          plan)[0]


def prepare_corpus(recipe: str, src: str | os.PathLike, out_dir: str | os.PathLike,
                   options: PrepareOptions | None = None,
                   preprocess: PreprocessPlan | None = None
                   ) -> tuple[dict[str, Path], dict[str, Any]]:
    """Prepare a corpus with a registered recipe; return ``({split: manifest}, report)``.

    ``options`` default to ``PrepareOptions()``.

    With ``preprocess`` (:func:`~edgeasr.prepare.audio_stage.plan_preprocessing`) the audio
    is processed and written under ``OUT/audio/`` (see :mod:`edgeasr.prepare.report`).

    Raises:
        ConfigError: ``recipe`` is not a corpus recipe.
        CorpusError: the corpus layout is not what the recipe reads, nothing usable was
            found, or (``options.strict``) any input is bad or left out by preprocessing.
    """
    entry = get_recipe(recipe)
    if not entry.writes_report:
        raise ConfigError(f"{recipe} is not a corpus recipe; corpus recipes: "
                          f"{', '.join(recipe_names(writes_report=True))}")
    options = options or PrepareOptions()
    src_path = Path(src).expanduser().resolve()
    if not src_path.exists():
        raise CorpusError(f"--src {src_path} does not exist; pass the corpus folder")
    out = Path(out_dir).expanduser().resolve()
    collected = entry.collect(src_path, options)
    kept, skipped = validate_entries(collected.items, options)
    n_input = len(collected.items)
    stage = None
    if preprocess is not None and kept:
        root = src_path if src_path.is_dir() else src_path.parent
        stage = preprocess_utterances(kept, root, out, preprocess, options)
        kept, skipped = stage.kept, skipped + stage.skipped
    try:
        hint = "" if stage is None or preprocess is None else (
            f"; the preprocessing in {preprocess.config_path} left out {len(stage.skipped)} of "
            f"them: loosen its limits")
        splits, method, skipped = split_kept(recipe, src_path, n_input, kept, skipped, options,
                                             hint)
    except BaseException:
        if stage is not None:
            stage.discard()
        raise
    pieces, stale = stage.place(splits) if stage is not None else (None, 0)
    listed = splits if pieces is None else pieces
    manifests = {name: write_manifest(listed[name], out / f"{name}.jsonl") for name in SPLITS}
    report = build_report(recipe, src_path, out, options, collected.layout, method,
                          n_input, splits, skipped, pieces)
    if stage is not None and preprocess is not None:
        report["preprocess"] = {**stage.summary(preprocess, options.max_examples),
                                "stale_files_removed": stale}
    atomic_write_json(out / REPORT_NAME, report)
    return manifests, report


def split_kept(recipe: str, src: Path, n_input: int, kept: list[tuple[Utterance, str | None]],
               skipped: list[Skip], options: PrepareOptions, hint: str = ""
               ) -> tuple[dict[str, list[Utterance]], str, list[Skip]]:
    """Splits of the kept utterances, how they were made, and the skips (+ text exclusions).

    ``hint`` is added to the message when nothing was kept.

    Raises:
        CorpusError: nothing was kept, or no training utterance is left.
    """
    if not kept:
        first = f"; first problem: {skipped[0].describe()}{hint}" if skipped else ""
        raise CorpusError(f"no usable utterances in {src} for the {recipe} recipe "
                          f"({n_input} inputs found{first}); check --src and the layout: "
                          f"{get_recipe(recipe).src}")
    splits, method = assign_splits(kept, options)
    if options.exclude_test_text:
        splits, dropped = exclude_test_text(splits)
        skipped = skipped + [Skip("test_text_in_train", u.source,
                                  f"{u.text!r} also occurs in dev or test") for u in dropped]
        method += "; train utterances with dev/test text removed"
    if not splits["train"]:
        raise CorpusError(f"no training utterances are left of the {len(kept)} usable ones "
                          f"({method}); lower --dev-fraction/--test-fraction, pass --resplit "
                          "to split a corpus without official train data, or drop "
                          "--exclude-test-text if dev/test share their sentences with train")
    return splits, method, skipped


def assign_splits(kept: list[tuple[Utterance, str | None]], options: PrepareOptions
                  ) -> tuple[dict[str, list[Utterance]], str]:
    """Official splits when the corpus has them (unless ``resplit``), else a seeded split."""
    utterances = [u for u, _ in kept]
    if any(split is not None for _, split in kept) and not options.resplit:
        splits: dict[str, list[Utterance]] = {name: [] for name in SPLITS}
        for utterance, split in kept:
            splits[split or "train"].append(utterance)
        missing = [name for name in ("dev", "test") if not splits[name]]
        method = "official splits"
        if missing:
            fractions = {name: getattr(options, f"{name}_fraction") if name in missing else 0.0
                         for name in ("dev", "test")}
            carved, how = seeded_split(splits["train"], fractions["dev"], fractions["test"],
                                       options)
            splits = {**splits, "train": carved["train"],
                      **{name: carved[name] for name in missing}}
            method += f"; {' and '.join(missing)} carved out of train ({how})"
        return splits, method
    splits, how = seeded_split(utterances, options.dev_fraction, options.test_fraction, options)
    return splits, how


def seeded_split(utterances: list[Utterance], dev_fraction: float, test_fraction: float,
                 options: PrepareOptions) -> tuple[dict[str, list[Utterance]], str]:
    """Speaker-disjoint where possible, else by utterance; and a description of which."""
    speakers = speaker_count(utterances)
    wanted = {"dev": dev_fraction, "test": test_fraction}
    label = (f"seed {options.seed}, dev {dev_fraction:g}, test {test_fraction:g} "
             "of the duration")
    if options.speaker_disjoint and speakers >= MIN_SPEAKERS_FOR_DISJOINT:
        splits = split_utterances(utterances, dev_fraction, test_fraction, options.seed, True)
        empty = [name for name, fraction in wanted.items() if fraction > 0 and not splits[name]]
        if not empty:
            return splits, f"speaker-disjoint split of {speakers} speakers ({label})"
        note = f"a speaker-disjoint split left {' and '.join(empty)} empty"
    elif options.speaker_disjoint and speakers:
        note = f"only {speakers} speaker{'s' if speakers > 1 else ''}"
    elif options.speaker_disjoint:
        note = "speakers unknown"
    else:
        note = "--no-speaker-disjoint"
    splits = split_utterances(utterances, dev_fraction, test_fraction, options.seed, False)
    return splits, f"split by utterance ({note}; {label})"
