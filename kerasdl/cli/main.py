"""The `kerasdl` command line.

Usage:
    kerasdl demo [--task=detection|digits] [--out=saved_models] [--epochs=N] [--seed=0]
"""

from __future__ import annotations

import sys

from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_string("out", "saved_models", "Directory for exports and pictures.")
flags.DEFINE_enum(
    "task",
    "detection",
    ["detection", "digits"],
    "Which demo: the shapes detector (main demo) or the residual CNN on digits.",
)
flags.DEFINE_integer("epochs", None, "Training epochs (default: 20 for either demo).")
flags.DEFINE_integer("num_train", 2000, "Training images of the detection demo.")
flags.DEFINE_integer("seed", 0, "Random seed.")

COMMANDS = {
    "demo": "train, evaluate and export a detector (or --task=digits: a classifier)",
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
    if command == "demo" and FLAGS.task == "digits":
        from kerasdl.cli.demo import REQUIRED_ACCURACY, run_digits_demo

        result = run_digits_demo(FLAGS.out, epochs=FLAGS.epochs or 20, seed=FLAGS.seed)
        return 0 if result["test_accuracy"] >= REQUIRED_ACCURACY else 1
    if command == "demo":
        from kerasdl.cli.detection_demo import REQUIRED_MAP50, run_detection_demo

        result = run_detection_demo(
            FLAGS.out, epochs=FLAGS.epochs or 20, num_train=FLAGS.num_train, seed=FLAGS.seed
        )
        return 0 if result["map50"] >= REQUIRED_MAP50 else 1
    return 2


def run() -> None:
    """Console-script entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
