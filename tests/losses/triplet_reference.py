"""The distance matrix of a batch by a double loop in float64: the reference that the
triplet loss tests re-derive the mining rules on."""

import numpy as np


def reference_distances(x, metric):
    """`d[i, j]` for "L2", "squared-L2", "angular" (1 - cosine), "L1" or "Linf"; 0 on the
    diagonal."""
    x = np.asarray(x, np.float64)
    d = np.zeros((len(x), len(x)))
    for i in range(len(x)):
        for j in range(len(x)):
            if i == j:
                continue
            diff = x[i] - x[j]
            if metric == "L2":
                d[i, j] = np.sqrt(np.sum(diff**2))
            elif metric == "squared-L2":
                d[i, j] = np.sum(diff**2)
            elif metric == "angular":
                cos = x[i] @ x[j] / (np.linalg.norm(x[i]) * np.linalg.norm(x[j]))
                d[i, j] = max(1 - cos, 0)
            elif metric == "L1":
                d[i, j] = np.sum(np.abs(diff))
            else:
                d[i, j] = np.max(np.abs(diff))
    return d
