"""The streaming API: feed -> partial text and endpointed finals, finish -> the rest.

Fake models make the outcome exact: every 10 ms frame of "audio" holds a constant level
``token / 100``, and the models output that token (0: the CTC blank) for the frame.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.errors import AudioError, EdgeAsrError
from edgeasr_device.recognizer import Recognizer
from edgeasr_device.streaming import (
    BufferedStream,
    ChunkedStream,
    EndpointOptions,
    StreamUpdate,
)
from edgeasr_device.streaming_model import ChunkRunner, StreamingSpec
from edgeasr_device.vocab import Vocabulary

RATE, HOP = 16000, 160
VOCAB = Vocabulary.english()


def frames_to_log_probs(frames: np.ndarray) -> np.ndarray:
    """(T, HOP) audio frames -> (T, V) log-probs of the token each frame encodes."""
    tokens = np.clip(np.rint(frames.mean(axis=1) * 100), 0, VOCAB.size - 1).astype(int)
    lp = np.full((tokens.shape[0], VOCAB.size), -20.0, np.float32)
    lp[np.arange(tokens.shape[0]), tokens] = 0.0
    return lp


class WholeModel:
    sample_rate, frame_duration, vocabulary = RATE, HOP / RATE, VOCAB

    def log_probs(self, waveform):
        n = max(1, waveform.shape[0] // HOP)
        padded = np.pad(waveform, (0, max(0, HOP - waveform.shape[0])))
        return frames_to_log_probs(padded[:n * HOP].reshape(n, HOP))


class ChunkedModel(WholeModel):
    spec = StreamingSpec(chunk_samples=4 * HOP, input_frames=4, chunk_frames=4, time_stride=1,
                         n_fft=HOP, hop_length=HOP, input_delay=0, delay=0, mask_delays=(),
                         states={})

    def runner(self):
        def step(inputs):
            return {"log_probs": frames_to_log_probs(inputs["audio"].reshape(4, HOP))[None]}
        return ChunkRunner(step, self.spec)


def speak(text: str) -> np.ndarray:
    """Each character: 4 frames of its token, then a blank frame."""
    out = []
    for ch in text:
        out += [VOCAB.tokens.index(ch) / 100] * 4 + [0.0]
    return np.repeat(np.asarray(out, np.float32), HOP)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def run(stream, audio, block=1000):
    updates = [stream.feed(audio[i:i + block]) for i in range(0, audio.shape[0], block)]
    return updates, stream.finish()


ENERGY = {"vad": "energy"}


@pytest.mark.parametrize("model", [ChunkedModel(), WholeModel()], ids=["chunked", "buffered"])
def test_endpointing_closes_utterances_with_stream_times(model):
    rec = Recognizer(model)
    first, second = speak("turn on"), speak("lights")
    audio = np.concatenate([silence(0.5), first, silence(1.0), second])
    updates, last = run(rec.stream(EndpointOptions(trailing_silence=0.5, **ENERGY)), audio)
    finals = [f for u in updates for f in u.finals]
    assert [f.text for f in finals] == ["turn on"]
    assert last is not None and last.text == "lights"
    assert finals[0].words[0].start == pytest.approx(0.5, abs=0.011)
    assert last.words[0].start == pytest.approx((len(first) + 1.5 * RATE) / RATE, abs=0.011)
    assert all(isinstance(u, StreamUpdate) for u in updates)


def test_stream_kind_follows_the_model():
    assert isinstance(Recognizer(ChunkedModel()).stream(), ChunkedStream)
    assert isinstance(Recognizer(WholeModel()).stream(), BufferedStream)


def test_partial_text_grows_while_speaking():
    stream = Recognizer(ChunkedModel()).stream()
    audio = speak("hello there")
    partials = [stream.feed(audio[i:i + 640]).partial for i in range(0, len(audio), 640)]
    assert partials[-1] == "hello there"
    assert all(b.startswith(a) for a, b in itertools.pairwise(partials))


def test_without_endpointing_the_finish_equals_whole_file_decoding():
    rec = Recognizer(ChunkedModel())
    audio = np.concatenate([speak("on"), silence(2.0), speak("off")])
    updates, last = run(rec.stream(EndpointOptions(trailing_silence=None)), audio)
    assert not any(u.finals for u in updates)
    assert last == rec.transcribe(audio, sample_rate=RATE)


def test_max_utterance_cuts_at_a_blank_frame():
    rec = Recognizer(ChunkedModel())
    audio = speak("abcdefghij" * 3)  # 1.5 s, no pause
    updates, last = run(rec.stream(EndpointOptions(trailing_silence=None, max_utterance=0.4)),
                        audio)
    texts = [f.text for u in updates for f in u.finals] + [last.text]
    assert "".join(texts) == "abcdefghij" * 3 and len(texts) >= 3


def test_finals_use_the_recognizers_decoder():
    beam = Recognizer(ChunkedModel(), options=DecodingOptions(method="beam", beam_width=4))
    audio = np.concatenate([speak("go"), silence(1.0)])
    updates, last = run(beam.stream(EndpointOptions(trailing_silence=0.5)), audio)
    assert [f.text for u in updates for f in u.finals] == ["go"] and last is None


def test_a_beam_decoder_searches_while_the_audio_arrives(monkeypatch):
    """Chunked model + beam: the search runs per fed block (partials are its best prefix),
    and an endpointed utterance is finished without decoding its frames again."""
    beam = Recognizer(ChunkedModel(), options=DecodingOptions(method="beam", beam_width=4))
    greedy = Recognizer(ChunkedModel())
    audio = np.concatenate([speak("hello there"), silence(0.7), speak("go")])
    endpoint = EndpointOptions(trailing_silence=0.5)
    want_updates, want_last = run(greedy.stream(endpoint), audio, block=640)

    def refuse(lp):
        raise AssertionError("the closed utterance was decoded again")

    monkeypatch.setattr(type(beam.decoder), "decode", lambda self, lp: refuse(lp))
    stream = beam.stream(endpoint)
    assert stream._search is not None
    updates, last = run(stream, audio, block=640)
    assert [u.partial for u in updates] == [u.partial for u in want_updates]
    got = [f for u in updates for f in u.finals] + [last]
    want = [f for u in want_updates for f in u.finals] + [want_last]
    assert [f.text for f in got] == [f.text for f in want] == ["hello there", "go"]
    assert [[(w.text, w.start, w.end) for w in f.words] for f in got] == \
        [[(w.text, w.start, w.end) for w in f.words] for f in want]


def test_a_beam_stream_cut_at_max_utterance_keeps_every_word():
    beam = Recognizer(ChunkedModel(), options=DecodingOptions(method="beam", beam_width=4))
    audio = speak("abcdefghij" * 3)
    updates, last = run(beam.stream(EndpointOptions(trailing_silence=None, max_utterance=0.4)),
                        audio, block=333)
    texts = [f.text for u in updates for f in u.finals] + [last.text]
    assert "".join(texts) == "abcdefghij" * 3 and len(texts) >= 3


def test_finish_resets_the_stream():
    stream = Recognizer(ChunkedModel()).stream()
    for _ in range(2):
        stream.feed(speak("yes"))
        result = stream.finish()
        assert result.text == "yes" and result.words[0].start == 0.0
    assert stream.finish() is None


def test_int16_samples_are_accepted_and_bad_input_refused():
    stream = Recognizer(WholeModel()).stream(EndpointOptions(**ENERGY))
    pcm = (speak("no") * 32768).astype(np.int16)
    stream.feed(pcm)
    assert stream.finish().text == "no"
    with pytest.raises(AudioError, match="mono"):
        stream.feed(np.zeros((10, 2), np.float32))
    with pytest.raises(AudioError, match="float32 or int16"):
        stream.feed(np.zeros(10, np.int32))


def test_buffered_stream_keeps_only_a_pre_roll_of_silence():
    stream = Recognizer(WholeModel()).stream(EndpointOptions(pre_roll=0.3, **ENERGY))
    stream.feed(silence(20.0))
    assert stream._utterance is None and sum(h.size for h in stream._history) <= 0.33 * RATE
    assert stream.finish() is None


@pytest.mark.parametrize("bad", [{"trailing_silence": 0}, {"max_utterance": -1.0},
                                 {"vad": "silero"}, {"pre_roll": -0.1},
                                 {"vad_aggressiveness": 5}, {"partial_interval": float("inf")}])
def test_endpoint_options_are_checked(bad):
    with pytest.raises(EdgeAsrError):
        EndpointOptions(**bad)
