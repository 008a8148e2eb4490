"""Triplet losses: kerasdl's semi-hard and hard losses vs tensorflow-addons 0.23.

Each measurement runs in a fresh child process (`benchmarks/tfa_reference.py measure`),
kerasdl's in the project's venv and TFA's in `.venv-tfa` (TensorFlow 2.15; `make
tfa-venv`), so the peak resident memory (`ru_maxrss`, the whole process, TensorFlow's
runtime included) belongs to one loss at one batch size, and TFA runs on the TensorFlow
it supports. Children run one at a time under an address-space limit (12 GiB, or
`KERASDL_BENCH_CAP_GIB`; lowered to what the machine has free), so a loss that needs more
fails inside its child and its row says OOM instead of exhausting the machine.

B = 256, 512, 1024, 4096 (512: the largest at which TFA's semi-hard loss fits under the
cap in graph mode, where it builds `[B^2, B]` tensors), then kerasdl alone at 8192.
Batches of B L2-normalised 128-d embeddings with about 4 examples per class, the labels
unknown at tracing (`None` batch dimension) as in `fit`; graph mode (`tf.function`) and
XLA (`jit_compile=True`, Keras' default in `fit`). Times are the fastest call after the
first (tracing) one; "forward + gradient" computes the loss and its gradient with
respect to the embeddings. kerasdl's and TFA's losses are checked equal before the rows
are printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "tfa_reference.py"
TFA_PYTHON = Path(os.environ.get("KERASDL_TFA_PYTHON", ROOT / ".venv-tfa" / "bin" / "python"))
CAP_GIB = float(os.environ.get("KERASDL_BENCH_CAP_GIB", "12"))
DIM = 128
BATCHES = (256, 512, 1024, 4096)
LARGE_BATCH = 8192
GRADIENT_UP_TO = 1024
LOSSES = {
    "semihard": ("triplet semi-hard", "tfa.losses.TripletSemiHardLoss (TF 2.15)"),
    "hard": ("triplet hard", "tfa.losses.TripletHardLoss (TF 2.15)"),
}
GIB = 2**30


def available_gib() -> float:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 / GIB
    return float("inf")


def measure(impl: str, loss: str, batch: int, mode: str, gradient: bool) -> dict:
    """One child's JSON result; `status` is "ok", "OOM" or "not run"."""
    python = TFA_PYTHON if impl == "tfa" else Path(sys.executable)
    if not python.exists():
        return {"status": "not run", "why": "no .venv-tfa: make tfa-venv"}
    # Leave 1 GiB to the others on the machine.
    cap = min(CAP_GIB, available_gib() - 1.0)
    if cap < 2.0:
        return {"status": "not run", "why": f"{available_gib():.1f} GiB free"}
    command = [python, SCRIPT, "measure", f"--impl={impl}", f"--loss={loss}"]
    command += [f"--batch={batch}", f"--dim={DIM}", f"--mode={mode}", f"--cap-gib={cap:.2f}"]
    command += ["--gradient"] if gradient else []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = str(ROOT) if impl == "kerasdl" else ""
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode == 0 and lines:
        result = json.loads(lines[-1])
    elif done.returncode < 0 or "bad_alloc" in done.stderr or "MemoryError" in done.stderr:
        # Killed, or an allocation failed outside TensorFlow's error handling.
        result = {"status": "OOM"}
    else:
        raise RuntimeError(f"{impl} {loss} B={batch} {mode} failed:\n{done.stderr[-3000:]}")
    result["cap_gib"] = cap
    return result


def fmt_time(result: dict, key: str) -> str:
    if result["status"] == "ok":
        return f"{result[key] * 1e3:.1f} ms"
    return fmt_failure(result)


def fmt_memory(result: dict, key: str) -> str:
    """The process' peak, and in brackets its growth over the resident memory before the
    first call (TensorFlow's runtime and the inputs): the loss' own share."""
    if result["status"] == "ok":
        growth = (result[key] - result["baseline_rss"]) / GIB
        return f"{result[key] / GIB:.2f} GiB (+{growth:.2f})"
    return fmt_failure(result)


def fmt_failure(result: dict) -> str:
    if result["status"] == "OOM":
        return f"OOM (> {result['cap_gib']:.1f} GiB cap)"
    return f"not run ({result['why']})"


