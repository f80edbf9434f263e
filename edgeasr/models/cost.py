"""What a model costs to run: parameters and multiply-accumulates (MACs) per second of audio.

MACs are counted from the built model's kernels, not measured:

- every trainable weight whose name ends in ``kernel`` (Dense, Conv1D, the depthwise and
  pointwise kernels of SeparableConv1D, an LSTM's input and recurrent kernels) costs one MAC
  per weight for each output frame it produces: a Conv1D of width k from C_in to C_out
  channels does k x C_in x C_out MACs per frame, a Dense layer in x out;
- encoder and classifier kernels run at the logit frame rate, ``1 / frame_seconds`` (this
  holds for encoders whose convs all run after their one stride, as today's do);
- the frontend's mel (and DCT) projections run at its frame rate; the FFT, biases,
  normalisation and activations are not counted (they are a few percent at most).

So ``macs_per_second`` is the steady-state rate for long audio, independent of input length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeasr.models.config import ModelConfig


@dataclass(frozen=True)
class ModelCost:
    parameters: int
    macs_per_second: float  # multiply-accumulates per second of audio
    frontend_macs_per_second: float  # the part spent in the frontend's projections


def frontend_macs_per_frame(config: ModelConfig) -> int:
    """Mel projection (n_fft/2 + 1) x n_mels, plus the DCT n_mels x n_mfcc for MFCC."""
    f = config.frontend
    macs = (f.n_fft // 2 + 1) * f.n_mels
    if f.kind == "mfcc":
        macs += f.n_mels * f.n_mfcc
    return macs


def kernel_macs_per_frame(model) -> int:
    """Sum of the kernel sizes of a built model (see the module docstring)."""
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights
               if w.path.rsplit("/", 1)[-1].endswith("kernel"))


def model_cost(config: ModelConfig) -> ModelCost:
    """Build ``config``'s model (weights are random) and count its parameters and MACs."""
    from edgeasr.models.ctc_model import CTCModel

    model = CTCModel(config).build_weights()
    frontend = frontend_macs_per_frame(config) / config.frontend.frame_seconds
    encoder = kernel_macs_per_frame(model) / config.frame_seconds
    return ModelCost(model.count_params(), frontend + encoder, frontend)
