"""Date pairs: every format reads back to its date through Python's own strptime (an
independent parser), the pairs are deterministic per seed and varied, the vocabularies
cover every string, and bad arguments are rejected."""

import collections
import datetime
import re

import numpy as np
import pytest

from kerasdl.data.dates import (
    DATE_FORMATS,
    MAX_DATE,
    MIN_DATE,
    date_pairs,
    date_vocabularies,
    format_date,
)
from kerasdl.data.vocabulary import seq2seq_arrays

# The same formats written as strptime patterns (after removing ordinal suffixes), so
# the check does not reuse the generator's month and weekday tables.
STRPTIME = {
    "d MMM yyyy": "%d %b %Y",
    "dd MMM yyyy": "%d %b %Y",
    "d MMMM yyyy": "%d %B %Y",
    "d MMMM, yyyy": "%d %B, %Y",
    "d MMM, yyyy": "%d %b, %Y",
    "MMMM d, yyyy": "%B %d, %Y",
    "MMM d, yyyy": "%b %d, %Y",
    "MMMM d yyyy": "%B %d %Y",
    "MMMM o, yyyy": "%B %d, %Y",
    "o of MMMM, yyyy": "%d of %B, %Y",
    "o MMMM yyyy": "%d %B %Y",
    "EEEE MMMM d yyyy": "%A %B %d %Y",
    "EEEE, MMMM d, yyyy": "%A, %B %d, %Y",
    "EEEE d MMMM yyyy": "%A %d %B %Y",
    "EEE, d MMM yyyy": "%a, %d %b %Y",
    "dd.MM.yy": "%d.%m.%y",
    "dd.MM.yyyy": "%d.%m.%Y",
    "d/M/yyyy": "%d/%m/%Y",
    "dd/MM/yy": "%d/%m/%y",
    "dd-MM-yyyy": "%d-%m-%Y",
    "yyyy/MM/dd": "%Y/%m/%d",
    "d MMM yy": "%d %b %y",
}


def parse(text, fmt):
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text, flags=re.IGNORECASE)
    parsed = datetime.datetime.strptime(text, STRPTIME[fmt]).date()
    if "yy" in fmt and "yyyy" not in fmt:
        # strptime reads 69-99 as 19xx; the generator's two-digit years are 1950-2049.
        year = parsed.year % 100
        parsed = parsed.replace(year=1900 + year if year >= 50 else 2000 + year)
    return parsed


def test_strptime_table_covers_every_format():
    assert set(STRPTIME) == set(DATE_FORMATS)


@pytest.mark.parametrize("fmt", sorted(DATE_FORMATS))
def test_every_format_reads_back_to_its_date(fmt):
    rng = np.random.default_rng(0)
    span = (MAX_DATE - MIN_DATE).days
    days = [MIN_DATE + datetime.timedelta(days=int(d)) for d in rng.integers(0, span + 1, 60)]
    days += [MIN_DATE, MAX_DATE, datetime.date(2000, 2, 29), datetime.date(2011, 11, 11)]
    for day in days:
        for case in ("as written", "lower", "upper"):
            text = format_date(day, fmt, case)
            assert parse(text, fmt) == day, (text, fmt)


def test_known_strings():
    day = datetime.date(2009, 6, 25)
    assert format_date(day, "o of MMMM, yyyy") == "25th of June, 2009"
    assert format_date(day, "EEEE MMMM d yyyy", "lower") == "thursday june 25 2009"
    assert format_date(day, "dd.MM.yy") == "25.06.09"
    assert format_date(day, "MMMM d, yyyy") == "June 25, 2009"
    assert format_date(day, "d MMM yyyy", "upper") == "25 JUN 2009"
    days = [datetime.date(2020, 1, d) for d in range(1, 32)]
    ordinals = [format_date(day, "o MMMM yyyy").split()[0] for day in days]
    assert ordinals[:4] == ["1st", "2nd", "3rd", "4th"]
    assert ordinals[10:13] == ["11th", "12th", "13th"]
    assert ordinals[20:23] == ["21st", "22nd", "23rd"] and ordinals[30] == "31st"


def test_pairs_are_deterministic_varied_and_correct():
    pairs = date_pairs(3000, seed=7)
    assert pairs == date_pairs(3000, seed=7)
    assert pairs != date_pairs(3000, seed=8)
    machines = [datetime.date.fromisoformat(m) for _, m in pairs]
    assert all(MIN_DATE <= d <= MAX_DATE for d in machines)
    assert len(set(machines)) > 2800
    # Formats and cases are all used: lengths and case styles vary.
    humans = [h for h, _ in pairs]
    assert sum(h.isupper() for h in humans) > 300
    assert sum(h.islower() for h in humans) > 600
    lengths = collections.Counter(len(h) for h in humans)
    assert min(lengths) == 8 and max(lengths) >= 27  # "1/1/2000" .. weekday formats
    # Every human string parses back to its machine date under one of the formats.
    for human, machine in pairs[:300]:
        meanings = set()
        for fmt in DATE_FORMATS:
            try:
                meanings.add(parse(human, fmt))
            except ValueError:
                continue
        assert meanings == {datetime.date.fromisoformat(machine)}, human


def test_formats_and_range_arguments():
    pairs = date_pairs(
        200,
        seed=0,
        formats=["dd.MM.yy"],
        start=datetime.date(2000, 1, 1),
        end=datetime.date(2000, 1, 31),
    )
    assert all(re.fullmatch(r"\d\d\.01\.00", h) for h, _ in pairs)
    assert {m for _, m in pairs} <= {f"2000-01-{d:02d}" for d in range(1, 32)}


def test_vocabularies_cover_every_string():
    human, machine = date_vocabularies()
    pairs = date_pairs(5000, seed=3)
    x, decoder_in, y = seq2seq_arrays([h for h, _ in pairs], [m for _, m in pairs], human, machine)
    assert not (x == human.unk_id).any() and not (y == machine.unk_id).any()
    assert y.shape == (5000, 11) and (y[:, -1] == machine.end_id).all()
    assert human.decode(x) == [h for h, _ in pairs]
    assert machine.decode(y) == [m for _, m in pairs]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n": 0}, ValueError, r"`n` must be > 0"),
        ({"n": 2, "formats": ["dd MM"]}, ValueError, r"`formats` must be names from"),
        ({"n": 2, "formats": []}, ValueError, r"`formats` must name at least one"),
        ({"n": 2, "start": datetime.date(1900, 1, 1)}, ValueError, r"`start` must be"),
        (
            {"n": 2, "start": datetime.date(2001, 1, 1), "end": datetime.date(2000, 1, 1)},
            ValueError,
            r"`start` must be <= `end`",
        ),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        date_pairs(**kwargs)


def test_format_date_errors():
    with pytest.raises(ValueError, match=r"`fmt` must be one of"):
        format_date(datetime.date(2000, 1, 1), "YYYY")
    with pytest.raises(ValueError, match=r"`case` must be one of"):
        format_date(datetime.date(2000, 1, 1), "dd.MM.yy", "title")
