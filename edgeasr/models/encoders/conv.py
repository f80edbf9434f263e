"""``conv``: 1-D time-channel separable convolution encoder (QuartzNet/Citrinet-like).

Depthwise + pointwise convolutions keep the parameter count small and map to TFLite's
DEPTHWISE_CONV_2D and CONV_2D kernels, which quantise well to full int8. This is the preset
family meant for the Pi.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers, ops

from edgeasr.models.encoders.registry import EncoderConfig, StreamingState, register


@register("conv")
@dataclass(frozen=True)
class ConvEncoderConfig(EncoderConfig):
    """A strided prologue conv, ``len(kernel_sizes)`` residual blocks of ``repeat`` separable
    convs each, and a pointwise epilogue. Output frame rate = input frame rate / stride.
    """

    channels: int = 256
    prologue_kernel: int = 11
    stride: int = 2
    kernel_sizes: tuple[int, ...] = (13, 15, 17, 19, 21)
    repeat: int = 2
    epilogue_channels: int = 384
    dropout: float = 0.1

    @property
    def time_stride(self) -> int:
        return self.stride

    def build(self, name: str = "encoder") -> ConvEncoder:
        return ConvEncoder(self, name=name)

    def describe(self) -> str:
        return (f"conv {self.channels}ch x {len(self.kernel_sizes)} blocks "
                f"(kernels {', '.join(map(str, self.kernel_sizes))}), stride {self.stride}")

    def prologue_cache(self, input_delay: int) -> int:
        """Input frames the strided prologue keeps from the previous chunk.

        At least ``prologue_kernel - stride`` (and fewer than ``prologue_kernel``), chosen so
        that the chunk's prologue outputs fall on the whole utterance's output grid.
        """
        left = (self.prologue_kernel - 1) // 2
        cache = max(self.prologue_kernel - self.stride, 0)
        while (left - input_delay - cache) % self.stride:
            cache += 1
        return cache

    def streaming_state(self, num_features: int, chunk_frames: int,
                        input_delay: int = 0) -> StreamingState:
        """Exact chunking: every 'same' convolution keeps its last ``kernel - 1`` (masked)
        inputs as state and lags its input by ``kernel // 2`` frames; each block's residual
        keeps its input for the block's lag. See :class:`StreamingState`."""
        cache = self.prologue_cache(input_delay)
        delay = (input_delay + cache - (self.prologue_kernel - 1) // 2) // self.stride
        shapes: dict[str, tuple[int, ...]] = {"prologue": (cache, num_features)}
        mask_delays: list[int] = []
        for b, k in enumerate(self.kernel_sizes):
            block_delay = 0
            for r in range(self.repeat):
                shapes[f"block{b}_conv{r}"] = (k - 1, self.channels)
                mask_delays.append(delay + block_delay)
                block_delay += k // 2
            shapes[f"block{b}_skip"] = (block_delay, self.channels)
            delay += block_delay
        return StreamingState(shapes=shapes, chunk_frames=chunk_frames,
                              mask_delays=tuple(mask_delays), delay=delay)


def _masked(x, mask):
    """Zero padded frames so that 'same' convolutions see zeros there, as a lone utterance would."""
    return x if mask is None else x * mask


def _norm_affine(norm: layers.BatchNormalization):
    """A batch norm at inference as ``x * scale + shift``: two (channels,) tensors."""
    scale = ops.rsqrt(ops.add(norm.moving_variance, norm.epsilon))
    if norm.scale:
        scale = scale * norm.gamma
    shift = -norm.moving_mean * scale
    if norm.center:
        shift = shift + norm.beta
    return scale, shift


def _conv_norm(conv, norm, x, *, fold: bool, scope: str, training=None,
               padding: str | None = None, relu: bool = False):
    """``norm(conv(x))``, then a ReLU if ``relu``: (B, T, C_in) -> (B, T', C_out).

    With ``fold`` (inference only: export and streaming) the norm is folded into the
    convolution's kernel and a bias, and the conv runs as a 2-D one on (B, 1, T, C) with its
    bias and ReLU applied before the time axis is squeezed back, so that the exported graph
    holds a single int8 CONV_2D (bias and ReLU fused) per conv + norm whether the time axis
    is static (the chunked graph) or not (the whole-utterance graph). Without that, the
    converter fused the norm only where the axis was static, and the two int8 graphs
    differed by an int8 MUL and ADD per conv: extra rounding, and different transcripts.
    ``padding`` (folded only) overrides the layer's own: the chunked graph, always folded,
    runs its 'same' convs as 'valid' over cached context. ``scope`` names the folded ops (:func:`fold_scope`).
    """
    if not fold:
        y = norm(conv(x), training=training)
        return ops.relu(y) if relu else y
    padding = padding or conv.padding
    separable = isinstance(conv, layers.SeparableConv1D)
    with keras.name_scope(fold_scope(scope)):
        scale, shift = _norm_affine(norm)
        if conv.use_bias:
            shift = shift + conv.bias * scale
        strides = (1, conv.strides[0])
        x = ops.expand_dims(x, 1)
        if separable:
            y = ops.separable_conv(x, ops.expand_dims(conv.depthwise_kernel, 0),
                                   ops.expand_dims(conv.pointwise_kernel * scale, 0),
                                   strides=strides, padding=padding)
        else:
            y = ops.conv(x, ops.expand_dims(conv.kernel * scale, 0), strides=strides,
                         padding=padding)
        y = y + shift
        return ops.squeeze(ops.relu(y) if relu else y, 1)


def fold_scope(name: str) -> str:
    """The name scope of folded ops, from their place in the encoder (``block2_conv1``), not
    from Keras' layer names (which count up per process): the same in every exported graph
    of a model; ``edgeasr_export.ranges`` matches the whole and the chunked graph by it."""
    return f"fold_{name}"


class _SeparableBlock(keras.layers.Layer):
    """``repeat`` x (separable conv -> BN -> ReLU -> dropout) with a 1x1-conv residual."""

    def __init__(self, channels: int, kernel_size: int, repeat: int, dropout: float, **kwargs):
        super().__init__(**kwargs)
        self.convs = [
            layers.SeparableConv1D(channels, kernel_size, padding="same", use_bias=False)
            for _ in range(repeat)
        ]
        self.norms = [layers.BatchNormalization(momentum=0.9) for _ in range(repeat)]
        self.drops = [layers.Dropout(dropout) for _ in range(repeat)]
        self.residual = layers.Conv1D(channels, 1, use_bias=False)
        self.residual_norm = layers.BatchNormalization(momentum=0.9)

    def call(self, x, frame_mask=None, training=None, fold=False):
        skip = _conv_norm(self.residual, self.residual_norm, x, fold=fold, training=training,
                          scope=f"{self.name}_skip")
        h = x
        for i, (conv, norm, drop) in enumerate(zip(self.convs, self.norms, self.drops)):
            last = i == len(self.convs) - 1
            h = _conv_norm(conv, norm, _masked(h, frame_mask), fold=fold, training=training,
                           relu=not last, scope=f"{self.name}_conv{i}")
            if last:
                h = ops.relu(h + skip)
            h = drop(h, training=training)
        return h

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.residual.filters)

    def stream_step(self, x, masks, states: dict, prefix: str):
        """One chunk (B, C, channels) -> (B, C, channels) lagged by this block's delay.

        ``masks``: one (B, C, 1) mask per conv; ``states``: ``prefix + "_conv{r}"`` and
        ``prefix + "_skip"`` caches. Inference only, so always folded (see
        :func:`_conv_norm`). Returns ``(h, new_states)``.
        """
        chunk = ops.shape(x)[1]
        new: dict = {}
        skip_all = ops.concatenate([states[f"{prefix}_skip"], x], axis=1)
        new[f"{prefix}_skip"] = skip_all[:, chunk:]
        skip_in = skip_all[:, :chunk]
        skip = _conv_norm(self.residual, self.residual_norm, skip_in, fold=True,
                          scope=f"{prefix}_skip")
        h = x
        for r, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            full = ops.concatenate([states[f"{prefix}_conv{r}"], h * masks[r]], axis=1)
            new[f"{prefix}_conv{r}"] = full[:, chunk:]
            last = r == len(self.convs) - 1
            h = _conv_norm(conv, norm, full, fold=True, padding="valid", relu=not last,
                           scope=f"{prefix}_conv{r}")
            if last:
                h = ops.relu(h + skip)
        return h, new


