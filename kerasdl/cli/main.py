"""The `kerasdl` command line.

Usage:
    kerasdl demo [--out=saved_models] [--epochs=20] [--seed=0]
"""

from __future__ import annotations

import sys

from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_string("out", "saved_models", "Directory for exports and pictures.")
flags.DEFINE_integer("epochs", 20, "Training epochs.")
flags.DEFINE_integer("seed", 0, "Random seed.")

COMMANDS = {
    "demo": "train, evaluate and export a residual CNN on built-in digits",
}


def usage() -> str:
    lines = ["usage: kerasdl COMMAND [flags]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, text in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not FLAGS["verbosity"].present:
        # TensorFlow logs every export step at INFO through absl; keep the output readable.
        logging.set_verbosity(logging.WARNING)
    if len(argv) < 2 or argv[1] not in COMMANDS:
        got = argv[1] if len(argv) > 1 else "nothing"
        print(f"kerasdl: expected a command, got {got}.\n\n{usage()}", file=sys.stderr)
        return 2
    command, rest = argv[1], argv[2:]
    if rest:
        print(f"kerasdl {command}: unexpected arguments {rest}", file=sys.stderr)
        return 2
    if command == "demo":
        from kerasdl.cli.demo import REQUIRED_ACCURACY, run_digits_demo

        result = run_digits_demo(FLAGS.out, epochs=FLAGS.epochs, seed=FLAGS.seed)
        return 0 if result["test_accuracy"] >= REQUIRED_ACCURACY else 1
    return 2


def run() -> None:
    """Console-script entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
