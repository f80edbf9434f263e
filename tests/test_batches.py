"""Examples and batches: true lengths, padding, and skipped lines reported by source."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from edgeasr.data.batches import SpeechBatches, collate, ctc_min_frames, prepare_examples
from edgeasr.data.manifest import read_manifest
from edgeasr.models.presets import get_preset
from edgeasr_device.errors import AudioError, VocabularyError
from edgeasr_device.vocab import Vocabulary

from conftest import speak


def test_ctc_min_frames_counts_repeats():
    assert ctc_min_frames(np.array([], np.int32)) == 0
    assert ctc_min_frames(np.array([3, 4, 5])) == 3
    assert ctc_min_frames(np.array([3, 3, 5, 5, 5])) == 5 + 3


def test_collate_pads_and_keeps_true_lengths(speech_corpus):
    config = get_preset("tiny")
    examples, skipped = prepare_examples(read_manifest(speech_corpus / "train.jsonl"),
                                         Vocabulary.english(), config)
    assert not skipped and len(examples) == 4
    x, y = collate(examples, pad_multiple=4000)
    n = x["audio"].shape[1]
    assert n % 4000 == 0 and n >= max(e.audio.shape[0] for e in examples)
    for row, example in enumerate(examples):
        length = x["audio_lengths"][row]
        assert length == example.audio.shape[0]
        assert np.all(x["audio"][row, length:] == 0)
        assert y["label_lengths"][row] == example.labels.size
        assert list(y["labels"][row, : example.labels.size]) == list(example.labels)
    assert Vocabulary.english().decode(y["labels"][0, : y["label_lengths"][0]]) == examples[0].text


def test_batches_bucket_by_length_and_are_deterministic(speech_corpus):
    config = get_preset("tiny")
    examples, _ = prepare_examples(read_manifest(speech_corpus / "train.jsonl"),
                                   Vocabulary.english(), config)
    many = examples * 6
    a = SpeechBatches(many, batch_size=5, sample_rate=16000, seed=3)
    b = SpeechBatches(many, batch_size=5, sample_rate=16000, seed=3)
    assert len(a) == 5
    assert [list(p) for p in a._batches] == [list(p) for p in b._batches]
    a.on_epoch_end()
    b.set_epoch(1)
    assert [list(p) for p in a._batches] == [list(p) for p in b._batches]
    capped = SpeechBatches(many, batch_size=100, sample_rate=16000, max_batch_seconds=8.0)
    for index in range(len(capped)):
        x, _ = capped[index]
        assert x["audio_lengths"].max() * len(x["audio_lengths"]) <= 8.0 * 16000


def test_bad_lines_are_skipped_with_reasons(tmp_path):
    sf.write(tmp_path / "ok.wav", speak("open the door"), 16000)
    sf.write(tmp_path / "blip.wav", np.zeros(600, np.float32) + 0.01, 16000)
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    lines = [
        {"audio_filepath": "ok.wav", "duration": 1.0, "text": "Open the door!"},
        {"audio_filepath": "ok.wav", "duration": 1.0, "text": "open the door #5 ü"},
        {"audio_filepath": "ok.wav", "duration": 1.0, "text": "¿?"},
        {"audio_filepath": "blip.wav", "duration": 0.04, "text": "a much longer sentence"},
        {"audio_filepath": "broken.wav", "duration": 1.0, "text": "hello"},
        {"audio_filepath": "ok.wav", "duration": 1.0, "text": "日本"},
    ]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
    utterances = read_manifest(tmp_path / "m.jsonl")
    examples, skipped = prepare_examples(utterances, Vocabulary.english(), get_preset("tiny"))
    # "#" is dropped and "ü" folds to "u": line 2 is usable once normalised
    assert [e.text for e in examples] == ["open the door", "open the door five u"]
    reasons = {s.source.rsplit(":", 1)[1]: s.reason for s in skipped}
    assert "empty transcript" in reasons["3"]
    assert "too short" in reasons["4"]
    assert "broken.wav" in reasons["5"]
    assert "not in the vocabulary" in reasons["6"]
    assert len(examples) + len(skipped) == len(lines)
    with pytest.raises(VocabularyError, match="m.jsonl:6"):
        prepare_examples(utterances[5:], Vocabulary.english(), get_preset("tiny"), strict=True)
    with pytest.raises(AudioError, match="m.jsonl:5"):
        prepare_examples(utterances[4:5], Vocabulary.english(), get_preset("tiny"), strict=True)
