"""SentencePiece output tokens: the tokenizer, its configuration, training with it, export,
the device transcribing with the piece list only, and the token error rate (TER)."""

from __future__ import annotations

import json

import pytest
from support import PHRASES

from edgeasr.data.shards import cache_key, load_corpus
from edgeasr.errors import ConfigError, DataError
from edgeasr.evaluation.metrics import error_rates, token_edits, with_token_rate
from edgeasr.text.languages import language_of
from edgeasr.text.subword import (
    TOKENIZER_FILE,
    UNWRITABLE,
    CharacterEncoder,
    Tokenizer,
    text_encoder,
    train_tokenizer,
)
from edgeasr.training.config import TokensConfig, TrainConfig
from edgeasr_device.errors import VocabularyError
from edgeasr_device.vocab import Vocabulary

W = "\u2581"


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return train_tokenizer(PHRASES, 64, "bpe")


# ------------------------------------------------------------------ the tokenizer


def test_training_is_deterministic_and_saved(tmp_path, tokenizer):
    again = train_tokenizer(list(PHRASES), 64, "bpe")
    assert again.model == tokenizer.model and again.key == tokenizer.key
    unigram = train_tokenizer(PHRASES, 30, "unigram")
    assert unigram.model == train_tokenizer(PHRASES, 30, "unigram").model
    assert unigram.vocabulary != tokenizer.vocabulary
    path = tokenizer.save(tmp_path / "run" / TOKENIZER_FILE)
    loaded = Tokenizer.load(path)
    assert loaded.model == tokenizer.model and loaded.vocabulary == tokenizer.vocabulary
    assert [p.name for p in path.parent.iterdir()] == [TOKENIZER_FILE]  # no temporary left


def test_pieces_become_the_vocabulary(tokenizer):
    vocab = tokenizer.vocabulary
    assert vocab.kind == "pieces" and vocab.size == 65 and vocab.tokens[:2] == ("<blank>", "<unk>")
    for text in PHRASES:
        ids = tokenizer(text)
        assert 0 not in ids and vocab.decode(ids) == text  # the device decodes the labels back
    assert tokenizer.pieces("turn on the kitchen lights") == [
        f"{W}t", "urn", f"{W}on", f"{W}the", f"{W}k", "it", "chen", f"{W}li", "ghts"]
    assert tokenizer("  Turn\tON ") == tokenizer("turn on")  # normalised like Vocabulary.encode
    assert language_of(vocab).code == "en"


def test_unknown_characters_are_named(tokenizer):
    with pytest.raises(VocabularyError, match=r"not in the tokenizer's pieces: 'x', 'z'"):
        tokenizer("turn on xz")
    marker = tokenizer.vocabulary.tokens.index(W)  # "x" is cut as "▁" + "x"
    assert tokenizer.score_ids("on x") == [*tokenizer("on"), marker, UNWRITABLE]


@pytest.mark.parametrize("size, model_type, fragment", [
    (500, "bpe", "more pieces than the training transcripts allow"),
    (5, "unigram", "raise it to at least"),
    (64, "word", "choose one of"),
])
def test_bad_sizes_and_types_are_config_errors(size, model_type, fragment):
    with pytest.raises(ConfigError, match=fragment):
        train_tokenizer(PHRASES, size, model_type)


def test_not_a_model_and_mismatched_vocabulary(tmp_path, tokenizer):
    bad = tmp_path / "tokenizer.model"
    bad.write_bytes(b"not a model")
    with pytest.raises(DataError, match="is not a usable SentencePiece model"):
        Tokenizer.load(bad)
    with pytest.raises(DataError, match="cannot read the tokenizer"):
        Tokenizer.load(tmp_path / "missing.model")
    with pytest.raises(DataError, match="needs its SentencePiece model"):
        text_encoder(tokenizer.vocabulary)
    other = train_tokenizer(PHRASES, 40, "bpe")
    with pytest.raises(DataError, match="does not match"):
        text_encoder(tokenizer.vocabulary, other)
    assert isinstance(text_encoder(Vocabulary.english()), CharacterEncoder)


