"""tensorflow-addons' triplet losses as the reference for kerasdl's, run in their own venv.

tensorflow-addons 0.23 needs TensorFlow 2.15 and Keras 2, which cannot share a process
with kerasdl (TF >= 2.18, Keras 3), so this script runs as a child process in `.venv-tfa`
(`make tfa-venv`) and imports only the standard library, numpy, tensorflow and
tensorflow_addons. Two commands:

`values CASES.npz OUT.npz`: the loss of every case. CASES holds `spec`, a JSON list with
one dict per case (`loss`: "semihard" or "hard", `margin`, `soft`, `distance_metric`:
"L2", "squared-L2", "angular", or the callables "L1" and "dot" defined below, and
optionally `eager`: true to run TFA's `tf.function`s eagerly, the same ops without
tracing one graph per batch shape), and the arrays `labels_<i>` and `embeddings_<i>`.
OUT gets `values` (float64, NaN where TFA gives NaN) and `errors` (the exception's type
and message where TFA raises, else "").

`measure --impl {tfa,kerasdl} ...`: seconds per call and peak resident memory of one
loss at one batch size, printed as one JSON line. It must run in a fresh process per
measurement (the peak is the process' `ru_maxrss`), under an address-space limit
(`--cap-gib`) so that a loss needing more fails inside the child ("OOM") instead of
exhausting the machine. The kerasdl side runs the same code in the project's venv, so
both implementations are timed and measured alike.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _callable_metrics():
    import tensorflow as tf

    def l1(embeddings):
        """Manhattan distances, a callable `distance_metric` with a zero diagonal."""
        return tf.reduce_sum(tf.abs(embeddings[:, None, :] - embeddings[None, :, :]), axis=-1)

    def dot(embeddings):
        """TFA's docstring example: the Gram matrix, not a distance (diagonal != 0)."""
        return tf.matmul(embeddings, embeddings, transpose_b=True)

    return {"L1": l1, "dot": dot}


def tfa_loss(case: dict):
    """The tensorflow-addons loss object of one case."""
    import tensorflow_addons as tfa

    metric = _callable_metrics().get(case["distance_metric"], case["distance_metric"])
    if case["loss"] == "semihard":
        return tfa.losses.TripletSemiHardLoss(margin=case["margin"], distance_metric=metric)
    return tfa.losses.TripletHardLoss(
        margin=case["margin"], soft=case["soft"], distance_metric=metric
    )


def _last_line(message: str) -> str:
    """The informative line of a TF error (graph-mode ones start with "in user code:")."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def values(cases_path: str, out_path: str) -> None:
    import numpy as np
    import tensorflow as tf

    with np.load(cases_path) as data:
        spec = json.loads(str(data["spec"]))
        arrays = {key: data[key] for key in data.files}
    results = np.full(len(spec), np.nan)
    errors = []
    for i, case in enumerate(spec):
        tf.config.run_functions_eagerly(bool(case.get("eager", False)))
        try:
            results[i] = float(tfa_loss(case)(arrays[f"labels_{i}"], arrays[f"embeddings_{i}"]))
            errors.append("")
        except Exception as error:  # TFA's failures are results here (float64 inputs)
            errors.append(f"{type(error).__name__}: {_last_line(str(error))}")
    np.savez(out_path, values=results, errors=np.array(errors))


def _make_loss(impl: str, loss: str):
    if impl == "tfa":
        return tfa_loss({"loss": loss, "margin": 1.0, "soft": False, "distance_metric": "L2"})
    from kerasdl.losses.triplet import TripletHardLoss, TripletSemiHardLoss

    return TripletSemiHardLoss() if loss == "semihard" else TripletHardLoss()


def _timed(fn, args, repeats: int, max_seconds: float) -> tuple[float, float, float]:
    """The first call's value and seconds (tracing or compiling included), and the
    fastest of the next `repeats` calls, stopping once `max_seconds` were spent on them."""
    start = time.perf_counter()
    value = float(fn(*args))
    first = time.perf_counter() - start
    best, spent = float("inf"), 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args).numpy()
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
        if spent > max_seconds:
            break
    return value, first, best


def measure(args: argparse.Namespace) -> dict:
    cap = int(args.cap_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:  # Should the machine still run short, the kernel ends this process first.
        with open("/proc/self/oom_score_adj", "w") as score:
            score.write("1000")
    except OSError:
        pass
    import numpy as np
    import tensorflow as tf

    result = {"impl": args.impl, "loss": args.loss, "batch": args.batch, "mode": args.mode}
    result["tensorflow"] = tf.__version__
    rng = np.random.default_rng(args.seed)
    labels = tf.constant(rng.integers(0, max(2, args.batch // 4), size=args.batch), tf.int32)
    embeddings = rng.normal(size=(args.batch, args.dim)).astype("float32")
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    embeddings = tf.Variable(embeddings)
    loss = _make_loss(args.impl, args.loss)
    jit = args.mode == "xla"
    # The batch dimension is unknown at tracing, as in `fit`.
    signature = [
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None, args.dim], tf.float32),
    ]
    forward = tf.function(lambda y, x: loss(y, x), jit_compile=jit, input_signature=signature)

    @tf.function(jit_compile=jit, input_signature=signature[:1])
    def gradient(y):
        with tf.GradientTape() as tape:
            value = loss(y, embeddings)
        return tf.reduce_sum(tape.gradient(value, embeddings)) + value

    result["baseline_rss"] = _rss_bytes()
    try:
        result["value"], result["first_s"], result["forward_s"] = _timed(
            forward, (labels, embeddings), args.repeats, args.max_seconds
        )
        result["forward_peak_rss"] = _peak_rss_bytes()
        if args.gradient:
            _, _, result["gradient_s"] = _timed(gradient, (labels,), args.repeats, args.max_seconds)
            result["gradient_peak_rss"] = _peak_rss_bytes()
        result["status"] = "ok"
    except (tf.errors.ResourceExhaustedError, MemoryError) as error:
        result["status"] = "OOM"
        result["error"] = str(error).splitlines()[0][:200]
    result["peak_rss"] = _peak_rss_bytes()
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    values_parser = commands.add_parser("values", help="TFA's loss of each case")
    values_parser.add_argument("cases")
    values_parser.add_argument("out")
    measure_parser = commands.add_parser("measure", help="time and peak memory of one loss")
    measure_parser.add_argument("--impl", choices=["tfa", "kerasdl"], required=True)
    measure_parser.add_argument("--loss", choices=["semihard", "hard"], required=True)
    measure_parser.add_argument("--batch", type=int, required=True)
    measure_parser.add_argument("--dim", type=int, default=128)
    measure_parser.add_argument("--mode", choices=["graph", "xla"], default="graph")
    measure_parser.add_argument("--gradient", action="store_true")
    measure_parser.add_argument("--repeats", type=int, default=5)
    measure_parser.add_argument("--max-seconds", type=float, default=20.0)
    measure_parser.add_argument("--cap-gib", type=float, default=12.0)
    measure_parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "values":
        values(args.cases, args.out)
    else:
        print(json.dumps(measure(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
