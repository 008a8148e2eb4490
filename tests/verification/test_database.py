"""EncodingDatabase: nearest identity against a brute-force loop and scikit-learn's
NearestNeighbors, the unknown answer, several encodings per identity, removal, save and
load, errors, and 100,000 enrolled identities of 128 numbers."""

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from kerasdl.verification import database as database_module
from kerasdl.verification.database import EncodingDatabase


def unit(rng, n, dim):
    x = rng.normal(size=(n, dim)).astype("float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(queries, stored, owners, names, tau, unknown="unknown"):
    answers, distances = [], []
    for q in queries.astype(np.float64):
        d = [np.linalg.norm(q - e) for e in stored.astype(np.float64)]
        best = int(np.argmin(d))
        answers.append(names[owners[best]] if d[best] <= tau else unknown)
        distances.append(d[best])
    return answers, np.array(distances)


def test_identify_matches_brute_force():
    rng = np.random.default_rng(0)
    stored = unit(rng, 60, 16)
    owners = rng.integers(0, 25, size=60)  # several encodings per identity, some none
    names = [f"person{k}" for k in range(25)]
    db = EncodingDatabase(threshold=1.1)
    for row, owner in zip(stored, owners, strict=True):
        db.enrol(names[owner], row)
    queries = np.r_[stored[:10] + 0.05 * rng.normal(size=(10, 16)), unit(rng, 30, 16)]
    answers, distances = db.identify(queries)
    expected_answers, expected_distances = brute_force(queries, stored, owners, names, 1.1)
    assert answers == expected_answers
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-5, atol=1e-6)
    assert "unknown" in answers and len(set(answers)) > 5


def test_identify_matches_sklearn_nearest_neighbors_with_small_blocks(monkeypatch):
    """Blocks of a few queries: the block loop gives the same answers as one block."""
    monkeypatch.setattr(database_module, "_BLOCK_ELEMENTS", 3 * 500)
    rng = np.random.default_rng(1)
    stored = unit(rng, 500, 32)
    db = EncodingDatabase(threshold=2.0)
    db.enrol_many([f"id{k}" for k in range(500)], stored)
    queries = unit(rng, 50, 32)
    answers, distances = db.identify(queries)
    neighbours = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(stored)
    expected_distances, expected_index = neighbours.kneighbors(queries)
    assert answers == [f"id{k}" for k in expected_index[:, 0]]
    np.testing.assert_allclose(distances, expected_distances[:, 0], rtol=1e-5)


def test_single_query_and_threshold_override():
    db = EncodingDatabase(threshold=0.5)
    db.enrol("ada", [1.0, 0.0])
    db.enrol("alan", [0.0, 1.0])
    assert db.identify(np.array([0.9, 0.1])) == ("ada", pytest.approx(np.sqrt(0.02)))
    name, distance = db.identify([0.5, 0.5])
    assert name == "unknown" and distance == pytest.approx(np.sqrt(0.5))
    assert db.identify([0.5, 0.5], threshold=0.8)[0] in ("ada", "alan")
    # Exactly tau away is accepted (d <= tau).
    assert db.identify([1.0, 0.5], threshold=0.5) == ("ada", 0.5)


def test_identical_encoding_has_distance_zero():
    rng = np.random.default_rng(2)
    stored = unit(rng, 100, 128)
    db = EncodingDatabase(threshold=0.1)
    db.enrol_many([str(k) for k in range(100)], stored)
    _, distances = db.identify(stored)
    assert np.all(distances <= 1e-6)  # no cancellation error from the expansion


def test_verify():
    rng = np.random.default_rng(3)
    db = EncodingDatabase(threshold=0.6)
    ada = unit(rng, 3, 8)
    db.enrol("ada", ada)
    db.enrol("alan", unit(rng, 1, 8))
    query = ada[1] + 0.01
    accepted, distance = db.verify(query, "ada")
    assert accepted is True
    assert distance == pytest.approx(min(np.linalg.norm(query - e) for e in ada), rel=1e-5)
    accepted, distances = db.verify(np.stack([query, -ada[0]]), "ada")
    assert accepted.tolist() == [True, False] and distances.shape == (2,)
    # Verification looks only at the claimed identity's encodings.
    alan_distance = db.verify(query, "alan")[1]
    assert alan_distance == pytest.approx(np.linalg.norm(query - db.encodings_of("alan")[0]))
    assert db.verify(query, "alan", threshold=alan_distance)[0] is True


def test_enrol_remove_and_contents():
    db = EncodingDatabase(threshold=1.0, dim=3)
    db.enrol("a", [[1, 0, 0], [0.9, 0.1, 0]])
    db.enrol("b", [0, 1, 0])
    db.enrol("c", [0, 0, 1])
    db.enrol("a", [0.8, 0.2, 0])
    assert len(db) == 3 and db.num_encodings == 5 and "a" in db and "z" not in db
    assert db.identities == ["a", "b", "c"]
    assert db.encodings_of("a").shape == (3, 3)
    db.remove("b")
    assert db.identities == ["a", "c"] and db.num_encodings == 4 and "b" not in db
    assert db.identify([0, 1, 0])[0] == "unknown"  # b is gone; a and c are sqrt(2) away
    assert db.identify([0, 1, 0], threshold=1.5)[0] in ("a", "c")
    db.enrol("b", [0, 0.9, 0.1])  # re-enrolment after removal
    assert db.identify([0, 1, 0])[0] == "b"
    assert "identities=3, encodings=5, dim=3" in repr(db)


