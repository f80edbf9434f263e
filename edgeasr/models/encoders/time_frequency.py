"""2-D convolutions over (time, frequency) feature maps, shared by ``deepspeech2`` and ``conformer``.

A :class:`TimeFrequencyConv` is a ``Conv2D`` with explicit, length-independent "same"
padding: ``(k - 1) // 2`` frames before and ``k // 2`` after on each axis, then a "valid"
convolution. So ``T`` frames at stride ``s`` always give ``ceil(T / s)`` frames (Keras'
own "same" padding shifts by one frame with the parity of ``T`` for a strided conv, and a
padded batch would not line up with a lone utterance), and a chain of them gives
``ceil(T / prod(strides))``, what :meth:`ModelConfig.num_output_frames` promises.

Padded frames are zeroed before each convolution (``frame_mask``), so a padded batch computes
what each utterance computes alone. For chunked (streaming) inference the time axis is
handled by a cache of past input frames instead of padding (:func:`strided_cache`); the
frequency axis is padded as in the whole graph.
"""

from __future__ import annotations

import keras
from keras import layers, ops


def same_padding(kernel: int) -> tuple[int, int]:
    """Frames before and after for a 'same' convolution of width ``kernel``."""
    return (kernel - 1) // 2, kernel // 2


def strided_cache(kernel: int, stride: int, input_delay: int) -> tuple[int, int]:
    """``(cache, delay)`` of a strided 'same' convolution run on chunks.

    ``cache``: input frames kept from the previous chunk, at least ``kernel - stride`` (so a
    chunk of ``C * stride`` frames yields exactly ``C`` outputs) and chosen so that the
    chunk's outputs fall on the whole utterance's output grid. ``delay``: output frames by
    which the chunk's outputs lag the chunk, given that its input lags by ``input_delay``
    input frames.
    """
    left = same_padding(kernel)[0]
    cache = max(kernel - stride, 0)
    while (left - input_delay - cache) % stride:
        cache += 1
    return cache, (input_delay + cache - left) // stride


def clipped_relu(x, clip: float):
    """``min(max(x, 0), clip)``: DeepSpeech's hard-tanh-like activation (MAXIMUM/MINIMUM)."""
    return ops.minimum(ops.relu(x), clip)


class TimeFrequencyConv(keras.layers.Layer):
    """(B, T, F, C_in) -> (B, ceil(T / st), ceil(F / sf), filters).

    Conv2D ("same" as in the module docstring), then BatchNorm if ``batch_norm``, then
    ReLU clipped at ``clip`` (None: plain ReLU).
    """

    def __init__(self, filters: int, kernel: tuple[int, int], strides: tuple[int, int],
                 batch_norm: bool = True, clip: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.kernel = tuple(kernel)
        self.strides = tuple(strides)
        self.clip = clip
        self.conv = layers.Conv2D(filters, self.kernel, strides=self.strides, padding="valid",
                                  use_bias=not batch_norm)
        self.norm = layers.BatchNormalization(momentum=0.9) if batch_norm else None
        self.freq_out: int | None = None  # output frequency positions, known once built

    def build(self, input_shape):
        self.freq_out = -(-int(input_shape[2]) // self.strides[1])

    def _activate(self, x, training):
        if self.norm is not None:
            x = self.norm(x, training=training)
        return ops.relu(x) if self.clip is None else clipped_relu(x, self.clip)

    def _pad_frequency(self, x, time_padding=(0, 0)):
        return ops.pad(x, [[0, 0], list(time_padding), list(same_padding(self.kernel[1])), [0, 0]])

    def call(self, x, frame_mask=None, training=None):
        """``frame_mask``: (B, T, 1, 1) float, 1 on real frames; None for a lone utterance."""
        if frame_mask is not None:
            x = x * frame_mask
        x = self._pad_frequency(x, same_padding(self.kernel[0]))
        return self._activate(self.conv(x), training)

    def stream_step(self, x, cache):
        """One chunk (inference): ``x`` (B, C * st, F, C_in), already masked; ``cache``
        (B, n, F, C_in), the previous chunk's last ``n`` inputs (see :func:`strided_cache`),
        or None when ``n`` is 0. Returns ``(y (B, C, F', filters), new cache or None)``."""
        chunk = ops.shape(x)[1]
        full = x if cache is None else ops.concatenate([cache, x], axis=1)
        y = self._activate(self.conv(self._pad_frequency(full)), training=False)
        return y, None if cache is None else full[:, chunk:]

    def compute_output_shape(self, input_shape):
        batch, frames, freq, _ = input_shape
        frames = None if frames is None else -(-frames // self.strides[0])
        return (batch, frames, -(-freq // self.strides[1]), self.conv.filters)
