"""plot_roc writes a PNG with the curves and the marked operating points."""

import numpy as np
import pytest
from PIL import Image

from kerasdl.plot.roc import plot_roc
from kerasdl.verification.roc import roc_curve, tar_at_far


def test_plot_roc_writes_png(tmp_path):
    rng = np.random.default_rng(0)
    same = rng.random(500) < 0.3
    distances = np.abs(np.where(same, rng.normal(0.6, 0.2, 500), rng.normal(1.2, 0.2, 500)))
    far, tar, _ = roc_curve(distances, same)
    tar_point, _ = tar_at_far(distances, same, far=0.01)
    for log_far in (True, False):
        path = plot_roc(
            {"model A": (far, tar), "chance": (np.array([0, 1.0]), np.array([0, 1.0]))},
            tmp_path / f"roc_{log_far}.png",
            points={"model A": (0.01, tar_point), "other": (0.5, 0.5)},
            log_far=log_far,
            title="test",
        )
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] >= 500 and image.size[1] >= 450
            pixels = np.asarray(image.convert("L"))
            assert pixels.std() > 10  # something is drawn


def test_plot_roc_errors(tmp_path):
    with pytest.raises(ValueError, match=r"`curves` must be a non-empty"):
        plot_roc({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"`curves\['a'\]` must hold 1-D far and tar of one"):
        plot_roc({"a": ([0, 1], [0, 0.5, 1])}, tmp_path / "x.png")
