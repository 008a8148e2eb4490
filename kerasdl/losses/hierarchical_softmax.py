"""The hierarchical-softmax loss of word2vec (`-hs 1`, gensim's `hs=1`)."""

from __future__ import annotations

import keras
from keras import ops

from kerasdl._validation import check_matching_2d


@keras.saving.register_keras_serializable(package="kerasdl")
class HierarchicalSoftmaxLoss(keras.losses.Loss):
    """Hierarchical softmax (Morin & Bengio, 2005; Mikolov et al., 2013): `-log p(t | c)`
    of the true target `t` as a walk down a Huffman tree of the vocabulary.

    The notes' softmax `p(t | c) = e^{theta_t^T e_c} / sum_j e^{theta_j^T e_c}` sums over
    the whole vocabulary; the "hierarchical softmax classifier" instead scores only the
    inner nodes `n_1..n_L` on the path from the root to `t`, each a binary decision with
    its own vector `theta_n` and branch `d_j` (0 left, 1 right; the word's Huffman code):

        p(t | c) = prod_j sigmoid((1 - 2 d_j) z_j),    z_j = theta_{n_j}^T e_c
        L = -log p(t | c) = sum_j softplus((2 d_j - 1) z_j)

    i.e. word2vec's and gensim's per-node logistic regression with label `1 - d_j`,
    summed along the path, then reduced over the batch (default: the mean). The
    probabilities of all `V` words sum to 1 for any vectors, so it is a normalised
    softmax at `O(log V)` cost per example. Paths have different lengths: codes of -1
    pad them and add nothing.

    Args:
        reduction: Keras loss reduction over the batch; default "sum_over_batch_size".
            `kerasdl.models.train_word2vec` uses "sum" (word2vec's per-pair SGD).
        name: name of the loss.
        dtype: dtype of the computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: the target's code `[B, L]`: 0 or 1 per node from the root, -1 after the
            path's end (`HuffmanTree.codes[t]`, as `hierarchical_softmax_dataset` yields).
        y_pred: the node logits `z_j` `[B, L]` (`kerasdl.models.word2vec` with
            `objective="hierarchical_softmax"`, whose candidates are
            `HuffmanTree.points[t]`).
        sample_weight: optional per-example weights `[B]`.

    Example:

    >>> import numpy as np
    >>> codes = np.array([[1, 0, -1]])
    >>> logits = np.array([[0.5, 2.0, 7.0]], "float32")
    >>> # -log s(-0.5) - log s(2) = 0.9741 + 0.1269; the padded 7.0 is left out
    >>> round(float(HierarchicalSoftmaxLoss()(codes, logits)), 4)
    1.101

    Reference:
        Morin and Bengio, "Hierarchical Probabilistic Neural Network Language Model",
        AISTATS 2005. Mikolov et al., "Distributed Representations of Words and Phrases
        and their Compositionality", NeurIPS 2013.
    """

    def __init__(
        self,
        reduction="sum_over_batch_size",
        name="hierarchical_softmax_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        check_matching_2d(
            y_true,
            y_pred,
            "[B, L]",
            "the logits of the L inner nodes on the target's path",
            "the target's Huffman code (0/1, -1 padding)",
        )
        codes = ops.cast(y_true, y_pred.dtype)
        # softplus((2d - 1) z) = -log sigmoid((1 - 2d) z), accurate for confident logits;
        # `where` rather than a 0/1 mask keeps whatever the padding's logits hold out.
        losses = ops.where(
            ops.greater_equal(codes, 0.0), ops.softplus((2.0 * codes - 1.0) * y_pred), 0.0
        )
        return ops.sum(losses, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(dtype=self.dtype)
        return config
