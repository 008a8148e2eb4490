"""`kerasdl style` through run_style: image files in, a PNG of the content's (resized)
size out, costs printed; clear errors for missing or non-image files and bad sizes."""

import keras
import numpy as np
import pytest
from PIL import Image

from kerasdl.cli.style import read_image, run_style

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture
def images(tmp_path):
    content = tmp_path / "content.png"
    style = tmp_path / "style.jpg"
    Image.fromarray(skimage_data.chelsea()).save(content)  # 451 x 300
    Image.fromarray(skimage_data.coffee()).save(style)  # 600 x 400
    return str(content), str(style)


def test_run_style_writes_the_result(images, tmp_path, capsys):
    keras.utils.set_random_seed(0)
    out = str(tmp_path / "out" / "result.png")
    result = run_style(*images, out, iterations=8, size=30, seed=0, save_every=4, progress=False)
    with Image.open(out) as saved:
        assert saved.size == (30, 20) and saved.mode == "RGB"
    assert (tmp_path / "out" / "result_4.png").is_file()
    assert result["shape"] == (20, 30, 3)
    history = result["history"]
    assert len(history["total"]) == 9
    assert history["total"][-1] < 0.8 * history["total"][0], history["total"]
    printed = capsys.readouterr().out
    assert "8 iterations on 30x20 pixels" in printed and f"generated image: {out}" in printed


def test_read_image_resizes_the_longer_side(images):
    content, _ = images
    pixels = read_image("content", content, size=45)
    assert pixels.shape == (30, 45, 3) and pixels.dtype == np.float32
    assert 0 <= pixels.min() and pixels.max() <= 1
    full = read_image("content", content)
    np.testing.assert_array_equal(full, skimage_data.chelsea() / np.float32(255))


def test_errors(images, tmp_path):
    content, style = images
    out = str(tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"`content` must be an existing image file"):
        run_style(str(tmp_path / "missing.png"), style, out, iterations=1)
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(ValueError, match=r"`style` must be a JPEG or PNG image file"):
        run_style(content, str(text), out, iterations=1)
    with pytest.raises(ValueError, match=r"`size` must be > 0"):
        run_style(content, style, out, size=0)
    with pytest.raises(ValueError, match=r"`weights` must be None, 'imagenet' or the path"):
        run_style(content, style, out, size=16, weights=str(tmp_path / "vgg19.h5"))
