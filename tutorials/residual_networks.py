"""Residual networks: why skip connections help, and augmentation that exports.

Run: `python -m tutorials.residual_networks [--out outputs]`. Writes:
- `residual_vs_plain.png`: training loss of a deep plain CNN and the same depth with
  residual blocks (the notes: a plain network's training error gets worse with depth,
  a ResNet's keeps going down);
- `augmented_samples.png`: scikit-learn's two sample photographs through RandomFlip +
  RandomCrop (Keras) + PCAColorAugmentation + RandomColorShift (kerasdl);
- `training_curves.png`: the residual classifier with augmentation on upsampled digits,
  training and validation accuracy per epoch.
"""

from __future__ import annotations

import os

from tutorials.common import parse_args, pyplot


def deep_cnn(residual: bool, depth: int, width: int = 32):
    """`depth` 3x3 convolutions, plain (conv-BN-ReLU) or paired into ResidualBlocks."""
    import keras

    from kerasdl.layers import ResidualBlock

    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(inputs)
    for _ in range(depth // 2):
        if residual:
            x = ResidualBlock(width, batch_norm_momentum=0.9)(x)
        else:
            for _ in range(2):
                x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
                x = keras.layers.BatchNormalization(momentum=0.9)(x)
                x = keras.layers.Activation("relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def upsampled_digits():
    import tensorflow as tf

    from kerasdl.data import load_digits_images

    (x_train, y_train), (x_test, y_test) = load_digits_images()
    return (
        (tf.image.resize(x_train, (16, 16)).numpy(), y_train),
        (tf.image.resize(x_test, (16, 16)).numpy(), y_test),
    )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    import keras
    import numpy as np
    from sklearn.datasets import load_sample_images

    from kerasdl.layers import PCAColorAugmentation, RandomColorShift
    from kerasdl.models import residual_cnn

    plt = pyplot()
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = upsampled_digits()
    if args.quick:
        x_train, y_train = x_train[:256], y_train[:256]
    epochs = 2 if args.quick else 12
    depth = 4 if args.quick else 20

    # 1. Plain vs residual at the same depth: training loss per epoch.
    histories = {}
    for residual in (False, True):
        model = deep_cnn(residual, depth)
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
        label = f"{'residual' if residual else 'plain'}, {depth} conv layers"
        print(f"training {label}")
        history = model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=2)
        histories[label] = history.history["loss"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, loss in histories.items():
        ax.plot(range(1, len(loss) + 1), loss, marker="o", label=label)
    ax.set(xlabel="epoch", ylabel="training loss", yscale="log", title="Plain vs residual")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "residual_vs_plain.png"), dpi=100)
    plt.close(fig)

    # 2. Augmentation that is off at inference and exports: photographs in, samples out.
    photos = np.stack(
        [
            keras.ops.convert_to_numpy(keras.ops.image.resize(p, (160, 240))) / 255.0
            for p in load_sample_images().images
        ]
    ).astype("float32")
    pca = PCAColorAugmentation(stddev=0.1, value_range=(0.0, 1.0), seed=1)
    pca.adapt(photos)
    augment = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=2),
            keras.layers.RandomCrop(128, 192, seed=3),
            pca,
            RandomColorShift(0.08, value_range=(0.0, 1.0), seed=4),
        ]
    )
    samples = [augment(photos, training=True).numpy() for _ in range(4)]
    fig, axes = plt.subplots(2, 5, figsize=(14, 5.2))
    for row in range(2):
        axes[row, 0].imshow(photos[row])
        axes[row, 0].set_title("original")
        for col in range(4):
            axes[row, col + 1].imshow(samples[col][row])
            axes[row, col + 1].set_title(f"augmented #{col + 1}")
    for ax in axes.ravel():
        ax.axis("off")
    fig.suptitle(
        "RandomFlip + RandomCrop + PCAColorAugmentation (eigenvalues "
        + ", ".join(f"{v:.4f}" for v in keras.ops.convert_to_numpy(pca.lambdas))
        + ") + RandomColorShift"
    )
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "augmented_samples.png"), dpi=90)
    plt.close(fig)

    # 3. The residual classifier trained with augmentation inside the model.
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.RandomTranslation(0.1, 0.1, seed=5)(inputs)
    x = RandomColorShift(0.05, seed=6)(x)
    classifier = residual_cnn((16, 16, 1), classes=10, filters=(32, 64))
    model = keras.Model(inputs, classifier(x))
    # Cosine decay lets the last epochs settle instead of bouncing at a fixed rate.
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, epochs * -(-len(x_train) // 64))
    model.compile(
        keras.optimizers.Adam(schedule),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_test, y_test),
        epochs=epochs,
        batch_size=64,
        verbose=2,
    )
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy with augmentation: {accuracy:.4f}")
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("accuracy", "training"), ("val_accuracy", "test")):
        ax.plot(range(1, epochs + 1), history.history[key], marker="o", label=label)
    ax.set(xlabel="epoch", ylabel="accuracy", title=f"residual_cnn on 16x16 digits: {accuracy:.1%}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "training_curves.png"), dpi=100)
    plt.close(fig)
    print(f"plots written to {args.out}/")


if __name__ == "__main__":
    main()
