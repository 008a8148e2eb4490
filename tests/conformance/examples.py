"""Every public kerasdl component's example, checked by test_contract.py."""

from __future__ import annotations

import numpy as np

from kerasdl.data.detection import encode_yolo_targets, localization_target
from kerasdl.layers import (
    ConvBlock,
    IdentityBlock,
    InceptionModule,
    PCAColorAugmentation,
    RandomColorShift,
    ResidualBlock,
    YoloDecoder,
)
from kerasdl.losses import (
    LocalizationLoss,
    TripletBatchAllLoss,
    TripletHardLoss,
    TripletLoss,
    TripletSemiHardLoss,
    YoloLoss,
)
from kerasdl.metrics import MeanAveragePrecision
from tests.conformance.examples_triplet import mined_loss_bads
from tests.conformance.registry import Bad, Example, random_floats

# ImageNet's RGB eigen-decomposition for [0, 1] pixels (as in fb.resnet.torch), so the
# example needs no adapt().
IMAGENET_EIGENVALUES = [0.2175, 0.0188, 0.0045]
IMAGENET_EIGENVECTORS = [
    [-0.5675, 0.7192, 0.4009],
    [-0.5808, -0.0045, -0.8140],
    [-0.5836, -0.6948, 0.4203],
]

YOLO_ANCHORS = [[0.3, 0.3], [0.6, 0.2]]


def yolo_targets():
    """Four images' [4, 3, 3, 2, 7] targets (2 anchors, 2 classes), one to three objects."""
    boxes = [
        [[0.1, 0.2, 0.4, 0.5], [0.5, 0.1, 0.7, 0.8], [0, 0, 0, 0]],
        [[0.0, 0.0, 0.3, 0.3], [0, 0, 0, 0], [0, 0, 0, 0]],
        [[0.6, 0.6, 0.9, 0.95], [0.2, 0.3, 0.35, 0.9], [0.4, 0.4, 0.6, 0.6]],
        [[0.45, 0.05, 0.55, 0.25], [0, 0, 0, 0], [0, 0, 0, 0]],
    ]
    classes = [[1, 0, -1], [0, -1, -1], [1, 1, 0], [0, -1, -1]]
    return encode_yolo_targets(np.array(boxes), np.array(classes), 3, YOLO_ANCHORS, 2)


def localization_targets():
    """Four [5 + K + 2L] targets (K=3, L=1): two objects, two backgrounds."""
    return localization_target(
        np.array([[0.1, 0.2, 0.5, 0.6], [0, 0, 0, 0], [0.3, 0.3, 0.9, 0.7], [0, 0, 0, 0]]),
        np.array([2, -1, 0, -1]),
        3,
        landmarks=np.array([[[0.3, 0.3]], [[0, 0]], [[0.5, 0.6]], [[0, 0]]]),
    )


def decoder_head():
    """A [4, 3, 3, 2 * 7] head output with spread-out objectness logits."""
    raw = random_floats(4, 3, 3, 2, 7, seed=3)
    raw[..., 0] += np.linspace(-2, 2, 18).reshape(3, 3, 2)
    return (raw.reshape(4, 3, 3, 14),)


def detection_example():
    """Ground truth (4, 3, 5) with a padding row per image; detections (4, 6, 6): a
    jittered copy of every box (padding copies stay padding) and 3 false positives."""
    rng = np.random.default_rng(0)
    corner = rng.uniform(0, 50, size=(4, 3, 2))
    boxes = np.concatenate([corner, corner + rng.uniform(10, 30, size=(4, 3, 2))], axis=-1)
    classes = rng.integers(0, 3, size=(4, 3, 1))
    classes[:, 2] = -1
    scores = rng.uniform(0.1, 1.0, size=(4, 6, 1))
    hits = np.concatenate(
        [boxes + rng.normal(scale=2.0, size=boxes.shape), scores[:, :3], classes], axis=-1
    )
    misses = np.concatenate(
        [boxes + 40.0, scores[:, 3:], rng.integers(0, 3, size=(4, 3, 1))], axis=-1
    )
    y_true = np.concatenate([boxes, classes], axis=-1).astype("float32")
    return y_true, np.concatenate([hits, misses], axis=1).astype("float32")


