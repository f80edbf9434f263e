"""Deterministic train/dev/test splits of a list of utterances.

Every *unit* (a whole speaker when the split is speaker-disjoint and the speaker is known,
otherwise one utterance) gets a position on ``[0, 1)`` from a hash of the seed and its key::

    position = blake2b(f"{seed}\\0{key}") / 2**64

Units are visited in order of position: test takes each unit that brings its duration closer
to ``test_fraction`` of the total than leaving it out would, then dev does the same with the
units left for ``dev_fraction``; the rest is train. Hashing (instead of shuffling a list) keeps
every unit's position fixed whatever else is in the corpus, so adding unrelated speakers only
shifts the targets a little and slots the newcomers in: most speakers keep their split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from edgeasr.data.manifest import Utterance
from edgeasr.errors import ConfigError
from edgeasr.text.normalize import normalize_english

SPLITS = ("train", "dev", "test")


def hash_position(seed: int, key: str) -> float:
    """Position of ``key`` on ``[0, 1)`` for ``seed``: stable across runs and machines."""
    digest = hashlib.blake2b(f"{seed}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def utterance_key(utterance: Utterance) -> str:
    """Key of an utterance as its own unit: its file name, which does not depend on where the
    corpus lives (the full path only breaks ties between equal names)."""
    return utterance.audio_path.name


def _units(utterances: Sequence[Utterance], speaker_disjoint: bool) -> dict[str, list[Utterance]]:
    units: dict[str, list[Utterance]] = {}
    for utterance in utterances:
        if speaker_disjoint and utterance.speaker is not None:
            key = f"speaker\0{utterance.speaker}"
        else:
            key = f"utterance\0{utterance_key(utterance)}\0{utterance.audio_path.as_posix()}"
        units.setdefault(key, []).append(utterance)
    return units


def _check_fractions(dev_fraction: float, test_fraction: float) -> None:
    for name, value in (("dev_fraction", dev_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{name} must be in [0, 1), got {value}; e.g. 0.1 for 10%")
    if dev_fraction + test_fraction >= 1.0:
        raise ConfigError(f"dev_fraction + test_fraction must leave something to train on, got "
                           f"{dev_fraction} + {test_fraction}; lower them")


def split_utterances(utterances: Iterable[Utterance], dev_fraction: float, test_fraction: float,
                     seed: int, speaker_disjoint: bool = True,
                     exclude_test_text_from_train: bool = False) -> dict[str, list[Utterance]]:
    """Split utterances into ``{"train", "dev", "test"}``, deterministically for ``seed``.

    With ``speaker_disjoint`` every known speaker lands in exactly one split (utterances without
    a speaker are placed one by one). Fractions are targets by duration; with few speakers they
    can only be met roughly, and a split may stay empty. Each split keeps the input order.
    With ``exclude_test_text_from_train``, train utterances whose normalised text occurs in dev
    or test are dropped (see :func:`exclude_test_text` to learn which).
    """
    _check_fractions(dev_fraction, test_fraction)
    utterances = list(utterances)
    units = _units(utterances, speaker_disjoint)
    durations = {key: sum(u.duration for u in members) for key, members in units.items()}
    total = sum(durations.values())
    targets = (("test", test_fraction * total), ("dev", dev_fraction * total))
    order = sorted(units, key=lambda key: (hash_position(seed, key.split("\0")[1]), key))
    assignment = dict.fromkeys(order, "train")
    for name, target in targets:
        taken = 0.0
        for key in order:
            closer = abs(taken + durations[key] - target) < abs(taken - target)
            if assignment[key] == "train" and closer:  # taking it gets the split nearer its target
                assignment[key] = name
                taken += durations[key]
    split_of = {id(u): assignment[key] for key, members in units.items() for u in members}
    result: dict[str, list[Utterance]] = {name: [] for name in SPLITS}
    for utterance in utterances:
        result[split_of[id(utterance)]].append(utterance)
    if exclude_test_text_from_train:
        result, _ = exclude_test_text(result)
    return result


def exclude_test_text(splits: dict[str, list[Utterance]]
                      ) -> tuple[dict[str, list[Utterance]], list[Utterance]]:
    """Drop train utterances whose normalised text also occurs in dev or test.

    Returns the new splits and the dropped utterances (in train order).
    """
    held_out = {normalize_english(u.text) for name in ("dev", "test") for u in splits.get(name, [])}
    kept, dropped = [], []
    for utterance in splits.get("train", []):
        (dropped if normalize_english(utterance.text) in held_out else kept).append(utterance)
    return {**splits, "train": kept}, dropped


def speaker_count(utterances: Iterable[Utterance]) -> int:
    """Number of distinct known speakers."""
    return len({u.speaker for u in utterances if u.speaker is not None})
