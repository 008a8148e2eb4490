"""The one-shot digits tutorial's training helpers: FaceNet-style identity batches and
glyphs rendered the way the digits were made."""

import numpy as np
import pytest

from tutorials.one_shot_digits import identity_batches, render_glyph


def test_identity_batches_group_examples_of_one_identity():
    labels = np.repeat(np.arange(10), [9, 8, 8, 4, 5, 12, 8, 8, 3, 7])
    order = identity_batches(labels, batch_size=8, per_identity=4, seed=0)
    # Each identity contributes floor(count / 4) groups of 4; whole batches only.
    groups = sum(np.bincount(labels) // 4)
    assert len(order) == groups * 4 // 8 * 8
    assert len(np.unique(order)) == len(order)  # no example twice
    for batch in order.reshape(-1, 8):
        quads = labels[batch].reshape(2, 4)
        assert (quads == quads[:, :1]).all()  # 4 consecutive examples of one identity
    again = identity_batches(labels, batch_size=8, per_identity=4, seed=0)
    np.testing.assert_array_equal(order, again)


def test_render_glyph_counts_ink_in_4x4_blocks():
    pil = pytest.importorskip("PIL.ImageFont", reason="Pillow draws the glyphs")
    import matplotlib

    font = pil.truetype(f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans.ttf", 64)
    # "l" is a single vertical stroke: it fills the box's full 28 pixel height (rows 2-29
    # of the 32x32 bitmap), and only its middle columns.
    glyph = render_glyph("l", font, thickness=0)
    assert glyph.shape == (8, 8)
    counts = glyph * 16
    np.testing.assert_allclose(counts, np.round(counts))  # whole pixel counts
    assert counts.min() >= 0 and counts.max() <= 16
    assert counts[:, :2].sum() == 0 and counts[:, 6:].sum() == 0
    # Block rows 1-6 are fully inside the stroke; rows 0 and 7 hold 2 of its 28 rows.
    assert counts[3].sum() > 0
    for row in range(1, 7):
        np.testing.assert_array_equal(counts[row], counts[3])
    np.testing.assert_array_equal(counts[0] * 2, counts[3])
    np.testing.assert_array_equal(counts[7] * 2, counts[3])
    # A thicker stroke covers a superset of the pixels.
    assert (render_glyph("l", font, thickness=2) >= glyph).all()
    assert render_glyph(" ", font, thickness=0) is None
