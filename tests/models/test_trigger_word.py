"""trigger_word: output steps against a hand computation of the framing, streaming ==
full clip (several chunk sizes, GRU stacks and geometries), shared weights, `.keras` round
trip, a short fit that learns to fire right after a tone burst, TFLite float and int8
parity of the streaming model, and the errors."""

import os

import keras
import numpy as np
import pytest

from kerasdl.export.tflite import TFLiteModel, ops_in_flatbuffer, tflite
from kerasdl.models.trigger_word import (
    TriggerWordGeometry,
    TriggerWordStreamer,
    trigger_word,
    trigger_word_geometry,
    trigger_word_step_ends,
    trigger_word_streaming,
)
from tests.models.trigger_word_helpers import noise, predict, randomize_batch_norm

SR = 16000
SMALL = dict(filters=8, units=(8, 6))
# A second geometry: 12.5 ms frames every 5 ms, kernel 5 frames, stride 2 (10 ms steps).
OTHER_GEOMETRY = dict(frame_length=200, frame_step=80, kernel_size=5, conv_stride=2)
OTHER = dict(OTHER_GEOMETRY, fft_length=256)


def hand_step_ends(num_samples, frame_length, frame_step, kernel_size, conv_stride):
    """Step t's last sample + 1, by listing the frames and samples each step reads."""
    frames = []
    start = 0
    while start + frame_length <= num_samples:
        frames.append(range(start, start + frame_length))
        start += frame_step
    ends = []
    t = 0
    while t * conv_stride + kernel_size <= len(frames):
        window = frames[t * conv_stride : t * conv_stride + kernel_size]
        ends.append(max(max(frame) for frame in window) + 1)
        t += 1
    return np.array(ends)


# Shapes and step ends ---------------------------------------------------------------------


def test_shapes_and_layer_names():
    model = trigger_word(num_samples=SR)
    assert model.output_shape == (None, 21)
    assert [layer.name for layer in model.layers] == [
        "audio",
        "spectrogram",
        "conv",
        "conv_bn",
        "conv_relu",
        "conv_dropout",
        "gru_0",
        "gru_0_dropout",
        "gru_0_bn",
        "gru_1",
        "gru_1_dropout",
        "gru_1_bn",
        "output_dropout",
        "classifier",
        "probabilities",
    ]
    spectrogram = model.get_layer("spectrogram")
    assert (spectrogram.mel_bins, spectrogram.log) == (40, "log")
    assert model.get_layer("gru_1").cell.units == 32
    # The notes' sizes are arguments; three GRUs of different sizes.
    notes = trigger_word(filters=196, units=128)
    assert notes.get_layer("conv").filters == 196
    assert [notes.get_layer(f"gru_{i}").cell.units for i in range(2)] == [128, 128]
    three = trigger_word(units=(8, 6, 4))
    assert three.get_layer("gru_2").cell.units == 4


def test_step_ends_match_a_hand_computation_and_the_model():
    model = trigger_word(**SMALL)
    for num_samples in (2640, 2641, 3279, 3280, 16000, 23456):
        expected = hand_step_ends(num_samples, 400, 160, 15, 4)
        np.testing.assert_array_equal(trigger_word_step_ends(num_samples), expected)
        np.testing.assert_array_equal(trigger_word_step_ends(num_samples, model), expected)
        assert predict(model, noise((1, num_samples))).shape == (1, len(expected))
    assert trigger_word_step_ends(16000).dtype == np.int64


def test_step_ends_other_geometry():
    expected = hand_step_ends(5000, 200, 80, 5, 2)
    np.testing.assert_array_equal(trigger_word_step_ends(5000, **OTHER_GEOMETRY), expected)
    model = trigger_word(**SMALL, **OTHER)
    np.testing.assert_array_equal(trigger_word_step_ends(5000, model), expected)
    assert predict(model, noise((1, 5000))).shape == (1, len(expected))
    geometry = trigger_word_geometry(model)
    assert geometry == TriggerWordGeometry(200, 80, 5, 2)
    assert (geometry.receptive_field, geometry.step_samples, geometry.tail_samples) == (
        520,
        160,
        360,
    )


