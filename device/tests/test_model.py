"""TfliteModel: the one interpreter loop (padding, resizing, checks) on an exported model."""

from __future__ import annotations

import numpy as np
import pytest

from edgeasr_device import AcousticModel, Recognizer, TfliteModel
from edgeasr_device.artifact import read_metadata
from edgeasr_device.errors import ArtifactError, AudioError
from edgeasr_device.interpreter import make_interpreter


def reference_log_probs(content: bytes, samples: np.ndarray, min_samples: int) -> np.ndarray:
    """The recogniser's loop before TfliteModel existed: pad to one frame, resize, invoke."""
    interpreter = make_interpreter(content)
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]
    if samples.shape[0] < min_samples:
        samples = np.pad(samples, (0, min_samples - samples.shape[0]))
    interpreter.resize_tensor_input(inp, [1, samples.shape[0]])
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp, samples[None, :])
    interpreter.invoke()
    return interpreter.get_tensor(out)[0]


def test_attributes_come_from_the_metadata(tiny_tflite):
    model = TfliteModel(tiny_tflite)
    meta = read_metadata(tiny_tflite)
    assert isinstance(model, AcousticModel)
    assert model.metadata == meta and model.vocabulary == meta.vocabulary
    assert model.sample_rate == meta.sample_rate and model.frame_duration == meta.frame_duration
    assert model.min_samples == meta.frontend["n_fft"] == 512
    assert model.path == tiny_tflite and "tiny-float32" in repr(model)


@pytest.mark.parametrize("n", [0, 1, 100, 511, 512, 513, 16000])
def test_short_audio_is_padded_as_the_recogniser_did(tiny_tflite, n):
    content = tiny_tflite.read_bytes()
    samples = (np.random.default_rng(n).standard_normal(n) * 0.1).astype(np.float32)
    model = TfliteModel(content, source="tiny")
    got = model.log_probs(samples)
    np.testing.assert_array_equal(got, reference_log_probs(content, samples, 512))
    assert got.shape[0] >= 1 and got.shape[1] == model.vocabulary.size and got.dtype == np.float32
    assert model.padded(samples).shape == (max(n, 512),)
    np.testing.assert_array_equal(Recognizer(tiny_tflite).log_probs(samples), got)


def test_interpreter_is_resized_only_when_the_length_changes(tiny_tflite):
    model = TfliteModel(tiny_tflite)
    calls = []
    real = model._interpreter.allocate_tensors
    model._interpreter = _Spy(model._interpreter, lambda: (calls.append(1), real())[1])
    x = np.zeros(8000, np.float32)
    first = model.log_probs(x)
    model.log_probs(x)
    model.log_probs(np.zeros(100, np.float32))
    model.log_probs(np.zeros(200, np.float32))  # both padded to 512: no new allocation
    model.log_probs(x)
    assert len(calls) == 3
    np.testing.assert_array_equal(model.log_probs(x), first)


class _Spy:
    def __init__(self, interpreter, allocate):
        self._interpreter = interpreter
        self.allocate_tensors = allocate

    def __getattr__(self, name):
        return getattr(self._interpreter, name)


def test_output_shape_is_checked(tiny_tflite):
    model = TfliteModel(tiny_tflite)
    real = model._interpreter.get_tensor
    model._interpreter = _Spy(model._interpreter, model._interpreter.allocate_tensors)
    model._interpreter.get_tensor = lambda index: real(index)[..., :5]
    with pytest.raises(ArtifactError, match=r"shape \(1, \d+, 5\); expected \(1, T, 29\)"):
        model.log_probs(np.zeros(8000, np.float32))


def test_bytes_and_path_agree_and_metadata_can_be_given(tiny_tflite):
    content = tiny_tflite.read_bytes()
    x = (np.random.default_rng(0).standard_normal(4000) * 0.1).astype(np.float32)
    meta = read_metadata(content)
    from_bytes = TfliteModel(content, metadata=meta)
    assert from_bytes.path is None and from_bytes.source == "<bytes>"
    np.testing.assert_array_equal(from_bytes.log_probs(x), TfliteModel(tiny_tflite).log_probs(x))
    with pytest.raises(AudioError, match=r"shape \(N,\)"):
        from_bytes.log_probs(np.zeros((2, 4000), np.float32))


def test_bad_files_are_artifact_errors(tmp_path):
    with pytest.raises(ArtifactError, match="cannot read model file"):
        TfliteModel(tmp_path / "missing.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ArtifactError, match="junk.tflite is not a TFLite model"):
        TfliteModel(junk)
    with pytest.raises(ArtifactError, match="upload.bin is not a TFLite model"):
        TfliteModel(b"not a model at all", source="upload.bin")
