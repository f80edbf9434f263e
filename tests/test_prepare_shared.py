"""Corpus recipes on the real speech in ../shared/data (slow: pass --slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeasr.data.manifest import read_manifest
from edgeasr.prepare.options import PrepareOptions
from edgeasr.prepare.pipeline import prepare_corpus

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

pytestmark = pytest.mark.slow


def shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"{path} is absent: these tests need the shared data folder "
                    "(../shared/data beside the checkout)")
    return path


def check(manifests: dict[str, Path], report: dict) -> dict[str, list]:
    assert report["input"] == report["kept"] + report["skipped"]
    splits = {name: read_manifest(path) for name, path in manifests.items()}  # all files exist
    assert sum(map(len, splits.values())) == report["kept"]
    assert all(splits.values()), "every split must hold utterances"
    return splits


def test_fsdd_all_2700_recordings_kept_speaker_disjoint(tmp_path):
    manifests, report = prepare_corpus("fsdd", shared("fsdd"), tmp_path, PrepareOptions(workers=2))
    splits = check(manifests, report)
    assert report["input"] == 2700 and report["kept"] == 2700 and report["skipped"] == 0
    speakers = {name: {u.speaker for u in members} for name, members in splits.items()}
    assert sum(map(len, speakers.values())) == 6  # each speaker in exactly one split
    assert all(u.duration > 0 for members in splits.values() for u in members)
    texts = {u.text for members in splits.values() for u in members}
    assert texts == {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}


def test_asterisk_prompts_table_only_explained_skips(tmp_path):
    manifests, report = prepare_corpus("table", shared("asterisk-prompts"), tmp_path,
                                       PrepareOptions(workers=2))
    check(manifests, report)
    assert report["input"] == 553  # prompts.tsv rows
    assert report["kept"] == 550  # one per wav/ file
    # The only skips: three prompts listed twice (at, pls-hold-while-try, sorry), first kept.
    assert set(report["skipped_by_reason"]) == {"duplicate_audio"}
    sources = [e["source"] for e in report["skipped_by_reason"]["duplicate_audio"]["examples"]]
    assert [s.rsplit(":", 1)[1] for s in sources] == ["297", "373", "404"]
