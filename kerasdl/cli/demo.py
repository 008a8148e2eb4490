"""`kerasdl demo`: train, evaluate, export and check a residual CNN on built-in digits."""

from __future__ import annotations

import os

import numpy as np
from absl import logging

from kerasdl.data import load_digits_images
from kerasdl.export import TFLiteModel, saved_model, tflite
from kerasdl.models import residual_cnn
from kerasdl.plot import image_grid

REQUIRED_ACCURACY = 0.95


def run_digits_demo(out_dir: str = "saved_models", epochs: int = 20, seed: int = 0) -> dict:
    """The end-to-end job on scikit-learn's digits; returns the measured figures.

    Trains `kerasdl.models.residual_cnn` with a progress bar, evaluates on a held-out
    split, exports a versioned SavedModel (TF Serving layout, with warm-up requests) to
    `out_dir/digits/<version>/` and an int8 TFLite model to `out_dir/digits_int8.tflite`,
    checks the TFLite file against Keras with the LiteRT interpreter, and draws test
    predictions to `out_dir/digits_predictions.png`.

    Args:
        out_dir: where the exports and the picture go.
        epochs: training epochs.
        seed: seed of the split, the initial weights and the shuffling.

    Returns:
        A dict with `test_accuracy`, `saved_model_dir`, `tflite_report` and `picture`.
    """
    import keras

    keras.utils.set_random_seed(seed)
    os.makedirs(out_dir, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = load_digits_images(seed=seed)
    print(f"digits: {len(x_train)} training and {len(x_test)} test images of 8x8 pixels")

    model = residual_cnn(x_train.shape[1:], classes=10, filters=(32, 64), name="digits_resnet")
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        x_train,
        y_train,
        validation_split=0.1,
        epochs=epochs,
        batch_size=64,
        verbose=2,
        callbacks=[keras.callbacks.ReduceLROnPlateau(patience=3, factor=0.5, verbose=0)],
    )
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f} (target >= {REQUIRED_ACCURACY})")

    version_dir = saved_model(
        model, os.path.join(out_dir, "digits"), warmup_inputs=x_test[:4], model_name="digits"
    )
    print(f"SavedModel for TF Serving: {version_dir}")

    tflite_path = os.path.join(out_dir, "digits_int8.tflite")
    report = tflite(
        model,
        tflite_path,
        quantization="int8",
        representative_data=x_train[:200],
        check_inputs=x_test[:64],
        labelled_data=(x_test, y_test),
    )
    print("TFLite int8 vs Keras:")
    print(report)

    shown, truth = x_test[:32], y_test[:32]
    probabilities = model.predict(shown, verbose=0)
    predicted = np.argmax(probabilities, axis=-1)
    on_device = np.argmax(TFLiteModel(tflite_path)(shown), axis=-1)
    captions = [
        f"{p} ({q:.0%})" + ("" if p == t else f" true {t}") + ("" if d == p else f" lite {d}")
        for p, q, t, d in zip(predicted, probabilities.max(axis=-1), truth, on_device, strict=True)
    ]
    picture = image_grid(
        shown,
        captions,
        os.path.join(out_dir, "digits_predictions.png"),
        colors=["green" if p == t else "red" for p, t in zip(predicted, truth, strict=True)],
        title=(
            f"kerasdl residual CNN on digits: test accuracy {accuracy:.1%} (Keras), "
            f"{report.tflite_accuracy:.1%} (int8 TFLite)"
        ),
    )
    print(f"sample predictions: {picture}")
    if accuracy < REQUIRED_ACCURACY:
        logging.error("test accuracy %.4f is below %.2f", accuracy, REQUIRED_ACCURACY)
    return {
        "test_accuracy": float(accuracy),
        "saved_model_dir": version_dir,
        "tflite_report": report,
        "picture": picture,
    }