def test_step_t_sees_exactly_the_samples_before_its_end():
    """Causality and alignment: a click just before end(t) moves step t, a click from
    end(t) on moves no step <= t (40 samples: the window tapers to ~0 at frame edges)."""
    keras.utils.set_random_seed(0)
    model = trigger_word(**SMALL)
    randomize_batch_norm(model)
    audio = noise((1, 8000))
    ends = trigger_word_step_ends(8000, model)
    base = predict(model, audio)[0]
    for t in (0, 3, len(ends) - 2):
        inside, after = audio.copy(), audio.copy()
        inside[0, ends[t] - 40 : ends[t]] += 0.5
        after[0, ends[t] : ends[t] + 40] += 0.5
        moved = predict(model, np.concatenate([inside, after]))
        assert abs(moved[0, t] - base[t]) > 1e-6
        np.testing.assert_allclose(moved[0, :t], base[:t], atol=1e-7)
        np.testing.assert_allclose(moved[1, : t + 1], base[: t + 1], atol=1e-7)
        assert np.abs(moved[1, t + 1 :] - base[t + 1 :]).max() > 1e-6


# Streaming --------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_samples", [640, 1280, 3200])
def test_streaming_equals_full_clip(chunk_samples):
    keras.utils.set_random_seed(1)
    model = trigger_word(**SMALL)
    randomize_batch_norm(model)
    audio = noise((2, 12345), seed=1)
    full = predict(model, audio)
    streamer = TriggerWordStreamer(trigger_word_streaming(model, chunk_samples), batch_size=2)
    assert (streamer.tail_samples, streamer.step_samples) == (2000, 640)
    assert streamer.steps_per_chunk == chunk_samples // 640
    whole = streamer.run(audio)
    expected_steps = (12345 - 2000) // chunk_samples * (chunk_samples // 640)
    assert whole.shape == (2, expected_steps)
    np.testing.assert_allclose(whole, full[:, :expected_steps], atol=1e-5)
    # Pieces of any length give the same steps as the whole clip at once.
    streamer.reset()
    pieces = [streamer.push(audio[:, a:b]) for a, b in [(0, 1), (1, 1999), (1999, 2001)]]
    pieces.append(streamer.push(audio[:, 2001:7777]))
    pieces.append(streamer.push(audio[:, 7777:]))
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole, atol=1e-6)
    assert streamer.samples_seen == 12345
    assert streamer.calls == (12345 - 2000) // chunk_samples


