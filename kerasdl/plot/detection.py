"""Images with their detected (and optionally true) boxes, saved as PNG."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

PALETTE = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf")


def draw_detections(
    images: np.ndarray,
    detections: dict,
    path: str | os.PathLike,
    class_names: Sequence[str],
    true_boxes: np.ndarray | None = None,
    columns: int = 4,
    title: str | None = None,
    min_score: float = 0.0,
) -> str:
    """Draws each image with its detections: a box, the class name and the score.

    Args:
        images: `(n, height, width, 3)` floats in [0, 1].
        detections: the TF Object Detection API dict a `YoloDecoder` returns:
            `detection_boxes` `(n, m, 4)` yxyx normalised, `detection_scores` `(n, m)`,
            `detection_classes` `(n, m)`, `num_detections` `(n,)`.
        path: where to write the PNG.
        class_names: a name per class id.
        true_boxes: optional `(n, k, 4)` yxyx normalised ground truth, drawn dashed in white
            (all-zero rows are padding).
        columns: images per row.
        title: optional figure title.
        min_score: detections scoring below it are not drawn (mAP wants every
            detection, a reader only the confident ones).

    Returns:
        The path written.

    Example:

    >>> import numpy as np, tempfile, os
    >>> detections = {"detection_boxes": np.array([[[0.1, 0.1, 0.5, 0.6]]]),
    ...               "detection_scores": np.array([[0.9]]),
    ...               "detection_classes": np.array([[0]]), "num_detections": np.array([1])}
    >>> out = os.path.join(tempfile.mkdtemp(), "boxes.png")
    >>> draw_detections(np.zeros((1, 32, 32, 3)), detections, out, ["circle"]) == out
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(
            f"`images` must have shape (n, height, width, 3). Received: images.shape={images.shape}"
        )
    detections = {k: np.asarray(v) for k, v in detections.items()}
    n, height, width, _ = images.shape
    rows = -(-n // columns)

    def box_patch(box, color, **style):
        # Pixel centres sit at integer coordinates, so a box edge is half a pixel out.
        y0, x0, y1, x1 = box
        return Rectangle(
            (x0 * width - 0.5, y0 * height - 0.5),
            (x1 - x0) * width,
            (y1 - y0) * height,
            fill=False,
            edgecolor=color,
            **style,
        )

    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, ax in enumerate(axes.ravel()[:n]):
        ax.imshow(np.clip(images[i], 0, 1))
        if true_boxes is not None:
            for box in np.asarray(true_boxes[i]):
                if box[2] > box[0] and box[3] > box[1]:
                    ax.add_patch(box_patch(box, color="white", linestyle="--", linewidth=1))
        for j in range(int(detections["num_detections"][i])):
            if detections["detection_scores"][i, j] < min_score:
                continue
            y0, x0, y1, x1 = detections["detection_boxes"][i, j]
            cls = int(detections["detection_classes"][i, j])
            color = PALETTE[cls % len(PALETTE)]
            ax.add_patch(box_patch((y0, x0, y1, x1), color=color, linewidth=2))
            name = class_names[cls] if 0 <= cls < len(class_names) else str(cls)
            ax.text(
                x0 * width,
                y0 * height - 1,
                f"{name} {detections['detection_scores'][i, j]:.2f}",
                color="white",
                fontsize=7,
                bbox={"facecolor": color, "alpha": 0.8, "pad": 1, "linewidth": 0},
            )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return os.fspath(path)
