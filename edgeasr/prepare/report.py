"""``OUT/prepare_report.json``: what ``edgeasr prepare`` kept, skipped and how it split.

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

With ``--preprocess CONFIG.yaml`` (:mod:`edgeasr.prepare.audio_stage`) the manifests list
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
from collections import Counter
from pathlib import Path
from typing import Any

from edgeasr.data.manifest import Utterance, total_hours
from edgeasr.prepare.corpora.common import REASONS, Skip
from edgeasr.prepare.options import PrepareOptions
from edgeasr.prepare.splits import SPLITS, speaker_count

__all__ = ["REPORT_NAME", "build_report", "preprocess_line", "report_lines", "split_summary"]

REPORT_NAME = "prepare_report.json"


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
    return {
        "recipe": recipe,
        "source": str(src),
        "out": str(out),
        "options": options.report_values(),
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
    parts = [(f"preprocessed {info['processed']} inputs into {info['pieces']} pieces ({span}) in "
              f"{out / info['audio_dir']}")]
    if info["skipped"]:
        parts.append(f"left out {info['skipped']}")
    if info["split"]["utterances"]:
        parts.append(f"split {info['split']['utterances']} into {info['split']['pieces']}")
    if info["notes"]:
        parts.append("notes: " + ", ".join(f"{kind} {note['count']}"
                                             for kind, note in info["notes"].items()))
    return "; ".join(parts)
