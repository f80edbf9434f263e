"""Waveform augmentation for training.

``configs`` (one frozen config per effect, :class:`~edgeasr.augment.configs.AugmentConfig`),
``augmenter`` (:class:`~edgeasr.augment.augmenter.Augmenter`: a config applied, deterministic
per key), ``signals`` (coloured noise, room responses, mixing), ``sources`` (noise and
room-response files and draws), ``preview`` (wav pairs and spectrograms to hear and see it).
"""