def test_streaming_other_geometry_and_three_grus():
    keras.utils.set_random_seed(2)
    model = trigger_word(filters=6, units=(5, 7, 4), **OTHER)
    randomize_batch_norm(model, seed=2)
    audio = noise(6000, seed=2)
    full = predict(model, audio[None])[0]
    streaming = trigger_word_streaming(model, chunk_samples=480)
    assert sorted(streaming.input) == ["audio", "state_0", "state_1", "state_2", "tail"]
    streamed = TriggerWordStreamer(streaming).run(audio)
    assert streamed.shape == ((6000 - 360) // 480 * 3,)
    np.testing.assert_allclose(streamed, full[: len(streamed)], atol=1e-5)


def test_streaming_model_is_one_step_of_numpy_gru():
    """One call: the window's spectrogram -> conv -> BN -> ReLU from the full model's
    layers, then the GRU equations written in numpy from the GRU weights."""
    keras.utils.set_random_seed(3)
    model = trigger_word(filters=6, units=(5,))
    randomize_batch_norm(model, seed=3)
    streaming = trigger_word_streaming(model, chunk_samples=1280)
    rng = np.random.default_rng(3)
    inputs = {
        "audio": noise((1, 1280), seed=4),
        "tail": noise((1, 2000), seed=5),
        "state_0": rng.uniform(-0.9, 0.9, (1, 5)).astype("float32"),
    }
    outputs = {k: np.asarray(v) for k, v in streaming(inputs).items()}
    window = np.concatenate([inputs["tail"], inputs["audio"]], axis=1)
    features = keras.Model(model.input, model.get_layer("conv_relu").output)(window).numpy()[0]
    cell = model.get_layer("gru_0").cell
    W, U, b = (np.asarray(v, np.float64) for v in (cell.kernel, cell.recurrent_kernel, cell.bias))
    a = inputs["state_0"][0].astype(np.float64)
    states = []
    for x in features:
        xz, xr, xh = np.split(x @ W + b[0], 3)
        hz, hr, hh = np.split(a @ U + b[1], 3)
        z, r = 1 / (1 + np.exp(-(xz + hz))), 1 / (1 + np.exp(-(xr + hr)))
        a = z * a + (1 - z) * np.tanh(xh + r * hh)
        states.append(a)
    np.testing.assert_allclose(outputs["state_0"][0], a, atol=1e-5)
    head = keras.Sequential([model.get_layer("gru_0_bn"), model.get_layer("classifier")])
    expected = head(np.array(states, "float32")[None]).numpy()[0, :, 0]
    np.testing.assert_allclose(outputs["probabilities"][0], expected, atol=1e-5)
    np.testing.assert_array_equal(outputs["tail"], window[:, -2000:])


def test_streaming_shares_weights_and_survives_a_keras_round_trip(tmp_path):
    keras.utils.set_random_seed(4)
    model = trigger_word(**SMALL)
    streaming = trigger_word_streaming(model)
    assert {id(v) for v in streaming.weights} <= {id(v) for v in model.weights}
    assert len(streaming.trainable_weights) == len(model.trainable_weights)
    # The full model trains with the rfft route; the streaming one runs the factorized
    # DFT (int8-friendly), or the model's own layer with dft=None.
    assert model.get_layer("spectrogram").dft == "rfft"
    assert streaming.get_layer("spectrogram").dft == "factorized"
    own = trigger_word_streaming(model, dft=None)
    assert own.get_layer("spectrogram") is model.get_layer("spectrogram")
    np.testing.assert_array_equal(trigger_word_step_ends(3280, streaming), [2640, 3280])
    audio = noise(6000, seed=6)
    randomize_batch_norm(model, seed=4)  # after building the streaming model
    conv = model.get_layer("conv")
    conv.kernel.assign(conv.kernel * 1.5)
    streamer = TriggerWordStreamer(streaming)
    np.testing.assert_allclose(streamer.run(audio), predict(model, audio[None])[0, :6], atol=1e-5)
    path = str(tmp_path / "trigger.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        TriggerWordStreamer(trigger_word_streaming(loaded)).run(audio),
        streamer.run(audio),
        atol=1e-6,
    )


def test_folded_batch_norm_equals_conv_then_batch_norm():
    """The convolution with its batch norm folded in (the default) against the two Keras
    layers, one call on random inputs, with moving statistics far from (0, 1): per-channel
    offsets of tens, as after training, and variances from 0.01 to 4."""
    keras.utils.set_random_seed(8)
    model = trigger_word(filters=12, units=(8, 6))
    randomize_batch_norm(model, seed=8)
    bn = model.get_layer("conv_bn")
    rng = np.random.default_rng(8)
    bn.moving_mean.assign(rng.uniform(-60, 60, 12))
    bn.moving_variance.assign(rng.uniform(0.01, 4.0, 12))
    conv = model.get_layer("conv")
    conv.bias.assign(rng.normal(0, 5, 12))
    folded = trigger_word_streaming(model, chunk_samples=1280)
    unfolded = trigger_word_streaming(model, chunk_samples=1280, fold_batch_norm=False)
    assert "conv_folded" in [layer.name for layer in folded.layers]
    assert "conv_folded" not in [layer.name for layer in unfolded.layers]
    for seed in range(3):
        inputs = {
            "audio": noise((4, 1280), seed=20 + seed, scale=0.5),
            "tail": noise((4, 2000), seed=30 + seed, scale=0.5),
            "state_0": rng.uniform(-1, 1, (4, 8)).astype("float32"),
            "state_1": rng.uniform(-1, 1, (4, 6)).astype("float32"),
        }
        got, expected = folded(inputs), unfolded(inputs)
        for name in expected:
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-5)
    # The folded layer's output itself against Keras' conv -> batch norm (inference).
    features = noise((2, 30, 40), seed=9, scale=3.0)
    layer = folded.get_layer("conv_folded")
    reference = bn(conv(features), training=False)
    np.testing.assert_allclose(layer(features), reference, rtol=1e-5, atol=1e-5)
    # The kernel and bias follow later changes of the shared weights.
    bn.moving_mean.assign(bn.moving_mean * 0.5)
    np.testing.assert_allclose(
        layer(features), bn(conv(features), training=False), rtol=1e-5, atol=1e-5
    )


