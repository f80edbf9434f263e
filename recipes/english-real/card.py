"""Package the english-real model as edgeasr-device's starter model, with its card.

Usage: python card.py OUT_DIR [DEST_DIR]

Copies OUT_DIR/en-starter.tflite to DEST_DIR (default device/edgeasr_device/models) and
writes DEST_DIR/en-starter.json: the file's sha256, the preset, the epochs trained, the
frame duration, and the dev WER/CER per source from OUT_DIR/wer_greedy.json and wer_lm.json
(the reports `recipes/english-real/run.sh` writes), with the silence margin they were decoded
with. The device tests pin the model to it.

A stage written by `edgeasr import` (imported.json: the starter model itself, when the
earlier stages' checkpoints are gone) stands for the stages of the file whose sha256 it
names: the packaged card's own, or one of the earlier packaged files its `ancestors` keep
(sha256 -> stages), so the card still counts every epoch behind the model after several
packagings from one imported stage.

OUT_DIR/export.json (run.sh writes it) says which checkpoint of the last stage was exported:
its best epoch, or with `AVERAGE=N` the mean of several checkpoints (`edgeasr average`),
which the card then lists under `exported`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from edgeasr_device import read_metadata

SOURCES = {"so762/dev.jsonl": "speechocean762_dev", "fsdd/dev.jsonl": "fsdd_dev",
           "digits/digits_dev.jsonl": "fsdd_digit_strings_dev"}
MAX_BYTES = 5 * 1024 * 1024


def rates(report_path: Path) -> dict[str, dict[str, float]]:
    reports = json.loads(report_path.read_text(encoding="utf-8"))
    found = {}
    for report in reports if isinstance(reports, list) else [reports]:
        for suffix, name in SOURCES.items():
            if report["manifest"].endswith(suffix):
                found[name] = {"wer": round(report["wer"], 4), "cer": round(report["cer"], 4),
                               "utterances": len(report["utterances"])}
    return found


def lineage(dest: Path) -> dict[str, list[dict]]:
    """sha256 -> stages of every file packaged in ``dest`` so far: the card's own file and
    its ``ancestors``; empty without a card."""
    old = dest / "en-starter.json"
    card = json.loads(old.read_text(encoding="utf-8")) if old.is_file() else {}
    known = dict(card.get("ancestors", {}))
    if "sha256" in card:
        known[card["sha256"]] = card["stages"]
    return known


def stage_list(stages: list[Path], dest: Path) -> list[dict]:
    """``{"run", "epochs"}`` per stage, oldest first; an imported stage expands to the
    stages of the packaged card it came from (or, without that card, says what it was)."""
    listed, known = [], lineage(dest)
    for d in stages:
        state = json.loads((d / "state.json").read_text(encoding="utf-8"))
        imported = d / "imported.json"
        if not imported.is_file():
            listed.append({"run": d.name, "epochs": len(state.get("history", []))})
            continue
        sha = json.loads(imported.read_text(encoding="utf-8"))["sha256"]
        if sha in known:
            listed.extend(known[sha])
        else:
            listed.append({"run": d.name, "epochs": None, "imported_sha256": sha})
    return listed


def main(argv: list[str]) -> int:
    out = Path(argv[1])
    dest = Path(argv[2]) if len(argv) > 2 else (
        Path(__file__).resolve().parents[2] / "device" / "edgeasr_device" / "models")
    model = out / "en-starter.tflite"
    if model.stat().st_size > MAX_BYTES:
        sys.exit(f"{model} is {model.stat().st_size} bytes, over the 5 MB the package allows")
    metadata = read_metadata(model)
    stages = [d for d in [out / "run", *(out / f"run-{k}" for k in range(2, 100))]
              if (d / "run.json").is_file()]  # run.sh's warm-restart stages, oldest first
    run = json.loads((stages[-1] / "run.json").read_text(encoding="utf-8"))
    state = json.loads((stages[-1] / "state.json").read_text(encoding="utf-8"))
    listed = stage_list(stages, dest)
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    ancestors = {k: v for k, v in lineage(dest).items() if k != sha}
    greedy, lm = rates(out / "wer_greedy.json"), rates(out / "wer_lm.json")
    reports = json.loads((out / "wer_greedy.json").read_text(encoding="utf-8"))
    margin = (reports[0] if isinstance(reports, list) else reports).get("margin", 0.0)
    exported_path = out / "export.json"
    exported = (json.loads(exported_path.read_text(encoding="utf-8"))
                if exported_path.is_file() else {"run": stages[-1].name, "checkpoint": "best"})
    card = {
        "name": "en-starter",
        "recipe": "recipes/english-real",
        "sha256": sha,
        "bytes": model.stat().st_size,
        "preset": run.get("preset") or metadata.model.get("name", "small"),
        "quantization": metadata.quantization,
        "frame_duration": metadata.frame_duration,
        "epochs_trained": sum(s["epochs"] or 0 for s in listed),
        "stages": listed,
        # the last stage's best epoch, the exported checkpoint unless `exported` lists an average
        "best_epoch": state.get("best"),
        "exported": exported,  # {"run", "checkpoint", "epoch"[, "averaged": [checkpoints]]}
        "dev_wer": {name: {"greedy": greedy[name]["wer"], "greedy_cer": greedy[name]["cer"],
                           "lm": lm.get(name, {}).get("wer"),
                           "utterances": greedy[name]["utterances"]}
                    for name in greedy},
        "decoding_lm": "beam 32 + 3-gram LM of the training text (edgeasr lm build --order 3)",
        "margin": margin,  # seconds of silence decoded around each utterance (0: none)
        "ancestors": ancestors,  # earlier packaged files: sha256 -> their stages
    }
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, dest / "en-starter.tflite")
    (dest / "en-starter.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(card, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
