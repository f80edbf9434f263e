"""Fine-tuning from a trained run: full, transfer (--freeze, --new-vocabulary), LoRA; resume."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgeasr.cli import main
from edgeasr.errors import ConfigError, RunError
from edgeasr.models.adapters.lora import enable_lora, lora_layers, merge_lora
from edgeasr.models.adapters.naming import leaf_layers, named_layers
from edgeasr.runs import RunDirectory, build_model, load_model, restore_checkpoint
from edgeasr.training.config import FinetuneConfig, TrainConfig
from edgeasr.training.finetune import (
    after_restore,
    load_init,
    read_vocabulary_file,
    resume_model,
    start_model,
)
from edgeasr.training.trainer import train
from edgeasr_device.vocab import Vocabulary

LEGACY_RUN = Path(__file__).parent / "fixtures" / "legacy_v1" / "run-tiny"
PARAMS = re.compile(r"\(([\d,]+) trainable of ([\d,]+) parameters")


def _cli_train(speech_corpus, out, *options):
    manifest = str(speech_corpus / "train.jsonl")
    result = CliRunner().invoke(main, ["train", "--train", manifest, "--dev", manifest, "--out",
                                       str(out), "--epochs", "1", "--batch-size", "4", *options])
    assert result.exit_code == 0, result.output
    trainable, total = (int(n.replace(",", "")) for n in PARAMS.search(result.output).groups())
    return result.output, trainable, total


def _weights(model, prefix: str = "") -> dict[str, list[np.ndarray]]:
    return {name: [np.asarray(w).copy() for w in layer.weights]
            for name, layer in leaf_layers(model).items() if name.startswith(prefix)}


@pytest.fixture(scope="module")
def kinds(speech_corpus, tiny_run, tmp_path_factory):
    """One epoch of each kind from ``tiny_run`` through the CLI: (output, trainable, total)."""
    root = tmp_path_factory.mktemp("finetune")
    runs = {
        "full": ("--init", str(tiny_run)),
        "transfer": ("--init", str(tiny_run), "--freeze", "encoder/blocks/*",
                     "--new-vocabulary", "fr"),
        "lora": ("--init", str(tiny_run), "--lora", "2"),
    }
    return {kind: (root / kind, *_cli_train(speech_corpus, root / kind, *options))
            for kind, options in runs.items()}


def test_each_kind_prints_trainable_and_total_parameters(kinds, tiny_run):
    base, _ = load_model(tiny_run)
    total = base.count_params()
    _, full_out, full_trainable, full_total = kinds["full"]
    assert "fine-tuning (full)" in full_out
    assert full_total == total and full_trainable == sum(int(np.prod(w.shape))
                                                         for w in base.trainable_weights)
    _, out, trainable, _ = kinds["transfer"]
    assert "fine-tuning (transfer)" in out and 0 < trainable < full_trainable
    _, out, trainable, lora_total = kinds["lora"]
    assert "fine-tuning (lora)" in out and f"adapters merged): {total:,}" in out
    assert 0 < trainable < full_trainable / 4 and lora_total == total + trainable


def test_finetune_section_travels_in_run_json(kinds, tiny_run):
    for kind, (out, *_) in kinds.items():
        section = TrainConfig.from_dict(RunDirectory(out).read_info().train).finetune
        assert section.kind == kind and section.init == str(Path(tiny_run).resolve())
    info = RunDirectory(kinds["full"][0]).read_info()
    assert TrainConfig.from_dict(info.train).optim.learning_rate == pytest.approx(4e-4)
    lora = TrainConfig.from_dict(RunDirectory(kinds["lora"][0]).read_info().train).finetune
    assert lora.lora_rank == 2 and lora.freeze == ()


def test_freeze_leaves_frozen_weights_unchanged(kinds, tiny_run):
    base, _ = load_model(tiny_run)
    tuned, _ = load_model(kinds["transfer"][0], "last")
    before, after = _weights(base, "encoder/blocks/"), _weights(tuned, "encoder/blocks/")
    assert before and before.keys() == after.keys()
    for name in before:  # weights, batch-norm statistics included (inference mode)
        for a, b in zip(before[name], after[name]):
            np.testing.assert_array_equal(a, b, err_msg=name)
    prologue = zip(_weights(base, "encoder/prologue")["encoder/prologue"],
                   _weights(tuned, "encoder/prologue")["encoder/prologue"])
    assert any(not np.array_equal(a, b) for a, b in prologue)  # not frozen: it trained


def test_new_vocabulary_keeps_the_encoder_and_resizes_the_classifier(tiny_run):
    base, _ = load_model(tiny_run)
    start = start_model(FinetuneConfig(init=str(tiny_run), new_vocabulary="fr"))
    assert start.vocabulary == Vocabulary.french() and start.config.vocab_size == 45
    assert start.finetune.kind == "transfer"
    kernel = start.model.classifier.kernel
    assert tuple(kernel.shape) == (base.classifier.kernel.shape[0], 45)
    for name, weights in _weights(base, "encoder").items():
        for a, b in zip(weights, _weights(start.model, "encoder")[name]):
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_vocabulary_file(tmp_path):
    path = tmp_path / "tokens.txt"
    path.write_text("<space>\na\nb\n'\n", encoding="utf-8")
    vocabulary = read_vocabulary_file(path)
    assert vocabulary.tokens == ("<blank>", " ", "a", "b", "'") and vocabulary.blank_index == 0
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(ConfigError, match="no tokens"):
        read_vocabulary_file(tmp_path / "empty.txt")


def test_lora_merge_equals_the_lora_model():
    model = build_model(_tiny_config(), Vocabulary.english(), seed=0)
    adapted = enable_lora(model, rank=2)
    assert "classifier" in adapted and "encoder/prologue" in adapted
    assert not any("convs" in name for name in adapted)  # separable kernels stay frozen
    rng = np.random.default_rng(0)
    for layer in lora_layers(model).values():  # as if trained: B != 0
        layer.lora_kernel_b.assign(rng.normal(0, 0.05, layer.lora_kernel_b.shape).astype("float32"))
    audio = rng.normal(0, 0.1, (1, 16000)).astype("float32")
    merged = merge_lora(model)
    assert not lora_layers(merged) and merged.count_params() < model.count_params()
    np.testing.assert_allclose(np.asarray(merged(audio)), np.asarray(model(audio)), atol=1e-5)


def test_lora_export_has_the_base_models_size_and_ops(tiny_run, kinds):
    from edgeasr_export.convert import convert
    from edgeasr_export.ops import list_ops

    base, _ = load_model(tiny_run)
    lora_model = resume_model(RunDirectory(kinds["lora"][0]).read_info(),
                              FinetuneConfig(init="x", lora_rank=2), seed=0)
    restore_checkpoint(lora_model, RunDirectory(kinds["lora"][0]).resolve_checkpoint("last"),
                       with_optimizer=False)
    after_restore(lora_model)
    assert lora_layers(lora_model)
    plain = convert(base, "float32")
    adapted = convert(lora_model, "float32")  # merges first
    assert len(adapted) == len(plain)
    assert list_ops(adapted) == list_ops(plain)
    from ai_edge_litert.interpreter import Interpreter

    def shapes(content):  # the same tensors: the same work per frame, so the same speed
        return [tuple(t["shape"]) for t in Interpreter(model_content=content).get_tensor_details()]

    assert shapes(adapted) == shapes(plain)
    from keras import ops

    audio = np.random.default_rng(1).normal(0, 0.1, (1, 16000)).astype("float32")
    interpreter = Interpreter(model_content=adapted)
    entry = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(entry, audio.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(entry, audio)
    interpreter.invoke()
    exported = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    keras_out = np.asarray(ops.log_softmax(lora_model(audio), axis=-1))
    np.testing.assert_allclose(exported, keras_out, atol=1e-3)


def test_lora_checkpoint_loads_into_the_plain_model_and_resumes_its_function(kinds):
    """Checkpoints hold merged kernels: evaluation/export load them as a plain model, and a
    resumed LoRA model computes the same (fresh adapters with B = 0)."""
    out = kinds["lora"][0]
    plain, info = load_model(out, "last")
    resumed = resume_model(info, TrainConfig.from_dict(info.train).finetune, seed=0)
    restore_checkpoint(resumed, RunDirectory(out).resolve_checkpoint("last"), with_optimizer=False)
    after_restore(resumed)
    a = next(iter(lora_layers(resumed).values()))
    assert np.abs(np.asarray(a.lora_kernel_a)).sum() > 0  # training can go on
    audio = np.random.default_rng(2).normal(0, 0.1, (1, 16000)).astype("float32")
    np.testing.assert_allclose(np.asarray(resumed(audio)), np.asarray(plain(audio)), atol=1e-5)


@pytest.mark.parametrize("kind", ["transfer", "lora"])
def test_resume_of_a_finetune_run(kinds, tiny_run, kind):
    out = kinds[kind][0]
    lines: list[str] = []
    result = train(None, None, out, train_config=TrainConfig(epochs=2), resume=True,
                   echo=lines.append, verbose=0)
    assert result.epochs_done == 2 and any("resuming" in line for line in lines)
    assert any(PARAMS.search(line) for line in lines)
    if kind == "transfer":  # still frozen after the resumed epoch
        base, _ = load_model(tiny_run)
        tuned, _ = load_model(out, "last")
        for name, weights in _weights(base, "encoder/blocks/").items():
            for a, b in zip(weights, _weights(tuned, "encoder/blocks/")[name]):
                np.testing.assert_array_equal(a, b)


def test_init_from_a_legacy_run_and_from_a_checkpoint_folder(tiny_run):
    model, info = load_init(LEGACY_RUN)
    assert info.model.name == "tiny" and model.count_params() > 0
    start = start_model(FinetuneConfig(init=str(LEGACY_RUN / "checkpoints" / "best"), lora_rank=2))
    assert start.finetune.kind == "lora" and lora_layers(start.model)
    folder = RunDirectory(tiny_run).resolve_checkpoint("best")
    model, _ = load_init(folder)
    base, _ = load_model(tiny_run)
    np.testing.assert_array_equal(np.asarray(model.classifier.kernel),
                                  np.asarray(base.classifier.kernel))
    with pytest.raises(RunError, match="not a training run"):
        load_init(folder.parent)


def test_option_combinations_are_checked():
    assert FinetuneConfig(init="r").resolved().kind == "full"
    assert FinetuneConfig(init="r", freeze=("encoder",)).resolved().kind == "transfer"
    assert FinetuneConfig(init="r", lora_rank=4).resolved().kind == "lora"
    for bad in (FinetuneConfig(freeze=("encoder",)), FinetuneConfig(init="r", kind="transfer"),
                FinetuneConfig(init="r", lora_rank=2, freeze=("x",)),
                FinetuneConfig(init="r", kind="full", new_vocabulary="fr"),
                FinetuneConfig(init="r", kind="lora")):
        with pytest.raises(ConfigError):
            bad.resolved()
    config = TrainConfig.from_dict({"finetune": {"init": "r", "freeze": ["a", "b"]}})
    assert config.finetune.freeze == ("a", "b")
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_freeze_pattern_that_matches_nothing_names_the_layers(speech_corpus, tiny_run, tmp_path):
    manifest = str(speech_corpus / "train.jsonl")
    result = CliRunner().invoke(main, ["train", "--train", manifest, "--dev", manifest, "--out",
                                       str(tmp_path / "r"), "--init", str(tiny_run),
                                       "--freeze", "encoder/nothing*"])
    assert result.exit_code == 1 and "matches no layer" in result.output
    assert "encoder/blocks/0" in result.output


def test_models_layers_lists_stable_names():
    result = CliRunner().invoke(main, ["models", "--layers", "deepspeech-tiny"])
    assert result.exit_code == 0, result.output
    assert re.search(r"encoder/lstm/cell\s+LSTMCell.*frozen: no LoRA for recurrent", result.output)
    assert re.search(r"encoder/dense/0\s+Dense.*lora", result.output)
    first = list(named_layers(build_model(_tiny_config(), Vocabulary.english())))
    second = list(named_layers(build_model(_tiny_config(), Vocabulary.english())))
    assert first == second and "encoder/blocks/1/residual" in first


def _tiny_config():
    from edgeasr.models.presets import get_preset

    return get_preset("tiny")


def test_conformer_attention_projections_take_lora_and_every_weight_is_copied():
    """Keras keeps attention's query/key/value/output projections private: they are named
    (``.../attention/query``), take LoRA adapters that merge into the export, and a copy
    between two builds carries every weight, the attention's own position biases included."""
    from edgeasr.models.adapters.naming import copy_weights, owned_weights
    from edgeasr.models.presets import get_preset

    config = get_preset("conformer-tiny")
    rng = np.random.default_rng(3)
    source = build_model(config, Vocabulary.english(), seed=0)
    for variable in source.weights:  # no zero biases left: a missed copy shows
        variable.assign(rng.normal(0, 0.05, variable.shape).astype(variable.dtype)
                        if "moving_variance" not in variable.path else np.ones(variable.shape))
    names = set(named_layers(source))
    for projection in ("query", "key", "value", "output"):
        assert f"encoder/blocks/0/attention/{projection}" in names
    assert {w.path.rsplit("/", 1)[-1] for w in owned_weights(source)["encoder/blocks/0/attention"]} \
        == {"content_bias", "position_bias"}
    target = build_model(config, Vocabulary.english(), seed=7)
    copy_weights(source, target)
    audio = rng.normal(0, 0.1, (1, 16000)).astype("float32")
    np.testing.assert_array_equal(np.asarray(target(audio)), np.asarray(source(audio)))

    adapted = enable_lora(source, rank=2)
    assert "encoder/blocks/1/attention/value" in adapted
    assert not any(w.trainable for w in owned_weights(source)["encoder/blocks/0/attention"])
    for layer in lora_layers(source).values():  # as if trained: B != 0
        layer.lora_kernel_b.assign(rng.normal(0, 0.05, layer.lora_kernel_b.shape).astype("float32"))
    merged = merge_lora(source)
    np.testing.assert_allclose(np.asarray(merged(audio)), np.asarray(source(audio)), atol=1e-4)