def test_metadata_entry_round_trip(tokenizer):
    entry = json.loads(json.dumps(tokenizer.to_metadata()))
    assert Tokenizer.from_metadata(entry, "m.tflite").model == tokenizer.model
    assert len(entry["model"]) < 4096  # small enough to embed
    with pytest.raises(DataError, match="m.tflite has no usable SentencePiece model"):
        Tokenizer.from_metadata({"kind": "bytes"}, "m.tflite")


# ------------------------------------------------------------------ configuration, caches


def test_tokens_config():
    cfg = TrainConfig.from_dict({"data": {"tokens": {"kind": "sentencepiece", "size": 32}}})
    assert cfg.data.tokens == TokensConfig("sentencepiece", 32, "unigram")
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig.from_dict({"data": {"batch_size": 4}}).data.tokens.kind == "characters"
    assert TokensConfig.parse("sentencepiece:128:bpe") == TokensConfig("sentencepiece", 128, "bpe")
    assert TokensConfig.parse("characters") == TokensConfig()
    for spec in ("pieces", "sentencepiece:x", "characters:5", "sentencepiece:8:word"):
        with pytest.raises(ConfigError):
            TokensConfig.parse(spec)
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['sise'\]"):
        TrainConfig.from_dict({"data": {"tokens": {"sise": 3}}})


def test_cache_key_includes_the_tokenizer(speech_corpus, tokenizer):
    manifest = speech_corpus / "train.jsonl"
    other = train_tokenizer(PHRASES, 40, "bpe")
    keys = {cache_key(manifest, 16000, Vocabulary.english()),
            cache_key(manifest, 16000, tokenizer.vocabulary, tokenizer.key),
            cache_key(manifest, 16000, other.vocabulary, other.key),
            cache_key(manifest, 16000, tokenizer.vocabulary, other.key)}
    assert len(keys) == 4
    assert tokenizer.vocabulary.to_dict() != other.vocabulary.to_dict()


def test_shard_labels_are_piece_ids(speech_corpus, tmp_path, tokenizer):
    corpus = load_corpus(speech_corpus / "train.jsonl", tokenizer.vocabulary, 16000,
                         cache_root=tmp_path, encoder=tokenizer)
    assert [tokenizer.vocabulary.decode(corpus.labels(i)) for i in range(len(corpus))] == \
        list(PHRASES)
    with pytest.raises(DataError, match="needs its SentencePiece model"):
        load_corpus(speech_corpus / "train.jsonl", tokenizer.vocabulary, 16000,
                    cache_root=tmp_path)


# ------------------------------------------------------------------ token error rate


def test_ter_of_characters_by_hand():
    encoder = CharacterEncoder(Vocabulary.english())
    refs, hyps = ["ab c", "dog"], ["abc", "do got"]
    # "ab c" -> "abc": the space deleted, of 4 tokens; "dog" -> "do got": " ", "o", "t"
    # inserted, of 3 tokens: (1 + 3) / 7
    edits, tokens = token_edits([encoder.score_ids(r) for r in refs],
                                [encoder.score_ids(h) for h in hyps])
    assert (edits, tokens) == (4, 7)
    rates = with_token_rate(error_rates(refs, hyps), [encoder.score_ids(r) for r in refs],
                            [encoder.score_ids(h) for h in hyps])
    assert rates.ter == pytest.approx(4 / 7) and rates.tokens == 7
    assert rates.ter == pytest.approx(rates.cer)  # characters: TER is CER
    # a character the model cannot write is always an error
    assert token_edits([encoder.score_ids("a1")], [encoder.score_ids("a")]) == (1, 2)
    assert token_edits([[]], [[3, 4]]) == (2, 0)


