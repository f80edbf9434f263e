"""Shard cache, batches: true lengths, padding, determinism, and skipped lines by source."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import soundfile as sf
from support import speak

from edgeasr.data.batches import SpeechBatches, collate, ctc_min_frames, trainable_indices
from edgeasr.data.manifest import ManifestError
from edgeasr.data.shards import load_corpus
from edgeasr.models.presets import get_preset
from edgeasr_device.audio import load_audio
from edgeasr_device.vocab import Vocabulary

VOCAB = Vocabulary.english()


def test_ctc_min_frames_counts_repeats():
    assert ctc_min_frames(np.array([], np.int32)) == 0
    assert ctc_min_frames(np.array([3, 4, 5])) == 3
    assert ctc_min_frames(np.array([3, 3, 5, 5, 5])) == 5 + 3


def test_shard_cache_holds_the_audio_and_is_reused(speech_corpus, tmp_path):
    lines = (speech_corpus / "train.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    for entry in entries:
        entry["audio_filepath"] = str(speech_corpus / entry["audio_filepath"])
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(e) + "\n" for e in entries))
    cache = tmp_path / "cache"
    corpus = load_corpus(manifest, VOCAB, 16000, cache_root=cache)
    assert len(corpus) == 4 and corpus.texts[0] == "turn on the kitchen lights"
    original = load_audio(speech_corpus / "utt2.wav", 16000)
    np.testing.assert_allclose(corpus.audio(2) / 32768.0, original, atol=1 / 16000)
    assert VOCAB.decode(corpus.labels(2)) == "set an alarm for seven"
    assert isinstance(corpus.audio(2), np.memmap)  # read from the shard, not RAM
    folders = sorted(cache.iterdir())
    assert len(load_corpus(manifest, VOCAB, 16000, cache_root=cache)) == 4
    assert sorted(cache.iterdir()) == folders  # reused, not rebuilt
    manifest.write_text(json.dumps(entries[0]) + "\n")  # a changed manifest: a new cache
    assert len(load_corpus(manifest, VOCAB, 16000, cache_root=cache)) == 1
    assert len(list(cache.iterdir())) == 2


def test_collate_pads_and_keeps_true_lengths():
    items = [(np.ones(5000, np.float32), np.array([1, 2, 3], np.int32)),
             (np.ones(9000, np.float32), np.array([4] * 10, np.int32))]
    x, y = collate(items, pad_multiple=4000)
    assert x["audio"].shape == (2, 12000) and list(x["audio_lengths"]) == [5000, 9000]
    assert np.all(x["audio"][0, 5000:] == 0) and np.all(x["audio"][0, :5000] == 1)
    assert y["labels"].shape == (2, 16) and list(y["label_lengths"]) == [3, 10]
    assert list(y["labels"][0, :4]) == [1, 2, 3, 0]


def test_batches_are_deterministic_bucketed_and_capped(speech_corpus):
    corpus = load_corpus(speech_corpus / "train.jsonl", VOCAB, 16000)
    indices = np.tile(np.arange(4), 6)
    a = SpeechBatches(corpus, 5, indices, seed=3)
    b = SpeechBatches(corpus, 5, indices, seed=3)
    assert len(a) == 5
    assert [list(p) for p in a.plan(a.epoch)] == [list(p) for p in b.plan(b.epoch)]
    a.on_epoch_end()
    b.set_position(1)
    assert [list(p) for p in a.plan(a.epoch)] == [list(p) for p in b.plan(b.epoch)]
    x_a, _ = a[2]
    x_b, _ = pickle.loads(pickle.dumps(b))[2]  # what a worker process computes
    np.testing.assert_array_equal(x_a["audio"], x_b["audio"])
    b.set_position(1, start_batch=3)  # resuming mid-epoch continues with batch 4 of 5
    assert len(b) == 2
    np.testing.assert_array_equal(b[0][0]["audio"], a[3][0]["audio"])
    capped = SpeechBatches(corpus, 100, indices, max_batch_seconds=8.0)
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
    corpus = load_corpus(tmp_path / "m.jsonl", VOCAB, 16000, cache_root=tmp_path / "cache")
    # "#" is dropped and "ü" folds to "u": line 2 is usable once normalised
    assert corpus.texts == ["open the door", "open the door five u", "a much longer sentence"]
    reasons = {s["source"].rsplit(":", 1)[1]: s["reason"] for s in corpus.skipped}
    assert "empty transcript" in reasons["3"]
    assert "broken.wav" in reasons["5"]
    assert "not in the vocabulary" in reasons["6"]
    usable, too_short = trainable_indices(corpus, get_preset("tiny"))
    assert list(usable) == [0, 1]
    assert too_short[0].source.endswith("m.jsonl:4") and "too short" in too_short[0].reason
    assert len(corpus.skipped) + len(corpus) == len(lines)
    with pytest.raises(ManifestError, match=r"m.jsonl:3: empty transcript.*--strict"):
        load_corpus(tmp_path / "m.jsonl", VOCAB, 16000, cache_root=tmp_path / "cache", strict=True)


def test_an_empty_text_is_a_non_speech_example_with_a_finite_ctc_loss(tmp_path):
    import keras

    from edgeasr.models.ctc_model import CTCModel

    sf.write(tmp_path / "ok.wav", speak("open the door"), 16000)
    noise = np.random.default_rng(0).normal(0, 0.05, 16000).astype(np.float32)
    sf.write(tmp_path / "noise.wav", noise, 16000)
    lines = [
        {"audio_filepath": "ok.wav", "duration": 1.0, "text": "open the door"},
        {"audio_filepath": "noise.wav", "duration": 1.0, "text": ""},
        {"audio_filepath": "noise.wav", "duration": 1.0, "text": "  "},
        {"audio_filepath": "ok.wav", "duration": 1.0, "text": "\u00bf?"},  # broken: skipped
    ]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
    corpus = load_corpus(tmp_path / "m.jsonl", VOCAB, 16000, cache_root=tmp_path / "cache")
    assert corpus.texts == ["open the door", "", ""]
    assert [corpus.labels(i).size for i in range(3)] == [13, 0, 0]
    assert [s["source"].rsplit(":", 1)[1] for s in corpus.skipped] == ["4"]
    config = get_preset("tiny")
    usable, too_short = trainable_indices(corpus, config)
    assert list(usable) == [0, 1, 2] and not too_short
    x, y = SpeechBatches(corpus, 3, usable)[0]
    assert sorted(y["label_lengths"].tolist()) == [0, 0, 13]
    keras.utils.set_random_seed(0)
    model = CTCModel(config, blank_index=VOCAB.blank_index)
    losses = model.compute_loss(x, y, model(x))
    assert np.isfinite(float(keras.ops.convert_to_numpy(losses)))


def _keyed_gain(audio, key):
    """A stand-in augmenter whose output depends on its key (module level: picklable)."""
    return audio * (1 + 0.01 * key[1])


def test_worker_processes_stream_the_same_batches(speech_corpus):
    from edgeasr.data.loader import stream

    corpus = load_corpus(speech_corpus / "train.jsonl", VOCAB, 16000)
    batches = SpeechBatches(corpus, 3, np.tile(np.arange(4), 5), seed=1, augment=_keyed_gain)
    batches.set_position(2, start_batch=1)
    alone = list(stream(batches, workers=1))
    parallel = list(stream(batches, workers=2))
    assert len(alone) == len(parallel) == batches.batches_per_epoch - 1
    for (xa, ya), (xb, yb) in zip(alone, parallel):
        np.testing.assert_array_equal(xa["audio"], xb["audio"])
        np.testing.assert_array_equal(ya["labels"], yb["labels"])
