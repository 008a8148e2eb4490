"""A callback that decodes a dev set every few epochs and logs its corpus BLEU."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from kerasdl._validation import check_positive_int
from kerasdl.metrics.bleu import BLEU, BLEUScore


@keras.saving.register_keras_serializable(package="kerasdl")
class BLEUEvaluation(keras.callbacks.Callback):
    """Every `every` epochs, decodes a dev set and logs its corpus BLEU as `val_bleu`.

    A sequence model's training loss is measured with teacher forcing; what matters is
    the BLEU of what it outputs when it decodes on its own. At the end of every `every`-th
    epoch this callback runs `decode_fn(model, inputs)` on each dev batch (greedy or beam
    search, e.g. with `kerasdl.decoding`), scores the decoded ids against the references
    with `kerasdl.metrics.BLEU`,

        BLEU = 100 * BP * exp(1/N * sum_{n=1..N} log p_n)

    (sacrebleu's corpus BLEU on the ids as words), and writes it into the epoch's `logs`
    under `name`, so `History`, `TensorBoard`, `CSVLogger`, `EarlyStopping` and
    `ModelCheckpoint(monitor="val_bleu", mode="max")` see it. List this callback before
    the ones that read it; `History` always comes last. Epochs that are skipped have no
    `name` entry, as Keras' own `validation_freq` leaves out `val_` entries (so
    `CSVLogger`, which fixes its columns at the first epoch, needs `every=1`).

    Args:
        decode_fn: callable `(model, inputs) -> ids`, int ids `(batch, len)`.
        inputs: the dev inputs (an array, a tuple or a dict of arrays with the examples
            on the first axis), or a `tf.data.Dataset` of `(inputs, references)`
            batches (then `references` must be None).
        references: reference ids `(examples, refs, len)` or `(examples, len)`.
        batch_size: examples decoded per call when `inputs` holds arrays.
        every: decode every `every` epochs (at the end of epochs every, 2 * every, ...).
        max_order, smooth_method, smooth_value, pad_id, end_id: as in
            `kerasdl.metrics.BLEU`.
        name: the logs key.
        verbose: 1 prints the sacrebleu-style line after each evaluation.

    Attributes:
        scores: `{epoch: BLEUScore}` of every evaluation (0-based epochs).

    Example:

    >>> import numpy as np
    >>> inputs = np.array([[3, 4, 5, 6], [7, 8, 9, 0]])
    >>> copy = lambda model, x: np.asarray(x)  # a perfect "decoder"
    >>> callback = BLEUEvaluation(copy, inputs, references=inputs, every=2)
    >>> logs = {}
    >>> callback.on_epoch_end(0, logs)  # epoch 1: skipped
    >>> callback.on_epoch_end(1, logs)
    >>> round(logs["val_bleu"], 2)
    100.0
    """

    def __init__(
        self,
        decode_fn: Callable,
        inputs,
        references=None,
        batch_size=64,
        every=1,
        max_order=4,
        smooth_method="exp",
        smooth_value=None,
        pad_id=0,
        end_id=None,
        name="val_bleu",
        verbose=0,
    ):
        super().__init__()
        if not callable(decode_fn):
            raise TypeError(
                "`decode_fn` must be a callable (model, inputs) -> token ids. "
                f"Received: decode_fn={decode_fn!r}"
            )
        if isinstance(inputs, tf.data.Dataset):
            if references is not None:
                raise ValueError(
                    "`references` must be None when `inputs` is a tf.data.Dataset of "
                    "(inputs, references) batches. Received: references of shape "
                    f"{np.shape(references)}"
                )
        else:
            if references is None:
                raise ValueError(
                    "`references` must hold the reference ids when `inputs` holds arrays. "
                    "Received: references=None"
                )
            examples = {len(x) for x in keras.tree.flatten(inputs)}
            if len(examples) != 1 or examples != {len(references)}:
                raise ValueError(
                    "`inputs` and `references` must hold the same number of examples. "
                    f"Received: inputs with {sorted(examples)}, references with "
                    f"{len(references)}"
                )
        if not isinstance(name, str) or not name:
            raise ValueError(f"`name` must be a non-empty string. Received: name={name!r}")
        self.decode_fn = decode_fn
        self.inputs = inputs
        self.references = references
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.every = check_positive_int("every", every)
        self.name = name
        self.verbose = verbose
        self.metric = BLEU(
            max_order=max_order,
            smooth_method=smooth_method,
            smooth_value=smooth_value,
            pad_id=pad_id,
            end_id=end_id,
        )
        self.scores: dict[int, BLEUScore] = {}

    def _batches(self):
        if isinstance(self.inputs, tf.data.Dataset):
            yield from self.inputs
            return
        for start in range(0, len(self.references), self.batch_size):
            end = start + self.batch_size
            yield (
                keras.tree.map_structure(lambda x, s=start, e=end: x[s:e], self.inputs),
                self.references[start:end],
            )

    def evaluate(self) -> BLEUScore:
        """Decodes the whole dev set now and returns its `BLEUScore`."""
        self.metric.reset_state()
        for inputs, references in self._batches():
            self.metric.update_state(references, self.decode_fn(self.model, inputs))
        return self.metric.bleu_score()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        result = self.evaluate()
        self.scores[epoch] = result
        if logs is not None:
            logs[self.name] = result.score
        if self.verbose:
            print(f"Epoch {epoch + 1}: {self.name} {result}")

    def get_config(self):
        return {
            "decode_fn": keras.saving.serialize_keras_object(self.decode_fn),
            "inputs": self.inputs,
            "references": self.references,
            "batch_size": self.batch_size,
            "every": self.every,
            "max_order": self.metric.max_order,
            "smooth_method": self.metric.smooth_method,
            "smooth_value": self.metric.smooth_value,
            "pad_id": self.metric.pad_id,
            "end_id": self.metric.end_id,
            "name": self.name,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["decode_fn"] = keras.saving.deserialize_keras_object(config["decode_fn"])
        return cls(**config)