def test_ter_of_pieces_by_hand(tokenizer):
    ref = "turn on the kitchen lights"  # 9 pieces (test_pieces_become_the_vocabulary)
    assert token_edits([tokenizer.score_ids(ref)],
                       [tokenizer.score_ids("turn on the kitchen")]) == (2, 9)
    # "▁t urn" -> "▁on": the words differ by one character but by two pieces
    assert tokenizer.pieces("turn") == [f"{W}t", "urn"] and tokenizer.pieces("on") == [f"{W}on"]
    edits, tokens = token_edits([tokenizer.score_ids("turn on")],
                                [tokenizer.score_ids("on on")])
    assert (edits, tokens) == (2, 3)


# ------------------------------------------------------------------ train, export, transcribe


@pytest.fixture(scope="module")
def piece_run(speech_corpus, tmp_path_factory):
    """One epoch of the tiny preset with 32 unigram pieces."""
    from edgeasr.models.presets import get_preset
    from edgeasr.training.config import DataConfig
    from edgeasr.training.trainer import train

    out = tmp_path_factory.mktemp("runs") / "pieces"
    manifest = speech_corpus / "train.jsonl"
    config = TrainConfig(epochs=1, warmup_epochs=0, data=DataConfig(
        batch_size=4, tokens=TokensConfig("sentencepiece", 32)))
    train(manifest, manifest, out, get_preset("tiny"), config, echo=lambda _: None, verbose=0)
    return out


@pytest.fixture(scope="module")
def piece_tflite(piece_run, tmp_path_factory):
    from edgeasr_export.exporter import export_run

    return export_run(piece_run, tmp_path_factory.mktemp("export") / "pieces.tflite",
                      "float32", parity_utterances=2).path


def test_training_run_keeps_its_tokenizer(piece_run, speech_corpus):
    from edgeasr.runs import RunDirectory
    from edgeasr.training.trainer import train

    info = RunDirectory(piece_run).read_info()
    saved = Tokenizer.load(piece_run / TOKENIZER_FILE)
    assert info.vocabulary == saved.vocabulary and info.vocabulary.size == 33
    assert info.model.vocab_size == 33 and info.train["data"]["tokens"]["kind"] == "sentencepiece"
    assert saved.model == train_tokenizer(PHRASES, 32).model  # trained on the transcripts
    with pytest.raises(ConfigError, match="fine-tuning a piece model keeps its tokenizer"):
        train(speech_corpus / "train.jsonl", speech_corpus / "train.jsonl", piece_run.parent / "x",
              train_config=TrainConfig(finetune={"init": str(piece_run)},
                                       data={"tokens": {"kind": "sentencepiece"}}))


def test_resume_reuses_the_tokenizer_and_refuses_a_replaced_one(piece_run, tmp_path):
    import shutil

    from edgeasr.runs import RunDirectory
    from edgeasr.training.trainer import train

    copy = tmp_path / "run"
    shutil.copytree(piece_run, copy)
    saved = (copy / TOKENIZER_FILE).read_bytes()
    result = train(None, None, copy, train_config=TrainConfig(epochs=2), resume=True,
                   echo=lambda _: None, verbose=0)
    assert result.epochs_done == 2 and (copy / TOKENIZER_FILE).read_bytes() == saved
    assert RunDirectory(copy).read_info().vocabulary == Tokenizer(saved).vocabulary
    train_tokenizer(PHRASES, 30).save(copy / TOKENIZER_FILE)
    with pytest.raises(DataError, match="does not match"):
        train(None, None, copy, train_config=TrainConfig(epochs=3), resume=True,
              echo=lambda _: None, verbose=0)


def test_export_carries_pieces_and_tokenizer(piece_run, piece_tflite):
    from edgeasr_device.artifact import PIECES_FORMAT_VERSION, read_metadata

    meta = read_metadata(piece_tflite)
    assert meta.format_version == PIECES_FORMAT_VERSION and meta.vocabulary.kind == "pieces"
    tokenizer = Tokenizer.from_metadata(meta.tokenizer, str(piece_tflite))
    assert tokenizer.model == (piece_run / TOKENIZER_FILE).read_bytes()
    assert meta.vocabulary == tokenizer.vocabulary


