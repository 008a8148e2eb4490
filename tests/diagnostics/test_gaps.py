"""The gaps between human-level, training, training-dev, dev and test error against the
notes' worked cases computed by hand, the remedies named, the tables and the plot."""

import pytest

from kerasdl.diagnostics.gaps import REMEDIES, ErrorGaps, comparison_table, plot_error_gaps

# (human, train, train-dev, dev, test) -> expected gaps and the largest, by hand.
CASES = [
    # The notes' mismatched-distribution cases (human level ~ 0%).
    (
        (0.0, 0.01, 0.09, 0.10, None),
        {"avoidable_bias": 0.01, "variance": 0.08, "data_mismatch": 0.01},
        "variance",
    ),
    (
        (0.0, 0.01, 0.015, 0.10, None),
        {"avoidable_bias": 0.01, "variance": 0.005, "data_mismatch": 0.085},
        "data_mismatch",
    ),
    (
        (0.0, 0.10, 0.11, 0.12, None),
        {"avoidable_bias": 0.10, "variance": 0.01, "data_mismatch": 0.01},
        "avoidable_bias",
    ),
    (
        (0.0, 0.10, 0.11, 0.20, None),
        {"avoidable_bias": 0.10, "variance": 0.01, "data_mismatch": 0.09},
        "avoidable_bias",
    ),
    # With a test set: overfitting to the dev set.
    (
        (0.04, 0.07, 0.10, 0.12, 0.20),
        {"avoidable_bias": 0.03, "variance": 0.03, "data_mismatch": 0.02, "dev_overfitting": 0.08},
        "dev_overfitting",
    ),
    # The notes' avoidable-bias cases, no training-dev set: variance = dev - train.
    ((0.01, 0.08, None, 0.10, None), {"avoidable_bias": 0.07, "variance": 0.02}, "avoidable_bias"),
    ((0.075, 0.08, None, 0.10, None), {"avoidable_bias": 0.005, "variance": 0.02}, "variance"),
    # Only a training-dev set.
    ((0.02, 0.03, 0.05, None, None), {"avoidable_bias": 0.01, "variance": 0.02}, "variance"),
]


@pytest.mark.parametrize("errors, expected, largest", CASES)
def test_gaps_match_hand_computed_cases(errors, expected, largest):
    report = ErrorGaps(*errors)
    gaps = report.gaps()
    assert gaps.keys() == expected.keys()
    for name, value in expected.items():
        assert gaps[name] == pytest.approx(value, abs=1e-12), name
    assert report.largest == largest
    assert report.remedies == REMEDIES[largest]
    assert set(report.to_dict()) >= set(expected)


def test_remedies_are_the_notes_tactics():
    assert "Train a bigger model" in REMEDIES["avoidable_bias"]
    assert any("Regularization" in r for r in REMEDIES["variance"])
    assert any("More data" in r for r in REMEDIES["variance"])
    assert any("error analysis" in r for r in REMEDIES["data_mismatch"])
    assert any("artificial data synthesis" in r for r in REMEDIES["data_mismatch"])
    assert REMEDIES["dev_overfitting"] == ("Get a bigger dev set",)


def test_summary_mentions_largest_gap_and_surpassed_human_level():
    text = ErrorGaps(0.01, 0.02, 0.03, 0.10).summary()
    assert "Largest gap: data mismatch" in text and "artificial data synthesis" in text
    text = ErrorGaps(0.05, 0.03, dev_error=0.10).summary()
    assert "avoidable bias -2.00%" in text and "below the human-level estimate" in text


def test_markdown_tables():
    table = ErrorGaps(0.01, 0.02, 0.03, 0.10, 0.11).to_markdown()
    assert "| Training-dev | 3.00% | variance 1.00% |" in table
    assert "| Dev | 10.00% | data mismatch 7.00% |" in table
    assert "| Test | 11.00% | overfitting to the dev set 1.00% |" in table
    both = comparison_table(
        {"before": ErrorGaps(0.01, 0.08, dev_error=0.10), "after": ErrorGaps(0.01, 0.02, 0.03, 0.1)}
    )
    assert "| Training-dev |  | 3.00% |" in both
    assert "| **largest gap** | avoidable bias | data mismatch |" in both


def test_markdown_with_a_test_set_but_no_dev_set():
    table = ErrorGaps(0.01, 0.02, train_dev_error=0.04, test_error=0.06).to_markdown()
    assert "| Test | 6.00% |  |" in table


def test_plot(tmp_path):
    path = plot_error_gaps(
        {"a": ErrorGaps(0.01, 0.08, 0.09, 0.1), "b": ErrorGaps(0.01, 0.02, dev_error=0.05)},
        tmp_path / "gaps.png",
    )
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"human_level_error": -0.1, "train_error": 0.1},
            ValueError,
            r"`human_level_error` must be in \[0, 1\]\. Received: human_level_error=-0\.1",
        ),
        ({"human_level_error": 0.0, "train_error": "5%"}, TypeError, r"`train_error` must be"),
        ({"human_level_error": 0.0, "train_error": None}, TypeError, r"`train_error` must be"),
        (
            {"human_level_error": 0.0, "train_error": 0.1, "dev_error": 12.0},
            ValueError,
            r"`dev_error` must be in \[0, 1\]",
        ),
    ],
)
def test_bad_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        ErrorGaps(**kwargs)
