"""``deepspeech2``: Baidu's Deep Speech 2 shape: a 2-D conv front, a GRU stack, a dense layer.

features (B, T, F) -> [Conv2D over (time, frequency) + BatchNorm + clipped ReLU] x n
-> flatten frequency x channels -> GRU x ``rnn_layers`` -> [lookahead conv] -> Dense +
clipped ReLU -> hidden (B, ceil(T / stride), fc_units).

Two uses:

- offline (``bidirectional: true``): every GRU layer reads the utterance both ways;
- streaming (``bidirectional: false``, ``lookahead: N``): forward GRUs, then DS2's
  "row convolution": a depthwise convolution over the current and ``N`` future frames,
  so each output sees a little right context at a fixed latency. This variant runs on
  chunks through the registry's streaming contract (:meth:`DeepSpeech2Config.streaming_state`):
  each conv keeps its last input frames, each GRU its hidden state (held over frames
  outside the utterance), the lookahead its last ``N`` inputs.

GRUs convert to a TFLite WHILE loop (builtin ops); in the chunked graph they are unrolled
over the chunk's frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
from keras import layers, ops

from edgeasr.errors import ConfigError
from edgeasr.models.encoders.registry import EncoderConfig, StreamingState, register
from edgeasr.models.encoders.time_frequency import TimeFrequencyConv, clipped_relu, strided_cache


@register("deepspeech2")
@dataclass(frozen=True)
class DeepSpeech2Config(EncoderConfig):
    """Conv front (one entry per conv in each ``conv_*`` tuple), GRU stack, dense layer.

    Time stride = product of ``conv_time_strides``. Streaming needs ``bidirectional:
    false`` and every conv after the first at time stride 1.
    """

    conv_channels: tuple[int, ...] = (32, 32)
    conv_time_kernels: tuple[int, ...] = (11, 11)
    conv_freq_kernels: tuple[int, ...] = (21, 11)
    conv_time_strides: tuple[int, ...] = (2, 1)
    conv_freq_strides: tuple[int, ...] = (2, 2)
    rnn_layers: int = 5
    rnn_units: int = 512
    bidirectional: bool = True
    lookahead: int = 0  # future frames of the row convolution (unidirectional only)
    fc_units: int = 1024
    relu_clip: float = 20.0
    dropout: float = 0.1

    def __post_init__(self) -> None:
        convs = (self.conv_channels, self.conv_time_kernels, self.conv_freq_kernels,
                 self.conv_time_strides, self.conv_freq_strides)
        if not self.conv_channels or len({len(c) for c in convs}) != 1:
            raise ConfigError("deepspeech2: conv_channels, conv_time_kernels, conv_freq_kernels, "
                              "conv_time_strides and conv_freq_strides need one entry per conv "
                              f"(at least one), got {[list(c) for c in convs]}")
        counts = {"rnn_layers": (self.rnn_layers,), "rnn_units": (self.rnn_units,),
                  "fc_units": (self.fc_units,), "conv_channels": self.conv_channels,
                  "conv_time_kernels": self.conv_time_kernels,
                  "conv_freq_kernels": self.conv_freq_kernels,
                  "conv_time_strides": self.conv_time_strides,
                  "conv_freq_strides": self.conv_freq_strides}
        bad = [name for name, values in counts.items()
               if not all(isinstance(v, int) and v >= 1 for v in values)]
        if bad:
            raise ConfigError(f"deepspeech2: {', '.join(bad)} must be whole numbers >= 1")
        if not isinstance(self.lookahead, int) or self.lookahead < 0:
            raise ConfigError(f"deepspeech2: lookahead must be a whole number >= 0, "
                              f"got {self.lookahead!r}")
        if self.bidirectional and self.lookahead:
            raise ConfigError("deepspeech2: lookahead is for unidirectional models (a "
                              "bidirectional one already sees the whole utterance); set "
                              "lookahead: 0 or bidirectional: false")

    @property
    def time_stride(self) -> int:
        return math.prod(self.conv_time_strides)

    def build(self, name: str = "encoder") -> DeepSpeech2Encoder:
        return DeepSpeech2Encoder(self, name=name)

    def describe(self) -> str:
        direction = "bidirectional" if self.bidirectional else f"forward, lookahead {self.lookahead}"
        return (f"deepspeech2 {len(self.conv_channels)} conv2d + {self.rnn_layers} GRU x "
                f"{self.rnn_units} ({direction}), stride {self.time_stride}")

    def streaming_state(self, num_features: int, chunk_frames: int,
                        input_delay: int = 0) -> StreamingState | None:
        """Exact chunking of the unidirectional model (None for a bidirectional one, which
        needs the whole utterance, or when a conv after the first is strided in time: its
        input rate has no frame mask in the contract).

        Conv 0 keeps ``cache`` input frames (:func:`strided_cache`); conv ``i > 0`` keeps
        ``k - 1`` and lags ``k // 2``; mask site ``i - 1`` zeroes conv ``i``'s input, the
        last site holds the GRU states and zeroes the lookahead's input, which keeps its
        last ``lookahead`` frames and adds them to the delay.
        """
        if self.bidirectional or any(s != 1 for s in self.conv_time_strides[1:]):
            return None
        shapes: dict[str, tuple[int, ...]] = {}
        freq, channels = num_features, 1
        cache, delay = strided_cache(self.conv_time_kernels[0], self.conv_time_strides[0],
                                     input_delay)
        mask_delays = [delay]
        for i, kernel in enumerate(self.conv_time_kernels):
            if i:
                cache, delay = kernel - 1, delay + kernel // 2
                mask_delays.append(delay)
            if cache:
                shapes[f"conv{i}"] = (cache, freq, channels)
            freq, channels = -(-freq // self.conv_freq_strides[i]), self.conv_channels[i]
        for layer in range(self.rnn_layers):
            shapes[f"gru{layer}"] = (self.rnn_units,)
        if self.lookahead:
            shapes["lookahead"] = (self.lookahead, self.rnn_units)
        return StreamingState(shapes=shapes, chunk_frames=chunk_frames,
                              mask_delays=tuple(mask_delays), delay=delay + self.lookahead)


class DeepSpeech2Encoder(keras.layers.Layer):
    """Features (B, T, F) -> hidden (B, ceil(T / stride), fc_units)."""

    def __init__(self, config: DeepSpeech2Config, **kwargs):
        super().__init__(**kwargs)
        c = config
        self.config = config
        self.input_norm = layers.BatchNormalization(momentum=0.9)
        self.convs = [
            TimeFrequencyConv(ch, (kt, kf), (st, sf), batch_norm=True, clip=c.relu_clip,
                              name=f"conv{i}")
            for i, (ch, kt, kf, st, sf) in enumerate(zip(
                c.conv_channels, c.conv_time_kernels, c.conv_freq_kernels,
                c.conv_time_strides, c.conv_freq_strides))
        ]
        self.rnns = []
        for i in range(c.rnn_layers):
            gru = layers.GRU(c.rnn_units, return_sequences=True, name=f"gru{i}")
            self.rnns.append(layers.Bidirectional(gru, name=f"bigru{i}") if c.bidirectional
                             else gru)
        self.drops = [layers.Dropout(c.dropout) for _ in range(c.rnn_layers + 1)]
        self.lookahead = (layers.DepthwiseConv1D(c.lookahead + 1, padding="valid",
                                                 use_bias=False, name="lookahead")
                          if c.lookahead else None)
        self.fc = layers.Dense(c.fc_units, name="fc")

    def build(self, input_shape):
        pass  # sublayers build on their first call (see ConformerEncoder.build)

    def _flatten(self, x):
        """(B, T, F', C) -> (B, T, F' * C)."""
        return ops.reshape(x, (ops.shape(x)[0], -1, x.shape[2] * x.shape[3]))

    def call(self, features, frame_mask=None, training=None):
        """``frame_mask``: (B, T, 1) float, 1 on real frames; None for a lone utterance."""
        c = self.config
        x = ops.expand_dims(self.input_norm(features, training=training), -1)
        mask = frame_mask
        for conv, stride in zip(self.convs, c.conv_time_strides):
            x = conv(x, frame_mask=None if mask is None else ops.expand_dims(mask, -1),
                     training=training)
            mask = None if mask is None else mask[:, ::stride]
        x = self._flatten(x)
        # the GRUs skip padded frames (a backward GRU starts at each utterance's own end)
        steps = None if mask is None else ops.cast(mask[..., 0], "bool")
        for rnn, drop in zip(self.rnns, self.drops):
            x = drop(rnn(x, mask=steps, training=training), training=training)
        if self.lookahead is not None:
            x = x if mask is None else x * mask
            x = self.lookahead(ops.pad(x, [[0, 0], [0, c.lookahead], [0, 0]]))
        x = self.drops[-1](clipped_relu(self.fc(x), c.relu_clip), training=training)
        return x if mask is None else x * mask

    def stream_step(self, features, input_mask, masks, states: dict):
        """One chunk (inference only): features (B, stride * C, F), input_mask (B, same, 1),
        masks (B, sites, C, 1), states -> (hidden (B, C, fc_units), new states); see
        :meth:`DeepSpeech2Config.streaming_state`."""
        c = self.config
        x = ops.expand_dims(self.input_norm(features, training=False) * input_mask, -1)
        new: dict = {}
        for i, conv in enumerate(self.convs):
            if i:
                x = x * ops.expand_dims(masks[:, i - 1], -1)
            x, cache = conv.stream_step(x, states.get(f"conv{i}"))
            if cache is not None:
                new[f"conv{i}"] = cache
        x = self._flatten(x)
        keep = masks[:, len(self.convs) - 1]  # (B, C, 1): 1 on the utterance's frames
        for i, rnn in enumerate(self.rnns):
            h, outputs = states[f"gru{i}"], []
            for t in range(keep.shape[1]):
                out, (h_t,) = rnn.cell(x[:, t], [h], training=False)
                h = keep[:, t] * h_t + (1.0 - keep[:, t]) * h  # padding holds the state
                outputs.append(out)
            new[f"gru{i}"] = h
            x = ops.stack(outputs, axis=1)
        if self.lookahead is not None:
            full = ops.concatenate([states["lookahead"], x * keep], axis=1)
            new["lookahead"] = full[:, keep.shape[1]:]
            x = self.lookahead(full)
        return clipped_relu(self.fc(x), c.relu_clip), new

    def kernel_applications(self, frames: int) -> dict[str, float]:
        """For :mod:`edgeasr.models.cost`: each 2-D conv kernel runs once per output
        frequency position per frame at its own frame rate (``stride / its stride so far``
        per output frame)."""
        rates, stride = {}, 1
        for conv, step in zip(self.convs, self.config.conv_time_strides):
            stride *= step
            rates[conv.conv.kernel.path] = conv.freq_out * self.config.time_stride / stride
        return rates

    def compute_output_shape(self, input_shape):
        batch, frames, _ = input_shape
        out = None if frames is None else -(-frames // self.config.time_stride)
        return (batch, out, self.config.fc_units)
