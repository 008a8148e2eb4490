"""Date translation with attention: "25th of June, 2009" -> "2009-06-25", character by character.

Run: `python -m tutorials.date_translation [--out outputs]` (about 1 minute on 2 idle CPU cores).
Trains the notes' attention model (bidirectional-LSTM encoder, LSTM decoder attending
over every input character) on generated date pairs, with teacher forcing, then decodes
held-out dates (days never seen in training) with greedy and beam search. Writes:
- `date_training.png`: the training loss and the held-out exact-match rate per epoch;
- `date_attention.png`: attention weights alpha<t,t'> for a few held-out dates: the
  source characters on x, the output characters on y.
"""

from __future__ import annotations

import os
import time

from tutorials.common import parse_args, pyplot


def exact_match(predicted: list[str], expected: list[str]) -> float:
    return sum(p == e for p, e in zip(predicted, expected, strict=True)) / len(expected)


def main() -> None:
    attention = "context"  # the course's; "bahdanau" and "luong" train as well
    args = parse_args(__doc__.splitlines()[0])
    import keras
    import numpy as np

    from kerasdl.data.dates import date_pairs, date_vocabularies
    from kerasdl.data.vocabulary import seq2seq_arrays
    from kerasdl.decoding import beam_error_analysis
    from kerasdl.models.seq2seq import Seq2SeqInference, seq2seq_attention

    plt = pyplot()
    keras.utils.set_random_seed(0)
    num_train, num_test, epochs = (200, 40, 1) if args.quick else (10000, 1000, 8)
    human, machine = date_vocabularies()
    train = date_pairs(num_train, seed=1)
    # Held-out dates: days that never occur in the training pairs, in any format.
    seen = {iso for _, iso in train}
    test = [pair for pair in date_pairs(3 * num_test, seed=2) if pair[1] not in seen][:num_test]
    source_length = max(len(h) for h, _ in train + test)
    x, decoder_in, y = seq2seq_arrays(
        [h for h, _ in train], [m for _, m in train], human, machine, source_length
    )
    x_test, _, y_test = seq2seq_arrays(
        [h for h, _ in test], [m for _, m in test], human, machine, source_length
    )
    expected = [m for _, m in test]
    max_length = y.shape[1]
    print(f"{len(train)} training pairs, {len(test)} held-out pairs; e.g.")
    for h, m in train[:5]:
        print(f"  {h!r:32} -> {m}")

    model = seq2seq_attention(
        len(human),
        len(machine),
        embedding_dim=16,
        encoder_units=32,
        decoder_units=64,
        attention=attention,
        attention_units=10,
    )
    model.compile(
        keras.optimizers.Adam(5e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        metrics=["accuracy"],
    )
    inference = Seq2SeqInference(model, machine.start_id, machine.end_id)

    def greedy(sources):
        result = inference.decode(sources, max_length=max_length)
        return machine.decode(result.sequences.numpy()[:, 0])

    matches = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: matches.append(exact_match(greedy(x_test), expected))
    )
    start = time.perf_counter()
    history = model.fit(
        [x, decoder_in], y, batch_size=100, epochs=epochs, callbacks=[record], verbose=2
    )
    print(f"trained {epochs} epochs in {time.perf_counter() - start:.0f} s ({attention} attention)")
    print("held-out exact match per epoch (greedy):", [f"{m:.3f}" for m in matches])

    # Greedy vs beam search on the held-out dates.
    predictions = {"greedy": greedy(x_test)}
    for width in (3,) if args.quick else (3, 10):
        result = inference.decode(x_test, max_length=max_length, beam_width=width)
        predictions[f"beam {width}"] = machine.decode(result.sequences.numpy()[:, 0])
    for name, predicted in predictions.items():
        print(f"{name:>8}: exact match {exact_match(predicted, expected):.3f}")
    beam = inference.decode(x_test, max_length=max_length, beam_width=3)
    analysis = beam_error_analysis(
        inference.step_fn,
        [h for h, _ in test],
        y_test,
        beam,
        end_id=machine.end_id,
        start_id=machine.start_id,
        initial_state=inference.initial_state(x_test),
        vocabulary=machine.tokens,
    )
    errors = np.flatnonzero(analysis.is_error)
    print(f"beam search (B=3) errors: {len(errors)} of {len(test)}")
    for i in errors[:8]:
        print(
            f"  {analysis.sources[i]!r:32} human {expected[i]}  output "
            f"{predictions['beam 3'][i]!r}  fault: {analysis.at_fault[i]}"
        )
    summary = analysis.summary
    print(
        f"  beam search at fault in {summary['beam_search_errors']}, "
        f"the model in {summary['model_errors']}"
    )

    fig, loss_ax = plt.subplots(figsize=(6.5, 4))
    epochs_axis = range(1, epochs + 1)
    loss_ax.plot(epochs_axis, history.history["loss"], marker="o", color="tab:blue")
    loss_ax.set(xlabel="epoch", ylabel="training loss (teacher forcing)", yscale="log")
    match_ax = loss_ax.twinx()
    match_ax.plot(epochs_axis, matches, marker="s", color="tab:green")
    match_ax.set_ylabel("held-out exact match (greedy)", color="tab:green")
    match_ax.set_ylim(0, 1.02)
    loss_ax.set_title(f"Date translation, {attention} attention")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "date_training.png"), dpi=100)
    plt.close(fig)

    # Attention heatmaps: decode, then read alpha<t,t'> for the decoded outputs.
    shown = [0, 1, 2, 3] if len(test) >= 4 else list(range(len(test)))
    outputs = [predictions["greedy"][i] for i in shown]
    decoder_inputs = machine.encode(outputs, start=True)
    weights = inference.attention_weights(x_test[shown], decoder_inputs)
    fig, axes = plt.subplots(2, 2, figsize=(12, 7))
    for ax, i, output, alpha in zip(axes.flat, shown, outputs, weights, strict=False):
        source = test[i][0]
        rows = list(output) + ["</s>"]
        ax.imshow(alpha[: len(rows), : len(source)], cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(source)), list(source), fontsize=8)
        ax.set_yticks(range(len(rows)), rows, fontsize=8)
        ax.set_title(f"{source!r} -> {output!r}", fontsize=9)
        ax.set(xlabel="source character t'", ylabel="output character t")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "date_attention.png"), dpi=100)
    plt.close(fig)
    print(f"plots written to {args.out}/")


if __name__ == "__main__":
    main()
