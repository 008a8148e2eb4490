"""`python -m benchmarks [name ...]`: run the benchmarks and print a markdown table."""

from __future__ import annotations

import importlib
import os
import platform
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

BENCHMARKS = [
    "resnet50",
    "nms",
    "map",
    "beam_search",
    "verification",
    "skipgrams",
    "word2vec",
    "triplet",
    "bleu",
    "wakeword",
    "speech_embedding",
]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmarks {unknown}; choose from {BENCHMARKS}", file=sys.stderr)
        return 2
    from benchmarks.timing import HEADER

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(HEADER)
    for name in names:
        for line in importlib.import_module(f"benchmarks.{name}").run():
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
