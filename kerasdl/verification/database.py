"""A store of precomputed encodings for face verification and recognition.

The notes' deployment: compute each enrolled person's encoding `f(x)` once, store it,
and compare a new image's encoding with the stored ones. Verification ("is this the
claimed person?") is `d(f(x), f(identity)) <= tau`; recognition with a database of K
persons outputs the nearest identity, or "not recognized" when even the nearest is
farther than `tau`. An identity may have several stored encodings: its distance is
the smallest one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

# Database rows times queries of one distance block (64 MiB of float32).
_BLOCK_ELEMENTS = 1 << 24


def _check_threshold(threshold) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.number):
        raise TypeError(f"`threshold` must be a number. Received: threshold={threshold!r}")
    if not np.isfinite(threshold):
        raise ValueError(f"`threshold` must be finite. Received: threshold={threshold}")
    return float(threshold)


def _check_identity(identity) -> str:
    if not isinstance(identity, str) or not identity:
        raise TypeError(f"`identity` must be a non-empty str. Received: identity={identity!r}")
    return identity


class EncodingDatabase:
    """Enrolled identities and their encodings; `identify` and `verify` new encodings.

    With `e_1..e_N` the stored encodings and `owner(n)` the identity of `e_n`, a query
    encoding `q` is identified as

        n* = argmin_n ||q - e_n||,   answer = owner(n*) if ||q - e_n*|| <= tau else unknown

    computed for a batch of queries as one matrix product per block of queries,
    `||e||^2 - 2 q.e` (`||q||^2` does not change the argmin), with the blocks sized so
    that a block of distances stays under 64 MiB; the winners' distances are then
    recomputed directly, exact also near 0. Searching 1,000 queries among 100,000
    encodings of 128 numbers is 25.6 GFLOP of matrix product (`benchmarks/verification.py`
    times it against scikit-learn's brute-force `NearestNeighbors`).
    Encodings are stored in float32 in a buffer that grows by doubling, so enrolling
    identities one by one costs amortised constant time each.

    Args:
        threshold: `tau`, the largest Euclidean distance still accepted as a match; choose
            it on labelled dev pairs, e.g. with `threshold_for_far`.
        dim: `D`, the size of the encodings; taken from the first enrolment when None.
        unknown: the answer of `identify` for an encoding farther than `tau` from every
            identity (default "unknown"); it cannot be enrolled as an identity.

    Example:

    >>> import numpy as np
    >>> db = EncodingDatabase(threshold=0.5)
    >>> db.enrol("ada", [1.0, 0.0])
    >>> db.enrol("alan", [[0.0, 1.0], [0.6, 0.8]])
    >>> names, distances = db.identify([[0.9, 0.1], [-1.0, 0.0]])
    >>> names, [round(float(d), 3) for d in distances]
    (['ada', 'unknown'], [0.141, 1.414])
    >>> db.verify([0.7, 0.7], "alan")
    (True, 0.141...)
    """

    def __init__(self, threshold: float, dim: int | None = None, unknown: str = "unknown"):
        self.threshold = _check_threshold(threshold)
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0):
            raise ValueError(f"`dim` must be None or an int > 0. Received: dim={dim!r}")
        if not isinstance(unknown, str):
            raise TypeError(f"`unknown` must be a str. Received: unknown={unknown!r}")
        self.dim = dim
        self.unknown = unknown
        self._names: list[str] = []  # identity index -> name; None once removed
        self._index: dict[str, int] = {}
        self._encodings = np.zeros((0, dim or 0), np.float32)
        self._owners = np.zeros(0, np.int64)
        self._squared_norms = np.zeros(0, np.float32)
        self._size = 0

    # ---- contents -------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of enrolled identities."""
        return len(self._index)

    def __contains__(self, identity) -> bool:
        return identity in self._index

    @property
    def identities(self) -> list[str]:
        """The enrolled identities, in order of first enrolment."""
        return [name for name in self._names if name is not None]

    @property
    def num_encodings(self) -> int:
        """The number of stored encodings (an identity may have several)."""
        return self._size

    def encodings_of(self, identity: str) -> np.ndarray:
        """The stored `(n, D)` encodings of `identity`."""
        rows = self._owners[: self._size] == self._lookup(identity)
        return self._encodings[: self._size][rows].copy()

    def _lookup(self, identity) -> int:
        _check_identity(identity)
        if identity not in self._index:
            raise KeyError(
                f"`identity` must be enrolled. Received: identity={identity!r}, which is not "
                f"among the {len(self)} enrolled identities"
            )
        return self._index[identity]

    def _check_encodings(self, encodings, name: str) -> np.ndarray:
        """`encodings` as float32 `(n, D)`; sets `dim` on the first enrolment."""
        array = np.asarray(encodings)
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(
            array.dtype, np.complexfloating
        ):
            raise TypeError(f"`{name}` must be real numbers. Received: dtype={array.dtype}")
        if array.ndim == 1:
            array = array[None]
        if array.ndim != 2:
            raise ValueError(
                f"`{name}` must have shape (D,) or (n, D). Received: {name}.shape={array.shape}"
            )
        if self.dim is None:
            if array.shape[1] == 0:
                raise ValueError(f"`{name}` must have D > 0. Received: {name}.shape={array.shape}")
            self.dim = int(array.shape[1])
            self._encodings = np.zeros((0, self.dim), np.float32)
        if array.shape[1] != self.dim:
            raise ValueError(
                f"`{name}` must have D={self.dim} numbers per encoding, like the database. "
                f"Received: {name}.shape={array.shape}"
            )
        array = array.astype(np.float32, copy=False)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"`{name}` must be finite. Received: NaN or infinite values")
        return array

    # ---- enrolment ------------------------------------------------------------------

    def enrol(self, identity: str, encodings) -> None:
        """Adds one or more encodings `(D,)` or `(n, D)` of `identity` (new or enrolled).

        Raises:
            TypeError: on an identity that is not a non-empty str.
            ValueError: on the `unknown` name, or encodings of the wrong size D or
                with NaN.
        """
        self._check_new_identity(identity)
        encodings = self._check_encodings(encodings, "encodings")
        if len(encodings) == 0:
            raise ValueError("`encodings` must hold at least one encoding. Received: 0 rows")
        owner = self._owner_id(identity)
        self._append(encodings, np.full(len(encodings), owner, np.int64))

    def enrol_many(self, identities: Sequence[str], encodings) -> None:
        """Adds `encodings[k]` for `identities[k]`, for `n` encodings at once.

        Args:
            identities: `n` names (repeats allowed: several encodings of one identity).
            encodings: `(n, D)`.
        """
        if isinstance(identities, str):
            raise TypeError(
                "`identities` must be a sequence of names, one per encoding; use enrol() for "
                f"one identity. Received: identities={identities!r}"
            )
        identities = list(identities)
        for identity in identities:
            self._check_new_identity(identity)
        encodings = self._check_encodings(encodings, "encodings")
        if len(identities) != len(encodings):
            raise ValueError(
                "`identities` must have one name per encoding. Received: "
                f"{len(identities)} identities for encodings.shape={encodings.shape}"
            )
        unique, inverse = np.unique(np.asarray(identities, dtype=object), return_inverse=True)
        owners = np.array([self._owner_id(name) for name in unique], np.int64)
        self._append(encodings, owners[inverse.reshape(-1)])

    def _check_new_identity(self, identity) -> None:
        _check_identity(identity)
        if identity == self.unknown:
            raise ValueError(
                f"`identity` must differ from the `unknown` answer. Received: identity={identity!r}"
            )

    def _owner_id(self, identity) -> int:
        self._check_new_identity(identity)
        if identity not in self._index:
            self._index[identity] = len(self._names)
            self._names.append(identity)
        return self._index[identity]

    def _append(self, encodings: np.ndarray, owners: np.ndarray) -> None:
        needed = self._size + len(encodings)
        if needed > len(self._encodings):
            capacity = max(needed, 2 * len(self._encodings), 16)
            grown = np.empty((capacity, self.dim), np.float32)
            grown[: self._size] = self._encodings[: self._size]
            self._encodings = grown
            self._owners = np.resize(self._owners, capacity)
            self._squared_norms = np.resize(self._squared_norms, capacity)
        self._encodings[self._size : needed] = encodings
        self._owners[self._size : needed] = owners
        self._squared_norms[self._size : needed] = np.einsum("nd,nd->n", encodings, encodings)
        self._size = needed

    def remove(self, identity: str) -> None:
        """Removes `identity` and all its encodings.

        Raises:
            KeyError: when `identity` is not enrolled.
        """
        owner = self._lookup(identity)
        keep = self._owners[: self._size] != owner
        kept = int(keep.sum())
        self._encodings[:kept] = self._encodings[: self._size][keep]
        self._owners[:kept] = self._owners[: self._size][keep]
        self._squared_norms[:kept] = self._squared_norms[: self._size][keep]
        self._size = kept
        del self._index[identity]
        self._names[owner] = None

    # ---- queries --------------------------------------------------------------------

    def _check_not_empty(self) -> None:
        if self._size == 0:
            raise ValueError(
                "The database is empty: enrol at least one identity before identifying or "
                "verifying encodings"
            )

    def _nearest(self, queries: np.ndarray, rows: np.ndarray | None = None):
        """Index (into `rows`) and distance of each query's nearest stored encoding."""
        self._check_not_empty()
        stored = self._encodings[: self._size]
        norms = self._squared_norms[: self._size]
        if rows is not None:
            stored, norms = stored[rows], norms[rows]
        step = max(1, _BLOCK_ELEMENTS // len(stored))
        nearest = np.empty(len(queries), np.int64)
        for start in range(0, len(queries), step):
            block = slice(start, start + step)
            # ||q - e||^2 = ||q||^2 + ||e||^2 - 2 q.e, and ||q||^2 does not move the argmin;
            # in place, so a block needs one buffer.
            partial = queries[block] @ stored.T
            partial *= -2
            partial += norms
            nearest[block] = np.argmin(partial, axis=1)
        # The expansion loses precision near 0 (cancellation); the winners' distances are
        # recomputed directly.
        distances = np.linalg.norm(queries - stored[nearest], axis=1)
        return nearest, distances

    def identify(self, encodings, threshold: float | None = None):
        """The nearest enrolled identity of each encoding, or `unknown` beyond `tau`.

        Args:
            encodings: one `(D,)` or a batch `(n, D)` of query encodings.
            threshold: `tau` for this call; the database's `threshold` by default.

        Returns:
            `(identity, distance)` for one encoding `(D,)`; `(identities, distances)`, a
            list of `n` names and an `(n,)` float32 array, for a batch. The distance is
            to the nearest stored encoding, also when the answer is `unknown`.

        Raises:
            ValueError: on an empty database, or encodings of the wrong size D.
        """
        tau = self.threshold if threshold is None else _check_threshold(threshold)
        self._check_not_empty()  # before the size check: an empty database has no D yet
        single = np.ndim(encodings) == 1
        queries = self._check_encodings(encodings, "encodings")
        nearest, distances = self._nearest(queries)
        answers = np.array([*self._names, self.unknown], dtype=object)
        owners = np.where(distances <= tau, self._owners[nearest], len(self._names))
        names = answers[owners].tolist()
        if single:
            return names[0], float(distances[0])
        return names, distances

    def verify(self, encoding, identity: str, threshold: float | None = None):
        """Whether `encoding` is `identity`: its distance to the identity's nearest
        stored encoding is `<= tau`.

        Args:
            encoding: one `(D,)` or a batch `(n, D)` of encodings, all claiming `identity`.
            identity: the claimed, enrolled identity.
            threshold: `tau` for this call; the database's `threshold` by default.

        Returns:
            `(accepted, distance)`: a bool and a float for one encoding; arrays `(n,)`
            for a batch.

        Raises:
            KeyError: when `identity` is not enrolled.
            ValueError: on an empty database, or encodings of the wrong size D.
        """
        tau = self.threshold if threshold is None else _check_threshold(threshold)
        self._check_not_empty()
        owner = self._lookup(identity)
        single = np.ndim(encoding) == 1
        queries = self._check_encodings(encoding, "encoding")
        _, distances = self._nearest(queries, rows=self._owners[: self._size] == owner)
        accepted = distances <= tau
        if single:
            return bool(accepted[0]), float(distances[0])
        return accepted, distances

    # ---- persistence ----------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> str:
        """Writes the database to a `.npz` file (no pickled objects) and returns its path."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        live = {owner: k for k, owner in enumerate(self._index.values())}
        names = np.array(list(self._index), dtype=str)
        remap = np.zeros(max(len(self._names), 1), np.int64)
        remap[list(live)] = list(live.values())
        np.savez(
            path,
            encodings=self._encodings[: self._size],
            owners=remap[self._owners[: self._size]],
            names=names,
            threshold=np.float64(self.threshold),
            dim=np.int64(self.dim if self.dim is not None else 0),
            unknown=np.array(self.unknown),
        )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> EncodingDatabase:
        """Reads a database written by `save`."""
        with np.load(os.fspath(path), allow_pickle=False) as data:
            missing = {"encodings", "owners", "names", "threshold", "dim", "unknown"} - set(
                data.files
            )
            if missing:
                raise ValueError(
                    f"`path` must be a file written by EncodingDatabase.save. Received: "
                    f"{os.fspath(path)!r}, which lacks {sorted(missing)}"
                )
            dim = int(data["dim"])
            database = cls(float(data["threshold"]), dim or None, str(data["unknown"]))
            names = data["names"].tolist()
            encodings, owners = data["encodings"], data["owners"]
        for name in names:
            database._owner_id(name)
        if len(encodings):
            database._append(encodings.astype(np.float32), owners.astype(np.int64))
        return database

    def __repr__(self) -> str:
        return (
            f"EncodingDatabase(identities={len(self)}, encodings={self._size}, "
            f"dim={self.dim}, threshold={self.threshold})"
        )