def test_device_transcribes_with_the_piece_list(piece_tflite, speech_corpus):
    from edgeasr_device.audio import load_audio
    from edgeasr_device.decoding import greedy_ids
    from edgeasr_device.recognizer import Recognizer

    recognizer = Recognizer(piece_tflite)
    audio = load_audio(speech_corpus / "utt0.wav", recognizer.sample_rate)
    result = recognizer.transcribe(audio, sample_rate=recognizer.sample_rate)
    ids = greedy_ids(recognizer.utterance_log_probs(audio), 0)
    assert result.text == recognizer.vocabulary.decode(ids)
    assert result.text == " ".join(w.text for w in result.words)
    assert W not in result.text


def test_evaluate_reports_ter_for_runs_and_exports(piece_run, piece_tflite, speech_corpus):
    from click.testing import CliRunner

    from edgeasr.cli import main
    from edgeasr.evaluation.evaluate import evaluate

    manifest = speech_corpus / "train.jsonl"
    tokenizer = Tokenizer.load(piece_run / TOKENIZER_FILE)
    for model in (piece_run, piece_tflite):
        report = evaluate(model, manifest)
        rows = report.utterances
        edits, tokens = token_edits([tokenizer.score_ids(r["reference"]) for r in rows],
                                    [tokenizer.score_ids(r["hypothesis"]) for r in rows])
        assert report.rates.tokens == tokens == sum(len(tokenizer(p)) for p in PHRASES)
        assert report.rates.ter == pytest.approx(edits / tokens)
        assert all(r["ter"] is not None for r in rows)
        assert report.to_dict()["ter"] == report.rates.ter
    result = CliRunner().invoke(main, ["evaluate", "--model", str(piece_tflite),
                                       "--manifest", str(manifest)])
    assert result.exit_code == 0, result.output
    assert f"TER {100 * report.rates.ter:.2f}%" in result.output


def test_train_cli_tokens_flag(speech_corpus, tmp_path):
    from click.testing import CliRunner

    from edgeasr.cli import main

    manifest = str(speech_corpus / "train.jsonl")
    args = ["train", "--train", manifest, "--dev", manifest, "--out", str(tmp_path / "r"),
            "--preset", "tiny"]
    result = CliRunner().invoke(main, [*args, "--tokens", "sentencepiece:5"])
    assert result.exit_code != 0 and "raise it to at least" in result.output
    result = CliRunner().invoke(main, [*args, "--tokens", "sentencepiece:lots"])
    assert result.exit_code != 0 and "SIZE must be a whole number" in result.output
    assert not (tmp_path / "r" / "run.json").exists()


def test_fine_tuning_a_piece_model_copies_its_tokenizer(piece_run, tmp_path):
    from edgeasr.errors import RunError
    from edgeasr.runs import RunDirectory
    from edgeasr.training.tokens import run_encoder

    vocabulary = RunDirectory(piece_run).read_info().vocabulary
    for n, init in enumerate((piece_run, piece_run / "checkpoints" / "best")):
        encoder = run_encoder(tmp_path / f"new{n}", vocabulary, init=str(init))
        assert encoder.vocabulary == vocabulary
        assert (tmp_path / f"new{n}" / TOKENIZER_FILE).read_bytes() == \
            (piece_run / TOKENIZER_FILE).read_bytes()
    with pytest.raises(RunError, match="no tokenizer.model"):
        run_encoder(tmp_path / "other", vocabulary, init=str(tmp_path / "new0" / "nothing"))
    # a distributed run's other processes encode with it but leave the run folder to process 0
    quiet = run_encoder(tmp_path / "worker", vocabulary, init=str(piece_run), write=False)
    assert quiet.vocabulary == vocabulary and not (tmp_path / "worker" / TOKENIZER_FILE).exists()
