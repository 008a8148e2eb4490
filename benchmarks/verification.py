"""Face recognition search: EncodingDatabase.identify (blocked matrix products) vs
scikit-learn's brute-force NearestNeighbors on the same enrolled encodings, and how the
cost grows with the number of enrolled identities."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from benchmarks.timing import compare, row
from kerasdl.verification import EncodingDatabase

DIM = 128


def unit(rng, n):
    x = rng.normal(size=(n, DIM)).astype("float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def one_row(identities: int, queries: int) -> str:
    rng = np.random.default_rng(0)
    stored = unit(rng, identities)
    names = [f"id{k}" for k in range(identities)]
    database = EncodingDatabase(threshold=0.8)
    database.enrol_many(names, stored)
    neighbours = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(stored)
    members = rng.choice(identities, size=queries // 2, replace=False)
    batch = np.r_[
        stored[members] + 0.02 * unit(rng, len(members)), unit(rng, queries - len(members))
    ]
    answers, distances = database.identify(batch)
    peer_distances, peer_index = neighbours.kneighbors(batch)
    nearest, distance = peer_index[:, 0], peer_distances[:, 0]
    expected = [names[k] if d <= 0.8 else "unknown" for k, d in zip(nearest, distance, strict=True)]
    if answers != expected:
        raise AssertionError("EncodingDatabase.identify differs from NearestNeighbors")
    t_ours, t_peer = compare(
        lambda: database.identify(batch), lambda: neighbours.kneighbors(batch), repeats=5, warmup=1
    )
    return row(
        f"identify {queries} encodings among {identities:,} identities x {DIM}",
        "sklearn NearestNeighbors(brute)",
        t_ours,
        t_peer,
        "<= 1.0",
    )


def enrol_row(identities: int) -> str:
    rng = np.random.default_rng(1)
    stored = unit(rng, identities)
    names = [f"id{k}" for k in range(identities)]

    def one_by_one():
        database = EncodingDatabase(threshold=0.8)
        for name, encoding in zip(names, stored, strict=True):
            database.enrol(name, encoding)

    def bulk():
        EncodingDatabase(threshold=0.8).enrol_many(names, stored)

    t_ours, t_peer = compare(one_by_one, bulk, repeats=3, warmup=1)
    return row(
        f"enrol {identities:,} identities one by one (vs enrol_many)",
        "EncodingDatabase.enrol_many",
        t_ours,
        t_peer,
        "amortised O(1) per enrol",
    )


def run() -> list[str]:
    rows = [one_row(n, 1000) for n in (10_000, 100_000)]
    rows.append(one_row(100_000, 1))
    rows.append(enrol_row(100_000))
    return rows
