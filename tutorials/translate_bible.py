"""English -> Spanish translation on verse-aligned Bibles: attention, beam search and BLEU.

Data: the World English Bible and the Spanish Reina-Valera 1909, both public domain, as
Debian ships them (`apt-get install sword-text-web sword-text-sparv`), read with PyPI
`pysword`. Verses with the same book, chapter and verse number form the parallel corpus
(chapters whose verse counts differ between the two versifications are left out). Whole
books are held out: Ruth, Joel and Philippians for dev, Mark, Jonah and James for test.

Run: `python -m tutorials.translate_bible [--out outputs]` (about 10 minutes on 2 idle
CPU cores). Trains a small word-level attention model (bidirectional-LSTM encoder, LSTM
decoder with Bahdanau attention) with teacher forcing, logs dev BLEU each epoch with
`BLEUEvaluation`, then reports test BLEU (kerasdl's `corpus_bleu`, lowercased and
tokenized text) for greedy search and beam search with B = 4 and 10, with and without
length normalisation, and the notes' beam search error analysis. Writes:
- `bible_training.png`: training and dev loss, and dev BLEU (greedy) per epoch;
- `bible_bleu.png`: test BLEU and output/reference length ratio of each decoder.
"""

from __future__ import annotations

import functools
import os
import re
import time

from tutorials.common import parse_args, pyplot

SWORD_PATH = "/usr/share/sword"
ENGLISH, SPANISH = "engWEB2015eb", "spaRV1909eb"
DEV_BOOKS = ("Ruth", "Joel", "Phil")
TEST_BOOKS = ("Mark", "Jonah", "Jas")
BOOK_NAMES = {"Phil": "Philippians", "Jas": "James"}
QUICK_TRAIN_BOOKS = ("Esth", "Col", "Titus")
MAX_TOKENS = 30
# Words, numbers, and each punctuation mark as its own token.
TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")


