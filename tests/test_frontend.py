"""The in-graph frontend: frame counts, mel placement of a tone, export-safe projections."""

from __future__ import annotations

import numpy as np
import pytest

from edgeasr.models.config import FrontendConfig
from edgeasr.models.frontend import Frontend, dct_matrix, hz_to_mel, mel_filterbank


def test_mel_filterbank_shape_and_coverage():
    config = FrontendConfig(n_mels=40)
    bank = mel_filterbank(config)
    assert bank.shape == (config.n_fft // 2 + 1, 40)
    assert (bank >= 0).all()
    peaks_hz = bank.argmax(axis=0) * config.sample_rate / config.n_fft
    assert np.all(np.diff(peaks_hz) >= 0)  # centres rise with the band index
    assert np.all(np.diff(hz_to_mel(peaks_hz[5:])) > 0)


def test_dct_is_orthonormal():
    basis = dct_matrix(40, 40)
    np.testing.assert_allclose(basis.T @ basis, np.eye(40), atol=1e-5)


@pytest.mark.parametrize("samples", [512, 513, 16000, 16161])
def test_frame_count_matches_config(samples):
    config = FrontendConfig()
    features = np.asarray(Frontend(config)(np.zeros((1, samples), np.float32) + 1e-3))
    assert features.shape == (1, config.num_frames(samples), config.n_mels)


def test_tone_lands_in_its_mel_band():
    config = FrontendConfig(n_mels=40)
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)[None]
    features = np.asarray(Frontend(config)(tone))[0]
    band = int(np.median(features.argmax(axis=-1)))
    centre = mel_filterbank(config)[:, band].argmax() * config.sample_rate / config.n_fft
    assert abs(centre - 1000) < 150


@pytest.mark.parametrize("kind", ["logmel", "mfcc"])
def test_float_projection_matches_matmul(kind):
    config = FrontendConfig(kind=kind)
    audio = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32) * 0.1
    plain = np.asarray(Frontend(config)(audio))
    safe = np.asarray(Frontend(config, float_projection=True)(audio))
    assert plain.shape[-1] == config.num_features
    np.testing.assert_allclose(plain, safe, rtol=1e-4, atol=1e-4)
