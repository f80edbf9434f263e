"""``deepspeech``: the Mozilla DeepSpeech v0.9 encoder shape: context window, clipped-ReLU
dense stack, one unidirectional LSTM, dense.

``width=2048`` with 26 MFCC and a context of 9 frames each side gives the published
~47 M-parameter model; smaller widths give the same architecture at a CPU-friendly size.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers, ops

from edgeasr.models.encoders.registry import EncoderConfig, StreamingState, register


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

    def streaming_state(self, num_features: int, chunk_frames: int,
                        input_delay: int = 0) -> StreamingState:
        """The context window keeps its last ``2 * context`` input frames (lag ``context``);
        the LSTM carries its hidden and cell state, and holds them over masked frames."""
        delay = input_delay + self.context
        return StreamingState(
            shapes={"context": (2 * self.context, num_features), "lstm_h": (self.width,),
                    "lstm_c": (self.width,)},
            chunk_frames=chunk_frames, mask_delays=(delay,), delay=delay)


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

    def stream_step(self, features, input_mask, masks, states: dict):
        """One chunk (inference only): features (B, C, F), input_mask (B, C, 1), masks
        (B, 1, C, 1) -> (hidden (B, C, width), new states); see ``streaming_state``."""
        c = self.config.context
        chunk = ops.shape(features)[1]
        x = self.input_norm(features, training=False) * input_mask
        full = ops.concatenate([states["context"], x], axis=1)
        new = {"context": full[:, chunk:]}
        if c:
            x = ops.concatenate([full[:, i:i + chunk] for i in range(2 * c + 1)], axis=-1)
        for dense in self.dense:
            x = self._clipped_relu(dense(x))
        h, cell = states["lstm_h"], states["lstm_c"]
        cell_layer = self.lstm.cell
        outputs = []
        for t in range(features.shape[1]):
            keep = masks[:, 0, t]  # (B, 1): 1 on real frames; padding frames hold the state
            out, (h_t, c_t) = cell_layer(x[:, t], [h, cell], training=False)
            h = keep * h_t + (1.0 - keep) * h
            cell = keep * c_t + (1.0 - keep) * cell
            outputs.append(out)
        new["lstm_h"], new["lstm_c"] = h, cell
        x = ops.stack(outputs, axis=1)
        return self._clipped_relu(self.dense5(x)), new

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.config.width)
