"""``conformer``: convolution-augmented Transformer blocks (Gulati et al., 2020) for CTC.

features (B, T, F) -> BatchNorm -> 2 x [Conv2D 3x3 stride 2 + ReLU] (time x 4) -> Dense
d_model -> ``num_blocks`` x block -> hidden (B, ceil(T / 4), d_model), where a block is

    x + 1/2 FFN(x) -> + MHSA(x) -> + Conv(x) -> + 1/2 FFN(x) -> LayerNorm

- FFN: LayerNorm, Dense(ff_multiplier * d_model), swish, dropout, Dense(d_model), dropout;
- MHSA: LayerNorm, multi-head self-attention with relative positions (below), dropout;
  padded frames are masked out as keys (``frame_mask``), so a padded batch computes what
  each utterance computes alone;
- Conv: LayerNorm, pointwise conv to 2 d_model, GLU, depthwise conv (``conv_kernel``,
  padded frames zeroed first), BatchNorm, swish, pointwise conv, dropout.

Positions: relative, as in the Conformer paper (Transformer-XL's scheme). The attention
score of query i and key j adds ``(q_i + v) . W_p r(i - j)`` to ``(q_i + u) . k_j``, with
``r`` sinusoids of the distance, computed in the graph for the utterance's length, and
learned ``u``, ``v``, ``W_p``. Checked before choosing it: the distance table (RANGE, SIN,
COS), the position projection and the "relative shift" that lines distances up with keys
(PAD, RESHAPE, STRIDED_SLICE) all convert to builtin TFLite ops, float and int8, with a
dynamic length (tests/test_model_family.py checks float32 parity), so there was no need
to fall back to absolute sinusoids added after subsampling. The cost: a second score
product over ``2T - 1`` distances per layer. It is :class:`RelativePositionAttention`,
Keras' ``MultiHeadAttention`` through its documented ``_compute_attention`` override
point: the q/k/v/output projections stay Keras'.

Not streamable: attention reads the whole utterance (``streaming_state`` is None; the
device runs it on voice-activity segments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers, ops

from edgeasr.errors import ConfigError
from edgeasr.models.encoders.registry import EncoderConfig, register
from edgeasr.models.encoders.time_frequency import TimeFrequencyConv

#: Two stride-2 convolutions in time.
SUBSAMPLING = 4


@register("conformer")
@dataclass(frozen=True)
class ConformerConfig(EncoderConfig):
    """Model width, blocks, heads, feed-forward expansion, depthwise kernel, dropout.

    ``subsampling_channels``: channels of the two subsampling convolutions.
    """

    d_model: int = 176
    num_blocks: int = 16
    num_heads: int = 4
    ff_multiplier: int = 4
    conv_kernel: int = 31
    subsampling_channels: int = 128
    dropout: float = 0.1

    def __post_init__(self) -> None:
        sizes = {"d_model": self.d_model, "num_blocks": self.num_blocks,
                 "num_heads": self.num_heads, "ff_multiplier": self.ff_multiplier,
                 "conv_kernel": self.conv_kernel,
                 "subsampling_channels": self.subsampling_channels}
        bad = [k for k, v in sizes.items() if not isinstance(v, int) or v < 1]
        if bad:
            raise ConfigError(f"conformer: {', '.join(bad)} must be whole numbers >= 1")
        if self.d_model % (2 * self.num_heads):
            raise ConfigError(f"conformer: d_model ({self.d_model}) must be a multiple of "
                              f"2 x num_heads ({2 * self.num_heads}): heads split it evenly and "
                              "each position sinusoid is a sine-cosine pair")

    @property
    def time_stride(self) -> int:
        return SUBSAMPLING

    def build(self, name: str = "encoder") -> ConformerEncoder:
        return ConformerEncoder(self, name=name)

    def describe(self) -> str:
        return (f"conformer d{self.d_model} x {self.num_blocks} blocks, {self.num_heads} heads, "
                f"kernel {self.conv_kernel}, stride {SUBSAMPLING}")


def relative_positions(frames, dim: int):
    """(2T - 1, dim) sinusoids of the distances ``T - 1, T - 2, ..., -(T - 1)``."""
    distance = ops.cast(frames - 1 - ops.arange(2 * frames - 1), "float32")
    inverse = np.exp(-math.log(10000.0) * np.arange(0, dim, 2) / dim).astype(np.float32)
    angles = ops.expand_dims(distance, 1) * ops.expand_dims(ops.convert_to_tensor(inverse), 0)
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)


def relative_shift(scores):
    """(B, H, T, 2T - 1) scores against distances ``T - 1 ... -(T - 1)`` -> (B, H, T, T)
    against keys: ``out[..., i, j] = scores[..., i, T - 1 - i + j]`` (distance ``i - j``)."""
    batch, heads, frames = ops.shape(scores)[0], ops.shape(scores)[1], ops.shape(scores)[2]
    x = ops.pad(scores, [[0, 0], [0, 0], [0, 0], [1, 0]])
    x = ops.reshape(x, (batch, heads, 2 * frames, frames))[:, :, 1:]
    return ops.reshape(x, (batch, heads, frames, 2 * frames - 1))[:, :, :, :frames]


class RelativePositionAttention(layers.MultiHeadAttention):
    """Self-attention with relative position scores (see the module docstring).

    Called as ``layer(x, x, attention_mask=(B, T, T) bool | None)`` on (B, T, d_model).
    """

    def __init__(self, num_heads: int, key_dim: int, dropout: float = 0.0, **kwargs):
        super().__init__(num_heads=num_heads, key_dim=key_dim, **kwargs)
        self.position_dense = layers.Dense(num_heads * key_dim, use_bias=False,
                                           name="position")
        self.scores_softmax = layers.Softmax(axis=-1)
        self.scores_dropout = layers.Dropout(dropout)

    def build(self, query_shape, value_shape, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        heads, size = self.num_heads, self.key_dim
        self.position_dense.build((None, heads * size))
        self.content_bias = self.add_weight(shape=(heads, 1, size), initializer="zeros",
                                            name="content_bias")
        self.position_bias = self.add_weight(shape=(heads, 1, size), initializer="zeros",
                                             name="position_bias")

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, **kwargs):
        """query, key, value (B, T, H, k) projected -> ((B, T, H, k), scores (B, H, T, T))."""
        heads, size = self.num_heads, self.key_dim
        frames = ops.shape(query)[1]
        positions = self.position_dense(relative_positions(frames, heads * size))
        positions = ops.transpose(ops.reshape(positions, (-1, heads, size)), (1, 2, 0))
        q = ops.transpose(query, (0, 2, 1, 3))  # (B, H, T, k)
        content = ops.matmul(q + self.content_bias, ops.transpose(key, (0, 2, 3, 1)))
        position = relative_shift(ops.matmul(q + self.position_bias, positions))
        scores = (content + position) * (1.0 / math.sqrt(size))
        mask = None if attention_mask is None else ops.expand_dims(attention_mask, 1)
        probs = self.scores_softmax(scores, mask=mask)
        weighted = ops.matmul(self.scores_dropout(probs, training=training),
                              ops.transpose(value, (0, 2, 1, 3)))
        return ops.transpose(weighted, (0, 2, 1, 3)), probs


def _swish(x):
    return ops.silu(x)


class _FeedForward(keras.layers.Layer):
    """LayerNorm, Dense(expand), swish, dropout, Dense(d_model), dropout."""

    def __init__(self, d_model: int, hidden: int, dropout: float, **kwargs):
        super().__init__(**kwargs)
        self.norm = layers.LayerNormalization()
        self.expand = layers.Dense(hidden)
        self.project = layers.Dense(d_model)
        self.drops = [layers.Dropout(dropout), layers.Dropout(dropout)]

    def build(self, input_shape):
        pass  # sublayers build on their first call (see ConformerEncoder.build)

    def call(self, x, training=None):
        h = self.drops[0](_swish(self.expand(self.norm(x))), training=training)
        return self.drops[1](self.project(h), training=training)


class _ConvModule(keras.layers.Layer):
    """LayerNorm, pointwise -> GLU, depthwise, BatchNorm, swish, pointwise, dropout."""

    def __init__(self, d_model: int, kernel: int, dropout: float, **kwargs):
        super().__init__(**kwargs)
        self.norm = layers.LayerNormalization()
        self.pointwise_in = layers.Conv1D(2 * d_model, 1)
        self.depthwise = layers.DepthwiseConv1D(kernel, padding="same", use_bias=False)
        self.batch_norm = layers.BatchNormalization(momentum=0.9)
        self.pointwise_out = layers.Conv1D(d_model, 1)
        self.drop = layers.Dropout(dropout)

    def build(self, input_shape):
        pass  # sublayers build on their first call (see ConformerEncoder.build)

    def call(self, x, frame_mask=None, training=None):
        h = ops.glu(self.pointwise_in(self.norm(x)), axis=-1)
        h = self.depthwise(h if frame_mask is None else h * frame_mask)
        h = _swish(self.batch_norm(h, training=training))
        return self.drop(self.pointwise_out(h), training=training)


class _ConformerBlock(keras.layers.Layer):
    def __init__(self, config: ConformerConfig, **kwargs):
        super().__init__(**kwargs)
        c = config
        self.ff1 = _FeedForward(c.d_model, c.ff_multiplier * c.d_model, c.dropout, name="ff1")
        self.attention_norm = layers.LayerNormalization()
        self.attention = RelativePositionAttention(c.num_heads, c.d_model // c.num_heads,
                                                   dropout=c.dropout, name="attention")
        self.attention_drop = layers.Dropout(c.dropout)
        self.conv = _ConvModule(c.d_model, c.conv_kernel, c.dropout, name="conv")
        self.ff2 = _FeedForward(c.d_model, c.ff_multiplier * c.d_model, c.dropout, name="ff2")
        self.out_norm = layers.LayerNormalization()

    def build(self, input_shape):
        pass  # sublayers build on their first call (see ConformerEncoder.build)

    def call(self, x, frame_mask=None, attention_mask=None, training=None):
        x = x + 0.5 * self.ff1(x, training=training)
        h = self.attention_norm(x)
        h = self.attention(h, h, attention_mask=attention_mask, training=training)
        x = x + self.attention_drop(h, training=training)
        x = x + self.conv(x, frame_mask=frame_mask, training=training)
        x = x + 0.5 * self.ff2(x, training=training)
        return self.out_norm(x)


class ConformerEncoder(keras.layers.Layer):
    """Features (B, T, F) -> hidden (B, ceil(T / 4), d_model)."""

    def __init__(self, config: ConformerConfig, **kwargs):
        super().__init__(**kwargs)
        c = config
        self.config = config
        self.input_norm = layers.BatchNormalization(momentum=0.9)
        self.subsampling = [
            TimeFrequencyConv(c.subsampling_channels, (3, 3), (2, 2), batch_norm=False,
                              name=f"subsampling{i}")
            for i in range(2)
        ]
        self.input_projection = layers.Dense(c.d_model, name="input_projection")
        self.input_drop = layers.Dropout(c.dropout)
        self.blocks = [_ConformerBlock(c, name=f"block{i}") for i in range(c.num_blocks)]

    def build(self, input_shape):
        """Nothing to create here: every sublayer builds on its first (eager) call. Without a
        ``build``, Keras would build each nested layer by tracing its whole ``call``
        symbolically first, once per nesting level (over 30 s for ``conformer-small``)."""

    def call(self, features, frame_mask=None, training=None):
        """``frame_mask``: (B, T, 1) float, 1 on real frames; None for a lone utterance."""
        x = ops.expand_dims(self.input_norm(features, training=training), -1)
        mask = frame_mask
        for conv in self.subsampling:
            x = conv(x, frame_mask=None if mask is None else ops.expand_dims(mask, -1))
            mask = None if mask is None else mask[:, ::2]
        x = ops.reshape(x, (ops.shape(x)[0], -1, x.shape[2] * x.shape[3]))
        x = self.input_drop(self.input_projection(x), training=training)
        attention_mask = None
        if mask is not None:
            valid = mask[..., 0] > 0.5
            attention_mask = ops.logical_and(ops.expand_dims(valid, 1),
                                             ops.expand_dims(valid, 2))
        for block in self.blocks:
            x = block(x, frame_mask=mask, attention_mask=attention_mask, training=training)
        return x if mask is None else x * mask

    def kernel_applications(self, frames: int) -> dict[str, float]:
        """For :mod:`edgeasr.models.cost`: a subsampling conv kernel runs once per output
        frequency position per frame at its own rate (2 or 1 per output frame); a block's
        position projection runs on ``2T - 1`` distances per ``T`` frames."""
        rates = {conv.conv.kernel.path: conv.freq_out * SUBSAMPLING / 2 ** (i + 1)
                 for i, conv in enumerate(self.subsampling)}
        for block in self.blocks:
            rates[block.attention.position_dense.kernel.path] = (2 * frames - 1) / frames
        return rates

    def attention_macs_per_frame(self, frames: int) -> float:
        """For :mod:`edgeasr.models.cost`: per output frame and block, scores against ``T``
        keys and ``2T - 1`` distances, then the weighted sum of ``T`` values, each
        d_model MACs."""
        return self.config.num_blocks * (4 * frames - 1) * self.config.d_model

    def compute_output_shape(self, input_shape):
        batch, frames, _ = input_shape
        out = None if frames is None else -(-frames // SUBSAMPLING)
        return (batch, out, self.config.d_model)
