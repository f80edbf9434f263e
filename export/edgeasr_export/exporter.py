"""``edgeasr export``: a training run -> a self-describing ``.tflite`` file for the device."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeasr import __version__
from edgeasr.data.manifest import read_manifest
from edgeasr.files import atomic_write_bytes
from edgeasr.runs import load_model
from edgeasr.text.subword import TOKENIZER_FILE, Tokenizer
from edgeasr_device.artifact import ArtifactMetadata, format_version_for, read_metadata
from edgeasr_device.audio import load_audio
from edgeasr_device.margin import check_margin
from edgeasr_export.convert import convert
from edgeasr_export.errors import ExportError
from edgeasr_export.metadata import embed_metadata
from edgeasr_export.ops import list_ops
from edgeasr_export.parity import ParityReport, check_parity


@dataclass(frozen=True)
class ExportReport:
    path: Path
    quantization: str
    size_bytes: int
    ops: tuple[str, ...]
    parity: ParityReport | None
    parameters: int


def calibration_audio(manifest: str | os.PathLike, sample_rate: int, limit: int = 64,
                      seed: int = 0) -> list[np.ndarray]:
    """Up to ``limit`` waveforms drawn evenly (seeded) from a manifest."""
    utterances = read_manifest(manifest)
    rng = np.random.default_rng(seed)
    if len(utterances) > limit:
        picks = sorted(rng.choice(len(utterances), size=limit, replace=False))
        utterances = [utterances[i] for i in picks]
    return [load_audio(u.audio_path, sample_rate) for u in utterances]


def artifact_metadata(model_config, vocabulary, quantization: str, spec=None,
                      tokenizer: Tokenizer | None = None, margin: float = 0.0) -> ArtifactMetadata:
    """What an exported file says about itself: the model config (the encoder as
    ``{"kind": ..., **options}``), vocabulary, quantisation, the streaming spec of a chunked
    graph, a piece vocabulary's SentencePiece model, and the silence margin the device
    decodes it between (seconds, :mod:`edgeasr_device.margin`)."""
    model_dict = model_config.to_dict()
    return ArtifactMetadata(
        format_version=format_version_for(vocabulary, spec is not None),
        edgeasr_version=__version__,
        vocabulary=vocabulary,
        sample_rate=model_config.frontend.sample_rate,
        frame_duration=model_config.frame_seconds,
        frontend=model_dict["frontend"],
        model=model_dict,
        quantization=quantization,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        streaming=None if spec is None else spec.to_dict(),
        tokenizer=None if tokenizer is None else tokenizer.to_metadata(),
        margin=float(margin),
    )


def export_run(
    run_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    quantization: str = "int8",
    calibration_manifest: str | os.PathLike | None = None,
    checkpoint: str = "best",
    parity_utterances: int = 16,
    streaming: bool = False,
    chunk_frames: int | None = None,
    margin: float = 0.0,
) -> ExportReport:
    """Convert, embed metadata, check parity, and write ``out_path`` atomically.

    int8 calibration audio comes from ``calibration_manifest``, else from the run's training
    manifest (many speakers and conditions: calibrating on one held-out speaker cost 7 WER
    points on another in the FSDD recipe). Parity is checked on the run's dev manifest
    (audio the calibration did not see) when it still exists.

    ``streaming``: write the chunked graph instead (:mod:`edgeasr_export.streaming`):
    ``chunk_frames`` output frames of audio plus the carried state per call; parity is then
    the chunked TFLite output against the whole-utterance Keras model.

    ``margin``: the seconds of silence the device decodes each utterance between by default
    (written into the metadata; 0: none). Parity is checked without it (same input to both).
    """
    try:
        margin = check_margin(margin)
    except ValueError as err:
        raise ExportError(f"--{err}") from err
    model, info = load_model(run_dir, checkpoint)
    sample_rate = info.model.frontend.sample_rate
    manifest = calibration_manifest or info.data.get("train")
    audio: list[np.ndarray] = []
    if manifest and Path(manifest).exists():
        audio = calibration_audio(manifest, sample_rate)
    elif quantization == "int8":
        raise ExportError(
            f"int8 export needs calibration audio and the run's training manifest ({manifest}) "
            "is gone: pass --calibration MANIFEST.jsonl"
        )
    dev = info.data.get("dev")
    parity_audio = audio
    if dev and Path(dev).exists():
        parity_audio = calibration_audio(dev, sample_rate, limit=parity_utterances)
    spec = None
    if streaming:
        from edgeasr_export.streaming import (
            DEFAULT_CHUNK_FRAMES,
            convert_streaming,
            streaming_spec,
        )

        spec = streaming_spec(info.model, chunk_frames or DEFAULT_CHUNK_FRAMES)
        content = convert_streaming(model, spec, quantization, calibration=audio)
    else:
        content = convert(model, quantization, calibration=audio)
    tokenizer = None  # a piece model carries its SentencePiece model (for TER; a few kB)
    if info.vocabulary.kind == "pieces":
        tokenizer = Tokenizer.load(Path(run_dir) / TOKENIZER_FILE)
        tokenizer.check_matches(info.vocabulary, str(run_dir))
    metadata = artifact_metadata(info.model, info.vocabulary, quantization, spec, tokenizer,
                                 margin)
    content = embed_metadata(content, metadata)
    read_metadata(content, source=str(out_path))  # the device must be able to read it back
    parity = None
    if parity_audio and spec is not None:
        from edgeasr_export.streaming import check_streaming_parity

        parity = check_streaming_parity(model, content, parity_audio[:parity_utterances],
                                        info.vocabulary)
    elif parity_audio:
        parity = check_parity(model, content, parity_audio[:parity_utterances], info.vocabulary)
    path = atomic_write_bytes(out_path, content)
    return ExportReport(
        path=path,
        quantization=quantization,
        size_bytes=len(content),
        ops=tuple(list_ops(content)),
        parity=parity,
        parameters=model.count_params(),
    )
