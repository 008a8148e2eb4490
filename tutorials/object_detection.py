"""Object detection with YOLO: grid targets, k-means anchors, training, non-max suppression.

Run: `python -m tutorials.object_detection [--out outputs]`. Writes:
- `yolo_targets_grid.png`: a shapes image on its 8x8 grid; each object's midpoint marks
  the responsible cell, with its target vector [pc, bx, by, bh, bw, c1..c3];
- `anchors_kmeans.png`: the boxes' (w, h) coloured by their k-means anchor (1 - IoU
  distance), and the mean IoU of a box with its anchor as k grows;
- `detection_training.png`: the YOLO loss per epoch;
- `nms_before_after.png`: every box scoring above 0.05 before non-max suppression, and
  what `YoloDecoder` keeps after it.
"""

from __future__ import annotations

import os

from tutorials.common import parse_args, pyplot

CLASSES = ("circle", "square", "triangle")


def draw_boxes(ax, boxes, size, colors, labels=None, style="-"):
    from matplotlib.patches import Rectangle

    for i, (y0, x0, y1, x1) in enumerate(boxes):
        ax.add_patch(
            Rectangle(
                (x0 * size - 0.5, y0 * size - 0.5),
                (x1 - x0) * size,
                (y1 - y0) * size,
                fill=False,
                edgecolor=colors[i],
                linestyle=style,
                linewidth=1.5,
            )
        )
        if labels is not None:
            ax.text(x0 * size, y0 * size - 1, labels[i], color=colors[i], fontsize=7)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    import keras
    import numpy as np

    from kerasdl.data import encode_yolo_targets, shapes_dataset, shapes_tf_dataset
    from kerasdl.layers import YoloDecoder
    from kerasdl.layers.detection import decode_yolo_output
    from kerasdl.losses import YoloLoss
    from kerasdl.models import yolo
    from kerasdl.ops import iou
    from kerasdl.ops.anchors import kmeans_anchors

    plt = pyplot()
    keras.utils.set_random_seed(0)
    num_train, epochs = (128, 1) if args.quick else (2000, 20)
    images, boxes, classes = shapes_dataset(num_train, seed=0)
    grid, size = 8, images.shape[1]

    # 1. Anchors: k-means on the training boxes' (w, h) with distance 1 - IoU.
    valid = classes >= 0
    sizes = np.stack(
        [(boxes[..., 3] - boxes[..., 1])[valid], (boxes[..., 2] - boxes[..., 0])[valid]], -1
    )
    ks = list(range(1, 7))
    mean_ious = [kmeans_anchors(sizes, k, seed=0)[1] for k in ks]
    anchors, anchor_iou = kmeans_anchors(sizes, 3, seed=0)
    print("anchors:", np.round(anchors, 3).tolist(), f"mean IoU {anchor_iou:.3f}")
    # Shape IoU: boxes and anchors share a centre, as in the k-means distance.
    zeros = np.zeros_like(sizes)
    as_boxes = np.concatenate([zeros, sizes], -1)
    anchor_boxes = np.concatenate([np.zeros_like(anchors), anchors], -1)
    overlap = keras.ops.convert_to_numpy(iou(as_boxes, anchor_boxes, format="cxcywh"))
    nearest = overlap.argmax(-1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.scatter(sizes[:, 0], sizes[:, 1], c=nearest, s=6, cmap="viridis", alpha=0.6)
    left.scatter(anchors[:, 0], anchors[:, 1], c="red", marker="x", s=80, label="anchors")
    left.set(xlabel="box width (fraction of image)", ylabel="box height", title="k-means, k=3")
    left.legend()
    right.plot(ks, mean_ious, marker="o")
    right.set(xlabel="k", ylabel="mean IoU with nearest anchor", title="More anchors fit better")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "anchors_kmeans.png"), dpi=100)
    plt.close(fig)

    # 2. Targets: each object goes to the cell holding its midpoint.
    targets = encode_yolo_targets(boxes[:1], classes[:1], grid, anchors, len(CLASSES))[0]
    fig, ax = plt.subplots(figsize=(6.5, 6.5))
    ax.imshow(images[0])
    for k in range(1, grid):
        ax.axhline(k * size / grid - 0.5, color="white", linewidth=0.5)
        ax.axvline(k * size / grid - 0.5, color="white", linewidth=0.5)
    lines = []
    for row, col, anchor in zip(*np.nonzero(targets[..., 0]), strict=True):
        pc, bx, by, bh, bw, *onehot = targets[row, col, anchor]
        ax.add_patch(
            plt.Rectangle(
                (col * size / grid - 0.5, row * size / grid - 0.5),
                size / grid,
                size / grid,
                color="yellow",
                alpha=0.35,
            )
        )
        ax.plot((col + bx) * size / grid - 0.5, (row + by) * size / grid - 0.5, "r*")
        lines.append(
            f"cell ({row},{col}) anchor {anchor}: y = [{pc:.0f}, {bx:.2f}, {by:.2f}, {bh:.2f}, "
            f"{bw:.2f}, {', '.join(f'{c:.0f}' for c in onehot)}]"
        )
    draw_boxes(ax, boxes[0][classes[0] >= 0], size, ["red"] * 4)
    ax.set_title("\n".join(lines), fontsize=8)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "yolo_targets_grid.png"), dpi=100)
    plt.close(fig)

    # 3. Training.
    model = yolo(size, len(CLASSES), len(anchors))
    train = shapes_tf_dataset(
        num_train,
        batch_size=32,
        grid_size=grid,
        anchors=anchors.tolist(),
        random_flip_left_right=True,
        seed=0,
    )
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, epochs * int(train.cardinality()))
    model.compile(keras.optimizers.Adam(schedule), YoloLoss(anchors.tolist(), len(CLASSES)))
    history = model.fit(train, epochs=epochs, shuffle=False, verbose=2)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, epochs + 1), history.history["loss"], marker="o")
    ax.set(xlabel="epoch", ylabel="YOLO loss", yscale="log", title="Training")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "detection_training.png"), dpi=100)
    plt.close(fig)

    # 4. Non-max suppression: all confident boxes, then what the decoder keeps.
    test_images, test_boxes, test_classes = shapes_dataset(4, seed=7)
    raw = model.predict(test_images, verbose=0)
    decoded = decode_yolo_output(raw, anchors.tolist(), len(CLASSES))
    score = keras.ops.convert_to_numpy(
        decoded["objectness"] * keras.ops.max(decoded["class_probs"], axis=-1)
    )
    all_boxes = keras.ops.convert_to_numpy(decoded["boxes"])
    kept = YoloDecoder(anchors.tolist(), len(CLASSES), max_detections=20)(raw)
    fig, axes = plt.subplots(2, 4, figsize=(12, 6.4))
    for i in range(4):
        for ax, title in zip(axes[:, i], ("before NMS", "after NMS"), strict=True):
            ax.imshow(test_images[i])
            ax.set_title(title)
            ax.axis("off")
        mask = score[i] > 0.05
        draw_boxes(axes[0, i], np.clip(all_boxes[i][mask], 0, 1), size, ["orange"] * mask.sum())
        count = int(kept["num_detections"][i])
        cls = keras.ops.convert_to_numpy(kept["detection_classes"][i][:count])
        scores = keras.ops.convert_to_numpy(kept["detection_scores"][i][:count])
        draw_boxes(
            axes[1, i],
            keras.ops.convert_to_numpy(kept["detection_boxes"][i][:count]),
            size,
            ["lime"] * count,
            [f"{CLASSES[c]} {s:.2f}" for c, s in zip(cls, scores, strict=True)],
        )
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "nms_before_after.png"), dpi=100)
    plt.close(fig)
    print(f"plots written to {args.out}/")


if __name__ == "__main__":
    main()
