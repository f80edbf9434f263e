"""The encoder registry: an encoder's name -> its config dataclass, which builds its layer.

Every encoder is one module in this package. The module declares a frozen dataclass that
derives from :class:`EncoderConfig` and registers it under a name with :func:`register`.
That dataclass holds the encoder's options and answers everything the rest of the code asks
of an encoder:

- ``time_stride``: input (frontend) frames per output frame;
- ``build(name)``: the Keras layer, features (B, T, F) -> hidden (B, ceil(T / stride), H),
  called as ``layer(features, frame_mask=(B, T, 1) | None, training=...)``;
- ``describe()``: one line for ``edgeasr presets``;
- ``streaming_state(num_features, chunk_frames, input_delay)``: the plan of a chunked
  (streaming) graph: the state tensors it carries between chunks, its frame masks and its
  lookahead (:class:`StreamingState`); ``None`` for an encoder that only runs on whole
  utterances. An encoder that streams also gives its layer a ``stream_step`` method
  (see :class:`StreamingState`).

A layer whose kernels do not all run once per output frame tells :mod:`edgeasr.models.cost`
so with ``kernel_applications(frames)`` (variable path -> applications per output frame,
e.g. a 2-D conv once per frequency position at its own rate) and, for attention,
``attention_macs_per_frame(frames)``; both are optional.

In a serialised model config the encoder is ``{"kind": NAME, **options}``; ``kind`` picks the
dataclass here, so a config never names a Python class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from edgeasr.configs import dataclass_from_dict
from edgeasr.errors import ConfigError

C = TypeVar("C", bound="type[EncoderConfig]")

_ENCODERS: dict[str, type[EncoderConfig]] = {}


@dataclass(frozen=True)
class StreamingState:
    """How an encoder runs on fixed chunks with the same output as on the whole utterance.

    A chunk is ``chunk_frames * time_stride`` input frames; the first of them is input
    frame ``k * chunk_frames * time_stride - input_delay`` of the utterance for chunk ``k``.
    The layer's ``stream_step(features, input_mask, masks, states)`` maps

    - ``features`` (B, chunk_frames * time_stride, F) and ``input_mask`` (B, same, 1):
      1.0 where the input frame is a real frame of the utterance (0 <= frame < T);
    - ``masks`` (B, len(mask_delays), chunk_frames, 1): site ``j``'s frame ``i`` is output
      frame ``k * chunk_frames + i - mask_delays[j]``, 1.0 when that frame is real;
    - ``states``: name -> (B, *shapes[name]) tensors (zeros for the first chunk)

    to ``(hidden, new_states)``: hidden (B, chunk_frames, H) is output frames
    ``k * chunk_frames - delay + i``. ``delay`` output frames are the lookahead: the
    right context a non-causal encoder needs before a frame is final.

    Attributes:
        shapes: state name -> shape without the batch axis, e.g. ``{"block0_conv0": (10, 256)}``.
        chunk_frames: output frames per chunk.
        mask_delays: per mask site, how many output frames it lags the chunk.
        delay: output frames the chunk's output lags its input (lookahead).
    """

    shapes: Mapping[str, tuple[int, ...]]
    chunk_frames: int = 1
    mask_delays: tuple[int, ...] = ()
    delay: int = 0


@dataclass(frozen=True)
class EncoderConfig:
    """Base of every encoder's options. Subclasses are frozen dataclasses made known with
    :func:`register`, which sets ``kind``."""

    kind: ClassVar[str] = ""

    @property
    def time_stride(self) -> int:
        """Frontend frames per output frame."""
        return 1

    def build(self, name: str = "encoder"):
        """The Keras layer this config describes (see the module docstring)."""
        raise NotImplementedError(f"{type(self).__name__} does not build a layer")

    def describe(self) -> str:
        """One line for ``edgeasr presets``."""
        return self.kind

    def streaming_state(self, num_features: int, chunk_frames: int,
                        input_delay: int = 0) -> StreamingState | None:
        """The chunked-graph plan (see :class:`StreamingState`); None: not streamable.

        Args:
            num_features: F, features per input frame.
            chunk_frames: output frames per chunk.
            input_delay: input frames by which the feature chunks lag the audio chunks
                (the frontend's own left context).
        """
        return None

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": NAME, **options}``: JSON-ready (tuples become lists on the way)."""
        return {"kind": self.kind, **dataclasses.asdict(self)}


def register(name: str) -> Callable[[C], C]:
    """Class decorator: make an :class:`EncoderConfig` subclass known under ``name``."""

    def decorate(cls: C) -> C:
        if not (isinstance(cls, type) and issubclass(cls, EncoderConfig)
                and dataclasses.is_dataclass(cls)):
            raise TypeError(f"{cls!r} must be an EncoderConfig dataclass to be registered")
        if name in _ENCODERS and _ENCODERS[name] is not cls:
            raise TypeError(f"encoder {name!r} is registered twice "
                            f"({_ENCODERS[name].__qualname__}, {cls.__qualname__})")
        cls.kind = name
        _ENCODERS[name] = cls
        return cls

    return decorate


def encoder_names() -> tuple[str, ...]:
    """The registered encoder names, in registration order."""
    return tuple(_ENCODERS)


def encoder_class(name: str) -> type[EncoderConfig]:
    """The config dataclass registered as ``name``.

    Raises:
        ConfigError: for an unknown name, listing the known ones.
    """
    try:
        return _ENCODERS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown encoder {name!r}; choose one of: "
                          f"{', '.join(_ENCODERS)}") from None


def encoder_from_dict(data: Mapping[str, Any] | EncoderConfig,
                      where: str = "encoder") -> EncoderConfig:
    """``{"kind": NAME, **options}`` -> that encoder's config (missing options: defaults).

    Raises:
        ConfigError: for a missing or unknown ``kind`` or options the encoder does not have.
    """
    if isinstance(data, EncoderConfig):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping with 'kind' and the encoder's options, "
                          f"got {data!r}")
    options = dict(data)
    if "kind" not in options:
        raise ConfigError(f"{where}: 'kind' is missing; choose one of: {', '.join(_ENCODERS)}")
    cls = encoder_class(options.pop("kind"))
    return dataclass_from_dict(cls, options, f"{where} ({cls.kind})")
