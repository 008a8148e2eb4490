"""plot_det writes a PNG of DET curves with the target line and marked operating points."""

import numpy as np
import pytest
from PIL import Image

from kerasdl.plot.det import plot_det
from kerasdl.verification.wakeword import operating_curve


def test_plot_det_writes_png(tmp_path):
    rng = np.random.default_rng(0)
    times = np.arange(1, 101) * 0.1
    p = rng.beta(1, 6, (6, 100))
    p[:3, 40:45] = 0.9
    ends = np.array([[3.9], [3.9], [3.9], [-1], [-1], [-1]])
    curve = operating_curve(p, times, ends, duration=10.0)
    path = plot_det(
        {"model": curve, "other": ([100.0, 10.0, 0.0], [0.0, 0.2, 0.9])},
        tmp_path / "det.png",
        points={"model": (0.0, 0.1)},
        target=1.0,
        title="test",
    )
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] >= 500 and image.size[1] >= 400
        assert np.asarray(image.convert("L")).std() > 10  # something is drawn


def test_plot_det_errors(tmp_path):
    with pytest.raises(ValueError, match=r"`curves` must not be empty"):
        plot_det({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"`curves\['a'\]` must hold 1-D rates"):
        plot_det({"a": ([0, 1], [0, 0.5, 1])}, tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"`curves\['DET'\]` must be an OperatingCurve"):
        plot_det("curve", tmp_path / "x.png")