TRIPLET_LABELS = [[0.0], [1.0], [0.0], [1.0]]


def triplet_batch():
    """Four [4, 1] float labels (two classes, split across replicas) and [4, 3] embeddings."""
    return np.array(TRIPLET_LABELS, "float32"), random_floats(4, 3)


EXAMPLES: list[Example] = [
    Example(
        cls=ResidualBlock,
        kind="layer",
        kwargs={"filters": 4},
        inputs=lambda: (random_floats(4, 8, 8, 3),),
        bad=(
            Bad(ValueError, r"`filters` must be > 0\. Received: filters=0", kwargs={"filters": 0}),
            Bad(TypeError, r"`filters` must be a positive int", kwargs={"filters": 2.5}),
            Bad(ValueError, r"`strides` must have 2 entries", kwargs={"strides": (1, 2, 3)}),
            Bad(
                ValueError,
                r"`batch_norm_momentum` must be in \[0, 1\)",
                kwargs={"batch_norm_momentum": 1.5},
            ),
            Bad(
                ValueError,
                r"`inputs` must have rank 4 .*Received: inputs.shape=\(4, 8, 3\)",
                inputs=lambda: (random_floats(4, 8, 3),),
            ),
        ),
        device_ready=True,
        batch_statistics=True,
        id="ResidualBlock",
    ),
    Example(
        cls=ResidualBlock,
        kind="layer",
        kwargs={"filters": 3, "use_batch_norm": False, "kernel_size": (3, 1)},
        inputs=lambda: (random_floats(4, 6, 6, 3),),
        device_ready=True,
        id="ResidualBlock-identity-shortcut-no-bn",
    ),
    Example(
        cls=IdentityBlock,
        kind="layer",
        kwargs={"kernel_size": 3, "filters": (2, 2, 4)},
        inputs=lambda: (random_floats(4, 6, 6, 4),),
        bad=(
            Bad(ValueError, r"`filters` must have 3 entries", kwargs={"filters": (2, 4)}),
            Bad(ValueError, r"`strides` of an IdentityBlock must be 1", kwargs={"strides": 2}),
            Bad(ValueError, r"`batch_norm_epsilon` must be > 0", kwargs={"batch_norm_epsilon": 0}),
            Bad(
                ValueError,
                r"must have filters\[2\]=4 channels.*Received: inputs.shape=\(4, 6, 6, 3\)",
                inputs=lambda: (random_floats(4, 6, 6, 3),),
            ),
        ),
        device_ready=True,
        batch_statistics=True,
    ),
    Example(
        cls=ConvBlock,
        kind="layer",
        kwargs={"kernel_size": 3, "filters": (2, 2, 4), "strides": 2},
        inputs=lambda: (random_floats(4, 7, 7, 3),),
        bad=(
            Bad(
                TypeError,
                r"`kernel_size` must be an int or a tuple of 2",
                kwargs={"kernel_size": 1.5},
            ),
            Bad(
                ValueError,
                r"`inputs` must have rank 4",
                inputs=lambda: (random_floats(4, 7, 3),),
            ),
        ),
        device_ready=True,
        batch_statistics=True,
    ),
    Example(
        cls=InceptionModule,
        kind="layer",
        kwargs={
            "filters_1x1": 2,
            "filters_3x3": (2, 3),
            "filters_5x5": (1, 2),
            "filters_pool_proj": 2,
        },
        inputs=lambda: (random_floats(4, 6, 6, 3),),
        bad=(
            Bad(
                ValueError,
                r"`filters_1x1` must be > 0\. Received: filters_1x1=0",
                kwargs={"filters_1x1": 0},
            ),
            Bad(
                ValueError,
                r"`filters_3x3` must be a \(reduce, out\) pair of positive ints\. "
                r"Received: filters_3x3=3",
                kwargs={"filters_3x3": 3},
            ),
            Bad(
                ValueError,
                r"`filters_5x5` must be a \(reduce, out\) pair",
                kwargs={"filters_5x5": (1, 2, 3)},
            ),
            Bad(
                TypeError,
                r"`filters_pool_proj` must be a positive int",
                kwargs={"filters_pool_proj": 1.5},
            ),
            Bad(
                ValueError,
                r"`inputs` must have rank 4 .*Received: inputs.shape=\(4, 6, 3\)",
                inputs=lambda: (random_floats(4, 6, 3),),
            ),
        ),
        device_ready=True,
        id="InceptionModule",
    ),
    Example(
        cls=InceptionModule,
        kind="layer",
        kwargs={
            "filters_1x1": 2,
            "filters_3x3": (2, 3),
            "filters_5x5": (1, 2),
            "filters_pool_proj": 2,
            "use_batch_norm": True,
        },
        inputs=lambda: (random_floats(4, 6, 6, 3),),
        device_ready=True,
        batch_statistics=True,
        id="InceptionModule-batch-norm",
    ),
    Example(
        cls=PCAColorAugmentation,
        kind="layer",
        # stddev=0: the training path (draw, projection, clip) runs in every mode, but
        # adds 0, because XLA draws other random numbers than TensorFlow from one seed.
        kwargs={
            "stddev": 0.0,
            "eigenvalues": IMAGENET_EIGENVALUES,
            "eigenvectors": IMAGENET_EIGENVECTORS,
            "value_range": (-3.0, 3.0),
            "seed": 1,
        },
        inputs=lambda: (random_floats(4, 6, 6, 3),),
        bad=(
            Bad(
                ValueError,
                r"`stddev` must be a finite float >= 0\.0\. Received: stddev=-1\.0",
                kwargs={"stddev": -1.0},
            ),
            Bad(
                ValueError,
                r"`eigenvalues` and `eigenvectors` must be given together",
                kwargs={"eigenvectors": None},
            ),
            Bad(
                ValueError,
                r"`inputs` must have 3 channels .*Received: inputs.shape=\(4, 6, 6, 4\)",
                inputs=lambda: (random_floats(4, 6, 6, 4),),
            ),
            Bad(
                ValueError,
                r"`inputs` must have rank 3 .* or rank 4 .*Received: inputs.shape=\(4, 6\)",
                inputs=lambda: (random_floats(4, 6),),
            ),
        ),
        device_ready=True,
        id="PCAColorAugmentation",
    ),
    Example(
        cls=RandomColorShift,
        kind="layer",
        # max_delta=0 for the same reason as PCAColorAugmentation's stddev=0.
        kwargs={"max_delta": (0.0, 0.0), "value_range": (-1.0, 1.0), "seed": 2},
        inputs=lambda: (random_floats(4, 5, 5, 2),),
        bad=(
            Bad(
                ValueError,
                r"`max_delta` must be a finite float >= 0\.0\. Received: max_delta=-0\.5",
                kwargs={"max_delta": -0.5},
            ),
            Bad(
                ValueError,
                r"`max_delta` must have one entry per channel \(2\)",
                kwargs={"max_delta": (0.1, 0.1, 0.1)},
            ),
            Bad(
                ValueError,
                r"`value_range` must have low < high",
                kwargs={"value_range": (1.0, 0.0)},
            ),
            Bad(
                ValueError,
                r"`inputs` must have rank 3 .*Received: inputs.shape=\(4, 1, 5, 5, 2\)",
                inputs=lambda: (random_floats(4, 1, 5, 5, 2),),
            ),
        ),
        device_ready=True,
        id="RandomColorShift",
    ),
    Example(
        cls=YoloLoss,
        kind="loss",
        kwargs={"anchors": YOLO_ANCHORS, "num_classes": 2},
        inputs=lambda: (yolo_targets(), random_floats(4, 3, 3, 2, 7) * 0.5),
        bad=(
            Bad(
                ValueError,
                r"`anchors` must have shape \[A, 2\].*Received: anchors.shape=\(2,\)",
                kwargs={"anchors": [0.3, 0.3]},
            ),
            Bad(ValueError, r"`lambda_noobj` must be >= 0", kwargs={"lambda_noobj": -1.0}),
            Bad(
                ValueError, r"`objectness_loss` must be one of", kwargs={"objectness_loss": "focal"}
            ),
            Bad(ValueError, r"`ignore_thresh` must be in \(0, 1\]", kwargs={"ignore_thresh": 0}),
            Bad(
                ValueError,
                r"`y_pred` must have shape \[B, Sy, Sx, A, 5 \+ K\].*"
                r"Received: y_pred.shape=\(4, 3, 3, 15\)",
                inputs=lambda: (yolo_targets(), random_floats(4, 3, 3, 15)),
            ),
            Bad(
                ValueError,
                r"`y_true` must have shape \[B, Sy, Sx, A, 5 \+ K\].*"
                r"Received: y_true.shape=\(4, 3, 3, 14\)",
                inputs=lambda: (random_floats(4, 3, 3, 14), random_floats(4, 3, 3, 14)),
            ),
        ),
        id="YoloLoss",
    ),
    Example(
        cls=YoloLoss,
        kind="loss",
        kwargs={
            "anchors": YOLO_ANCHORS,
            "num_classes": 2,
            "objectness_loss": "squared_error",
            "ignore_thresh": 0.5,
        },
        inputs=lambda: (yolo_targets(), random_floats(4, 3, 3, 14) * 0.5),
        id="YoloLoss-flat-head-squared-objectness-ignore",
    ),
    Example(
        cls=LocalizationLoss,
        kind="loss",
        kwargs={"num_classes": 3, "num_landmarks": 1},
        inputs=lambda: (localization_targets(), random_floats(4, 10)),
        bad=(
            Bad(ValueError, r"`num_classes` must be > 0", kwargs={"num_classes": 0}),
            Bad(ValueError, r"`pc_loss` must be one of", kwargs={"pc_loss": "hinge"}),
            Bad(
                ValueError,
                r"`y_pred` must have shape \[B, 5 \+ K \+ 2L\] = \[B, 10\].*"
                r"Received: y_pred.shape=\(4, 8\)",
                inputs=lambda: (localization_targets(), random_floats(4, 8)),
            ),
        ),
        id="LocalizationLoss",
    ),
    Example(
        cls=LocalizationLoss,
        kind="loss",
        kwargs={
            "num_classes": 3,
            "num_landmarks": 1,
            "pc_loss": "logistic",
            "class_loss": "softmax",
        },
        inputs=lambda: (localization_targets(), random_floats(4, 10)),
        id="LocalizationLoss-logistic-softmax",
    ),
    Example(
        cls=YoloDecoder,
        kind="layer",
        kwargs={"anchors": YOLO_ANCHORS, "num_classes": 2, "max_detections": 5},
        inputs=decoder_head,
        bad=(
            Bad(ValueError, r"`anchors` must have shape \[A, 2\]", kwargs={"anchors": [[0.3]]}),
            Bad(ValueError, r"`iou_threshold` must be in \[0, 1\]", kwargs={"iou_threshold": 1.5}),
            Bad(ValueError, r"`max_detections` must be > 0", kwargs={"max_detections": 0}),
            Bad(
                ValueError,
                r"`inputs` must have shape \[B, Sy, Sx, A, 5 \+ K\].*"
                r"Received: inputs.shape=\(4, 3, 3, 13\)",
                inputs=lambda: (random_floats(4, 3, 3, 13),),
            ),
        ),
        device_ready=True,
        id="YoloDecoder",
    ),
    Example(
        cls=YoloDecoder,
        kind="layer",
        kwargs={
            "anchors": YOLO_ANCHORS,
            "num_classes": 2,
            "max_detections": 5,
            "class_agnostic": False,
        },
        inputs=decoder_head,
        device_ready=True,
        id="YoloDecoder-per-class",
    ),
    Example(
        cls=MeanAveragePrecision,
        kind="metric",
        kwargs={"num_classes": 3, "iou_thresholds": (0.5, 0.75), "capacity": 64},
        inputs=detection_example,
        bad=(
            Bad(
                ValueError,
                r"`num_classes` must be > 0\. Received: num_classes=0",
                kwargs={"num_classes": 0},
            ),
            Bad(
                ValueError,
                r"`iou_thresholds` must be in \(0, 1\)\. Received: iou_thresholds=\(0\.5, 1\.0\)",
                kwargs={"iou_thresholds": (0.5, 1.0)},
            ),
            Bad(ValueError, r"`ap_method` must be one of", kwargs={"ap_method": "11_point"}),
            Bad(
                ValueError,
                r"`y_true` must have shape \(batch, max_boxes, 5\).*"
                r"Received: y_true.shape=\(4, 3, 4\)",
                inputs=lambda: (detection_example()[0][..., :4], detection_example()[1]),
            ),
            Bad(
                ValueError,
                r"`y_pred` must have shape \(batch, max_detections, 6\).*"
                r"Received: y_pred.shape=\(4, 6, 5\)",
                inputs=lambda: (detection_example()[0], detection_example()[1][..., :5]),
            ),
            Bad(
                ValueError,
                r"same batch size.*y_true batch=2, y_pred batch=4",
                inputs=lambda: (detection_example()[0][:2], detection_example()[1]),
            ),
            Bad(
                ValueError,
                r"`sample_weight` is not supported",
                inputs=lambda: (*detection_example(), np.ones(4)),
            ),
        ),
    ),
    Example(
        cls=TripletSemiHardLoss,
        kind="loss",
        kwargs={"margin": 1.0},
        inputs=triplet_batch,
        bad=mined_loss_bads(TRIPLET_LABELS),
        id="TripletSemiHardLoss",
    ),
    Example(
        cls=TripletSemiHardLoss,
        kind="loss",
        kwargs={"margin": 0.5, "distance_metric": "angular"},
        inputs=triplet_batch,
        id="TripletSemiHardLoss-angular",
    ),
    Example(
        cls=TripletHardLoss,
        kind="loss",
        kwargs={"margin": 1.0},
        inputs=triplet_batch,
        bad=mined_loss_bads(TRIPLET_LABELS, soft=True),
        id="TripletHardLoss",
    ),
    Example(
        cls=TripletHardLoss,
        kind="loss",
        kwargs={"soft": True, "distance_metric": "squared-L2"},
        inputs=triplet_batch,
        id="TripletHardLoss-soft-squared",
    ),
    Example(
        cls=TripletBatchAllLoss,
        kind="loss",
        kwargs={"margin": 1.0},
        inputs=triplet_batch,
        bad=(
            Bad(ValueError, r"`margin` must be >= 0", kwargs={"margin": -1.0}),
            Bad(ValueError, r"`distance_metric` must be one of", kwargs={"distance_metric": "L1"}),
        ),
        id="TripletBatchAllLoss",
    ),
    Example(
        cls=TripletLoss,
        kind="loss",
        kwargs={"margin": 0.2},
        inputs=lambda: (np.zeros((4, 1), "float32"), random_floats(4, 3, 3)),
        bad=(
            Bad(ValueError, r"`margin` must be >= 0", kwargs={"margin": -0.2}),
            Bad(
                ValueError,
                r"`y_pred` must have shape \[B, 3, D\].*Received: y_pred.shape=\(4, 2, 3\)",
                inputs=lambda: (np.zeros((4, 1), "float32"), random_floats(4, 2, 3)),
            ),
        ),
        id="TripletLoss",
    ),
]


def _topic_examples() -> list[Example]:
    """Examples kept beside their topic, in `examples_<topic>.py` files (each an EXAMPLES list)."""
    import importlib
    import pkgutil

    import tests.conformance as package

    found: list[Example] = []
    for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
        if module.startswith("examples_"):
            found += importlib.import_module(f"tests.conformance.{module}").EXAMPLES
    return found


EXAMPLES += _topic_examples()
