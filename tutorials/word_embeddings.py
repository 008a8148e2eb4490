"""Word embeddings from WordNet's glosses: word2vec against gensim, GloVe, analogies,
debiasing, t-SNE and a sentiment classifier.

Data: the glosses (definitions and usage examples) of WordNet 3.0's synsets, each led
by its synset's words, as Debian's `wordnet-base` installs them (no download), read by
`kerasdl.data.corpora.english_corpus`: the first 1M words (of 1.76M), 18k words seen at
least 5 times. Quality is measured on the classic benchmarks that ship in gensim's test data:
Mikolov's analogy questions (`questions-words.txt`, 3CosAdd, questions with an unknown
word skipped, as gensim does) and WordSim-353 (Spearman's rank correlation).

Run: `python -m tutorials.word_embeddings [--out outputs] [--quick]` (about 5 minutes
on 2 CPU cores; `--quick` trains on 60k words for a smoke test).

1. word2vec, skip-gram with negative sampling, trained by kerasdl
   (`kerasdl.models.word2vec_training.train_word2vec`: tf.data skip-gram pipeline,
   `word2vec` model, `NegativeSamplingLoss`, SGD with word2vec's linearly decaying
   learning rate) and by gensim's `Word2Vec` on the same sentences with the same
   settings (dimension 100, window 5, 5 negatives, subsampling 1e-3, min count 5, the
   same epochs): analogy accuracy, WordSim-353 Spearman and training words per second,
   side by side.
2. Nearest neighbours and a few analogies (`nearest_neighbors`, `complete_analogy`).
3. GloVe on the same corpus (`cooccurrence_matrix`, `glove`, `GloVeLoss`), on the same
   benchmarks.
4. Debiasing (Bolukbasi et al.) on the trained word2vec vectors: the gender direction
   from definitional pairs, occupation words neutralised, gendered pairs equalised.
5. A t-SNE map of a few groups of words (`kerasdl.plot.embeddings_tsne`).
6. The notes' "Emojify" classifiers (`sentiment_average`, `sentiment_lstm`) over the
   frozen word2vec vectors, on a labelled set built here: short sentences around one
   word of five classes (love, sport, happy, sad, food), tested on sentences whose class
   words never appear in training, against the same averaging model over random vectors.

Writes:
- `word2vec_vs_gensim.png`: analogy accuracy, WordSim-353 Spearman and words/s of
  kerasdl's word2vec, gensim's word2vec and kerasdl's GloVe;
- `word_embeddings_tsne.png`: the t-SNE map;
- `word_embeddings_debias.png`: projections on the gender direction before and after
  neutralising and equalising.
"""

from __future__ import annotations

import os
import time

from tutorials.common import parse_args, pyplot