def test_streaming_approximate_magnitude_equals_a_model_trained_with_it():
    keras.utils.set_random_seed(9)
    model = trigger_word(**SMALL)
    randomize_batch_norm(model, seed=9)
    approximate = trigger_word(**SMALL, magnitude="approximate")
    approximate.set_weights(model.get_weights())
    assert approximate.get_layer("spectrogram").magnitude == "approximate"
    audio = noise(8000, seed=10)
    streaming = trigger_word_streaming(model, magnitude="approximate")
    assert streaming.get_layer("spectrogram").magnitude == "approximate"
    kept = trigger_word_streaming(approximate).get_layer("spectrogram")
    assert kept.magnitude == "approximate"
    streamed = TriggerWordStreamer(streaming).run(audio)
    expected = predict(approximate, audio[None])[0, : len(streamed)]
    np.testing.assert_allclose(streamed, expected, atol=1e-5)
    # The exact model differs (by far less than the features' scale).
    exact = predict(model, audio[None])[0, : len(streamed)]
    assert 0 < np.abs(exact - expected).max() < 0.05


def test_calibration_inputs_are_the_streamed_states():
    keras.utils.set_random_seed(5)
    model = trigger_word(**SMALL)
    streamer = TriggerWordStreamer(trigger_word_streaming(model))
    clips = [noise(3280, seed=7), noise(4000, seed=8)]
    recorded = streamer.calibration_inputs(clips)
    # 2 calls for the first clip, 3 for the second, each from a fresh state.
    assert {k: v.shape for k, v in recorded.items()} == {
        "audio": (5, 640),
        "tail": (5, 2000),
        "state_0": (5, 8),
        "state_1": (5, 6),
    }
    np.testing.assert_array_equal(recorded["tail"][0], clips[0][:2000])
    np.testing.assert_array_equal(recorded["audio"][1], clips[0][2640:3280])
    np.testing.assert_array_equal(recorded["tail"][2], clips[1][:2000])
    assert not recorded["state_0"][2].any() and recorded["state_0"][1].any()
    assert len(streamer.calibration_inputs(clips, max_examples=3)["audio"]) == 3
    # Clips of one length stream as a batch; the examples stay clip by clip, each as
    # when that clip streams alone.
    clips = [noise(4000, seed=9), clips[0], noise(4000, seed=10), clips[1]]
    batched = streamer.calibration_inputs(clips)
    alone = [streamer.calibration_inputs([clip]) for clip in clips]
    for name, values in batched.items():
        expected = np.concatenate([inputs[name] for inputs in alone])
        np.testing.assert_allclose(values, expected, atol=1e-5, err_msg=name)


# Training ---------------------------------------------------------------------------------