def ratio(ours: dict, peer: dict, key: str) -> str:
    """kerasdl / TFA: of the times, or of the memory growths (the runtimes differ: Keras 3
    and TF 2.21 against Keras 2 and TF 2.15). Where TFA ran out of memory, a bound for
    memory (TFA needed more than the cap) and none for time."""
    if ours["status"] != "ok":
        return "-"
    if not key.endswith("peak_rss"):
        return f"{ours[key] / peer[key]:.3f}" if peer["status"] == "ok" else "-"
    growth = ours[key] - ours["baseline_rss"]
    if peer["status"] == "ok":
        return f"{growth / max(peer[key] - peer['baseline_rss'], 1):.3f}"
    if peer["status"] == "OOM":
        return f"< {growth / (peer['cap_gib'] * GIB - peer.get('baseline_rss', 0)):.3f}"
    return "-"


def line(name: str, peer_name: str, ours: str, peer: str, ratio_text: str, target: str) -> str:
    return f"| {name} | {peer_name} | {ours} | {peer} | {ratio_text} | {target} |"


def check_equal(ours: dict, peer: dict, label: str) -> None:
    if ours["status"] == "ok" and peer["status"] == "ok":
        if abs(ours["value"] - peer["value"]) > 1e-5 * max(1.0, abs(peer["value"])):
            raise AssertionError(f"{label}: kerasdl {ours['value']} != TFA {peer['value']}")


def rows_for(loss: str, mode: str, tfa_out_of_memory: dict) -> Iterator[str]:
    name, peer_name = LOSSES[loss]
    mode_name = "XLA" if mode == "xla" else "graph"
    for batch in BATCHES:
        gradient = batch <= GRADIENT_UP_TO
        ours = measure("kerasdl", loss, batch, mode, gradient)
        if (loss, mode) in tfa_out_of_memory:
            # TFA's memory grows with B; a larger batch than one that ran out runs out too.
            peer = {"status": "OOM", "cap_gib": tfa_out_of_memory[(loss, mode)]}
        else:
            peer = measure("tfa", loss, batch, mode, gradient)
            if peer["status"] == "OOM":
                tfa_out_of_memory[(loss, mode)] = peer["cap_gib"]
        label = f"{name}, B={batch}, D={DIM}, {mode_name}"
        check_equal(ours, peer, label)
        fast = "<= 0.1" if loss == "semihard" and batch == 1024 else "< 1"
        small = "< 1 GB total" if batch == 1024 else "< 1"
        measures = [("forward", "forward_s", fast), ("forward peak RSS", "forward_peak_rss", small)]
        if gradient:
            measures += [("forward + gradient", "gradient_s", "< 1")]
            measures += [("forward + gradient peak RSS", "gradient_peak_rss", "< 1")]
        for what, key, target in measures:
            cell = fmt_memory if key.endswith("peak_rss") else fmt_time
            yield line(
                f"{label}: {what}",
                peer_name,
                cell(ours, key),
                cell(peer, key),
                ratio(ours, peer, key),
                target,
            )


def large_rows(loss: str, mode: str) -> list[str]:
    name, _ = LOSSES[loss]
    mode_name = "XLA" if mode == "xla" else "graph"
    ours = measure("kerasdl", loss, LARGE_BATCH, mode, gradient=False)
    label = f"{name}, B={LARGE_BATCH}, D={DIM}, {mode_name}"
    return [
        line(f"{label}: forward", "(kerasdl alone)", fmt_time(ours, "forward_s"), "-", "-", "-"),
        line(
            f"{label}: forward peak RSS",
            "(kerasdl alone)",
            fmt_memory(ours, "forward_peak_rss"),
            "-",
            "-",
            "< 4 GB total",
        ),
    ]


def run() -> Iterator[str]:
    """Table rows, one measurement at a time (never two children at once)."""
    tfa_out_of_memory: dict = {}
    for loss in LOSSES:
        for mode in ("graph", "xla"):
            yield from rows_for(loss, mode, tfa_out_of_memory)
    for loss in LOSSES:
        for mode in ("graph", "xla"):
            yield from large_rows(loss, mode)