def test_enrol_many_groups_repeated_names():
    rng = np.random.default_rng(4)
    encodings = unit(rng, 6, 4)
    db = EncodingDatabase(threshold=1.0)
    db.enrol_many(["x", "y", "x", "z", "y", "x"], encodings)
    assert db.identities == ["x", "y", "z"]
    np.testing.assert_array_equal(db.encodings_of("x"), encodings[[0, 2, 5]])
    np.testing.assert_array_equal(db.encodings_of("y"), encodings[[1, 4]])


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    db = EncodingDatabase(threshold=0.7, unknown="stranger")
    db.enrol_many([f"p{k % 7}" for k in range(20)], unit(rng, 20, 12))
    db.remove("p3")
    path = db.save(tmp_path / "faces")
    assert path.endswith("faces.npz")
    loaded = EncodingDatabase.load(path)
    assert loaded.identities == db.identities
    assert (loaded.threshold, loaded.dim, loaded.unknown) == (0.7, 12, "stranger")
    for name in db.identities:
        np.testing.assert_array_equal(loaded.encodings_of(name), db.encodings_of(name))
    queries = unit(rng, 15, 12)
    assert loaded.identify(queries)[0] == db.identify(queries)[0]
    assert "stranger" in db.identify(queries)[0]
    with np.load(path, allow_pickle=False) as data:  # nothing pickled
        assert set(data.files) >= {"encodings", "owners", "names"}
    empty = EncodingDatabase.load(EncodingDatabase(0.5).save(tmp_path / "empty.npz"))
    assert len(empty) == 0 and empty.dim is None


def test_errors(tmp_path):
    with pytest.raises(TypeError, match=r"`threshold` must be a number. Received: threshold='1'"):
        EncodingDatabase(threshold="1")
    with pytest.raises(ValueError, match=r"`threshold` must be finite. Received: threshold=nan"):
        EncodingDatabase(threshold=float("nan"))
    with pytest.raises(ValueError, match=r"`dim` must be None or an int > 0. Received: dim=0"):
        EncodingDatabase(threshold=1.0, dim=0)
    db = EncodingDatabase(threshold=1.0)
    with pytest.raises(ValueError, match=r"The database is empty: enrol at least one"):
        db.identify([1.0, 0.0])
    with pytest.raises(ValueError, match=r"The database is empty"):
        db.verify([1.0, 0.0], "ada")
    db.enrol("ada", [1.0, 0.0, 0.0])
    with pytest.raises(
        ValueError,
        match=r"`encodings` must have D=3 numbers per encoding.*"
        r"Received: encodings.shape=\(2, 4\)",
    ):
        db.identify(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"`encoding` must have D=3.*shape=\(1, 2\)"):
        db.verify([1.0, 0.0], "ada")
    with pytest.raises(ValueError, match=r"`encodings` must have shape \(D,\) or \(n, D\)"):
        db.enrol("bob", np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match=r"`encodings` must be finite"):
        db.enrol("bob", [np.nan, 0.0, 0.0])
    with pytest.raises(TypeError, match=r"`encodings` must be real numbers"):
        db.enrol("bob", ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"at least one encoding"):
        db.enrol("bob", np.zeros((0, 3)))
    with pytest.raises(KeyError, match=r"`identity` must be enrolled. Received: identity='bob'"):
        db.verify([1.0, 0.0, 0.0], "bob")
    with pytest.raises(KeyError, match=r"identity='bob'"):
        db.remove("bob")
    with pytest.raises(TypeError, match=r"`identity` must be a non-empty str.*identity=3"):
        db.enrol(3, [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"must differ from the `unknown` answer.*'unknown'"):
        db.enrol("unknown", [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"one name per encoding. Received: 1 identities"):
        db.enrol_many(["x"], np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"`identities` must be a sequence of names"):
        db.enrol_many("xy", np.zeros((2, 3)))
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match=r"written by EncodingDatabase.save.*lacks"):
        EncodingDatabase.load(tmp_path / "other.npz")


def test_one_hundred_thousand_identities():
    """100k identities x 128 numbers (51 MB of float32): bulk and one-by-one enrolment,
    and 300 noisy queries of enrolled people plus 100 strangers, identified in blocks."""
    rng = np.random.default_rng(6)
    n, dim = 100_000, 128
    stored = unit(rng, n, dim)
    names = [f"id{k}" for k in range(n)]
    db = EncodingDatabase(threshold=0.6)
    db.enrol_many(names[:90_000], stored[:90_000])
    for k in range(90_000, n):  # amortised growth: no copy of the whole store per call
        db.enrol(names[k], stored[k])
    assert len(db) == n and db.num_encodings == n
    members = rng.choice(n, size=300, replace=False)
    noisy = stored[members] + 0.02 * rng.normal(size=(300, dim)).astype("float32")
    answers, distances = db.identify(np.r_[noisy, unit(rng, 100, dim)])
    assert answers[:300] == [names[k] for k in members]
    assert answers[300:] == ["unknown"] * 100  # random unit vectors are ~sqrt(2) apart
    np.testing.assert_allclose(
        distances[:300], np.linalg.norm(noisy - stored[members], axis=1), rtol=1e-5
    )
    assert np.all(distances[300:] > 0.6)


def test_a_failed_enrolment_leaves_the_database_unchanged():
    db = EncodingDatabase(threshold=1.0)
    with pytest.raises(ValueError, match=r"`unknown` answer"):
        db.enrol("unknown", [1.0, 0.0])
    with pytest.raises(TypeError, match=r"`identity` must be a non-empty str"):
        db.enrol_many(["a", ""], np.zeros((2, 5)))
    assert db.dim is None and len(db) == 0
    db.enrol("a", np.zeros(4))
    assert db.dim == 4