def tone_burst_clips(n, seed, samples=SR, ones=4):
    """Noise with a 2.5 kHz distractor burst and (in most clips) an 800 Hz trigger burst;
    labels are 1 for `ones` steps from the first step whose end >= the trigger's end."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.05, (n, samples)).astype("float32")
    ends = hand_step_ends(samples, 400, 160, 15, 4)
    y = np.zeros((n, len(ends)), "float32")
    length = int(0.12 * SR)
    envelope = np.hanning(length) * 0.5
    t = np.arange(length) / SR
    trigger_ends = []
    for i in range(n):
        start = rng.integers(0, samples - length)
        x[i, start : start + length] += envelope * np.sin(2 * np.pi * 2500 * t)
        if rng.random() < 0.8:
            # Ending where `ones` labelled steps still fit in the clip.
            start = rng.integers(0, ends[-ones] - length)
            x[i, start : start + length] += envelope * np.sin(2 * np.pi * 800 * t)
            first = int(np.searchsorted(ends, start + length))
            y[i, first : first + ones] = 1
            trigger_ends.append(start + length)
        else:
            trigger_ends.append(None)
    return x, y, trigger_ends


def test_short_fit_fires_right_after_the_trigger_ends():
    keras.utils.set_random_seed(6)
    x, y, _ = tone_burst_clips(128, seed=0)
    model = trigger_word(filters=16, units=16, dropout=0.1, batch_norm_momentum=0.8)
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy", jit_compile=False)
    model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    x_test, y_test, trigger_ends = tone_burst_clips(24, seed=1)
    p = model.predict(x_test, verbose=0)
    assert p[y_test == 1].mean() > 0.8
    assert p[y_test == 0].mean() < 0.05
    ends = trigger_word_step_ends(SR)
    for i, end in enumerate(trigger_ends):
        if end is None:
            assert p[i].max() < 0.5
            continue
        fired = np.flatnonzero(p[i] > 0.5)
        # Fires only at steps that have heard the whole trigger, and within 4 steps.
        assert len(fired) and ends[fired[0]] >= end and ends[fired[-1]] < end + 5 * 640, (
            end,
            ends[fired],
        )


# TFLite -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_streaming():
    keras.utils.set_random_seed(7)
    model = trigger_word(**SMALL)
    randomize_batch_norm(model, seed=7)
    streaming = trigger_word_streaming(model, chunk_samples=1280)
    rng = np.random.default_rng(7)
    clips = []
    for i in range(6):
        clip = noise(8000, seed=10 + i, scale=0.02)
        t = np.arange(2400) / SR
        start = rng.integers(0, 5000)
        clip[start : start + 2400] += 0.4 * np.hanning(2400) * np.sin(2 * np.pi * 700 * t)
        clips.append(clip)
    return model, streaming, np.stack(clips)


def test_tflite_float_streaming_matches_keras(small_streaming, tmp_path):
    model, streaming, clips = small_streaming
    path = str(tmp_path / "stream.tflite")
    report = tflite(streaming, path)
    assert sorted(report.input_shapes) == [(1, 6), (1, 8), (1, 1280), (1, 2000)]
    assert not report.uses_flex and "WHILE" not in report.ops
    assert report.max_abs_diff < 1e-4
    streamed = TriggerWordStreamer(path).run(clips[0])
    np.testing.assert_allclose(streamed, predict(model, clips[:1])[0, :8], atol=1e-4)


@pytest.mark.slow
def test_tflite_int8_streaming(small_streaming, tmp_path):
    model, streaming, clips = small_streaming
    streamer = TriggerWordStreamer(streaming)
    calibration = streamer.calibration_inputs(clips[:4])
    path = str(tmp_path / "stream_int8.tflite")
    report = tflite(
        streaming,
        path,
        quantization="int8",
        representative_data=calibration,
        check_inputs=streamer.calibration_inputs(clips[4:]),
    )
    assert report.size_bytes <= 100 * 1024
    assert "WHILE" not in report.ops and not report.uses_flex
    with open(path, "rb") as f:
        assert ops_in_flatbuffer(f.read()) == report.ops
    runner = TFLiteModel(path)
    # Full integer: every weight matrix is int8, the interface float32.
    weights = [d for d in runner._interpreter.get_tensor_details() if "MatMul" in d["name"]]
    assert weights and all(d["dtype"] == np.int8 for d in weights)
    assert all(d["dtype"] == np.float32 for d in runner.input_details)
    full = predict(model, clips[4:])
    int8 = TriggerWordStreamer(runner).run(clips[4])
    diff = np.abs(int8 - full[0, : len(int8)])
    assert diff.max() < 0.1, diff


# Errors -----------------------------------------------------------------------------------


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"`kernel_size` must be >= conv_stride \(4\)"):
        trigger_word(kernel_size=3)
    with pytest.raises(ValueError, match=r"`frame_step` must be < frame_length \(400\)"):
        trigger_word(frame_step=400)
    with pytest.raises(ValueError, match=r"`num_samples` must be >= 2640.*num_samples=2000"):
        trigger_word(num_samples=2000)
    with pytest.raises(ValueError, match=r"`dropout` must be in \[0, 1\)"):
        trigger_word(dropout=1.0)
    with pytest.raises(TypeError, match=r"`units` must be an int or a non-empty sequence"):
        trigger_word(units=())
    with pytest.raises(ValueError, match=r"`units` must be > 0"):
        trigger_word(units=(8, 0))
    with pytest.raises(TypeError, match=r"`filters` must be a positive int"):
        trigger_word(filters=8.0)
    with pytest.raises(ValueError, match=r"`log_offset` must be > 0"):
        trigger_word(log_offset=0.0)

    with pytest.raises(ValueError, match=r"`num_samples` must be >= 2640.*num_samples=2639"):
        trigger_word_step_ends(2639)
    model = trigger_word(**SMALL)
    with pytest.raises(ValueError, match=r"`frame_step` must match the model's 160"):
        trigger_word_step_ends(5000, model, frame_step=80)

    with pytest.raises(ValueError, match=r"`chunk_samples` must be a whole number of output "):
        trigger_word_streaming(model, chunk_samples=1000)
    with pytest.raises(ValueError, match=r"`chunk_samples` must be > 0"):
        trigger_word_streaming(model, chunk_samples=0)
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"`model` must be a trigger_word model with a layer"):
        trigger_word_streaming(plain)
    with pytest.raises(TypeError, match=r"`model` must be a keras.Model"):
        trigger_word_streaming("model.keras")
    with pytest.raises(ValueError, match=r"`dft` must be one of"):
        trigger_word_streaming(model, dft="fft")
    with pytest.raises(ValueError, match=r"`magnitude` must be one of"):
        trigger_word_streaming(model, magnitude="abs")
    with pytest.raises(ValueError, match=r"`magnitude` must be one of"):
        trigger_word(magnitude="abs")
    with pytest.raises(TypeError, match=r"`fold_batch_norm` must be a bool"):
        trigger_word_streaming(model, fold_batch_norm="yes")

    streamer = TriggerWordStreamer(trigger_word_streaming(model))
    with pytest.raises(ValueError, match=r"`audio` must hold at least one output step, 2640"):
        streamer.run(np.zeros(2639, "float32"))
    with pytest.raises(ValueError, match=r"`audio` must have shape \(samples,\) or"):
        streamer.push(np.zeros((2, 100), "float32"))
    with pytest.raises(ValueError, match=r"`model` must be a streaming trigger-word model"):
        TriggerWordStreamer(model)
    with pytest.raises(TypeError, match=r"`model` must be a streaming keras.Model"):
        TriggerWordStreamer(42)
    with pytest.raises(ValueError, match=r"`clips` must hold at least one clip of >= 2640"):
        streamer.calibration_inputs([np.zeros(100, "float32")])


def test_tflite_path_that_is_not_a_file(tmp_path):
    with pytest.raises(ValueError, match=r"`path` must be an existing .tflite file"):
        TriggerWordStreamer(os.path.join(tmp_path, "missing.tflite"))