SETTINGS = {"dim": 100, "window": 5, "num_negatives": 5, "subsample": 1e-3, "min_count": 5}
NEIGHBOUR_WORDS = ["king", "france", "dog", "red", "violin", "river", "doctor", "seven"]
ANALOGIES = [
    ("man", "woman", "king"),
    ("man", "woman", "father"),
    ("france", "paris", "italy"),
    ("big", "bigger", "small"),
    ("walk", "walked", "go"),
    ("dog", "dogs", "child"),
]
DEFINITIONAL_PAIRS = [
    ("woman", "man"),
    ("girl", "boy"),
    ("she", "he"),
    ("mother", "father"),
    ("daughter", "son"),
    ("female", "male"),
    ("her", "his"),
    ("sister", "brother"),
]
OCCUPATIONS = [
    "nurse", "receptionist", "homemaker", "secretary", "dancer", "librarian", "teacher",
    "doctor", "engineer", "programmer", "architect", "carpenter", "surgeon", "captain",
    "scientist", "soldier",
]  # fmt: skip
EQUALIZE_PAIRS = [
    ("grandmother", "grandfather"),
    ("actress", "actor"),
    ("waitress", "waiter"),
    ("aunt", "uncle"),
]
EMOJIFY_CLASSES = {
    "love": ["love", "affection", "darling", "sweetheart", "romance", "kiss", "hug", "passion",
             "fond", "lover", "embrace", "devotion", "adore", "cherish", "beloved"],
    "sport": ["baseball", "football", "tennis", "soccer", "golf", "hockey", "basketball",
              "cricket", "ball", "team", "racket", "bat", "pitcher", "stadium", "score", "goal"],
    "happy": ["happy", "joy", "cheerful", "merry", "smile", "laugh", "fun", "joyful",
              "content", "pleasure", "amusement", "jolly", "glad", "delighted", "pleased"],
    "sad": ["sad", "sorrow", "grief", "depressed", "gloomy", "cry", "tears", "melancholy",
            "despair", "mourning", "unhappy", "miserable", "weep", "lonely"],
    "food": ["food", "bread", "cheese", "soup", "meat", "rice", "cake", "dinner", "lunch",
             "meal", "fruit", "pizza", "eat", "sandwich", "pie", "hungry"],
}  # fmt: skip
EMOJIFY_TEMPLATES = [
    "{word}", "this is about {word}", "i think of {word} a lot", "so much {word} tonight",
    "all we talk about is {word}", "{word} again today", "it is all {word}", "more {word} please",
]  # fmt: skip
TSNE_GROUPS = {
    "countries": ["france", "germany", "italy", "spain", "china", "japan", "india", "egypt"],
    "colours": ["red", "green", "blue", "yellow", "black", "white", "purple", "orange"],
    "animals": ["dog", "cat", "horse", "cow", "sheep", "lion", "wolf", "bear"],
    "family": ["mother", "father", "son", "daughter", "brother", "sister", "wife", "husband"],
    "music": ["music", "song", "piano", "violin", "guitar", "drum", "flute", "melody"],
    "numbers": ["two", "three", "four", "five", "six", "seven", "eight", "nine"],
}


