"""An ML strategy session: diagnose, act, re-diagnose, on digits with a distribution shift.

The task: read handwritten digits photographed by a phone app. Training data are the clean
scanned digits of scikit-learn; what the app sees (the dev and test sets, the target) is
the same kind of digit rotated, blurred and noisy. The session follows the notes: set up
train / training-dev / dev / test, build a first system quickly, read avoidable bias,
variance and data mismatch off the errors, act on the largest gap, re-diagnose, run an
error analysis, synthesise training data like the dev set, tune the learning rate and
Adam's beta_1 coarse to fine on their proper scales, and keep the best model that meets
a latency and size budget.

Run: `python -m tutorials.strategy_session [--out outputs]`. Writes:
- `shifted_samples.png`: clean training digits and the shifted digits of the dev set;
- `diagnosis_first_system.png`: the first (small) system's errors and gaps per epoch;
- `diagnosis_bigger_model.png`: the same for the CNN trained longer;
- `error_analysis.png`: the categories of the CNN's dev errors and their ceilings;
- `learning_curve.png`: training and dev error as clean training data grow;
- `error_gaps.png`: the error staircase of each round side by side;
- `hyperparameter_search.png`: coarse-to-fine search of learning rate and 1 - beta_1;
- `gradient_norms.png`: per-layer gradient norms of the final training run;
and `strategy_report.md`, the comparison and error-analysis tables.
"""

from __future__ import annotations

import os

from tutorials.common import parse_args

# A trained reader gets nearly every one of these right; the notes take human-level
# error as the proxy for Bayes error. (An assumption of this session, not a measurement.)
HUMAN_LEVEL_ERROR = 0.01
SIMILAR_DIGITS = ({1, 7}, {4, 9}, {3, 8}, {5, 9}, {3, 5}, {8, 9})


def upsampled_digits():
    """All 1,797 scikit-learn digits as 16x16 images in [0, 1], and their labels."""
    import numpy as np
    from scipy import ndimage
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.stack([ndimage.zoom(im / 16.0, 2, order=1) for im in digits.images])
    return np.clip(images, 0, 1).astype("float32")[..., None], digits.target.astype("int32")


def phone_shift(images, rng):
    """The target distribution: each digit rotated 10-30 degrees either way, blurred
    (sigma 0.4-1.1) and noisy (std 0.02-0.10). Returns the images and each one's
    (angle, sigma, noise) so that error analysis can tag them."""
    import numpy as np
    from scipy import ndimage

    n = len(images)
    angle = rng.uniform(10, 30, n) * rng.choice([-1, 1], n)
    sigma = rng.uniform(0.4, 1.1, n)
    noise = rng.uniform(0.02, 0.10, n)
    out = np.empty_like(images)
    for i, image in enumerate(images[..., 0]):
        shifted = ndimage.rotate(image, angle[i], reshape=False, order=1)
        shifted = ndimage.gaussian_filter(shifted, sigma[i])
        shifted = shifted / max(shifted.max(), 1e-6) + rng.normal(0, noise[i], image.shape)
        out[i, ..., 0] = np.clip(shifted, 0, 1)
    return out, np.stack([angle, sigma, noise], axis=1)


