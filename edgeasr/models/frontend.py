"""Log-mel and MFCC feature extraction as a Keras layer, written with ``keras.ops``.

The frontend lives inside the graph, so training, evaluation and the exported ``.tflite``
file share one implementation and the device never re-implements feature extraction. It
uses only ops that convert to builtin TFLite kernels (STRIDED_SLICE, MUL, RFFT2D, SUM, LOG,
...) and runs on every Keras backend.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from edgeasr.models.config import FrontendConfig


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: ``2595 * log10(1 + hz / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(config: FrontendConfig) -> np.ndarray:
    """Triangular mel filters, shape (n_fft // 2 + 1, n_mels), float32.

    Filters are spaced evenly on the HTK mel scale between ``f_min`` and ``f_max`` and
    normalised to unit area (Slaney style) so that loudness does not depend on band width.
    """
    num_bins = config.n_fft // 2 + 1
    f_max = config.f_max or config.sample_rate / 2
    bin_hz = np.linspace(0.0, config.sample_rate / 2, num_bins)
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(config.f_min), hz_to_mel(f_max), config.n_mels + 2))
    lower, centre, upper = edges_hz[:-2], edges_hz[1:-1], edges_hz[2:]
    rising = (bin_hz[:, None] - lower) / (centre - lower)
    falling = (upper - bin_hz[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= 2.0 / (upper - lower)
    return weights.astype(np.float32)


def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II basis, shape (n_in, n_out): ``mfcc = log_mel @ dct``."""
    n = np.arange(n_in)[:, None]
    k = np.arange(n_out)[None, :]
    basis = np.cos(np.pi / n_in * (n + 0.5) * k) * np.sqrt(2.0 / n_in)
    basis[:, 0] /= np.sqrt(2.0)
    return basis.astype(np.float32)


@keras.saving.register_keras_serializable(package="edgeasr")
class Frontend(keras.layers.Layer):
    """Waveform (B, N) float32 in [-1, 1] -> features (B, T, F).

    ``T = config.num_frames(N)``, ``F = config.num_features``. The layer holds no trainable
    weights; its constants are rebuilt from the config.

    ``float_projection`` (an export-time switch, not part of the config) computes the mel
    and DCT projections as multiply + sum instead of a matmul. The result is the same, but
    a converter's weight quantiser never sees a matmul with constant weights, so dynamic-range
    int8 export keeps the power spectrum in float.
    """

    def __init__(self, config: FrontendConfig, float_projection: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.float_projection = float_projection
        self._mel = mel_filterbank(config)
        self._dct = dct_matrix(config.n_mels, config.n_mfcc) if config.kind == "mfcc" else None

    def _project(self, x, matrix: np.ndarray):
        """(B, T, K) x (K, M) -> (B, T, M)."""
        weights = ops.convert_to_tensor(matrix)
        if self.float_projection:
            return ops.sum(ops.expand_dims(x, -1) * weights, axis=-2)
        return ops.matmul(x, weights)

    def call(self, audio):
        c = self.config
        audio = ops.cast(audio, "float32")
        if c.preemphasis:
            audio = ops.concatenate(
                [audio[:, :1], audio[:, 1:] - c.preemphasis * audio[:, :-1]], axis=1
            )
        real, imag = ops.stft(
            audio,
            sequence_length=c.win_length,
            sequence_stride=c.hop_length,
            fft_length=c.n_fft,
            window="hann",
            center=False,
        )
        power = real * real + imag * imag
        features = ops.log(self._project(power, self._mel) + c.log_floor)
        if self._dct is not None:
            features = self._project(features, self._dct)
        return features

    def compute_output_shape(self, input_shape):
        batch, samples = input_shape
        frames = None if samples is None else self.config.num_frames(samples)
        return (batch, frames, self.config.num_features)

    def get_config(self):
        import dataclasses

        return {
            **super().get_config(),
            "config": dataclasses.asdict(self.config),
            "float_projection": self.float_projection,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        frontend = FrontendConfig.from_dict(config.pop("config"))
        return cls(frontend, **config)
