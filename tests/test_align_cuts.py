"""Cut planning for long utterances (edgeasr.audio.align) from aligned word times."""

from __future__ import annotations

from edgeasr.audio.align import plan_cuts
from edgeasr_device.decoding.align import WordTime


def test_plan_cuts_uses_the_longest_silence_between_words():
    rate = 100  # 1 sample = 10 ms, to keep numbers readable
    words = [WordTime(0, 0.0, 1.0), WordTime(1, 1.2, 2.0), WordTime(2, 2.8, 3.5),
             WordTime(3, 3.7, 4.5)]
    quiet = [(100, 120), (200, 280), (350, 370)]
    assert plan_cuts(words, quiet, 450, rate, max_seconds=5.0) == []
    assert plan_cuts(words, quiet, 450, rate, max_seconds=3.0) == [240]
    assert plan_cuts(words, quiet, 450, rate, max_seconds=2.0) == [110, 240, 360]
    # a single word longer than the limit cannot be cut
    assert plan_cuts([WordTime(0, 0.0, 4.0), WordTime(1, 4.1, 4.5)], [], 450, rate, 3.0) is None


def test_plan_cuts_avoids_pieces_shorter_than_min_seconds():
    rate = 100
    words = [WordTime(0, 0.0, 0.2), WordTime(1, 0.6, 2.0), WordTime(2, 2.1, 3.0)]
    quiet = [(20, 60), (200, 210)]
    assert plan_cuts(words, quiet, 300, rate, max_seconds=2.9) == [40]
    assert plan_cuts(words, quiet, 300, rate, max_seconds=2.9, min_seconds=0.5) == [205]
