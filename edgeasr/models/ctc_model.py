"""The CTC speech model: waveform in, per-frame logits out, CTC loss with true lengths."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from edgeasr.models.config import ModelConfig
from edgeasr.models.frontend import Frontend
from edgeasr.models.specaugment import SpecAugment


@keras.saving.register_keras_serializable(package="edgeasr")
class CTCModel(keras.Model):
    """``{"audio": (B, N) float32, "audio_lengths": (B,) int32}`` -> logits (B, T, V).

    A bare (B, N) tensor is accepted too (every sample real, as in the exported graph).
    ``T = config.num_output_frames(N)``; ``V = config.vocab_size`` including the blank.

    ``fit`` takes targets ``{"labels": (B, L) int32, "label_lengths": (B,) int32}``; the loss
    is CTC over each utterance's true logit and label lengths (not the padded ones).
    """

    def __init__(self, config: ModelConfig, blank_index: int = 0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.blank_index = blank_index
        self.frontend = Frontend(config.frontend, name="frontend")
        self.specaugment = SpecAugment(config.specaugment, seed=seed, name="specaugment")
        self.encoder = config.encoder.build(name="encoder")
        self.classifier = layers.Dense(config.vocab_size, name="classifier")

    def build_weights(self) -> CTCModel:
        """Create the weights by running a short dummy batch; returns ``self``."""
        f = self.config.frontend
        samples = f.n_fft + 4 * f.hop_length * self.config.time_stride
        self({"audio": np.zeros((1, samples), np.float32),
              "audio_lengths": np.array([samples], np.int32)})
        return self

    def frame_lengths(self, audio_lengths):
        """(B,) samples -> (B,) frontend frames, 0 for audio shorter than one window."""
        f = self.config.frontend
        n = ops.cast(audio_lengths, "int32")
        frames = 1 + ops.floor_divide(n - f.n_fft, f.hop_length)
        return ops.where(n < f.n_fft, 0, frames)

    def output_lengths(self, audio_lengths):
        """(B,) samples -> (B,) logit frames."""
        stride = self.config.time_stride
        return ops.floor_divide(self.frame_lengths(audio_lengths) + stride - 1, stride)

    def call(self, inputs, training=None):
        if isinstance(inputs, dict):
            audio, lengths = inputs["audio"], inputs.get("audio_lengths")
        else:
            audio, lengths = inputs, None
        features = self.frontend(audio)
        frame_mask = None
        if lengths is not None:
            frames = ops.shape(features)[1]
            positions = ops.expand_dims(ops.arange(frames, dtype="int32"), 0)
            valid = positions < ops.expand_dims(self.frame_lengths(lengths), 1)
            frame_mask = ops.expand_dims(ops.cast(valid, features.dtype), -1)
        features = self.specaugment(features, training=training)
        hidden = self.encoder(features, frame_mask=frame_mask, training=training)
        return ops.cast(self.classifier(hidden), "float32")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Mean CTC loss over the batch; with ``sample_weight`` (B,), ``sum(weight * loss)``.

        Data-parallel batches carry weights that sum to 1 over the *global* batch (1/n per
        utterance, 0 for padding rows: ``edgeasr.data.batches.BatchShard``), so a replica's
        partial sum needs no rescaling: TensorFlow's MirroredStrategy adds the replicas'
        gradients, and JAX sees the global batch at once.
        """
        logit_lengths = self.output_lengths(x["audio_lengths"])
        losses = ops.ctc_loss(
            ops.cast(y["labels"], "int32"),
            y_pred,
            ops.cast(y["label_lengths"], "int32"),
            logit_lengths,
            mask_index=self.blank_index,
        )
        if sample_weight is None:
            loss = ops.mean(losses)
        else:
            loss = ops.sum(losses * ops.cast(sample_weight, losses.dtype))
        extra = self.losses
        if extra:
            loss = loss + ops.sum(extra)
        return loss

    def get_config(self):
        return {"config": self.config.to_dict(), "blank_index": self.blank_index}

    @classmethod
    def from_config(cls, config):
        return cls(ModelConfig.from_dict(config["config"]), blank_index=config["blank_index"])