class ConvEncoder(keras.layers.Layer):
    """Features (B, T, F) -> hidden (B, ceil(T / stride), epilogue_channels)."""

    def __init__(self, config: ConvEncoderConfig, **kwargs):
        super().__init__(**kwargs)
        c = config
        self.config = config
        self.input_norm = layers.BatchNormalization(momentum=0.9)
        # Explicit, length-independent padding: Keras' "same" padding for a strided conv
        # shifts by one frame with the parity of T, so a padded batch would not line up
        # with a lone utterance.
        self.prologue_pad = ((c.prologue_kernel - 1) // 2, c.prologue_kernel // 2)
        self.prologue = layers.Conv1D(
            c.channels, c.prologue_kernel, strides=c.stride, padding="valid", use_bias=False
        )
        self.prologue_norm = layers.BatchNormalization(momentum=0.9)
        self.blocks = [
            _SeparableBlock(c.channels, k, c.repeat, c.dropout, name=f"block{i}")
            for i, k in enumerate(c.kernel_sizes)
        ]
        self.epilogue = layers.Conv1D(c.epilogue_channels, 1, use_bias=False)
        self.epilogue_norm = layers.BatchNormalization(momentum=0.9)
        self.epilogue_drop = layers.Dropout(c.dropout)
        #: Fold each batch norm into the conv before it at inference (set by the exporter:
        #: one int8 CONV_2D per conv + norm in every exported graph; see _conv_norm).
        self.fold_norms = False

    def call(self, features, frame_mask=None, training=None):
        """``frame_mask``: (B, T, 1) float, 1 on real frames; None for a lone utterance."""
        fold = self.fold_norms and not training
        x = self.input_norm(features, training=training)
        x = ops.pad(_masked(x, frame_mask), [[0, 0], list(self.prologue_pad), [0, 0]])
        x = _conv_norm(self.prologue, self.prologue_norm, x, fold=fold, training=training,
                       relu=True, scope="prologue")
        mask = None
        if frame_mask is not None:
            mask = frame_mask[:, :: self.config.stride]
        for block in self.blocks:
            x = block(x, frame_mask=mask, training=training, fold=fold)
        x = _conv_norm(self.epilogue, self.epilogue_norm, _masked(x, mask), fold=fold,
                       training=training, relu=True, scope="epilogue")
        return _masked(self.epilogue_drop(x, training=training), mask)

    def stream_step(self, features, input_mask, masks, states: dict):
        """One chunk through the encoder (inference only, norms always folded); see
        :meth:`ConvEncoderConfig.streaming_state` and :class:`StreamingState`.

        features (B, stride * C, F), input_mask (B, stride * C, 1), masks (B, sites, C, 1),
        states name -> (B, *shape) -> (hidden (B, C, epilogue_channels), new states).
        """
        x = self.input_norm(features, training=False) * input_mask
        full = ops.concatenate([states["prologue"], x], axis=1)
        chunk = ops.shape(x)[1]
        new = {"prologue": full[:, chunk:]}
        x = _conv_norm(self.prologue, self.prologue_norm, full, fold=True, relu=True,
                       scope="prologue")
        site = 0
        for b, block in enumerate(self.blocks):
            block_masks = [masks[:, site + r] for r in range(len(block.convs))]
            site += len(block.convs)
            x, block_new = block.stream_step(x, block_masks, states, f"block{b}")
            new.update(block_new)
        x = _conv_norm(self.epilogue, self.epilogue_norm, x, fold=True, relu=True,
                       scope="epilogue")
        return x, new

    def compute_output_shape(self, input_shape):
        batch, frames, _ = input_shape
        out = None if frames is None else -(-frames // self.config.stride)
        return (batch, out, self.config.epilogue_channels)