def gensim_skipgram(sentences: list[list[str]]):
    """gensim's skip-gram with negative sampling at `SETTINGS`, vocabulary built and not
    yet trained, one worker thread per core (its C routines): the reference kerasdl's
    word2vec is compared with here and in benchmarks/word2vec.py."""
    from gensim.models import Word2Vec

    reference = Word2Vec(
        vector_size=SETTINGS["dim"],
        window=SETTINGS["window"],
        negative=SETTINGS["num_negatives"],
        sample=SETTINGS["subsample"],
        min_count=SETTINGS["min_count"],
        sg=1,
        workers=os.cpu_count() or 1,
        seed=0,
    )
    reference.build_vocab(sentences)
    return reference


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    import keras
    import numpy as np

    from kerasdl.data.corpora import encode_corpus, english_corpus
    from kerasdl.data.glove import cooccurrence_matrix, glove_dataset
    from kerasdl.data.word_benchmarks import word_benchmarks
    from kerasdl.data.word_vectors import embedding_layer
    from kerasdl.losses.glove import GloVeLoss
    from kerasdl.models.glove import glove, glove_vectors
    from kerasdl.models.sentiment import sentiment_average, sentiment_lstm
    from kerasdl.models.word2vec_training import train_word2vec
    from kerasdl.ops.embeddings import (
        bias_direction,
        complete_analogy,
        equalize,
        nearest_neighbors,
        neutralize,
    )
    from kerasdl.plot.embeddings import embeddings_tsne

    plt = pyplot()
    quick = args.quick
    epochs = 2 if quick else 5
    start = time.perf_counter()
    sentences = english_corpus("wordnet", max_tokens=60_000 if quick else 1_000_000)
    corpus = encode_corpus(sentences, min_count=SETTINGS["min_count"])
    words = corpus.words
    index = {w: i for i, w in enumerate(words)}
    num_tokens = sum(map(len, sentences))
    print(
        f"WordNet glosses: {len(sentences)} sentences, {num_tokens} words, "
        f"{len(words)} words seen >= {SETTINGS['min_count']} times "
        f"(read in {time.perf_counter() - start:.0f} s)"
    )
    print("e.g.", " ".join(sentences[1000 if len(sentences) > 1000 else 0]))

    # 1. word2vec: kerasdl and gensim on the same sentences with the same settings.
    reference = gensim_skipgram(sentences)
    begin = time.perf_counter()
    reference.train(sentences, total_examples=len(sentences), epochs=epochs)
    gensim_seconds = time.perf_counter() - begin
    gensim_words = reference.wv.index_to_key
    gensim_vectors = reference.wv.vectors

    run = train_word2vec(
        corpus.sentences,
        counts=corpus.counts,
        dim=SETTINGS["dim"],
        window=SETTINGS["window"],
        num_negatives=SETTINGS["num_negatives"],
        epochs=epochs,
        batch_size=4096,
        subsample=SETTINGS["subsample"],
        seed=0,
    )
    vectors = run.vectors
    results = {
        "kerasdl word2vec": word_benchmarks(vectors, words),
        "gensim word2vec": word_benchmarks(gensim_vectors, gensim_words),
    }
    speed = {
        "kerasdl word2vec": num_tokens * epochs / run.seconds,
        "gensim word2vec": num_tokens * epochs / gensim_seconds,
    }

    # 3. GloVe on the same encoded corpus (window 10, x_max 100, alpha 3/4). Keras' Adam
    # updates every row at each step, so large batches keep the steps few.
    begin = time.perf_counter()
    cooccurrence = cooccurrence_matrix(corpus.sentences, len(words), window=10)
    glove_model = glove(len(words), SETTINGS["dim"])
    glove_model.compile(keras.optimizers.Adam(0.02), GloVeLoss(), jit_compile=True)
    glove_epochs = 2 if quick else 5
    glove_model.fit(
        glove_dataset(cooccurrence, batch_size=16384, seed=0, drop_remainder=True),
        epochs=glove_epochs,
        verbose=0,
        shuffle=False,
    )
    glove_seconds = time.perf_counter() - begin
    results["kerasdl GloVe"] = word_benchmarks(glove_vectors(glove_model), words)
    speed["kerasdl GloVe"] = num_tokens * glove_epochs / glove_seconds
    print(
        f"GloVe: {cooccurrence.nnz} non-zero co-occurrence counts, {glove_epochs} epochs "
        f"in {glove_seconds:.0f} s"
    )

    print(
        f"\n{epochs} epochs, dimension {SETTINGS['dim']}, window {SETTINGS['window']}, "
        f"{SETTINGS['num_negatives']} negatives; gensim with {reference.workers} worker threads"
    )
    print("| model | analogy accuracy (questions) | WordSim-353 Spearman | words/s |")
    print("|---|---|---|---|")
    for name, result in results.items():
        print(
            f"| {name} | {result['analogy_accuracy']:.3f} ({result['analogy_questions']}) | "
            f"{result['wordsim353_spearman']:.3f} | {speed[name]:,.0f} |"
        )
    ours, theirs = results["kerasdl word2vec"], results["gensim word2vec"]
    print(
        f"kerasdl / gensim: analogy {ours['analogy_accuracy'] / theirs['analogy_accuracy']:.2f}, "
        f"Spearman {ours['wordsim353_spearman'] / theirs['wordsim353_spearman']:.2f}, "
        f"words/s {speed['kerasdl word2vec'] / speed['gensim word2vec']:.2f}"
    )

    # 2. Nearest neighbours and analogies with the kerasdl vectors.
    present = [w for w in NEIGHBOUR_WORDS if w in index]
    ids = np.array([index[w] for w in present])
    neighbours, _ = nearest_neighbors(vectors, vectors[ids], k=6, exclude=ids[:, None])
    print("\nnearest neighbours (cosine):")
    for word, row in zip(present, np.asarray(neighbours), strict=True):
        print(f"  {word:8} {', '.join(words[j] for j in row)}")
    questions = [q for q in ANALOGIES if all(w in index for w in q)]
    if questions:
        a, b, c = (list(x) for x in zip(*questions, strict=True))
        answers = complete_analogy(a, b, c, vectors, words, k=3)
        print("analogies a : b :: c : ? (top 3):")
        for (qa, qb, qc), top in zip(questions, answers, strict=True):
            print(f"  {qa} : {qb} :: {qc} : {', '.join(top)}")

    # 4. Debiasing on unit vectors, as Bolukbasi et al., after removing the mean vector:
    # word2vec's vectors share a common direction, and the definitional pairs' rarer
    # (female) words stand out along it, so without centring nearly every word would
    # lean "female".
    centred = vectors - vectors.mean(axis=0)
    unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    pairs = [p for p in DEFINITIONAL_PAIRS if all(w in index for w in p)]
    g = np.asarray(bias_direction(pairs, unit, words, method="pca"))
    occupations = [w for w in OCCUPATIONS if w in index]
    occupation_vectors = unit[[index[w] for w in occupations]]
    before = occupation_vectors @ g
    after = np.asarray(neutralize(occupation_vectors, g)) @ g
    print(f"\ngender direction g from {len(pairs)} definitional pairs (PCA)")
    print("cos(e, g) before -> after neutralize:")
    for word, x, y in sorted(zip(occupations, before, after, strict=True), key=lambda t: t[1]):
        print(f"  {word:13} {x:+.3f} -> {y:+.1e}")
    equal_pairs = [p for p in EQUALIZE_PAIRS if all(w in index for w in p)]
    neutral = np.asarray(neutralize(unit[index[occupations[0]]], g)) if occupations else None
    equalized = []
    for w1, w2 in equal_pairs:
        e1, e2 = unit[index[w1]], unit[index[w2]]
        n1, n2 = (np.asarray(x) for x in equalize((e1, e2), g))
        equalized.append((w1, w2, e1 @ g, e2 @ g, n1 @ g, n2 @ g))
        if neutral is not None:
            print(
                f"  equalize {w1}/{w2}: cos with g {e1 @ g:+.3f}/{e2 @ g:+.3f} -> "
                f"{n1 @ g:+.3f}/{n2 @ g:+.3f}; distance to neutralised {occupations[0]} "
                f"{np.linalg.norm(e1 - neutral):.3f}/{np.linalg.norm(e2 - neutral):.3f} -> "
                f"{np.linalg.norm(n1 - neutral):.3f}/{np.linalg.norm(n2 - neutral):.3f}"
            )

    # 5. t-SNE of a few groups of words.
    groups = {k: [w for w in v if w in index] for k, v in TSNE_GROUPS.items()}
    groups = {k: v for k, v in groups.items() if v}
    tsne_words = [w for v in groups.values() for w in v]
    embeddings_tsne(
        vectors[[index[w] for w in tsne_words]],
        tsne_words,
        os.path.join(args.out, "word_embeddings_tsne.png"),
        groups=groups,
        perplexity=min(10.0, len(tsne_words) - 1.0),
        method="exact",
        metric="cosine",
        title=f"kerasdl word2vec on WordNet glosses ({len(words)} words), t-SNE",
    )

    # 6. The notes' "Emojify" classifiers on a labelled set built here: short sentences
    # around one word of a class, the classes' words split in two halves, one to train on
    # and one, never seen in training, to test on. Only the embeddings can tell that a
    # test word belongs with the training words of its class.
    classes = {k: [w for w in v if w in index] for k, v in EMOJIFY_CLASSES.items()}
    # A class needs a word to train on and another to test on.
    classes = {k: v for k, v in classes.items() if len(v) >= 2}
    if len(classes) < 2:
        raise SystemExit(f"too few Emojify class words in the vocabulary: {classes}")
    rng = np.random.default_rng(0)
    class_names = list(classes)

    def sentences_of(half, count):
        rows, labels = [], []
        for _ in range(count):
            label = int(rng.integers(len(class_names)))
            word = str(rng.choice(classes[class_names[label]][half::2]))
            rows.append(str(rng.choice(EMOJIFY_TEMPLATES)).format(word=word).split())
            labels.append(label)
        length = max(map(len, rows))
        return np.array([r + [""] * (length - len(r)) for r in rows]), np.array(labels)

    train_text, train_labels = sentences_of(0, 400)
    test_text, test_labels = sentences_of(1, 400)
    example = " ".join(w for w in train_text[0] if w)
    print(
        f"\nEmojify: {len(class_names)} classes ({', '.join(class_names)}), 400 training "
        f"sentences over {sum(len(v[0::2]) for v in classes.values())} class words, 400 "
        f"test sentences over {sum(len(v[1::2]) for v in classes.values())} others; "
        f'e.g. "{example}" -> {class_names[train_labels[0]]}'
    )

    # Both tables scaled to rows of length sqrt(d), so that the classifiers see features
    # of one scale (word2vec's own lengths, ~2, leave the softmax underfitting).
    def scaled(table):
        return table / np.linalg.norm(table, axis=1, keepdims=True) * np.sqrt(table.shape[1])

    random_vectors = np.random.default_rng(1).normal(size=vectors.shape).astype("float32")
    classifier_epochs = 3 if quick else 40
    sentiment = {}
    for name, table, build in (
        ("average of word2vec vectors", scaled(vectors), sentiment_average),
        ("average of random vectors", scaled(random_vectors), sentiment_average),
        ("LSTM over word2vec vectors", scaled(vectors), sentiment_lstm),
    ):
        lookup, embedding = embedding_layer(table, words, mask_token="")
        keras.utils.set_random_seed(0)
        options = {"units": 32} if build is sentiment_lstm else {}
        classifier = build(embedding.get_weights()[0], len(class_names), **options)
        classifier.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        x_train, x_test = lookup(train_text), lookup(test_text)
        classifier.fit(x_train, train_labels, epochs=classifier_epochs, batch_size=32, verbose=0)
        accuracy = [
            float(np.mean(np.asarray(classifier(x, training=False)).argmax(1) == y))
            for x, y in ((x_train, train_labels), (x_test, test_labels))
        ]
        sentiment[name] = accuracy
        print(
            f"  {name:28} training accuracy {accuracy[0]:.3f}, test accuracy on unseen "
            f"words {accuracy[1]:.3f} (chance {1 / len(class_names):.2f})"
        )

    # Pictures.
    names = list(results)
    colours = ["tab:blue", "tab:orange", "tab:green"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = [
        ([results[n]["analogy_accuracy"] for n in names], "analogy accuracy (3CosAdd)"),
        ([results[n]["wordsim353_spearman"] for n in names], "WordSim-353 Spearman"),
        ([speed[n] for n in names], "training words / second"),
    ]
    for ax, (values, title) in zip(axes, panels, strict=True):
        bars = ax.bar(range(len(names)), values, color=colours)
        ax.bar_label(bars, labels=[f"{v:,.0f}" if v >= 100 else f"{v:.3f}" for v in values])
        ax.set_xticks(range(len(names)), [n.replace(" ", "\n", 1) for n in names])
        ax.set_title(title)
    fig.suptitle(
        f"WordNet glosses, {num_tokens / 1e6:.2f}M words, {epochs} epochs "
        f"(GloVe {glove_epochs}), dimension {SETTINGS['dim']}"
    )
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "word2vec_vs_gensim.png"), dpi=100)
    plt.close(fig)

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), width_ratios=[3, 2])
    order = np.argsort(before)
    y = np.arange(len(occupations))
    left.barh(y - 0.2, before[order], height=0.4, label="before", color="tab:red")
    left.barh(y + 0.2, after[order], height=0.4, label="after neutralize", color="tab:gray")
    left.set_yticks(y, [occupations[i] for i in order])
    left.axvline(0, color="black", linewidth=0.8)
    left.set(
        xlabel="cos(e, g)   (- male ... female +)",
        title=f"Occupations: after neutralize |cos(e, g)| <= {np.abs(after).max():.0e}",
    )
    left.legend()
    if equalized:
        y = np.arange(len(equalized))
        for offset, (column, label, colour) in enumerate(
            [(2, "woman word, before", "tab:pink"), (3, "man word, before", "tab:cyan"),
             (4, "woman word, after", "tab:red"), (5, "man word, after", "tab:blue")]
        ):  # fmt: skip
            right.barh(
                y + (offset - 1.5) * 0.2,
                [row[column] for row in equalized],
                height=0.2,
                label=label,
                color=colour,
            )
        right.set_yticks(y, [f"{a}/{b}" for a, b, *_ in equalized])
        right.axvline(0, color="black", linewidth=0.8)
        right.set(xlabel="cos(e, g)", title="Equalized pairs: symmetric about g = 0")
        right.legend(fontsize=8)
    else:
        right.set_axis_off()
        right.text(0.5, 0.5, "no equalize pair in the vocabulary", ha="center")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "word_embeddings_debias.png"), dpi=100)
    plt.close(fig)
    print(f"plots written to {args.out}/ ({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
