"""The one-shot digits tutorial's glyphs, rendered the way the digits were made. (Its
FaceNet batches come from kerasdl.data.identity_batches, tested in tests/data.)"""

import numpy as np
import pytest

from tutorials.one_shot_digits import render_glyph


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
