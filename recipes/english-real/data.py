"""The english-real recipe's manifest steps (run by run.sh; each step is one subcommand).

  texts OUT.txt LJSPEECH.txt HA.txt [MAX_WORDS]
      the synthetic corpus's sentence file: LJSpeech sentences of at most MAX_WORDS words
      (default 20) followed by Home Assistant's command sentences.
  synth-config OUT.yaml TEXT_FILE NUM_TRAIN SEED [ENGINE ...]
      the `corpus:` YAML for `edgeasr prepare synthetic`, with only the engines that are
      installed (the others are named on stderr as skipped).
  fsdd-split PREPARED_DIR OUT_DIR
      FSDD by recording index: 5-9 of every speaker -> dev.jsonl, 10-49 -> train.jsonl
      (the prepared dir's own speaker-disjoint split is undone).
  digit-strings FSDD.jsonl OUT_DIR [COUNT] [SEED] [NAME]
      connected digit strings (3-7 digits, one voice each) glued from the FSDD recordings of
      FSDD.jsonl with short pauses: OUT_DIR/NAME/*.wav + OUT_DIR/NAME.jsonl (NAME default
      digits_dev). From held-out recordings for the dev set; from the training recordings
      (another NAME and seed) for training.
  nonspeech NOISE_DIR OUT_DIR [COUNT] [SEED] [HELD_OUT]
      non-speech examples from the noise recordings: each recording is cut in two, its
      first part (1 - HELD_OUT, default 0.7) -> OUT_DIR/noise_train/ (the augmentation's
      noise folder) and COUNT (default 300) clips of 0.5-6 s with random gain (a tenth of
      them near-silence or zeros instead, a tenth white noise) -> OUT_DIR/nonspeech_train.jsonl
      with empty text (the model learns to emit nothing there); its last part ->
      consecutive 3 s clips in OUT_DIR/nonspeech_dev.jsonl, for benchmarks/nonspeech.py.
  combine OUT.jsonl IN.jsonl[xN] ...
      concatenate manifests (absolute audio paths); `xN` repeats a manifest N times.
  stage-config CONFIG.yaml OUT.yaml EPOCHS
      the training YAML of a warm-restart stage: CONFIG's `train:` section with EPOCHS
      epochs and without `preset:`/`model:` (the model comes from the previous stage).
  exported OUT.json STAGE CHECKPOINT
      which checkpoint of run.sh's OUT_DIR/STAGE the int8 file was exported from, and, for
      an average (`edgeasr average`), the checkpoints it is the mean of: for card.py.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import numpy as np

from edgeasr.data.manifest import Utterance, read_manifest, write_manifest

FSDD_NAME = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)$")
DEV_INDICES = range(5, 10)
SAMPLE_RATE = 16000


def texts(out: str, ljspeech: str, ha: str, max_words: str = "20") -> None:
    limit = int(max_words)
    lj = [line.strip() for line in Path(ljspeech).read_text(encoding="utf-8").splitlines()
          if line.strip() and len(line.split()) <= limit]
    commands = [line.strip() for line in Path(ha).read_text(encoding="utf-8").splitlines()
                if line.strip()]
    Path(out).write_text("\n".join(lj + commands) + "\n", encoding="utf-8")
    print(f"{len(lj)} LJSpeech sentences (<= {limit} words) + {len(commands)} Home Assistant "
          f"sentences -> {out}")


def synth_config(out: str, text_file: str, num_train: str, seed: str, *engines: str) -> None:
    from edgeasr.synth.engines import ENGINES, available_engines, get_engine

    status = available_engines()
    wanted = engines or tuple(status)
    usable = [name for name in wanted if status.get(name) == "ok"]
    for name in wanted:
        if name not in usable:
            print(f"skipping TTS engine {name}: {status.get(name, 'unknown engine')}",
                  file=sys.stderr)
    voices, test_voices = {}, {}
    for name in usable:
        if name == "espeak":
            continue
        spec, installed = ENGINES[name], set(get_engine(name).voices())
        train = [v for v in spec.train_voices if v in installed]
        held = [v for v in spec.test_voices if v in installed]
        voices[name], test_voices[name] = train or sorted(installed)[:1], held
    lines = [
        "# written by recipes/english-real/data.py synth-config (installed engines only)",
        "corpus:",
        f"  engines: [{', '.join(usable)}]",
        f"  voices: {json.dumps(voices)}",
        f"  test_voices: {json.dumps(test_voices)}",
        f"  num_train: {int(num_train)}",
        "  num_dev: 60",
        "  num_test: 0",
        f"  seed: {int(seed)}",
        f"  text_file: {Path(text_file).resolve()}",
        "  text_fraction: 0.7",
        "  digit_fraction: 0.4",
    ]
    Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"synthetic corpus: {', '.join(usable)} -> {out}")


def fsdd_split(prepared: str, out_dir: str) -> None:
    everything: list[Utterance] = []
    for name in ("train", "dev", "test"):
        path = Path(prepared) / f"{name}.jsonl"
        if path.is_file():
            everything += read_manifest(path)
    dev, train = [], []
    for utterance in everything:
        match = FSDD_NAME.match(utterance.audio_path.stem)
        index = int(match.group(3)) if match else -1
        (dev if index in DEV_INDICES else train).append(utterance)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_manifest(_absolute(train), out / "train.jsonl")
    write_manifest(_absolute(dev), out / "dev.jsonl")
    print(f"FSDD by index: train {len(train)} (indices 10-49), dev {len(dev)} (indices 5-9)")


def digit_strings(manifest: str, out_dir: str, count: str = "200", seed: str = "0",
                  name: str = "digits_dev") -> None:
    import soundfile

    from edgeasr_device.audio import load_audio

    utterances = read_manifest(manifest)
    rng = random.Random(int(seed))
    out = Path(out_dir)
    wavs = out / ("wavs" if name == "digits_dev" else name)  # the dev set's original layout
    wavs.mkdir(parents=True, exist_ok=True)
    made = []
    by_speaker: dict[str, list[Utterance]] = {}
    for utterance in utterances:
        by_speaker.setdefault(utterance.speaker or "", []).append(utterance)
    speakers = sorted(by_speaker)
    for number in range(int(count)):
        pool = by_speaker[speakers[number % len(speakers)]]  # one voice per string
        picked = [rng.choice(pool) for _ in range(rng.randint(3, 7))]
        pieces = [np.zeros(int(0.15 * SAMPLE_RATE), np.float32)]
        for utterance in picked:
            pieces.append(load_audio(utterance.audio_path, SAMPLE_RATE))
            pieces.append(np.zeros(int(rng.uniform(0.05, 0.3) * SAMPLE_RATE), np.float32))
        audio = np.concatenate(pieces)
        path = (wavs / f"digits_{number:04d}.wav").resolve()
        soundfile.write(str(path), audio, SAMPLE_RATE, subtype="PCM_16")
        made.append(Utterance(path, len(audio) / SAMPLE_RATE,
                              " ".join(u.text for u in picked), picked[0].speaker))
    write_manifest(made, out / f"{name}.jsonl")
    print(f"{len(made)} connected digit strings from {manifest} -> {out}/{name}.jsonl")


def nonspeech(noise_dir: str, out_dir: str, count: str = "300", seed: str = "0",
              held_out: str = "0.3") -> None:
    import soundfile

    from edgeasr_device.audio import load_audio

    rng = np.random.default_rng(int(seed))
    out = Path(out_dir)
    files = sorted(p for p in Path(noise_dir).iterdir()
                   if p.suffix.lower() in (".wav", ".flac", ".ogg", ".opus", ".mp3"))
    if not files:
        sys.exit(f"nonspeech: no audio files in {noise_dir}")
    train_parts, dev = [], []
    for folder in ("noise_train", "nonspeech_train", "nonspeech_dev"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for path in files:
        audio = load_audio(path, SAMPLE_RATE)
        cut = int(len(audio) * (1.0 - float(held_out)))
        train_parts.append(audio[:cut])
        soundfile.write(str(out / "noise_train" / f"{path.stem}.flac"), audio[:cut], SAMPLE_RATE)
        clip = 3 * SAMPLE_RATE
        for k, start in enumerate(range(cut, len(audio) - clip + 1, clip)):
            target = (out / "nonspeech_dev" / f"{path.stem}_{k:03d}.wav").resolve()
            soundfile.write(str(target), audio[start:start + clip], SAMPLE_RATE, subtype="PCM_16")
            dev.append(Utterance(target, 3.0, "", path.stem))
    made = []
    for number in range(int(count)):
        part = train_parts[number % len(train_parts)]
        length = min(len(part), int(rng.uniform(0.5, 6.0) * SAMPLE_RATE))
        start = int(rng.integers(0, len(part) - length + 1))
        piece = part[start:start + length]
        peak = float(np.abs(piece).max()) or 1.0
        if number % 10 == 9:  # near-silence (a quiet room) or, one time in four, digital zeros
            level = 0.0 if number % 40 == 39 else 10 ** rng.uniform(-4.5, -3.0)
            piece = rng.normal(0.0, level, length).astype(np.float32)
        elif number % 10 == 8:  # broadband hiss (a noisy microphone or line)
            piece = rng.normal(0.0, 10 ** rng.uniform(-3.0, -1.0), length).astype(np.float32)
        else:
            piece = piece * min(10 ** (rng.uniform(-20, 6) / 20), 0.95 / peak)
        target = (out / "nonspeech_train" / f"nonspeech_{number:04d}.wav").resolve()
        soundfile.write(str(target), piece.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        made.append(Utterance(target, length / SAMPLE_RATE, "", "nonspeech"))
    write_manifest(made, out / "nonspeech_train.jsonl")
    write_manifest(dev, out / "nonspeech_dev.jsonl")
    print(f"{len(made)} non-speech training clips ({sum(u.duration for u in made) / 60:.1f} "
          f"min) and {len(dev)} held-out 3 s clips from {len(files)} recordings in {noise_dir} "
          f"-> {out}/nonspeech_train.jsonl, nonspeech_dev.jsonl; noise for augmentation "
          f"-> {out}/noise_train/")


def _absolute(utterances: list[Utterance]) -> list[Utterance]:
    return [Utterance(u.audio_path.resolve(), u.duration, u.text, u.speaker, u.source, u.extra)
            for u in utterances]


def combine(out: str, *inputs: str) -> None:
    combined: list[Utterance] = []
    for item in inputs:
        repeated = re.fullmatch(r"(.+\.jsonl)x(\d+)", item)
        path, times = (repeated.group(1), int(repeated.group(2))) if repeated else (item, 1)
        combined += _absolute(read_manifest(path)) * times
    write_manifest(combined, out)
    hours = sum(u.duration for u in combined) / 3600
    print(f"{len(combined)} utterances, {hours:.2f} h -> {out}")


def stage_config(config: str, out: str, epochs: str) -> None:
    import yaml

    from edgeasr.files import atomic_write_text

    doc = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    train = dict(doc.get("train") or {})
    train["epochs"] = int(epochs)
    header = f"# a warm-restart stage of {config}: its train section, {epochs} epochs\n"
    atomic_write_text(out, header + yaml.safe_dump({"train": train}, sort_keys=False))


def exported(out: str, stage: str, checkpoint: str) -> None:
    from edgeasr.files import atomic_write_text
    from edgeasr.runs import RunDirectory, read_checkpoint_state

    root = Path(out).resolve().parent  # run.sh's OUT_DIR, which holds the stages
    folder = RunDirectory(root / stage).resolve_checkpoint(checkpoint)
    state = read_checkpoint_state(folder)
    record = {"run": stage, "checkpoint": folder.name, "epoch": state.get("epoch")}
    if "averaged" in state:  # paths under OUT_DIR as e.g. run-6/checkpoints/imported
        sources = [Path(p).resolve() for p in state["averaged"]]
        record["averaged"] = [str(p.relative_to(root)) if p.is_relative_to(root) else str(p)
                              for p in sources]
    atomic_write_text(out, json.dumps(record, indent=2) + "\n")


COMMANDS = {"stage-config": stage_config, "texts": texts, "synth-config": synth_config,
            "fsdd-split": fsdd_split, "digit-strings": digit_strings, "nonspeech": nonspeech,
            "combine": combine, "exported": exported}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
