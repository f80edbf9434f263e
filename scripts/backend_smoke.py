"""Train the tiny preset on four synthetic phrases with the Keras backend of your choice.

    KERAS_BACKEND=jax python scripts/backend_smoke.py      # or torch, tensorflow

Checks the whole training path (shard cache, 2 loader worker processes, CTC, checkpoints,
dev WER) without TensorFlow on JAX/PyTorch: prints whether TensorFlow was imported and
exits non-zero unless the dev WER reaches 0 within 60 epochs. Needs the backend installed
(`pip install jax` or `pip install torch`); not part of the test suite.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time


def main() -> int:
    import keras
    import soundfile as sf

    from edgeasr.models.presets import get_preset
    from edgeasr.synth.render import synthesize_utterance
    from edgeasr.training.config import TrainConfig
    from edgeasr.training.trainer import train

    folder = tempfile.mkdtemp(prefix="edgeasr-backend-")
    os.environ.setdefault("EDGEASR_CACHE", os.path.join(folder, "cache"))
    phrases = ["turn on the kitchen lights", "open the garage door", "set an alarm for seven",
               "play some music"]
    lines = []
    for i, text in enumerate(phrases):
        audio = synthesize_utterance(text, "en-us+m3")
        sf.write(os.path.join(folder, f"u{i}.wav"), audio, 16000)
        lines.append(json.dumps({"audio_filepath": f"u{i}.wav", "duration": len(audio) / 16000,
                                 "text": text}))
    manifest = os.path.join(folder, "m.jsonl")
    with open(manifest, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    started = time.time()
    result = train(manifest, manifest, os.path.join(folder, "run"), get_preset("tiny"),
                   TrainConfig(epochs=60, batch_size=4, repeat=2, loader_workers=2,
                               learning_rate=3e-3, warmup_epochs=1, weight_decay=0.0,
                               stop_at_dev_wer=0.0),
                   verbose=0, echo=lambda line: None)
    print(f"backend {keras.backend.backend()}: dev WER {result.best_dev_wer:.3f} after "
          f"{result.epochs_done} epochs, {time.time() - started:.0f} s; "
          f"tensorflow imported: {'tensorflow' in sys.modules}")
    return 0 if result.best_dev_wer == 0.0 else 1


if __name__ == "__main__":  # worker processes re-import this file: keep the guard
    sys.exit(main())
