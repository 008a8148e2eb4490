"""A grid of images with a caption under each, saved as PNG."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np


def image_grid(
    images: np.ndarray,
    captions: Sequence[str],
    path: str | os.PathLike,
    colors: Sequence[str] | None = None,
    columns: int = 8,
    title: str | None = None,
) -> str:
    """Saves `images` as a grid with one caption (and caption colour) under each.

    Args:
        images: `(n, height, width)` or `(n, height, width, channels)` with 1 or 3
            channels; float images are shown on [0, 1] (grey scale for one channel).
        captions: `n` strings.
        path: where to write the PNG.
        colors: optional `n` matplotlib colours for the captions (e.g. red for errors).
        columns: images per row.
        title: optional figure title.

    Returns:
        The path written.

    Example:

    >>> import numpy as np, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "grid.png")
    >>> image_grid(np.zeros((3, 8, 8)), ["a", "b", "c"], out) == out
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4):
        raise ValueError(
            "`images` must have shape (n, height, width[, channels]). "
            f"Received: images.shape={images.shape}"
        )
    if len(captions) != len(images):
        raise ValueError(
            f"`captions` must have one entry per image ({len(images)}). "
            f"Received: {len(captions)} captions"
        )
    colors = list(colors) if colors is not None else ["black"] * len(images)
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.9 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, caption, color in zip(axes.ravel(), images, captions, colors, strict=False):
        ax.imshow(image, cmap="gray_r" if image.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_title(caption, color=color, fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return os.fspath(path)