def small_model(learning_rate=0.05):
    """The first system, built quickly: softmax regression on the pixels."""
    import keras

    model = keras.Sequential(
        [keras.Input((16, 16, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    model.compile(
        keras.optimizers.SGD(learning_rate),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def cnn(learning_rate=1e-3, beta_1=0.9):
    """A bigger model: two conv blocks and a dense layer."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu", name="dense"),
            keras.layers.Dense(10, name="logits"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(learning_rate, beta_1=beta_1),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    import keras
    import numpy as np

    from kerasdl.callbacks.checkpoint import SatisficingCheckpoint
    from kerasdl.callbacks.diagnostics import BiasVarianceMonitor
    from kerasdl.callbacks.gradients import GradientNormMonitor
    from kerasdl.diagnostics import (
        comparison_table,
        error_analysis,
        learning_curve,
        misclassified,
        mismatched_split,
        plot_error_gaps,
    )
    from kerasdl.plot import image_grid
    from kerasdl.tuning import LogUniform, OneMinusLogUniform, coarse_to_fine

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    out = args.out
    quick = args.quick
    epochs_small, epochs_big = (1, 2) if quick else (3, 20)

    # 1. Data: disjoint originals for the two distributions, so no digit leaks across.
    images, labels = upsampled_digits()
    order = rng.permutation(len(images))
    source, target = order[:1197], order[1197:]
    shifted, params = phone_shift(images[target], rng)
    splits = mismatched_split(labels[source], labels[target], seed=0)
    x_train, y_train = images[source][splits.train], labels[source][splits.train]
    x_tdev, y_tdev = images[source][splits.train_dev], labels[source][splits.train_dev]
    x_dev, y_dev = shifted[splits.dev], labels[target][splits.dev]
    x_test, y_test = shifted[splits.test], labels[target][splits.test]
    dev_params = params[splits.dev]
    if quick:
        # The smoke test checks that every step runs and draws, not the figures.
        x_train, y_train, x_tdev, y_tdev = x_train[:320], y_train[:320], x_tdev[:64], y_tdev[:64]
        x_dev, y_dev, x_test, y_test = x_dev[:96], y_dev[:96], x_test[:96], y_test[:96]
        dev_params = dev_params[:96]
    print("split sizes:", splits.sizes())
    image_grid(
        np.concatenate([x_train[:8], x_dev[:8]]),
        [f"train {y}" for y in y_train[:8]] + [f"dev {y}" for y in y_dev[:8]],
        os.path.join(out, "shifted_samples.png"),
        title="Training distribution (clean scans) vs dev/test (phone: rotated, blurred, noisy)",
    )

    def monitor():
        return BiasVarianceMonitor(
            HUMAN_LEVEL_ERROR,
            train_data=(x_train, y_train),
            train_dev_data=(x_tdev, y_tdev),
            dev_data=(x_dev, y_dev),
            test_data=(x_test, y_test),
            verbose=0,
        )

    reports = {}

    # 2. Round 1: a first system, quickly.
    watch = monitor()
    small_model().fit(
        x_train, y_train, epochs=epochs_small, batch_size=64, callbacks=[watch], verbose=0
    )
    reports["first system"] = watch.report
    watch.plot(os.path.join(out, "diagnosis_first_system.png"), "First system: softmax regression")
    print(f"\n# Round 1: softmax regression, {epochs_small} epochs of SGD")
    print(watch.report.summary())

    # 3. Round 2: act on avoidable bias: a bigger model, trained longer with Adam.
    watch = monitor()
    model = cnn()
    model.fit(x_train, y_train, epochs=epochs_big, batch_size=32, callbacks=[watch], verbose=0)
    reports["bigger model"] = watch.report
    watch.plot(os.path.join(out, "diagnosis_bigger_model.png"), "CNN, trained longer")
    print("\n# Round 2: CNN, Adam, longer\n" + watch.report.summary())

    # 4. Error analysis of the dev errors: which shifts cause them, and the ceilings.
    wrong = misclassified(y_dev, model.predict(x_dev, verbose=0))
    predictions = model.predict(x_dev, verbose=0).argmax(-1)

    def tags(i):
        angle, sigma, noise = dev_params[i]
        found = []
        if abs(angle) > 20:
            found.append("rotated > 20 deg")
        if sigma > 0.9:
            found.append("heavy blur (sigma > 0.9)")
        if noise > 0.07:
            found.append("noisy (std > 0.07)")
        if {int(y_dev[i]), int(predictions[i])} in SIMILAR_DIGITS:
            found.append("look-alike digits (1/7, 4/9, 3/8, ...)")
        return found

    analysis = error_analysis(np.flatnonzero(wrong), tags, dev_error=float(wrong.mean()))
    analysis.plot(os.path.join(out, "error_analysis.png"), "Dev errors of the CNN")
    print("\n# Error analysis\n" + analysis.to_markdown())

    # 5. Would more clean data help? The learning curve says: not with the dev set.
    sizes = [100, 200] if quick else [60, 150, 400, len(x_train)]
    curve = learning_curve(
        cnn, (x_train, y_train), (x_dev, y_dev), sizes, {"epochs": epochs_big, "batch_size": 32}
    )
    curve.plot(os.path.join(out, "learning_curve.png"), HUMAN_LEVEL_ERROR, "CNN: more clean data")

    # 6. Round 3: act on data mismatch with artificial data synthesis: shifted copies of
    # the training digits, drawn from the same wide ranges (not one narrow setting). The
    # training-dev set gets copies too, so it keeps the training set's distribution.
    synthetic, _ = phone_shift(x_train, rng)
    synthetic_tdev, _ = phone_shift(x_tdev, rng)
    x_train3 = np.concatenate([x_train, synthetic])
    y_train3 = np.concatenate([y_train, y_train])
    x_tdev3 = np.concatenate([x_tdev, synthetic_tdev])
    y_tdev3 = np.concatenate([y_tdev, y_tdev])

    def objective(point):
        keras.utils.set_random_seed(1)
        trial = cnn(point["learning_rate"], point["beta_1"])
        trial.fit(x_train3, y_train3, epochs=1 if quick else 6, batch_size=32, verbose=0)
        return float(np.mean(trial.predict(x_dev, verbose=0).argmax(-1) != y_dev))

    search = coarse_to_fine(
        objective,
        {"learning_rate": LogUniform(1e-4, 1e-1), "beta_1": OneMinusLogUniform(0.5, 0.99)},
        rounds=2 if quick else 3,
        trials_per_round=2 if quick else 6,
        top_k=3,
        seed=0,
    )
    search.plot(os.path.join(out, "hyperparameter_search.png"), title="Dev error")
    best = search.best
    print(f"\n# Coarse-to-fine search: best {best} with dev error {search.best_score:.2%}")

    keras.utils.set_random_seed(2)
    final = cnn(best["learning_rate"], best["beta_1"])
    watch = BiasVarianceMonitor(
        HUMAN_LEVEL_ERROR,
        train_data=(x_train3, y_train3),
        train_dev_data=(x_tdev3, y_tdev3),
        dev_data=(x_dev, y_dev),
        test_data=(x_test, y_test),
        verbose=0,
    )
    gradients = GradientNormMonitor((x_train3[:128], y_train3[:128]), every_n_batches=20, verbose=0)
    # Optimizing: dev accuracy. Satisficing: under 20 ms per digit and 200 kB of weights.
    keep = SatisficingCheckpoint(
        None,
        optimizing="val_accuracy",
        constraints={"latency_ms": ("<=", 20), "model_bytes": ("<=", 200_000)},
        latency_data=x_dev,
        restore_best_weights=True,
    )
    final.fit(
        x_train3,
        y_train3,
        validation_data=(x_dev, y_dev),
        epochs=epochs_big,
        batch_size=32,
        callbacks=[watch, gradients, keep],
        verbose=0,
    )
    reports["synthesised data + tuned"] = watch.report
    gradients.plot(os.path.join(out, "gradient_norms.png"), "Final CNN: gradient norms")
    print("\n# Round 3: synthesised training data, tuned\n" + watch.report.summary())
    test_error = float(np.mean(final.predict(x_test, verbose=0).argmax(-1) != y_test))
    print(
        f"kept epoch {keep.best_epoch + 1} (dev accuracy {keep.best:.2%}, "
        f"{keep.records[keep.best_epoch]['latency_ms']:.2f} ms/digit, "
        f"{keep.records[keep.best_epoch]['model_bytes'] / 1000:.0f} kB); "
        f"test error {test_error:.2%}"
    )

    plot_error_gaps(reports, os.path.join(out, "error_gaps.png"), "Errors by split, each round")
    with open(os.path.join(out, "strategy_report.md"), "w") as f:
        f.write("# Strategy session\n\n## Errors and gaps per round\n\n")
        f.write(comparison_table(reports) + "\n\n## Error analysis (round 2)\n\n")
        f.write(analysis.to_markdown() + "\n")
    print("\n" + comparison_table(reports))
    print(f"plots written to {out}/")


if __name__ == "__main__":
    main()
