"""Human-readable dates paired with their ISO form, for the notes' date-translation task.

The attention model of the course is exercised by translating dates written by people
("25th of June, 2009", "tuesday june 25 2009", "25.06.09", "June 25, 2009",
"25 JUN 2009", ...) into the machine form "2009-06-25", character by character.
`date_pairs` draws such pairs without a network: dates uniform between two days,
a format from `DATE_FORMATS` and a letter case ("as written", lower or upper), all from
a seeded numpy generator, so the same seed gives the same pairs on every machine. Month
and weekday names are English and built in (no locale).

Two-digit years are read as 1950-2049, the default date range, so every string has one
meaning. Numeric formats are day first (25.06.09, 25/06/2009); none is month first,
which would make "05/06/2009" ambiguous.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence

import numpy as np

from kerasdl._validation import check_positive_int
from kerasdl.data.vocabulary import Vocabulary

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CASES = ("as written", "lower", "upper")
# How often each letter case is drawn.
CASE_PROBABILITIES = (0.5, 0.35, 0.15)
MIN_DATE = datetime.date(1950, 1, 1)
MAX_DATE = datetime.date(2049, 12, 31)


def _ordinal(day: int) -> str:
    if day in (11, 12, 13):
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th') }"


def _month(d: datetime.date) -> str:
    return MONTHS[d.month - 1]


def _mon(d: datetime.date) -> str:
    return MONTHS[d.month - 1][:3]


def _weekday(d: datetime.date) -> str:
    return WEEKDAYS[d.weekday()]


# Format name -> writer; names use the CLDR pattern letters (d day, M month, y year,
# E weekday) with "o" for an ordinal day ("25th").
DATE_FORMATS: dict[str, Callable[[datetime.date], str]] = {
    "d MMM yyyy": lambda d: f"{d.day} {_mon(d)} {d.year}",
    "dd MMM yyyy": lambda d: f"{d.day:02d} {_mon(d)} {d.year}",
    "d MMMM yyyy": lambda d: f"{d.day} {_month(d)} {d.year}",
    "d MMMM, yyyy": lambda d: f"{d.day} {_month(d)}, {d.year}",
    "d MMM, yyyy": lambda d: f"{d.day} {_mon(d)}, {d.year}",
    "MMMM d, yyyy": lambda d: f"{_month(d)} {d.day}, {d.year}",
    "MMM d, yyyy": lambda d: f"{_mon(d)} {d.day}, {d.year}",
    "MMMM d yyyy": lambda d: f"{_month(d)} {d.day} {d.year}",
    "MMMM o, yyyy": lambda d: f"{_month(d)} {_ordinal(d.day)}, {d.year}",
    "o of MMMM, yyyy": lambda d: f"{_ordinal(d.day)} of {_month(d)}, {d.year}",
    "o MMMM yyyy": lambda d: f"{_ordinal(d.day)} {_month(d)} {d.year}",
    "EEEE MMMM d yyyy": lambda d: f"{_weekday(d)} {_month(d)} {d.day} {d.year}",
    "EEEE, MMMM d, yyyy": lambda d: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}",
    "EEEE d MMMM yyyy": lambda d: f"{_weekday(d)} {d.day} {_month(d)} {d.year}",
    "EEE, d MMM yyyy": lambda d: f"{_weekday(d)[:3]}, {d.day} {_mon(d)} {d.year}",
    "dd.MM.yy": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}",
    "dd.MM.yyyy": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "d/M/yyyy": lambda d: f"{d.day}/{d.month}/{d.year}",
    "dd/MM/yy": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}",
    "dd-MM-yyyy": lambda d: f"{d.day:02d}-{d.month:02d}-{d.year}",
    "yyyy/MM/dd": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "d MMM yy": lambda d: f"{d.day} {_mon(d)} {d.year % 100:02d}",
}


def format_date(date: datetime.date, fmt: str, case: str = "as written") -> str:
    """Writes `date` in the format named `fmt` (a key of `DATE_FORMATS`), in `case`
    ("as written", "lower" or "upper").

    >>> import datetime
    >>> day = datetime.date(2009, 6, 25)
    >>> format_date(day, "o of MMMM, yyyy"), format_date(day, "EEEE MMMM d yyyy", "lower")
    ('25th of June, 2009', 'thursday june 25 2009')
    >>> format_date(day, "dd.MM.yy"), format_date(day, "d MMM yyyy", "upper")
    ('25.06.09', '25 JUN 2009')
    """
    if fmt not in DATE_FORMATS:
        raise ValueError(
            f"`fmt` must be one of the DATE_FORMATS names {tuple(DATE_FORMATS)}. "
            f"Received: fmt={fmt!r}"
        )
    text = DATE_FORMATS[fmt](date)
    if case == "lower":
        return text.lower()
    if case == "upper":
        return text.upper()
    if case != "as written":
        raise ValueError(f"`case` must be one of {CASES}. Received: case={case!r}")
    return text


def date_pairs(
    n: int,
    seed: int = 0,
    formats: Sequence[str] | None = None,
    start: datetime.date = MIN_DATE,
    end: datetime.date = MAX_DATE,
) -> list[tuple[str, str]]:
    """`n` pairs `(human_date, "yyyy-mm-dd")` drawn from a seeded generator.

    Each pair draws a day uniformly in `[start, end]`, a format uniformly from `formats`
    and a letter case ("as written" 50%, lower 35%, upper 15%).

    Args:
        n: the number of pairs.
        seed: the numpy seed; the same seed gives the same pairs.
        formats: names from `DATE_FORMATS`; default all of them.
        start, end: the first and last possible day (within 1950-01-01 .. 2049-12-31,
            where two-digit years have one meaning).

    Returns:
        A list of `n` `(human, machine)` string pairs.

    Example:

    >>> for human, machine in date_pairs(3, seed=0):
    ...     print(f"{human!r:20} -> {machine}")
    'January 24, 2035'   -> 2035-01-24
    'sep 12, 2013'       -> 2013-09-12
    '11 FEB 2001'        -> 2001-02-11
    """
    check_positive_int("n", n)
    if formats is None:
        formats = tuple(DATE_FORMATS)
    formats = tuple(formats)
    if not formats:
        raise ValueError("`formats` must name at least one format. Received: formats=()")
    for fmt in formats:
        if fmt not in DATE_FORMATS:
            raise ValueError(
                f"`formats` must be names from DATE_FORMATS {tuple(DATE_FORMATS)}. "
                f"Received: {fmt!r}"
            )
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime.date) or not MIN_DATE <= value <= MAX_DATE:
            raise ValueError(
                f"`{name}` must be a datetime.date in [{MIN_DATE}, {MAX_DATE}]. "
                f"Received: {name}={value!r}"
            )
    if start > end:
        raise ValueError(f"`start` must be <= `end`. Received: start={start}, end={end}")
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, (end - start).days + 1, size=n)
    chosen = rng.integers(0, len(formats), size=n)
    cases = rng.choice(len(CASES), size=n, p=CASE_PROBABILITIES)
    pairs = []
    for offset, f, c in zip(offsets.tolist(), chosen.tolist(), cases.tolist(), strict=True):
        day = start + datetime.timedelta(days=offset)
        pairs.append((format_date(day, formats[f], CASES[c]), day.isoformat()))
    return pairs


def date_vocabularies() -> tuple[Vocabulary, Vocabulary]:
    """The character vocabularies `(human, machine)` of every string `date_pairs` can
    give: the human one holds every character of every format in every case, the machine
    one the digits and "-". They do not depend on any drawn data, so models trained on
    different draws share them.

    >>> human, machine = date_vocabularies()
    >>> len(machine), "".join(machine.tokens[4:])
    (15, '-0123456789')
    """
    characters = set("0123456789 ,./-")
    words = [*MONTHS, *WEEKDAYS, "of", "st", "nd", "rd", "th"]
    for word in words:
        characters.update(word, word.lower(), word.upper())
    return Vocabulary(sorted(characters)), Vocabulary(sorted("0123456789-"))
