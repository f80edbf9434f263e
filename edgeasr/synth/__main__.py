"""``python -m edgeasr.synth [--rtf]``: which TTS engines work here, their voices and speed."""

from __future__ import annotations

import argparse

from edgeasr.synth.engines import (
    ENGINES,
    available_engines,
    get_engine,
    real_time_factor,
)


def main(argv: list[str] | None = None) -> int:
    """Print every engine's availability, rate and voice count; ``--rtf`` also times each voice."""
    parser = argparse.ArgumentParser(prog="python -m edgeasr.synth", description=main.__doc__)
    parser.add_argument("--rtf", action="store_true", help="measure a real-time factor per voice")
    args = parser.parse_args(argv)
    for name, status in available_engines().items():
        print(f"{name:9s} {status}")
        if status != "ok":
            continue
        engine = get_engine(name)
        spec = ENGINES[name]
        voices = spec.train_voices + spec.test_voices or ("en-us+m3",)
        print(f"{'':9s} {engine.sample_rate} Hz, {len(engine.voices())} voices")
        for voice in voices if args.rtf else ():
            rtf, seconds = real_time_factor(engine, voice)
            print(f"{'':9s} {voice:24s} RTF {rtf:.4f} over {seconds:.1f} s of audio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
