"""embeddings_tsne: the coordinates are scikit-learn's t-SNE with the same seed and
settings, the PNG is written with the highlighted groups in their colours, and bad
arguments (perplexity against the number of points, groups, shapes) raise clear errors."""

import numpy as np
import pytest
from PIL import Image
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from kerasdl.plot.embeddings import embeddings_tsne


@pytest.fixture(autouse=True)
def one_openmp_thread():
    """t-SNE's OpenMP threads spin-wait on a busy shared CPU (24 points: 8 s instead of
    0.4 s); one thread gives the same coordinates."""
    with threadpool_limits(1):
        yield


def clustered_vectors(per_cluster=8, dim=20, seed=0):
    """Three tight clusters: t-SNE must keep their points together in 2-D."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(3, dim))
    vectors = np.concatenate([c + rng.normal(size=(per_cluster, dim)) for c in centres])
    words = [f"{name}{i}" for name in ("red", "green", "blue") for i in range(per_cluster)]
    return vectors, words


@pytest.mark.parametrize(
    ("metric", "method"),
    [("euclidean", "barnes_hut"), ("cosine", "barnes_hut"), ("cosine", "exact")],
)
def test_coordinates_equal_sklearn_tsne(metric, method, tmp_path):
    vectors, words = clustered_vectors()
    settings = {"perplexity": 5, "seed": 3, "metric": metric, "method": method}
    got = embeddings_tsne(vectors, words, tmp_path / "a.png", **settings)
    expected = TSNE(
        n_components=2, perplexity=5.0, metric=metric, method=method, init="pca",
        learning_rate="auto", random_state=3,
    ).fit_transform(vectors)  # fmt: skip
    assert got.shape == (24, 2) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    again = embeddings_tsne(vectors, words, tmp_path / "b.png", **settings)
    np.testing.assert_array_equal(again, got)


def test_clusters_stay_together():
    vectors, _ = clustered_vectors(seed=1)
    words = [f"w{i}" for i in range(24)]
    xy = embeddings_tsne(vectors, words, "/dev/null", perplexity=5, seed=0)
    labels = np.repeat(np.arange(3), 8)
    distances = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    same = labels[:, None] == labels[None]
    np.fill_diagonal(same, False)
    assert distances[same].max() < distances[labels[:, None] != labels[None]].min()


def test_png_with_highlighted_groups(tmp_path):
    vectors, words = clustered_vectors()
    groups = {"red words": words[:8], "blue words": words[16:]}
    path = tmp_path / "tsne.png"
    embeddings_tsne(
        vectors, words, path, groups=groups, colors={"red words": "#ff0000"}, perplexity=6,
        title="clusters",
    )  # fmt: skip
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] >= 600 and image.size[1] >= 450
        pixels = np.asarray(image.convert("RGB")).astype(int)
    red = (pixels[..., 0] > 230) & (pixels[..., 1] < 30) & (pixels[..., 2] < 30)
    # The second group takes tab10's first colour (#1f77b4); ungrouped words are grey.
    blue = np.abs(pixels - [0x1F, 0x77, 0xB4]).sum(axis=-1) < 20
    grey = np.abs(pixels - [0x9E, 0x9E, 0x9E]).sum(axis=-1) < 10
    assert red.sum() > 100 and blue.sum() > 100 and grey.sum() > 100


def test_errors(tmp_path):
    vectors, words = clustered_vectors(per_cluster=4)
    out = tmp_path / "x.png"
    with pytest.raises(
        ValueError,
        match=r"`perplexity` must be > 0 and < the number of points N=12 .*"
        r"Received: perplexity=30.0",
    ):
        embeddings_tsne(vectors, words, out)
    with pytest.raises(ValueError, match=r"Received: perplexity=0"):
        embeddings_tsne(vectors, words, out, perplexity=0)
    with pytest.raises(TypeError, match=r"`perplexity` must be a number"):
        embeddings_tsne(vectors, words, out, perplexity="5")
    with pytest.raises(ValueError, match=r"`vectors` must have shape \[N, d\] with N = len"):
        embeddings_tsne(vectors, words[:-1], out, perplexity=3)
    with pytest.raises(ValueError, match=r"`vectors` must be finite"):
        embeddings_tsne(np.full((3, 2), np.nan), ["a", "b", "c"], out, perplexity=1)
    with pytest.raises(ValueError, match=r"`groups\['g'\]` must list words of `words`.*'zebra'"):
        embeddings_tsne(vectors, words, out, groups={"g": ["red0", "zebra"]}, perplexity=3)
    with pytest.raises(TypeError, match=r"`groups\['g'\]` must be a list of words, not one"):
        embeddings_tsne(vectors, words, out, groups={"g": "red0"}, perplexity=3)
    with pytest.raises(ValueError, match=r"`groups` must not share words.*'red0'"):
        embeddings_tsne(vectors, words, out, groups={"a": ["red0"], "b": ["red0"]}, perplexity=3)
    with pytest.raises(ValueError, match=r"`colors` must name groups of `groups`"):
        embeddings_tsne(
            vectors, words, out, groups={"a": ["red0"]}, colors={"b": "red"}, perplexity=3
        )
    with pytest.raises(ValueError, match=r"`metric` must be one of"):
        embeddings_tsne(vectors, words, out, perplexity=3, metric="manhattan")
    with pytest.raises(ValueError, match=r"`method` must be one of"):
        embeddings_tsne(vectors, words, out, perplexity=3, method="fft")
    assert not out.exists()
