"""Interleaved timing of two callables, so machine noise hits both alike."""

from __future__ import annotations

import time
from collections.abc import Callable


def compare(
    ours: Callable[[], object],
    peer: Callable[[], object],
    repeats: int = 5,
    warmup: int = 2,
) -> tuple[float, float]:
    """Median seconds per call of `ours` and `peer`, timed alternately."""
    for _ in range(warmup):
        ours()
        peer()
    times_ours, times_peer = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ours()
        times_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        peer()
        times_peer.append(time.perf_counter() - start)
    return sorted(times_ours)[repeats // 2], sorted(times_peer)[repeats // 2]


def row(name: str, peer_name: str, ours: float, peer: float, target: str) -> str:
    return (
        f"| {name} | {peer_name} | {ours * 1e3:.1f} ms | {peer * 1e3:.1f} ms "
        f"| {ours / peer:.3f} | {target} |"
    )


HEADER = (
    "| benchmark | peer | kerasdl | peer | ratio (kerasdl / peer) | target |\n"
    "|---|---|---|---|---|---|"
)
