"""`kerasdl wakeword` on a logit-output streaming file (`trigger_word_streaming(output=
"logit")`): `--threshold` stays a probability, compared in logit space; the detections
against the full-clip Keras model's probabilities run through the detector here, the
printed lines, and the threshold range error."""

import io

import numpy as np
import pytest

from kerasdl.cli.wakeword import WakeWordDetector, command, run_wakeword
from kerasdl.data.audio import write_wav
from kerasdl.export.tflite import tflite
from kerasdl.models.trigger_word import trigger_word_streaming
from kerasdl.verification.wakeword import detection_steps
from tests.models.trigger_word_helpers import full_clip_probabilities, small_model, speech_like

SR = 16000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small full-clip model (batch norm off the identity) and the float TFLite files of
    its streaming form with each output (two steps per call)."""
    model = small_model()
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for output in ("probability", "logit"):
        paths[output] = str(folder / f"{output}.tflite")
        tflite(trigger_word_streaming(model, chunk_samples=1280, output=output), paths[output])
    return model, paths


def test_logit_file_fires_where_the_probability_reaches_the_threshold(files, tmp_path):
    model, paths = files
    audio = speech_like(5.0, seed=3)
    wav = tmp_path / "input.wav"
    write_wav(wav, audio, SR, dtype="float32")
    detector = WakeWordDetector(paths["logit"])
    assert detector.output == "logit"
    assert WakeWordDetector(paths["probability"]).output == "probability"
    p, times = full_clip_probabilities(model, audio)
    logits, logit_times = detector.scores(audio)
    np.testing.assert_allclose(logit_times, times)
    np.testing.assert_allclose(logits, np.log(p / (1 - p)), atol=1e-3)
    probabilities, _ = detector.probabilities(audio)
    np.testing.assert_allclose(probabilities, p, atol=1e-5)
    sizes = []
    for threshold in (0.0, float(np.quantile(p, 0.6)), float(np.quantile(p, 0.9)), 1.0):
        expected = np.minimum(times[detection_steps(p, times, threshold, 1.0)], audio.size / SR)
        printed = io.StringIO()
        detections = run_wakeword(detector, wav, threshold=threshold, stream=printed)
        np.testing.assert_allclose(detections, expected, atol=1e-9)
        lines = printed.getvalue().splitlines()
        t = np.log(threshold / (1 - threshold)) if 0 < threshold < 1 else None
        if t is not None:
            assert f"threshold {threshold:g} (logit {t:.3f})," in lines[0]
        for line, time in zip(lines[1:-1], expected, strict=True):
            step = int(np.flatnonzero(np.isclose(times, time))[0]) if time in times else None
            assert line.startswith(f"wake word at {time:.2f} s (p = "), line
            if step is not None:
                assert line.endswith(f"logit = {logits[step]:.3f})"), line
        assert lines[-1].startswith(f"{expected.size} detection")
        sizes.append(expected.size)
    # 0 fires once a second (the refractory period), 1 never (p < 1 everywhere).
    assert sizes[0] >= 4 and sizes[0] >= sizes[1] >= sizes[2] > 0 and sizes[3] == 0, sizes


def test_threshold_outside_0_1_is_one_line_error(files, tmp_path):
    _, paths = files
    wav = tmp_path / "input.wav"
    write_wav(wav, speech_like(2.0), SR)
    for path in paths.values():
        err = io.StringIO()
        assert command([str(wav)], path, None, 1.5, stream=io.StringIO(), errors=err) == 2
        assert err.getvalue() == (
            "kerasdl wakeword: `--threshold` must be a probability in [0, 1]. "
            "Received: --threshold=1.5\n"
        )
