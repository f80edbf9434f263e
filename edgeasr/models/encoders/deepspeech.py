"""``deepspeech``: the Mozilla DeepSpeech v0.9 encoder shape: context window, clipped-ReLU
dense stack, one unidirectional LSTM, dense.

``width=2048`` with 26 MFCC and a context of 9 frames each side gives the published
~47 M-parameter model; smaller widths give the same architecture at a CPU-friendly size.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers, ops

from edgeasr.models.encoders.registry import EncoderConfig, register


@register("deepspeech")
@dataclass(frozen=True)
class DeepSpeechConfig(EncoderConfig):
    """Width of every hidden layer, context frames each side, ReLU clip, dropout.

    Time stride 1: one output frame per frontend frame.
    """

    width: int = 2048
    context: int = 9  # frames each side
    relu_clip: float = 20.0
    dropout: float = 0.05

    def build(self, name: str = "encoder") -> DeepSpeechEncoder:
        return DeepSpeechEncoder(self, name=name)

    def describe(self) -> str:
        return f"deepspeech width {self.width}, context {self.context}, 1 LSTM"


class DeepSpeechEncoder(keras.layers.Layer):
    """Features (B, T, F) -> hidden (B, T, width)."""

    def __init__(self, config: DeepSpeechConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        w = config.width
        self.input_norm = layers.BatchNormalization(momentum=0.9)
        self.dense = [layers.Dense(w, name=f"dense{i + 1}") for i in range(3)]
        self.drops = [layers.Dropout(config.dropout) for _ in range(4)]
        self.lstm = layers.LSTM(w, return_sequences=True, name="lstm")
        self.dense5 = layers.Dense(w, name="dense5")

    def _clipped_relu(self, x):
        return ops.minimum(ops.relu(x), self.config.relu_clip)

    def context_window(self, x):
        """(B, T, F) -> (B, T, (2 * context + 1) * F): each frame with its neighbours."""
        c = self.config.context
        if c == 0:
            return x
        frames = ops.shape(x)[1]
        padded = ops.pad(x, [[0, 0], [c, c], [0, 0]])
        return ops.concatenate([padded[:, i : i + frames] for i in range(2 * c + 1)], axis=-1)

    def call(self, features, frame_mask=None, training=None):
        x = self.input_norm(features, training=training)
        if frame_mask is not None:
            x = x * frame_mask
        x = self.context_window(x)
        for dense, drop in zip(self.dense, self.drops):
            x = drop(self._clipped_relu(dense(x)), training=training)
        x = self.lstm(x, training=training)
        x = self.drops[3](self._clipped_relu(self.dense5(x)), training=training)
        return x

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.config.width)
