"""End-to-end recipe runs through the real CLIs (prepare -> train -> export int8 -> device)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
from support import REPO, SHARED_DATA, speak

LDC_TEXT = "She had your dark suit in greasy wash water all year."


def fresh_shell_env() -> dict[str, str]:
    """The environment of a new login shell: no virtual environment on PATH.

    ``EDGEASR_VENV`` points scripts/venv.sh at the environment running these tests, so the
    recipe finds it the way a user's fresh shell finds the checkout's .venv.
    """
    return {"HOME": os.environ.get("HOME", "/tmp"), "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8", "EDGEASR_VENV": str(Path(sys.prefix)),
            "EDGEASR_CACHE": os.environ["EDGEASR_CACHE"]}


def _run_recipe(script: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                          env=fresh_shell_env(), timeout=timeout, check=False)


def test_recipe_environment_works_from_a_fresh_shell():
    """A recipe's `source env.sh` puts edgeasr, edgeasr-device and a `python` that imports
    edgeasr on PATH, although the shell started with none of them."""
    probe = ('source recipes/env.sh && command -v edgeasr && command -v edgeasr-device && '
             'python -c "import edgeasr, edgeasr_device; print(\'imports ok\')"')
    before = subprocess.run(["bash", "-c", "command -v edgeasr"], capture_output=True,
                            text=True, env=fresh_shell_env(), cwd=REPO, check=False)
    assert before.returncode != 0, "the fresh-shell PATH must not already hold edgeasr"
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True,
                            env=fresh_shell_env(), cwd=REPO, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("imports ok")
    assert result.stdout.startswith(str(Path(sys.prefix)))


def test_ldc93s1_recipe_overfits_to_an_exact_int8_transcript(tmp_path):
    """DeepSpeech's CI check, on a synthetic stand-in for the LDC93S1 utterance."""
    src = tmp_path / "src"
    src.mkdir()
    sf.write(src / "LDC93S1.wav", speak(LDC_TEXT, "en-us+m3", rate=165), 16000, subtype="PCM_16")
    (src / "LDC93S1.txt").write_text(f"0 46797 {LDC_TEXT}\n")
    out = tmp_path / "out"
    result = _run_recipe(REPO / "recipes/ldc93s1/run.sh", str(src), str(out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "got:  she had your dark suit in greasy wash water all year" in result.stdout
    model = out / "ldc93s1_int8.tflite"
    assert model.exists()
    check = subprocess.run([str(Path(sys.executable).parent / "edgeasr-device"), "transcribe",
                            "--model", str(model), str(src / "LDC93S1.wav")],
                           capture_output=True, text=True, check=True)
    assert check.stdout.strip() == "she had your dark suit in greasy wash water all year"


@pytest.mark.slow
def test_ldc93s1_recipe_on_the_real_utterance(tmp_path):
    src = SHARED_DATA / "ldc93s1"
    if not (src / "LDC93S1.wav").exists():
        pytest.skip(f"{src} is absent (real LDC93S1 sample from ../shared/data)")
    result = _run_recipe(REPO / "recipes/ldc93s1/run.sh", str(src), str(tmp_path / "out"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "OK: the int8 model transcribes LDC93S1 exactly" in result.stdout


def test_english_real_stage_config_keeps_the_train_section_without_the_model(tmp_path):
    """A warm-restart stage fine-tunes the previous stage's model: its YAML must not name a
    preset (``edgeasr train --init`` refuses one) and keeps every training option."""
    import yaml

    config = tmp_path / "config.yaml"
    config.write_text("preset: small\nmodel: {encoder: {dropout: 0.2}}\n"
                      "train: {epochs: 3, seed: 4, optim: {learning_rate: 0.003}}\n")
    out = tmp_path / "run-2.yaml"
    subprocess.run([sys.executable, str(REPO / "recipes/english-real/data.py"), "stage-config",
                    str(config), str(out), "9"], check=True, capture_output=True)
    doc = yaml.safe_load(out.read_text())
    assert doc == {"train": {"epochs": 9, "seed": 4, "optim": {"learning_rate": 0.003}}}


def test_english_real_export_record_names_an_average_and_its_sources(tmp_path):
    """run.sh records which checkpoint it exported (for card.py): the best epoch by default,
    or with AVERAGE=N the average and the checkpoints it is the mean of, under OUT_DIR."""
    out = tmp_path / "out"

    def checkpoint(run: str, name: str, state: dict) -> Path:
        folder = out / run / "checkpoints" / name
        folder.mkdir(parents=True)
        (folder / "model.weights.h5").write_bytes(b"")
        (folder / "state.json").write_text(json.dumps(state))
        return folder

    init = checkpoint("run-6", "imported", {"epoch": 0, "step": 0})
    epochs = [checkpoint("run-7", f"epoch-000{k}", {"epoch": k}) for k in (1, 2)]
    checkpoint("run-7", "best", {"epoch": 2})
    checkpoint("run-7", "average", {"epoch": 2, "averaged": [str(init), *map(str, epochs)]})
    (out / "run-7" / "state.json").write_text(json.dumps({"last": "epoch-0002", "best": 2}))

    def record(name: str) -> dict:
        subprocess.run([sys.executable, str(REPO / "recipes/english-real/data.py"), "exported",
                        str(out / "export.json"), "run-7", name], check=True, capture_output=True)
        return json.loads((out / "export.json").read_text())

    assert record("best") == {"run": "run-7", "checkpoint": "best", "epoch": 2}
    assert record("average") == {
        "run": "run-7", "checkpoint": "average", "epoch": 2,
        "averaged": ["run-6/checkpoints/imported", "run-7/checkpoints/epoch-0001",
                     "run-7/checkpoints/epoch-0002"]}


def test_english_real_digit_strings_glue_one_voice_per_string(tmp_path):
    """Training digit strings come from the training recordings under their own name; each
    string is one speaker's recordings in order, its duration the written file's."""
    import json

    import numpy as np
    import soundfile

    lines = []
    for speaker in ("jackson", "theo"):
        for digit, word in enumerate(("zero", "one", "two")):
            path = tmp_path / f"{digit}_{speaker}_12.wav"
            soundfile.write(str(path), np.full(1600 * (digit + 1), 0.1, np.float32), 16000)
            lines.append(json.dumps({"audio_filepath": str(path), "duration": 0.1 * (digit + 1),
                                     "text": word, "speaker": speaker}))
    manifest = tmp_path / "train.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    subprocess.run([sys.executable, str(REPO / "recipes/english-real/data.py"), "digit-strings",
                    str(manifest), str(tmp_path / "digits"), "6", "1", "digits_train"],
                   check=True, capture_output=True)
    made = [json.loads(line) for line in
            (tmp_path / "digits/digits_train.jsonl").read_text().splitlines()]
    assert len(made) == 6 and {m["speaker"] for m in made} == {"jackson", "theo"}
    for item in made:
        words = item["text"].split()
        assert 3 <= len(words) <= 7 and set(words) <= {"zero", "one", "two"}
        audio = tmp_path / "digits" / item["audio_filepath"]  # relative to the manifest
        assert audio.parent == tmp_path / "digits/digits_train"
        assert abs(soundfile.info(str(audio)).duration - item["duration"]) < 1e-3


def test_english_real_nonspeech_clips_keep_the_held_out_part_of_each_recording(tmp_path):
    """Training clips (empty text) and the augmentation's noise come from the first 70% of
    each noise recording; the held-out clips are the rest, cut in 3 s pieces."""
    import numpy as np
    import soundfile

    from edgeasr.data.manifest import read_manifest

    noise = tmp_path / "noise"
    noise.mkdir()
    ramps = {}
    for name, seconds in (("boiler", 20), ("fan", 12)):
        ramps[name] = np.linspace(-0.5, 0.5, seconds * 16000).astype(np.float32)
        soundfile.write(str(noise / f"{name}.flac"), ramps[name], 16000)
    out = tmp_path / "ns"
    subprocess.run([sys.executable, str(REPO / "recipes/english-real/data.py"), "nonspeech",
                    str(noise), str(out), "20", "3"], check=True, capture_output=True)
    train = read_manifest(out / "nonspeech_train.jsonl")
    dev = read_manifest(out / "nonspeech_dev.jsonl")
    assert len(train) == 20 and all(u.text == "" for u in train + dev)
    assert all(0.5 <= u.duration <= 6.0 for u in train)
    assert len(dev) == 2 + 1  # 6 s and 3.6 s held out: 3 s clips
    for name, ramp in ramps.items():
        kept, _ = soundfile.read(str(out / "noise_train" / f"{name}.flac"), dtype="float32")
        assert kept.size == int(ramp.size * 0.7) and kept.max() < ramp[int(ramp.size * 0.7) + 100]
    for utterance in dev:  # every held-out sample is later in its ramp than the kept part
        audio, _ = soundfile.read(str(utterance.audio_path), dtype="float32")
        ramp = ramps[utterance.speaker]
        assert audio.min() > ramp[int(ramp.size * 0.7) - 100]  # (16-bit files: 100 samples)
    quiet = [soundfile.read(str(u.audio_path))[0] for u in train[9::10]]
    assert all(np.abs(q).max() < 0.01 for q in quiet)  # the near-silent tenth
    hiss = [soundfile.read(str(u.audio_path))[0] for u in train[8::10]]
    assert all(abs(h.mean()) < 0.01 and h.std() > 0.0005 for h in hiss)  # white noise


def test_synthetic_dev_voices_are_held_out_of_the_demo_and_load(tmp_path):
    """recipes/synthetic/dev_voices.yaml: voices for choosing decoding settings, none of
    them heard in the demo's training or used by its tests; it builds a corpus."""
    import yaml

    from edgeasr.synth.corpus_config import SyntheticCorpusConfig

    path = REPO / "recipes" / "synthetic" / "dev_voices.yaml"
    held_out = SyntheticCorpusConfig(**yaml.safe_load(path.read_text())["corpus"])
    demo = yaml.safe_load((REPO / "recipes" / "synthetic" / "config.yaml").read_text())["corpus"]
    demo = SyntheticCorpusConfig(**demo)
    assert not set(held_out.train_variants) & set(demo.train_variants + demo.test_variants)
    assert held_out.train_accents == demo.train_accents
    small = dict(yaml.safe_load(path.read_text())["corpus"], num_train=3)
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump({"corpus": small}))
    result = subprocess.run([sys.executable, "-m", "edgeasr.cli", "prepare", "synthetic",
                             "--config", str(config), "--out", str(tmp_path / "out")],
                            check=False, capture_output=True, text=True, cwd=REPO,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").open()]
    assert len(rows) == 3
    assert all(row["speaker"].split("+")[1] in held_out.train_variants for row in rows)


def test_english_real_card_counts_the_stages_behind_an_imported_stage(tmp_path):
    """A stage that `edgeasr import` wrote from the packaged model stands for that model's
    stages in the new card; one from an unknown file is listed with epochs unknown."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("card", REPO / "recipes/english-real/card.py")
    card = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(card)
    out, dest = tmp_path / "out", tmp_path / "models"
    for name, history, sha in (("run-3", [], "abc"), ("run-4", [{}, {}, {}], None)):
        (out / name).mkdir(parents=True)
        (out / name / "state.json").write_text(json.dumps({"history": history}))
        if sha:
            (out / name / "imported.json").write_text(json.dumps({"sha256": sha}))
    stages = [out / "run-3", out / "run-4"]
    unknown = card.stage_list(stages, dest)
    assert unknown == [{"run": "run-3", "epochs": None, "imported_sha256": "abc"},
                       {"run": "run-4", "epochs": 3}]
    dest.mkdir()
    (dest / "en-starter.json").write_text(json.dumps(
        {"sha256": "abc", "stages": [{"run": "run", "epochs": 3}, {"run": "run-2", "epochs": 10}]}))
    assert card.stage_list(stages, dest) == [{"run": "run", "epochs": 3},
                                             {"run": "run-2", "epochs": 10},
                                             {"run": "run-4", "epochs": 3}]
    # packaged again from the same imported stage: the file it names is now an ancestor
    (dest / "en-starter.json").write_text(json.dumps(
        {"sha256": "def", "stages": [{"run": "x", "epochs": 1}],
         "ancestors": {"abc": [{"run": "run", "epochs": 3}, {"run": "run-2", "epochs": 10}]}}))
    assert card.stage_list(stages, dest)[:2] == [{"run": "run", "epochs": 3},
                                                 {"run": "run-2", "epochs": 10}]
    assert card.lineage(dest) == {"abc": [{"run": "run", "epochs": 3}, {"run": "run-2", "epochs": 10}],
                                  "def": [{"run": "x", "epochs": 1}]}
