"""``edgeasr prepare RECIPE``: a corpus on disk -> manifests (and a prepare report).

Corpus recipes (:mod:`edgeasr.data.corpora`) all go through :func:`prepare_corpus`:

1. the recipe lists the corpus (entries + inputs it could not read);
2. every entry is checked (:func:`~edgeasr.data.corpora.common.validate_entries`);
3. the utterances are split: official splits kept (a missing dev/test is carved out of train),
   otherwise :func:`~edgeasr.data.splits.split_utterances`;
4. ``train.jsonl``, ``dev.jsonl``, ``test.jsonl`` and ``prepare_report.json`` are written to OUT.

``prepare_report.json``::

    {"recipe": "table", "source": "/abs/src", "out": "/abs/out", "options": {...},
     "layout": "what the recipe found", "split_method": "how the splits were made",
     "input": 553, "kept": 550, "skipped": 3,          # input == kept + skipped
     "splits": {"train": {"manifest": "train.jsonl", "utterances": 440, "hours": 0.31,
                          "speakers": 1}, "dev": {...}, "test": {...}},
     "skipped_by_reason": {"duplicate_audio": {"count": 3, "meaning": "...",
         "examples": [{"source": "prompts.tsv:297", "message": "..."}]}}}

``speakers`` is null where speakers are unknown; ``examples`` holds the first
``max_examples`` skips of each reason.

With ``--preprocess CONFIG.yaml`` (:mod:`edgeasr.data.prepare_audio`) the manifests list
the processed pieces under ``OUT/audio/<split>/``, inputs preprocessing leaves out are
skips like any other (reasons ``too_short``, ``too_long``, ``too_long_unsplittable``,
``silent``, ``unreadable_audio``), ``input == kept + skipped`` still counts inputs, each
split's ``utterances``/``hours`` count the pieces (manifest lines) and ``sources`` the
inputs they came from, and the report gains::

     "preprocess": {"config": {...all PreprocessConfig fields...},
         "config_file": "/abs/pre.yaml", "align_model": null, "audio_dir": "audio",
         "processed": 550, "kept": 545, "skipped": 5,    # processed == kept + skipped
         "skipped_by_reason": {"too_short": 3, "silent": 2},
         "pieces": 549,                                   # pieces written
         "split": {"utterances": 2, "pieces": 6},         # inputs cut into several pieces
         "notes": {"peak_limited": {"count": 4, "examples": [{"source": ..., "note": ...}]},
                   "too_quiet": {...}},
         "hours_before": 0.31, "hours_after": 0.27, "stale_files_removed": 0}

``processed`` are the inputs that passed the checks; ``kept``/``pieces`` are counted before
``--exclude-test-text`` (whose removals show as ``test_text_in_train``). Note kinds:
``peak_limited``, ``too_quiet``, ``too_short_for_loudness``, ``padded``, ``piece_dropped``,
``split``, ``other``.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import fields
from pathlib import Path
from typing import Any

from edgeasr.data.corpora import get_recipe, recipe_names
from edgeasr.data.corpora.common import (
    REASONS,
    CorpusError,
    PrepareOptions,
    Skip,
    validate_entries,
)
from edgeasr.data.manifest import ManifestError, Utterance, total_hours, write_manifest
from edgeasr.data.prepare_audio import PreprocessPlan, plan_preprocessing, preprocess_utterances
from edgeasr.data.splits import SPLITS, exclude_test_text, speaker_count, split_utterances
from edgeasr.files import atomic_write_json
from edgeasr_device.audio import audio_duration

REPORT_NAME = "prepare_report.json"
#: Fewer speakers than this cannot fill train, dev and test speaker-disjointly.
MIN_SPEAKERS_FOR_DISJOINT = 3


def prepare(recipe: str, out_dir: str | os.PathLike, src: str | os.PathLike | None = None,
            config_path: str | os.PathLike | None = None, workers: int = 2,
            options: PrepareOptions | None = None,
            preprocess_path: str | os.PathLike | None = None,
            align_model: str | os.PathLike | None = None) -> dict[str, Path]:
    """Run a recipe's preparation; return ``{split: manifest path}``.

    ``preprocess_path`` (YAML of PreprocessConfig fields) and ``align_model`` apply to the
    corpus recipes only; both are checked before any work starts.
    """
    if preprocess_path is not None or align_model is not None:
        if recipe in ("synthetic", "ldc93s1"):
            raise ValueError(f"--preprocess works with the corpus recipes "
                             f"({', '.join(recipe_names())}), not {recipe!r}")
        if preprocess_path is None:
            raise ValueError("--align-model is only used with --preprocess CONFIG.yaml (to split "
                             "long utterances); add --preprocess or drop --align-model")
    if recipe == "synthetic":
        return prepare_synthetic(out_dir, config_path, workers)
    if recipe == "ldc93s1":
        if src is None:
            raise ManifestError("the ldc93s1 recipe needs --src, the folder holding LDC93S1.wav/.txt")
        return {"all": prepare_ldc93s1(src, out_dir)}
    if recipe not in recipe_names():
        raise ValueError(f"unknown recipe {recipe!r}; known: synthetic, ldc93s1, "
                         f"{', '.join(recipe_names())}")
    if src is None:
        raise CorpusError(f"the {recipe} recipe needs --src: {get_recipe(recipe).src}")
    plan = None if preprocess_path is None else plan_preprocessing(preprocess_path, align_model)
    return prepare_corpus(recipe, src, out_dir, options or PrepareOptions(workers=workers),
                          plan)[0]


def prepare_synthetic(out_dir, config_path=None, workers: int = 2) -> dict[str, Path]:
    from edgeasr.data.synthetic import SyntheticCorpusConfig, build_synthetic_corpus

    options = {}
    if config_path is not None:
        import yaml

        data = yaml.safe_load(Path(config_path).read_text()) or {}
        options = data.get("corpus", {}) or {}
    return build_synthetic_corpus(SyntheticCorpusConfig(**options), out_dir, workers=workers)


def strip_sample_range(text: str) -> str:
    """TIMIT transcripts start with the utterance's sample range: ``0 46797 She had ...``."""
    return re.sub(r"^\s*\d+\s+\d+\s+", "", text.strip())