def clean(osis: str) -> str:
    """Verse text from OSIS markup: footnotes and headings dropped, tags removed.

    pysword's own cleaning deletes footnotes without a space and joins the words on
    either side ("Godcreated"), so the markup is handled here.
    """
    text = re.sub(r"<note\b.*?</note>|<title\b.*?</title>", " ", osis, flags=re.S)
    text = re.sub(r"</?w\b[^>]*>", "", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def books(names: tuple[str, ...]) -> str:
    return ", ".join(BOOK_NAMES.get(name, name) for name in names)


def tokenize(text: str) -> str:
    return " ".join(TOKEN.findall(text.lower()))


def load_verses(books: tuple[str, ...] | None = None) -> list[tuple[str, str, str]]:
    """`(book, english, spanish)` for every verse both Bibles number alike."""
    from pysword.modules import SwordModules

    modules = SwordModules(SWORD_PATH)
    found = modules.parse_modules()
    missing = [m for m in (ENGLISH, SPANISH) if m not in found]
    if missing:
        raise SystemExit(
            f"SWORD modules {missing} not found under {SWORD_PATH}: "
            "apt-get install sword-text-web sword-text-sparv"
        )
    bibles = [modules.get_bible_from_module(name) for name in (ENGLISH, SPANISH)]
    for bible in bibles:
        # zText modules store a book per compressed block and pysword decompresses the
        # block again for every verse; keeping the last blocks makes reading 60x faster.
        bible._decompressed_text = functools.lru_cache(maxsize=4)(bible._decompressed_text)
    structures = [
        {book.osis_name: book for part in b.get_structure().get_books().values() for book in part}
        for b in bibles
    ]
    verses = []
    for name, spanish_book in structures[1].items():
        english_book = structures[0].get(name)
        if english_book is None or (books is not None and name not in books):
            continue
        for chapter in range(1, min(english_book.num_chapters, spanish_book.num_chapters) + 1):
            count = english_book.chapter_lengths[chapter - 1]
            if count != spanish_book.chapter_lengths[chapter - 1]:
                continue
            for verse in range(1, count + 1):
                english, spanish = (
                    tokenize(
                        clean(b.get(books=[name], chapters=[chapter], verses=[verse], clean=False))
                    )
                    for b in bibles
                )
                if english and spanish:
                    verses.append((name, english, spanish))
    return verses


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    import keras
    import numpy as np

    from kerasdl.callbacks.bleu import BLEUEvaluation
    from kerasdl.data.vocabulary import Vocabulary, seq2seq_arrays
    from kerasdl.decoding import beam_error_analysis
    from kerasdl.metrics.bleu import corpus_bleu
    from kerasdl.models.seq2seq import Seq2SeqInference, seq2seq_attention

    plt = pyplot()
    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    held_out = DEV_BOOKS + TEST_BOOKS
    verses = load_verses(QUICK_TRAIN_BOOKS + held_out if args.quick else None)
    short = [v for v in verses if max(len(v[1].split()), len(v[2].split())) <= MAX_TOKENS]
    train = [v for v in short if v[0] not in held_out]
    dev = [v for v in short if v[0] in DEV_BOOKS]
    test = [v for v in short if v[0] in TEST_BOOKS]
    if args.quick:
        dev, test = dev[:40], test[:40]
    print(
        f"{len(verses)} aligned verses read in {time.perf_counter() - start:.0f} s; "
        f"{len(short)} with at most {MAX_TOKENS} tokens: {len(train)} train, {len(dev)} dev "
        f"({books(DEV_BOOKS)}), {len(test)} test ({books(TEST_BOOKS)})"
    )
    print("e.g.", train[0][1], "->", train[0][2])

    source_size, target_size = (800, 800) if args.quick else (4000, 4000)
    english = Vocabulary.from_texts([v[1] for v in train], level="word", max_size=source_size)
    spanish = Vocabulary.from_texts([v[2] for v in train], level="word", max_size=target_size)

    def arrays(rows):
        return seq2seq_arrays(
            [v[1] for v in rows], [v[2] for v in rows], english, spanish, MAX_TOKENS, MAX_TOKENS + 1
        )

    x, decoder_in, y = arrays(train)
    x_dev, decoder_dev, y_dev = arrays(dev)
    x_test, _, y_test = arrays(test)
    unknown = float(np.mean(y[y > 0] == spanish.unk_id))
    print(
        f"vocabularies: {len(english)} English, {len(spanish)} Spanish words "
        f"({unknown:.1%} of Spanish training tokens are <unk>)"
    )

    # Batches of similar target length waste little work on padding.
    order = np.argsort((y > 0).sum(1), kind="stable")
    batch_size = 64

    class LengthBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
            self.rng = np.random.default_rng(1)
            self.on_epoch_end()

        def __len__(self):
            return len(self.batches)

        def __getitem__(self, i):
            rows = self.batches[self.permutation[i]]
            width = int((y[rows] > 0).sum(1).max())
            width_x = int((x[rows] > 0).sum(1).max())
            return (x[rows, :width_x], decoder_in[rows, :width]), y[rows, :width]

        def on_epoch_end(self):
            self.permutation = self.rng.permutation(len(self.batches))

    model = seq2seq_attention(
        len(english),
        len(spanish),
        embedding_dim=16 if args.quick else 64,
        encoder_units=16 if args.quick else 64,
        decoder_units=32 if args.quick else 128,
        attention="bahdanau",
        attention_units=16 if args.quick else 32,
    )
    model.compile(
        keras.optimizers.Adam(3e-3, clipnorm=1.0),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    )
    inference = Seq2SeqInference(model, spanish.start_id, spanish.end_id)
    max_length = MAX_TOKENS + 6

    def greedy_ids(model, sources):
        return inference.decode(sources, max_length=max_length).sequences[:, 0]

    # BLEU on ids would count an output <unk> as matching a reference <unk>; an id the
    # model never outputs stands for the unknown reference words instead.
    dev_references = np.where(y_dev == spanish.unk_id, len(spanish), y_dev)
    bleu_log = BLEUEvaluation(
        greedy_ids, x_dev, dev_references, batch_size=256, end_id=spanish.end_id
    )
    epochs = 1 if args.quick else 6
    start = time.perf_counter()
    history = model.fit(
        LengthBatches(),
        epochs=epochs,
        validation_data=((x_dev, decoder_dev), y_dev),
        callbacks=[bleu_log],
        verbose=2,
    )
    print(f"trained {epochs} epochs in {time.perf_counter() - start:.0f} s")

    # Test BLEU: greedy and beam search, with and without length normalisation.
    references = [v[2] for v in test]
    settings = [("greedy", 1, 0.0)]
    settings += [(f"beam {b}, alpha={a:g}", b, a) for b in (4, 10) for a in (0.0, 0.7)]
    scores = {}
    for label, width, alpha in settings:
        begin = time.perf_counter()
        hypotheses = []
        for i in range(0, len(x_test), 128):
            result = inference.decode(
                x_test[i : i + 128],
                max_length=max_length,
                beam_width=width,
                length_penalty_alpha=alpha,
            )
            hypotheses += spanish.decode(result.sequences.numpy()[:, 0])
        scores[label] = corpus_bleu(hypotheses, [references], tokenize="none")
        print(f"{label:20} {scores[label]}  ({time.perf_counter() - begin:.0f} s)")
        if label == "greedy":
            greedy_hypotheses = hypotheses
    for i in range(3):
        print(f"  en: {test[i][1]}\n  es: {test[i][2]}\n  greedy: {greedy_hypotheses[i]}")

    # Beam error analysis on test sentences: is the search or the model at fault?
    count = min(len(test), 200)
    beam = inference.decode(x_test[:count], max_length=max_length, beam_width=4)
    analysis = beam_error_analysis(
        inference.step_fn,
        [v[1] for v in test[:count]],
        y_test[:count],
        beam,
        end_id=spanish.end_id,
        start_id=spanish.start_id,
        initial_state=inference.initial_state(x_test[:count]),
        length_penalty_alpha=0.7,
        vocabulary=spanish.tokens,
    )
    print("beam search (B=4, alpha=0.7) error analysis on the first test sentences:")
    print(analysis.to_table(max_rows=8, width=28))

    fig, (loss_ax, bleu_ax) = plt.subplots(1, 2, figsize=(11, 4))
    trained = range(1, len(history.history["loss"]) + 1)
    loss_ax.plot(trained, history.history["loss"], marker="o", label="training")
    loss_ax.plot(trained, history.history["val_loss"], marker="s", label="dev")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy per word (teacher forcing)")
    loss_ax.legend()
    bleu_ax.plot(trained, history.history["val_bleu"], marker="o", color="tab:green")
    bleu_ax.set(xlabel="epoch", ylabel="dev BLEU (greedy)", title="BLEUEvaluation")
    for ax in (loss_ax, bleu_ax):
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "bible_training.png"), dpi=100)
    plt.close(fig)

    fig, (score_ax, ratio_ax) = plt.subplots(1, 2, figsize=(11, 4))
    labels = list(scores)
    score_ax.barh(labels, [scores[k].score for k in labels], color="tab:blue")
    score_ax.set(xlabel="test BLEU", title=f"{len(test)} test verses: {books(TEST_BOOKS)}")
    score_ax.invert_yaxis()
    ratio_ax.barh(labels, [scores[k].ratio for k in labels], color="tab:orange")
    ratio_ax.axvline(1.0, color="gray", linestyle="--")
    ratio_ax.set(xlabel="output length / reference length", title="Length normalisation")
    ratio_ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "bible_bleu.png"), dpi=100)
    plt.close(fig)
    print(f"plots written to {args.out}/")


if __name__ == "__main__":
    main()
