"""`kerasdl bleu`: corpus BLEU of a hypothesis file against one or more reference files,
one segment per line, printed as sacrebleu's text line."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TextIO

from kerasdl.metrics.bleu import SMOOTH_DEFAULTS, BLEUScore, corpus_bleu


def read_lines(path: str, name: str) -> list[str]:
    """The file's lines without their line ends (UTF-8); a clear error otherwise."""
    if not os.path.isfile(path):
        raise ValueError(f"`{name}` must be an existing text file. Received: {name}={path!r}")
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f]
    except UnicodeDecodeError as error:
        raise ValueError(
            f"`{name}` must be UTF-8 text. Received: {name}={path!r} ({error})"
        ) from None


def signature(
    num_refs: int, tokenize: str, lowercase: bool, smooth_method: str, smooth_value
) -> str:
    """sacrebleu's signature of the settings (without its version field)."""
    smooth = smooth_method
    if SMOOTH_DEFAULTS[smooth_method] is not None:
        value = SMOOTH_DEFAULTS[smooth_method] if smooth_value is None else smooth_value
        smooth += f"[{value:.2f}]"
    case = "lc" if lowercase else "mixed"
    return f"nrefs:{num_refs}|case:{case}|eff:no|tok:{tokenize}|smooth:{smooth}"


def run_bleu(
    hyp_path: str,
    ref_paths: str | Sequence[str],
    tokenize: str = "13a",
    lowercase: bool = False,
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    max_order: int = 4,
    out: TextIO | None = None,
) -> BLEUScore:
    """Scores the hypothesis file against the reference files and prints one line:

        BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp = 46.50 81.8/66.7/42.9/20.0
        (BP = 1.000 ratio = 1.000 hyp_len = 11 ref_len = 11)

    (the score, the n-gram precisions in percent and the brevity penalty), as
    `sacrebleu -f text` prints it. Line i of every reference file is a reference of line
    i of the hypothesis file; the files must have the same number of lines.

    Args:
        hyp_path: the hypotheses, one segment per line (UTF-8).
        ref_paths: one reference file or several.
        tokenize, lowercase, smooth_method, smooth_value, max_order: as in
            `kerasdl.metrics.bleu.corpus_bleu`.
        out: where to print (default stdout).

    Returns:
        The `BLEUScore`.
    """
    if isinstance(ref_paths, str):
        ref_paths = [ref_paths]
    ref_paths = list(ref_paths)
    if not ref_paths:
        raise ValueError("`ref_paths` must name at least one reference file. Received: []")
    hypotheses = read_lines(hyp_path, "hyp_path")
    streams = []
    for k, path in enumerate(ref_paths):
        lines = read_lines(path, f"ref_paths[{k}]")
        if len(lines) != len(hypotheses):
            raise ValueError(
                f"`ref_paths[{k}]` must have as many lines as `hyp_path` ({len(hypotheses)} "
                f"in {hyp_path!r}). Received: {len(lines)} lines in {path!r}"
            )
        streams.append(lines)
    if not hypotheses:
        raise ValueError(f"`hyp_path` must hold at least one line. Received: {hyp_path!r} is empty")
    result = corpus_bleu(
        hypotheses,
        streams,
        max_order=max_order,
        smooth_method=smooth_method,
        smooth_value=smooth_value,
        tokenize=tokenize,
        lowercase=lowercase,
    )
    name = "BLEU|" + signature(len(streams), tokenize, lowercase, smooth_method, smooth_value)
    line = str(result).replace("BLEU", name, 1)
    print(line, file=out or sys.stdout)
    return result
