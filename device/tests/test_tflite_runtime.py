"""The tflite-runtime fallback, in its own environment: numpy < 2, tflite-runtime 2.14, the
device package, and no ai-edge-litert (built by scripts/tflite_runtime_env.sh into a cache
folder outside the repository).

The environment is built when ``EDGEASR_BUILD_TFLITE_RUNTIME=1`` (needs PyPI the first time)
or beforehand by running the script; otherwise these tests skip and say how to build it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgeasr_device import Recognizer

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "tflite_runtime_env.sh"
FIXTURES = REPO / "tests" / "fixtures" / "legacy_v1"
#: Largest |log-prob difference| accepted between tflite-runtime 2.14 and LiteRT on the same
#: float32 model and input (both run XNNPACK's float kernels; measured: about 2e-6).
TOLERANCE = 1e-4

#: The device tests that run in the fallback environment (those that need no optional extra).
FALLBACK_TESTS = ["test_model.py", "test_recognizer.py", "test_untrusted_models.py",
                  "test_greedy.py", "test_audio.py", "test_vocab.py", "test_isolation.py"]


@pytest.fixture(scope="module")
def runtime_python() -> Path:
    if not SCRIPT.is_file():
        pytest.skip(f"needs the repository's {SCRIPT.name}")
    env = dict(os.environ)
    if os.environ.get("EDGEASR_BUILD_TFLITE_RUNTIME") != "1":
        env["EDGEASR_OFFLINE"] = "1"  # use a built environment, never download here
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env,
                            timeout=900, check=False)
    if result.returncode != 0:
        pytest.skip("the tflite-runtime environment is not built; build it with "
                    "`bash scripts/tflite_runtime_env.sh` (PyPI needed once) or set "
                    f"EDGEASR_BUILD_TFLITE_RUNTIME=1 ({result.stderr.strip()[-300:]})")
    return Path(result.stdout.strip().splitlines()[-1]) / "bin" / "python"


def _this_checkout() -> dict[str, str]:
    """The environment for the fallback's processes: ``edgeasr_device`` from this checkout.
    The cached environment's own (editable) install points at whichever checkout built it,
    which may be another one, or gone."""
    path = os.pathsep.join([str(REPO / "device"), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**os.environ, "PYTHONPATH": path}


_TRANSCRIBE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import edgeasr_device
    from edgeasr_device import Recognizer
    from edgeasr_device.interpreter import interpreter_class
    try:
        import ai_edge_litert  # noqa: F401
        litert = True
    except ImportError:
        litert = False
    model, audio, out = sys.argv[1:4]
    recognizer = Recognizer(model)
    samples = np.load(audio).reshape(-1)
    log_probs = recognizer.log_probs(samples)
    np.save(out, log_probs)
    print(json.dumps({"interpreter": interpreter_class()[1], "numpy": np.__version__,
                      "litert": litert, "text": recognizer.decode(log_probs).text,
                      "package": edgeasr_device.__file__}))
""")


def test_transcription_matches_litert(runtime_python, tmp_path):
    model, audio = FIXTURES / "tiny-float32.tflite", FIXTURES / "input.npy"
    out = tmp_path / "log_probs.npy"
    result = subprocess.run([str(runtime_python), "-c", _TRANSCRIBE, str(model), str(audio),
                             str(out)], capture_output=True, text=True, timeout=300,
                            check=False, env=_this_checkout())
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["package"]).resolve().is_relative_to(REPO / "device")  # this code
    assert report["interpreter"] == "tflite-runtime" and not report["litert"]
    assert int(report["numpy"].split(".")[0]) < 2
    fallback = np.load(out)
    litert = Recognizer(model)
    reference = litert.log_probs(np.load(audio).reshape(-1))
    assert fallback.shape == reference.shape
    assert float(np.abs(fallback - reference).max()) <= TOLERANCE
    assert report["text"] == litert.decode(reference).text


def test_device_tests_pass_on_tflite_runtime(runtime_python):
    tests = [str(REPO / "device" / "tests" / name) for name in FALLBACK_TESTS]
    result = subprocess.run([str(runtime_python), "-m", "pytest", "-q", "-x", "-p",
                             "no:cacheprovider", *tests], capture_output=True, text=True,
                            cwd=REPO, timeout=900, check=False, env=_this_checkout())
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
    print(result.stdout.splitlines()[-1], file=sys.stderr)
