"""What every tutorial shares: the output folder, quick mode for tests, plotting set-up."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _RetracingNotes(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls ... triggered tf.function retracing"
    notes: the tutorials build many small models (one per measurement), each with its
    own traced predict function, which is what that note counts; it points at nothing
    to fix here and buries the tutorials' own output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_RetracingNotes())


def parse_args(
    description: str,
    seed: bool = False,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """`--out DIR` (default outputs/) and `--quick` (tiny settings, used by the tests);
    with `seed`, `--seed N` (default 0) too; `options` adds a tutorial's own arguments."""
    parser = argparse.ArgumentParser(description=description)
    if options is not None:
        options(parser)
    parser.add_argument("--out", default="outputs", help="folder for the PNG files")
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    if seed:
        parser.add_argument(
            "--seed", type=int, default=0, help="random seed of the run (default 0)"
        )
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return args


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
