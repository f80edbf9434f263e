"""SpecAugment: masks in training only, bands where expected, reproducible under a seed."""

from __future__ import annotations

import numpy as np

from edgeasr.models.config import SpecAugmentConfig
from edgeasr.models.specaugment import SpecAugment

FEATURES = np.random.default_rng(0).standard_normal((3, 200, 40)).astype(np.float32) + 5.0


def test_identity_at_inference_and_when_disabled():
    layer = SpecAugment(SpecAugmentConfig(freq_masks=2, time_masks=2), seed=1)
    np.testing.assert_array_equal(np.asarray(layer(FEATURES, training=False)), FEATURES)
    off = SpecAugment(SpecAugmentConfig(), seed=1)
    np.testing.assert_array_equal(np.asarray(off(FEATURES, training=True)), FEATURES)


def test_frequency_masks_cover_whole_bands_within_the_width():
    layer = SpecAugment(SpecAugmentConfig(freq_masks=1, freq_mask_width=10), seed=3)
    out = np.asarray(layer(FEATURES, training=True))
    for b in range(3):
        changed = np.any(out[b] != FEATURES[b], axis=0)  # (F,)
        masked_everywhere = np.all(out[b] != FEATURES[b], axis=0)
        np.testing.assert_array_equal(changed, masked_everywhere)  # whole bands, all frames
        assert changed.sum() <= 10  # at most the mask width, each bin masked over all frames
        if changed.any():
            bins = np.flatnonzero(changed)
            assert bins.max() - bins.min() + 1 == bins.size  # one contiguous band
            np.testing.assert_allclose(out[b][:, bins], FEATURES.mean(axis=(1, 2))[b], rtol=1e-5)


def test_time_masks_respect_the_fraction_and_differ_per_utterance():
    layer = SpecAugment(SpecAugmentConfig(time_masks=2, time_mask_fraction=0.1), seed=5)
    out = np.asarray(layer(FEATURES, training=True))
    masked_frames = [np.all(out[b] != FEATURES[b], axis=1).sum() for b in range(3)]
    assert all(m <= 2 * 20 for m in masked_frames) and sum(masked_frames) > 0
    rows = [tuple(np.flatnonzero(np.all(out[b] != FEATURES[b], axis=1))) for b in range(3)]
    assert len(set(rows)) > 1


def test_same_seed_same_masks():
    config = SpecAugmentConfig(freq_masks=2, time_masks=2)
    a = np.asarray(SpecAugment(config, seed=7)(FEATURES, training=True))
    b = np.asarray(SpecAugment(config, seed=7)(FEATURES, training=True))
    c = np.asarray(SpecAugment(config, seed=8)(FEATURES, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
