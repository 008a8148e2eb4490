"""The shared argument checks: what they accept, what they reject and the message."""

import fractions

import numpy as np
import pytest

from kerasdl._validation import check_greater, check_in_range


@pytest.mark.parametrize(
    "value", [0.5, 0, np.float32(0.25), np.float64(0.75), np.int64(0), fractions.Fraction(1, 3)]
)
def test_real_numbers_of_any_type_are_accepted(value):
    result = check_in_range("rate", value, 0, 1)
    assert type(result) is float and result == pytest.approx(float(value))
    assert type(check_greater("scale", value, -1)) is float


@pytest.mark.parametrize("value", [True, np.bool_(False), "0.5", None, [0.5], np.array([0.5])])
def test_non_numbers_and_bools_are_rejected(value):
    with pytest.raises(TypeError, match="`rate` must be a number. Received: rate="):
        check_in_range("rate", value, 0, 1)
    with pytest.raises(TypeError, match="`scale` must be a number"):
        check_greater("scale", value, 0)


def test_ranges_and_messages():
    assert check_in_range("p", 1, 0, 1, include_high=True) == 1.0
    with pytest.raises(ValueError, match=r"`p` must be in \[0, 1\)\. Received: p=1"):
        check_in_range("p", np.float32(1.0), 0, 1)
    with pytest.raises(ValueError, match=r"`p` must be in \[0, 1\)\. Received: p=nan"):
        check_in_range("p", float("nan"), 0, 1)
    with pytest.raises(ValueError, match=r"`scale` must be > 0\. Received: scale=0"):
        check_greater("scale", np.int32(0), 0)