def prepare_ldc93s1(src: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """The TIMIT sample DeepSpeech's CI overfits on: ``LDC93S1.wav`` + ``LDC93S1.txt``.

    The transcript file is either plain text or TIMIT's ``<start> <end> <text>`` form.
    """
    src = Path(src)
    wav, txt = src / "LDC93S1.wav", src / "LDC93S1.txt"
    for path in (wav, txt):
        if not path.is_file():
            raise ManifestError(f"{path} is missing; --src must be the folder holding LDC93S1.wav and .txt")
    text = strip_sample_range(txt.read_text(encoding="utf-8"))
    utterance = Utterance(wav.resolve(), audio_duration(wav), text, "ldc93s1")
    return write_manifest([utterance], Path(out_dir) / "ldc93s1.jsonl")


# --------------------------------------------------------------------------- corpus recipes

def prepare_corpus(recipe: str, src: str | os.PathLike, out_dir: str | os.PathLike,
                   options: PrepareOptions = PrepareOptions(),
                   preprocess: PreprocessPlan | None = None
                   ) -> tuple[dict[str, Path], dict[str, Any]]:
    """Prepare a corpus with a registered recipe; return ``({split: manifest}, report)``.

    With ``preprocess`` (:func:`~edgeasr.data.prepare_audio.plan_preprocessing`) the audio
    is processed and written under ``OUT/audio/`` (see the module docstring).

    Raises:
        CorpusError: the corpus layout is not what the recipe reads, nothing usable was
            found, or (``options.strict``) any input is bad or left out by preprocessing.
    """
    src_path = Path(src).expanduser().resolve()
    if not src_path.exists():
        raise CorpusError(f"--src {src_path} does not exist; pass the corpus folder")
    out = Path(out_dir).expanduser().resolve()
    collected = get_recipe(recipe).collect(src_path, options)
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


def build_report(recipe: str, src: Path, out: Path, options: PrepareOptions, layout: str,
                 method: str, n_input: int, splits: dict[str, list[Utterance]],
                 skipped: list[Skip], pieces: dict[str, list[Utterance]] | None = None
                 ) -> dict[str, Any]:
    """The ``prepare_report.json`` content (schema in the module docstring).

    ``splits`` hold the inputs kept; ``pieces``, with preprocessing, what the manifests list.
    """
    kept = sum(len(members) for members in splits.values())
    if kept + len(skipped) != n_input:  # an internal bug, never the user's input
        raise RuntimeError(f"prepare report does not add up: {n_input} inputs, {kept} kept, "
                           f"{len(skipped)} skipped")
    by_reason: dict[str, dict[str, Any]] = {}
    for reason, count in Counter(skip.reason for skip in skipped).most_common():
        examples = [{"source": s.source, "message": s.message}
                    for s in skipped if s.reason == reason][: options.max_examples]
        by_reason[reason] = {"count": count, "meaning": REASONS[reason], "examples": examples}
    option_values = {f.name: getattr(options, f.name) for f in fields(options)}
    vocabulary = options.vocabulary
    tokens = [t for i, t in enumerate(vocabulary.tokens) if i != vocabulary.blank_index]
    option_values["vocabulary"] = "".join(tokens) if all(len(t) == 1 for t in tokens) else tokens
    return {
        "recipe": recipe,
        "source": str(src),
        "out": str(out),
        "options": option_values,
        "layout": layout,
        "split_method": method,
        "input": n_input,
        "kept": kept,
        "skipped": len(skipped),
        "splits": {name: split_summary(name, members) if pieces is None else
                   {**split_summary(name, pieces[name]), "sources": len(members)}
                   for name, members in splits.items()},
        "skipped_by_reason": by_reason,
    }


def split_summary(name: str, utterances: list[Utterance]) -> dict[str, Any]:
    speakers = speaker_count(utterances)
    return {"manifest": f"{name}.jsonl", "utterances": len(utterances),
            "hours": round(total_hours(utterances), 4),
            "speakers": speakers if speakers or not utterances else None}


def report_lines(out_dir: str | os.PathLike) -> list[str]:
    """Human summary of ``OUT/prepare_report.json``: one line per split, then the skips."""
    path = Path(out_dir) / REPORT_NAME
    if not path.is_file():
        return []
    report = json.loads(path.read_text(encoding="utf-8"))
    lines = []
    for name in SPLITS:
        info = report["splits"][name]
        count = info["speakers"]
        speakers = "" if count is None else f", {count} speaker{'' if count == 1 else 's'}"
        sources = info.get("sources", info["utterances"])
        origin = f" (from {sources} inputs)" if sources != info["utterances"] else ""
        lines.append(f"{name}: {info['utterances']} utterances{origin}, {info['hours']:.2f} h"
                     f"{speakers} -> {Path(report['out']) / info['manifest']}")
    lines.append(f"split: {report['split_method']}")
    if "preprocess" in report:
        lines.append(preprocess_line(report["preprocess"], Path(report["out"])))
    if report["skipped"]:
        counts = ", ".join(f"{reason} {info['count']}"
                           for reason, info in report["skipped_by_reason"].items())
        lines.append(f"skipped {report['skipped']} of {report['input']} inputs: {counts} "
                     f"(details: {path})")
        for info in report["skipped_by_reason"].values():
            example = info["examples"][0]
            lines.append(f"  e.g. {example['source']}: {example['message']}")
    else:
        lines.append(f"skipped nothing: all {report['input']} inputs kept")
    return lines


def preprocess_line(info: dict[str, Any], out: Path) -> str:
    """One line on what ``--preprocess`` did (the report's ``preprocess`` section)."""
    before, after = info["hours_before"], info["hours_after"]
    span = (f"{before:.2f} h -> {after:.2f} h" if before >= 0.1
            else f"{before * 3600:.0f} s -> {after * 3600:.0f} s")
    parts = [f"preprocessed {info['processed']} inputs into {info['pieces']} pieces ({span}) in "
             f"{out / info['audio_dir']}"]
    if info["skipped"]:
        parts.append(f"left out {info['skipped']}")
    if info["split"]["utterances"]:
        parts.append(f"split {info['split']['utterances']} into {info['split']['pieces']}")
    if info["notes"]:
        parts.append("notes: " + ", ".join(f"{kind} {note['count']}"
                                             for kind, note in info["notes"].items()))
    return "; ".join(parts)
