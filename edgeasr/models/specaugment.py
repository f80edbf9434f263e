"""SpecAugment (Park et al., 2019): random frequency and time masks on features, training only."""

from __future__ import annotations

import keras
from keras import ops

from edgeasr.models.config import SpecAugmentConfig


class SpecAugment(keras.layers.Layer):
    """Features (B, T, F) -> same shape, with masked bands set to the utterance mean (0 after
    input normalisation would be ideal; the per-batch feature mean is a close, cheap stand-in).

    Masks are drawn per utterance from a seeded generator, so a run is reproducible.
    """

    def __init__(self, config: SpecAugmentConfig, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _band_mask(self, batch, length, count, max_width):
        """(B, length) float mask, 0 inside ``count`` random bands of width < max_width."""
        positions = ops.expand_dims(ops.arange(length, dtype="float32"), 0)
        keep = ops.ones((batch, length), dtype="float32")
        for _ in range(count):
            width = keras.random.uniform((batch, 1), 0, max_width, seed=self.seed_generator)
            start = keras.random.uniform((batch, 1), 0, 1, seed=self.seed_generator)
            start = start * ops.maximum(ops.cast(length, "float32") - width, 0.0)
            inside = ops.logical_and(positions >= start, positions < start + width)
            keep = keep * (1.0 - ops.cast(inside, "float32"))
        return keep

    def call(self, features, training=None):
        c = self.config
        if not training or (c.freq_masks == 0 and c.time_masks == 0):
            return features
        shape = ops.shape(features)
        batch, frames, bins = shape[0], shape[1], shape[2]
        mean = ops.mean(features, axis=(1, 2), keepdims=True)
        keep = ops.ones_like(features)
        if c.freq_masks:
            fmask = self._band_mask(batch, bins, c.freq_masks, float(c.freq_mask_width))
            keep = keep * ops.expand_dims(fmask, 1)
        if c.time_masks:
            max_width = ops.cast(frames, "float32") * c.time_mask_fraction
            tmask = self._band_mask(batch, frames, c.time_masks, max_width)
            keep = keep * ops.expand_dims(tmask, 2)
        return features * keep + mean * (1.0 - keep)

    def compute_output_shape(self, input_shape):
        return input_shape
