"""What a model costs to run: parameters and multiply-accumulates (MACs) per second of audio.

MACs are counted from the built model's kernels, not measured:

- every trainable weight whose name ends in ``kernel`` (Dense, Conv1D/Conv2D, depthwise and
  pointwise kernels, a GRU's or LSTM's input and recurrent kernels, attention projections)
  costs one MAC per weight each time it is applied: a Conv1D of width k from C_in to C_out
  channels does k x C_in x C_out MACs per frame, a Dense layer in x out;
- encoder and classifier kernels are applied once per logit frame, ``1 / frame_seconds``,
  unless the encoder layer says otherwise with ``kernel_applications(frames)``: variable
  path -> applications per logit frame. A 2-D convolution over (time, frequency) runs once
  per output frequency position per frame of its *own* output rate (``deepspeech2``'s
  and ``conformer``'s conv fronts, before or at the final stride);
- attention's products that grow with the utterance (scores against every key, the
  weighted sum of values) come from the encoder layer's ``attention_macs_per_frame(frames)``
  and are counted at an utterance of ``context_seconds`` (default
  :data:`DEFAULT_CONTEXT_SECONDS`): per second of audio they grow linearly with length;
- the frontend's mel (and DCT) projections run at its frame rate; the FFT, biases,
  normalisation, softmax and activations are not counted (a few percent at most).

So ``macs_per_second`` is the rate for utterances of ``context_seconds`` (for encoders
without attention: for any long audio, independent of length).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from edgeasr.models.config import ModelConfig

#: Utterance length at which attention's length-dependent MACs are counted.
DEFAULT_CONTEXT_SECONDS = 10.0


@dataclass(frozen=True)
class ModelCost:
    parameters: int
    macs_per_second: float  # multiply-accumulates per second of audio
    frontend_macs_per_second: float  # the part spent in the frontend's projections
    attention_macs_per_second: float = 0.0  # the part that grows with utterance length
    context_seconds: float = DEFAULT_CONTEXT_SECONDS  # utterance length it was counted at


def frontend_macs_per_frame(config: ModelConfig) -> int:
    """Mel projection (n_fft/2 + 1) x n_mels, plus the DCT n_mels x n_mfcc for MFCC."""
    f = config.frontend
    macs = (f.n_fft // 2 + 1) * f.n_mels
    if f.kind == "mfcc":
        macs += f.n_mels * f.n_mfcc
    return macs


def kernel_macs_per_frame(model, frames: int = 1) -> float:
    """Kernel sizes of a built model, each times its applications per logit frame (see the
    module docstring) at an utterance of ``frames`` logit frames."""
    rates_of = getattr(model.encoder, "kernel_applications", None)
    rates = rates_of(frames) if rates_of is not None else {}
    return sum(int(np.prod(w.shape)) * rates.get(w.path, 1.0) for w in model.trainable_weights
               if w.path.rsplit("/", 1)[-1].endswith("kernel"))


@functools.lru_cache(maxsize=64)
def model_cost(config: ModelConfig,
               context_seconds: float = DEFAULT_CONTEXT_SECONDS) -> ModelCost:
    """Build ``config``'s model (weights are random) and count its parameters and MACs.

    Cached per (config, context_seconds): the count depends on nothing else, and building
    the larger presets takes seconds each."""
    from edgeasr.models.ctc_model import CTCModel

    model = CTCModel(config).build_weights()
    frames = max(config.num_output_frames(round(context_seconds * config.frontend.sample_rate)), 1)
    frontend = frontend_macs_per_frame(config) / config.frontend.frame_seconds
    encoder = kernel_macs_per_frame(model, frames) / config.frame_seconds
    attention_of = getattr(model.encoder, "attention_macs_per_frame", None)
    attention = 0.0 if attention_of is None else attention_of(frames) / config.frame_seconds
    return ModelCost(model.count_params(), frontend + encoder + attention, frontend, attention,
                     context_seconds)
