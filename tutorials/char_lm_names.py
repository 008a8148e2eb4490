"""A character-level language model that invents first names, with gradient clipping.

Run: `python -m tutorials.char_lm_names [--out outputs]` (under a minute on 2 idle CPU
cores). The 6,824 English first names bundled with the `faker` package (no network) are
lowercased and split 90/10 into training and dev names. Each name is a sequence of
characters that ends with the EOS token; the model (Embedding -> LSTM -> Dense at every
step) learns P(next character | the characters so far), as the notes' language model.

1. Exploding gradients: the same model trained by SGD with a too-large learning rate,
   plainly and with `clipnorm` (each variable's gradient rescaled to norm <= c); the
   gradient norms are printed and plotted.
2. Training with Adam (and clipnorm), reporting dev loss per character.
3. Sampling novel names with `kerasdl.decoding.sample` at several temperatures.

Writes:
- `names_gradient_clipping.png`: loss and raw gradient norm per batch, with and without
  clipping;
- `names_training.png`: training and dev loss per epoch.
"""

from __future__ import annotations

import os
import time

from tutorials.common import parse_args, pyplot


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    import keras
    import numpy as np
    import tensorflow as tf
    from faker.providers.person.en import Provider

    from kerasdl.data.vocabulary import Vocabulary
    from kerasdl.decoding import sample
    from kerasdl.models.char_lm import LanguageModelStep, char_lm

    plt = pyplot()
    keras.utils.set_random_seed(0)
    names = sorted({name.lower() for name in Provider.first_names})
    rng = np.random.default_rng(0)
    rng.shuffle(names)
    if args.quick:
        names = names[:400]
    split = int(0.9 * len(names))
    train_names, dev_names = names[:split], names[split:]
    vocab = Vocabulary.from_texts(names)
    # Inputs <s> y<1> ... y<T>, targets y<1> ... y<T> </s>; padding (0) is ignored.
    x, y = vocab.encode(train_names, start=True), vocab.encode(train_names, end=True)
    x_dev = vocab.encode(dev_names, start=True, length=x.shape[1])
    y_dev = vocab.encode(dev_names, end=True, length=x.shape[1])
    print(
        f"{len(train_names)} training names, {len(dev_names)} dev names, "
        f"{len(vocab) - 4} characters: {''.join(vocab.tokens[4:])}"
    )
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    units, epochs = (16, 1) if args.quick else (128, 20)

    # 1. Exploding gradients and clipping -----------------------------------------------
    def training_run(model, optimizer, epochs):
        """SGD by hand, to see each batch's own loss and raw gradient norm (before any
        clipping; Keras' fit logs the epoch's running mean instead)."""

        @tf.function(reduce_retracing=True)
        def train_step(xb, yb):
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, model(xb, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            # The embedding's gradient comes as IndexedSlices; norms need dense tensors.
            norm = tf.linalg.global_norm([tf.convert_to_tensor(g) for g in grads])
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss, norm

        losses, norms = [], []
        for _ in range(epochs):
            for i in range(0, len(x), 64):
                loss, norm = train_step(x[i : i + 64], y[i : i + 64])
                losses.append(float(loss))
                norms.append(float(norm))
        return np.array(losses), np.array(norms)

    keras.utils.set_random_seed(1)
    initial = char_lm(len(vocab), units=16 if args.quick else 64, embedding_dim=16)
    with tf.GradientTape() as tape:
        loss = loss_fn(y[:256], initial(x[:256]))
    grads = tape.gradient(loss, initial.trainable_variables)
    clip = 0.1
    print(f"gradient norms at initialisation (256 names), and after clipnorm={clip:g}:")
    for variable, g in zip(initial.trainable_variables, grads, strict=True):
        norm = float(tf.norm(tf.convert_to_tensor(g)))
        print(f"  {variable.path:36} ||g|| = {norm:.4f} -> {norm * min(1.0, clip / norm):.4f}")

    learning_rate, demo_epochs = 50.0, 1 if args.quick else 2
    runs = {}
    for label, clipnorm in (
        ("no clipping", None),
        ("clipnorm=1", 1.0),
        (f"clipnorm={clip:g}", clip),
    ):
        model = keras.models.clone_model(initial)
        model.set_weights(initial.get_weights())
        optimizer = keras.optimizers.SGD(learning_rate, clipnorm=clipnorm)
        runs[label] = training_run(model, optimizer, demo_epochs)
        losses, norms = runs[label]
        print(
            f"SGD lr={learning_rate:g}, {label:12}: loss {losses[0]:.2f} -> max {losses.max():.2f} "
            f"-> last 20 batches {losses[-20:].mean():.2f}; raw gradient norm median "
            f"{np.median(norms):.2f}, max {norms.max():.2f}"
        )
    fig, (loss_ax, norm_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for label, (losses, norms) in runs.items():
        loss_ax.plot(range(1, len(losses) + 1), losses, label=label, linewidth=1)
        norm_ax.plot(range(1, len(norms) + 1), norms, label=label, linewidth=1)
    loss_ax.set(xlabel="batch", ylabel="batch loss", yscale="log")
    loss_ax.set_title(f"SGD, learning rate {learning_rate:g}")
    norm_ax.set(xlabel="batch", ylabel="global gradient norm before clipping", yscale="log")
    norm_ax.set_title("Exploding gradients")
    for ax in (loss_ax, norm_ax):
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "names_gradient_clipping.png"), dpi=100)
    plt.close(fig)

    # 2. Training ------------------------------------------------------------------------
    keras.utils.set_random_seed(2)
    model = char_lm(len(vocab), units=units, embedding_dim=32)
    model.compile(keras.optimizers.Adam(5e-3, clipnorm=1.0), loss_fn)
    start = time.perf_counter()
    history = model.fit(
        x,
        y,
        batch_size=64,
        epochs=epochs,
        validation_data=(x_dev, y_dev),
        callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)],
        verbose=2,
    )
    dev_loss = min(history.history["val_loss"])
    symbols = len(vocab) - 3  # the letters and EOS
    print(
        f"trained in {time.perf_counter() - start:.0f} s; dev cross-entropy {dev_loss:.3f} "
        f"nats per character, perplexity {np.exp(dev_loss):.2f} (a uniform guess over the "
        f"{symbols} symbols: {np.log(symbols):.2f} nats, perplexity {symbols})"
    )
    fig, ax = plt.subplots(figsize=(6, 4))
    trained = range(1, len(history.history["loss"]) + 1)
    ax.plot(trained, history.history["loss"], marker="o", label="training")
    ax.plot(trained, history.history["val_loss"], marker="s", label="dev")
    ax.set(xlabel="epoch", ylabel="cross-entropy per character", title="Name language model")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "names_training.png"), dpi=100)
    plt.close(fig)

    # 3. Sampling novel names ------------------------------------------------------------
    step = LanguageModelStep(model)
    known = set(names)
    count = 12
    for temperature, top_k in ((0.5, None), (1.0, None), (1.5, None), (1.0, 5)):
        result = sample(
            step.step_fn,
            step.initial_state(count),
            vocab.start_id,
            vocab.end_id,
            max_length=x.shape[1] + 2,
            temperature=temperature,
            top_k=top_k,
            seed=7,
        )
        sampled = vocab.decode(result.sequences.numpy()[:, 0])
        novel = sum(name not in known for name in sampled)
        shown = ", ".join(name + ("" if name not in known else "*") for name in sampled)
        setting = f"T={temperature:g}" + (f", top-{top_k}" if top_k else "")
        print(f"{setting:13} ({novel}/{count} new): {shown}")
    print("(* = a name from the list; the others are new)")
    print(f"plots written to {args.out}/")


if __name__ == "__main__":
    main()
