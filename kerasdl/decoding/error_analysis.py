"""Error analysis of beam search: is the search or the model at fault?"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from kerasdl.decoding.scoring import sequence_log_prob
from kerasdl.decoding.step import (
    DecodeResult,
    StepFn,
    check_alpha,
    check_token_id,
    first_end_lengths,
    length_normalize,
)

BEAM_SEARCH = "beam search"
MODEL = "model"
CORRECT = "correct"

Scorer = Callable[[Any, tf.Tensor], Any]


@dataclasses.dataclass(frozen=True)
class BeamErrorAnalysis:
    """Per-example verdicts of `beam_error_analysis` and their summary.

    Attributes:
        human_scores: float64 `[N]`, `(1 / Ty*^alpha) log P(y*|x)` of each human translation.
        decoded_scores: float64 `[N]`, `(1 / Ty_hat^alpha) log P(y_hat|x)` of each output.
        at_fault: per example, "beam search", "model", or "correct" (the output equals
            the human translation, so it is not an error).
        sources, human_translations, decoded: the examples as display strings.
        length_penalty_alpha: the alpha of the scores.

    `summary` counts the verdicts; `to_table()` (also `str()`) prints one row per example
    and the summary.
    """

    human_scores: np.ndarray
    decoded_scores: np.ndarray
    at_fault: tuple[str, ...]
    sources: tuple[str, ...]
    human_translations: tuple[str, ...]
    decoded: tuple[str, ...]
    length_penalty_alpha: float

    @property
    def is_error(self) -> np.ndarray:
        return np.array([verdict != CORRECT for verdict in self.at_fault], dtype=bool)

    @property
    def summary(self) -> dict[str, float]:
        """Counts, and the fraction of the errors each culprit is responsible for."""
        errors = int(self.is_error.sum())
        beam = sum(verdict == BEAM_SEARCH for verdict in self.at_fault)
        model = sum(verdict == MODEL for verdict in self.at_fault)
        return {
            "examples": len(self.at_fault),
            "errors": errors,
            "beam_search_errors": beam,
            "model_errors": model,
            "beam_search_fraction": beam / errors if errors else 0.0,
            "model_fraction": model / errors if errors else 0.0,
        }

    def to_table(self, max_rows: int | None = None, width: int = 30) -> str:
        """A text table: one row per example (the first `max_rows`), then the summary."""
        header = ("#", "source x", "human y*", "output y_hat", "y* score", "y_hat score", "fault")
        rows = [header]
        count = len(self.at_fault) if max_rows is None else min(max_rows, len(self.at_fault))
        for i in range(count):
            rows.append(
                (
                    str(i),
                    _clip(self.sources[i], width),
                    _clip(self.human_translations[i], width),
                    _clip(self.decoded[i], width),
                    f"{self.human_scores[i]:.3f}",
                    f"{self.decoded_scores[i]:.3f}",
                    "-" if self.at_fault[i] == CORRECT else self.at_fault[i],
                )
            )
        widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
        numeric = {0, 4, 5}
        lines = []
        for r, row in enumerate(rows):
            cells = [
                cell.rjust(widths[c]) if c in numeric and r else cell.ljust(widths[c])
                for c, cell in enumerate(row)
            ]
            lines.append("  ".join(cells).rstrip())
            if r == 0:
                lines.append("  ".join("-" * w for w in widths))
        if count < len(self.at_fault):
            lines.append(f"... {len(self.at_fault) - count} more")
        s = self.summary
        lines.append(
            f"{s['errors']} errors in {s['examples']} examples: beam search at fault in "
            f"{s['beam_search_errors']} ({s['beam_search_fraction']:.0%}), the model in "
            f"{s['model_errors']} ({s['model_fraction']:.0%})"
        )
        lines.append(f"scores: log P(y|x) / Ty^{self.length_penalty_alpha:g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_table()


def beam_error_analysis(
    step_fn_or_scorer: StepFn | Scorer,
    sources: Any,
    human_translations: Any,
    decoded: Any,
    *,
    end_id: int,
    start_id: int | Any = None,
    initial_state: Any = None,
    length_penalty_alpha: float = 0.7,
    vocabulary: Sequence[str] | Mapping[int, str] | None = None,
) -> BeamErrorAnalysis:
    """Attributes each translation error to beam search or to the model, as in the notes.

    For every dev-set example with source x, human translation y* and output y_hat of
    beam search, both sentences are scored under the model with the same normalised
    objective beam search maximises,

        score(y) = (1 / Ty^alpha) * sum_{t=1..Ty} log P(y<t> | x, y<1..t-1>),

    and the error is attributed by the notes' rule:

    - `score(y*) > score(y_hat)`: the model prefers y*, but beam search returned y_hat,
      so beam search is at fault (a wider beam may help);
    - `score(y*) <= score(y_hat)`: the model ranks the worse sentence y_hat at least as
      high, so the model (the RNN) is at fault (more data, regularisation, architecture).

    An output equal to its human translation (token for token, up to and including the
    first end token) is not an error. The fractions of errors due to each tell which part
    is worth working on.

    The model is either a step function (pass `initial_state` and `start_id`; both sets
    of sentences are scored by teacher forcing with `sequence_log_prob`, all examples in
    one batch) or a scorer, `scorer(sources, sequences) -> [N]` unnormalised
    `log P(y|x)`, for models scored some other way; `Ty` then comes from `end_id`.

    Args:
        step_fn_or_scorer: the model's step function, or a scorer (see above).
        sources: the N source sentences x, only displayed when a step function is given
            (strings, or token ids shown as numbers); passed to a scorer.
        human_translations: token ids `[N, T*]` of y* (rows may be lists of different
            lengths; they are padded with `end_id`). `Ty` counts up to and including the
            first `end_id`, or the whole row when it has none.
        decoded: token ids `[N, T]` of y_hat, or the `DecodeResult` of `beam_search`
            (its best hypotheses, `sequences[:, 0]`).
        end_id: the end-of-sentence token.
        start_id: the start token (int or int tensor `[N]`), with a step function.
        initial_state: the step function's state for the N sources (leading dim N).
        length_penalty_alpha: alpha >= 0, as used by the beam search under analysis.
        vocabulary: token strings (a list or id -> string mapping) used to display the
            sentences; token ids are shown when None.

    Returns:
        A `BeamErrorAnalysis`.

    Example:

    >>> import numpy as np, tensorflow as tf
    >>> from kerasdl.decoding.beam_search import beam_search
    >>> from kerasdl.decoding.error_analysis import beam_error_analysis
    >>> # Tokens: 0 <s>, 1 "the", 2 "a", 3 "cat", 4 </s>; a Markov chain as the model.
    >>> p = np.full((5, 5), 1e-3)
    >>> p[0, 1], p[0, 2] = 0.55, 0.45    # "a" is less likely than "the" after <s>,
    >>> p[1, 4], p[1, 3] = 0.9, 0.1      # but "the" is rarely followed by "cat"
    >>> p[2, 3], p[3, 4], p[4, 4] = 1.0, 1.0, 1.0
    >>> table = tf.math.log(tf.constant(p / p.sum(1, keepdims=True), tf.float32))
    >>> step_fn = lambda tokens, state: (tf.gather(table, tokens), state)
    >>> start = tf.zeros([3], tf.int32)
    >>> human = [[2, 3, 4], [1, 4], [1, 3, 4]]  # "a cat", "the", "the cat"
    >>> narrow = beam_search(step_fn, (), start, end_id=4, beam_width=1, max_length=3)
    >>> analysis = beam_error_analysis(
    ...     step_fn, ["un chat", "le", "le chat"], human, narrow, end_id=4,
    ...     start_id=start, initial_state=(),
    ...     vocabulary=["<s>", "the", "a", "cat", "</s>"])
    >>> analysis.at_fault
    ('beam search', 'correct', 'model')
    >>> print(analysis)
    #  source x  human y*  output y_hat  y* score  y_hat score  fault
    -  --------  --------  ------------  --------  -----------  -----------
    0  un chat   a cat     the             -0.375       -0.437  beam search
    1  le        the       the             -0.437       -0.437  -
    2  le chat   the cat   the             -1.349       -0.437  model
    2 errors in 3 examples: beam search at fault in 1 (50%), the model in 1 (50%)
    scores: log P(y|x) / Ty^0.7
    """
    alpha = check_alpha(length_penalty_alpha)
    end_id = check_token_id("end_id", end_id)
    if not callable(step_fn_or_scorer):
        raise TypeError(
            "`step_fn_or_scorer` must be a step function or a scorer callable. "
            f"Received: step_fn_or_scorer={step_fn_or_scorer!r}"
        )
    if isinstance(decoded, DecodeResult):
        decoded = decoded.sequences[:, 0]
    human = _token_matrix("human_translations", human_translations, end_id)
    output = _token_matrix("decoded", decoded, end_id)
    if human.shape[0] != output.shape[0]:
        raise ValueError(
            "`human_translations` and `decoded` must hold the same number of examples. "
            f"Received: {human.shape[0]} and {output.shape[0]}"
        )
    count = human.shape[0]
    if initial_state is not None:
        if start_id is None:
            raise ValueError(
                "`start_id` is required when `initial_state` is given (step-function "
                "mode). Received: start_id=None"
            )

        def score(sequences: np.ndarray) -> np.ndarray:
            return sequence_log_prob(
                step_fn_or_scorer,
                initial_state,
                sequences,
                start_id,
                end_id,
                length_penalty_alpha=alpha,
            ).numpy()

    else:

        def score(sequences: np.ndarray) -> np.ndarray:
            total = tf.cast(
                tf.reshape(step_fn_or_scorer(sources, tf.constant(sequences)), [-1]),
                tf.float32,
            )
            if total.shape[0] != count:
                raise ValueError(
                    f"The scorer must return one log-probability per example, shape "
                    f"[{count}]. Received: shape {tuple(total.shape)}"
                )
            return length_normalize(total, first_end_lengths(sequences, end_id), alpha).numpy()

    human_scores = np.asarray(score(human), np.float64)
    decoded_scores = np.asarray(score(output), np.float64)
    verdicts = []
    for i in range(count):
        if _trim(human[i], end_id) == _trim(output[i], end_id):
            verdicts.append(CORRECT)
        elif human_scores[i] > decoded_scores[i]:
            verdicts.append(BEAM_SEARCH)
        else:
            verdicts.append(MODEL)
    source_text = tuple(_display_source(source) for source in _rows(sources, count))
    return BeamErrorAnalysis(
        human_scores=human_scores,
        decoded_scores=decoded_scores,
        at_fault=tuple(verdicts),
        sources=source_text,
        human_translations=tuple(_display(row, end_id, vocabulary) for row in human),
        decoded=tuple(_display(row, end_id, vocabulary) for row in output),
        length_penalty_alpha=alpha,
    )


def _token_matrix(name: str, value: Any, end_id: int) -> np.ndarray:
    """Token ids as an int32 `[N, T]` array; ragged rows are padded with `end_id`."""
    if isinstance(value, tf.Tensor):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        array = value
    else:
        rows = [list(np.asarray(row).reshape(-1)) for row in value]
        longest = max((len(row) for row in rows), default=0)
        array = np.array([row + [end_id] * (longest - len(row)) for row in rows])
    if array.ndim != 2 or array.shape[1] == 0 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"`{name}` must be token ids of shape [N, T] with T >= 1. "
            f"Received: {name} with dtype {array.dtype} and shape {array.shape}"
        )
    return array.astype(np.int32)


def _trim(row: np.ndarray, end_id: int) -> tuple[int, ...]:
    ends = np.flatnonzero(row == end_id)
    return tuple(row[: ends[0] + 1].tolist() if ends.size else row.tolist())


def _display(row: np.ndarray, end_id: int, vocabulary: Any) -> str:
    tokens = [t for t in _trim(row, end_id) if t != end_id]
    if not tokens:
        return "(empty)"
    if vocabulary is None:
        return " ".join(str(t) for t in tokens)
    return " ".join(str(vocabulary[t]) for t in tokens)


def _rows(sources: Any, count: int) -> list[Any]:
    if isinstance(sources, tf.Tensor):
        sources = sources.numpy()
    rows = list(sources)
    if len(rows) != count:
        raise ValueError(
            f"`sources` must hold one source per example ({count}). Received: {len(rows)}"
        )
    return rows


def _display_source(source: Any) -> str:
    if isinstance(source, bytes):
        return source.decode("utf-8", "replace")
    if isinstance(source, str):
        return source
    return " ".join(str(t) for t in np.asarray(source).reshape(-1).tolist())


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
