"""scikit-learn's bundled handwritten digits as an image classification set."""

from __future__ import annotations

import numpy as np


def load_digits_images(test_fraction: float = 0.2, seed: int = 0):
    """The 1,797 8x8 digits from scikit-learn as `(x_train, y_train), (x_test, y_test)`.

    Pixels are scaled to [0, 1] (the raw values are 0..16) and shaped `(n, 8, 8, 1)`;
    labels are int32 class ids 0..9. The split is stratified by class and fixed by `seed`.
    The data ship inside scikit-learn, so nothing is downloaded.

    Args:
        test_fraction: share of the examples held out for testing, in (0, 1).
        seed: seed of the split.

    Returns:
        `((x_train, y_train), (x_test, y_test))` numpy arrays.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_digits_images()
    >>> x_train.shape, x_test.shape
    ((1437, 8, 8, 1), (360, 8, 8, 1))
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"`test_fraction` must be in (0, 1). Received: test_fraction={test_fraction}"
        )
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., np.newaxis]
    y = digits.target.astype("int32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    return (x_train, y_train), (x_test, y_test)
