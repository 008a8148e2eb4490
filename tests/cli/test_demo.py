"""The demo job end to end, and the command line around it."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from kerasdl.cli.demo import run_digits_demo


@pytest.mark.slow
def test_digits_demo_end_to_end(tmp_path):
    result = run_digits_demo(str(tmp_path), epochs=8, seed=1)
    assert result["test_accuracy"] >= 0.95

    # TF Serving layout with a working serving_default signature.
    assert result["saved_model_dir"] == str(tmp_path / "digits" / "1")
    signature = tf.saved_model.load(result["saved_model_dir"]).signatures["serving_default"]
    outputs = signature(image=tf.zeros((2, 8, 8, 1)))
    (probabilities,) = outputs.values()
    np.testing.assert_allclose(probabilities.numpy().sum(axis=-1), 1.0, rtol=1e-5)
    warmup = tmp_path / "digits" / "1" / "assets.extra" / "tf_serving_warmup_requests"
    assert warmup.stat().st_size > 0

    # int8 TFLite with builtin ops only, within 2 accuracy points of Keras.
    report = result["tflite_report"]
    assert report.quantization == "int8" and not report.uses_flex
    assert abs(report.accuracy_change) <= 0.02, report
    assert os.path.getsize(tmp_path / "digits_int8.tflite") == report.size_bytes

    with open(result["picture"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_cli_without_a_command_exits_2_with_the_usage():
    # The installed entry point, once, in a fresh process: exit status and stderr.
    done = subprocess.run(
        [sys.executable, "-m", "kerasdl.cli.main"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "expected a command, got nothing" in done.stderr
    assert "demo" in done.stderr  # the usage lists the commands


def test_cli_rejects_an_unknown_command(capsys):
    from kerasdl.cli.main import main

    assert main(["kerasdl", "train"]) == 2
    err = capsys.readouterr().err
    assert "expected a command, got train" in err
    assert "demo" in err and "wakeword" in err
