"""Tests for due words as minuted and the dates they resolve to (``action_ledger._due``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from action_ledger._due import Due, resolve_due
from action_ledger.exceptions import ValidationError

D = pendulum.date

APR_2018 = D(2018, 4, 23)  # a Monday
OCT_2018 = D(2018, 10, 26)
OCT_2021 = D(2021, 10, 4)
END_AUG = D(2018, 8, 31)
END_AUG_LEAP = D(2019, 8, 31)  # six months on is in a leap February
DEC_2021 = D(2021, 12, 15)

RESOLVED: list[tuple[str, pendulum.Date, pendulum.Date]] = [
    # within N weeks / days / months, digits and words
    ("Within two weeks", OCT_2021, D(2021, 10, 18)),
    ("within 2 weeks", OCT_2021, D(2021, 10, 18)),
    ("WITHIN TWO WEEKS.", OCT_2021, D(2021, 10, 18)),
    ("within a week", OCT_2021, D(2021, 10, 11)),
    ("within one week", APR_2018, D(2018, 4, 30)),
    ("within a fortnight", OCT_2021, D(2021, 10, 18)),
    ("within two fortnights", OCT_2021, D(2021, 11, 1)),
    ("within 10 days", OCT_2021, D(2021, 10, 14)),
    ("within ten days", APR_2018, D(2018, 5, 3)),
    ("within 3 months", OCT_2021, D(2022, 1, 4)),
    ("within a couple of weeks", APR_2018, D(2018, 5, 7)),
    ("within a couple of months", APR_2018, D(2018, 6, 23)),
    ("within twenty days", APR_2018, D(2018, 5, 13)),
    ("within thirty days", APR_2018, D(2018, 5, 23)),
    ("within forty days", APR_2018, D(2018, 6, 2)),
    ("within fifty days", APR_2018, D(2018, 6, 12)),
    ("within sixty days", APR_2018, D(2018, 6, 22)),
    ("within twenty-three weeks", APR_2018, D(2018, 10, 1)),
    ("within the next two weeks", OCT_2018, D(2018, 11, 9)),
    ("within the next month", OCT_2018, D(2018, 11, 26)),
    # ranges take the later bound
    ("within 2-3 weeks", OCT_2021, D(2021, 10, 25)),
    ("within 2 – 3 weeks", OCT_2021, D(2021, 10, 25)),
    ("within 2—3 weeks", OCT_2021, D(2021, 10, 25)),
    ("within two to three weeks", OCT_2021, D(2021, 10, 25)),
    ("within two or three weeks", OCT_2021, D(2021, 10, 25)),
    ("for the next 12 to 18 months", OCT_2021, D(2023, 4, 4)),
    ("over the next 6-9 months", APR_2018, D(2019, 1, 23)),
    # in N months / years, with or without "time" and the apostrophe
    ("Revisit in 6 months", OCT_2018, D(2019, 4, 26)),
    ("Revisit in 6 months.", OCT_2018, D(2019, 4, 26)),
    ("revisit in 12 months", OCT_2018, D(2019, 10, 26)),
    ("in six months' time", OCT_2021, D(2022, 4, 4)),
    ("in six months\u2019 time", OCT_2021, D(2022, 4, 4)),
    ("in 6 months time", OCT_2021, D(2022, 4, 4)),
    ("in six months", OCT_2021, D(2022, 4, 4)),
    ("in a year", OCT_2021, D(2022, 10, 4)),
    ("in a year's time", OCT_2021, D(2022, 10, 4)),
    ("in 2 years", OCT_2021, D(2023, 10, 4)),
    ("Review in two weeks", APR_2018, D(2018, 5, 7)),
    ("report back in 3 weeks", APR_2018, D(2018, 5, 14)),
    # month arithmetic clamps to the end of a shorter month
    ("in 6 months", END_AUG, D(2019, 2, 28)),
    ("in 6 months", END_AUG_LEAP, D(2020, 2, 29)),
    ("within a month", END_AUG, D(2018, 9, 30)),
    ("next month", END_AUG, D(2018, 9, 30)),
    # next week / next month
    ("next week", APR_2018, D(2018, 4, 30)),
    ("Next month", OCT_2018, D(2018, 11, 26)),
    # explicit dates
    ("by 1 June 2018", APR_2018, D(2018, 6, 1)),
    ("by 1st June 2018", APR_2018, D(2018, 6, 1)),
    ("by the 1st of June 2018", APR_2018, D(2018, 6, 1)),
    ("by June 1, 2018", APR_2018, D(2018, 6, 1)),
    ("by June 1st 2018", APR_2018, D(2018, 6, 1)),
    ("by 01/06/2018", APR_2018, D(2018, 6, 1)),
    ("by 1/6/2018", APR_2018, D(2018, 6, 1)),
    ("by 2018-06-01", APR_2018, D(2018, 6, 1)),
    ("1 June 2018", APR_2018, D(2018, 6, 1)),
    ("by 3 Sept 2018", APR_2018, D(2018, 9, 3)),
    ("by 1 June 2018", OCT_2018, D(2018, 6, 1)),  # an explicit year is kept, even if past
    # explicit day and month without a year: the next such day on or after the reference
    ("by 1 June", APR_2018, D(2018, 6, 1)),
    ("by 1 June", OCT_2018, D(2019, 6, 1)),
    ("by 23 April", APR_2018, D(2018, 4, 23)),
    ("by 22 April", APR_2018, D(2019, 4, 22)),
    ("by 1 December", DEC_2021, D(2022, 12, 1)),
    ("by 29 February", APR_2018, D(2020, 2, 29)),
    # ends of periods
    ("by the end of December", OCT_2018, D(2018, 12, 31)),
    ("by the end of December", DEC_2021, D(2021, 12, 31)),
    ("by end of December 2021", OCT_2021, D(2021, 12, 31)),
    ("by the end of June", OCT_2018, D(2019, 6, 30)),
    ("by the end of February", END_AUG, D(2019, 2, 28)),
    ("by the end of April", APR_2018, D(2018, 4, 30)),
    ("by the end of the month", OCT_2021, D(2021, 10, 31)),
    ("by the end of the month", D(2020, 2, 3), D(2020, 2, 29)),
    ("by the end of next month", OCT_2021, D(2021, 11, 30)),
    ("by the end of the year", OCT_2021, D(2021, 12, 31)),
    ("by the end of next year", OCT_2021, D(2022, 12, 31)),
    # by MONTH: the first day of the next such month (same month if the reference is in it)
    ("by December", OCT_2018, D(2018, 12, 1)),
    ("by December", DEC_2021, D(2021, 12, 1)),
    ("by November", DEC_2021, D(2022, 11, 1)),
    ("by June", OCT_2018, D(2019, 6, 1)),
    ("by the start of June", OCT_2018, D(2019, 6, 1)),
    ("by December 2021", OCT_2021, D(2021, 12, 1)),
    ("by December 2022", DEC_2021, D(2022, 12, 1)),
]

WORDS_ONLY = [
    "by the next meeting",
    "to the July holding to account",
    "ASAP",
    "ongoing",
    "Ongoing.",
    "in June",
    "December",
    "within budget",
    "in due course",
    "within 2 weeks of the report being published",
    "by the end of the financial year",
    "within twenty - three weeks",  # a reversed "range": not ours to guess
    "within 3-2 weeks",
    "within 1000 days",
]

INVALID = [
    ("2022-02-30", "2022-02-30"),
    ("2021-13-01", "2021-13-01"),
    ("by 30 February 2022", "30 February 2022"),
    ("by 31/04/2022", "31/04/2022"),
    ("by 2022-02-29", "2022-02-29"),
    ("by February 30, 2022", "February 30, 2022"),
    ("report to the panel on 31 June 2022", "31 June 2022"),
    ("by 31 April", "31 April"),
    ("by 0 June 2022", "0 June 2022"),
]

SMALL = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def in_words(n: int) -> str:
    """English words for 1 <= n <= 99 (an independent spelling, for the properties)."""
    if n < 20:
        return SMALL[n - 1]
    tens, unit = divmod(n, 10)
    return TENS[tens - 2] + (f"-{SMALL[unit - 1]}" if unit else "")


def number(n: int) -> st.SearchStrategy[str]:
    """``n`` written in digits or in words."""
    return st.sampled_from([str(n), in_words(n)])


# Meeting dates in the years the register accepts, a century before its last (2199), so
# that "within 99 years" still resolves.
references = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)).map(
    lambda d: D(d.year, d.month, d.day)
)
units = st.sampled_from(["day", "days", "week", "weeks", "fortnights", "month", "months", "years"])
separators = st.sampled_from(["-", " - ", "\u2013", " \u2013 ", " to ", " or "])
leads = st.sampled_from(["within", "in", "Within", "revisit in", "within the next", "for the next"])


@pytest.mark.parametrize(("phrase", "reference", "expected"), RESOLVED)
def test_phrase_resolves_to_date(
    phrase: str, reference: pendulum.Date, expected: pendulum.Date
) -> None:
    """Each accepted form resolves to the expected date and keeps its words as given."""
    due = resolve_due(phrase, reference=reference)
    assert due == Due(on=expected, text=phrase)
    assert isinstance(due.on, pendulum.Date)


@pytest.mark.parametrize("phrase", WORDS_ONLY)
def test_unresolvable_phrase_kept_as_words(phrase: str) -> None:
    """Words that name no date unambiguously are kept, with no date guessed."""
    assert resolve_due(phrase, reference=OCT_2018) == Due(on=None, text=phrase)


@pytest.mark.parametrize(("value", "bad"), INVALID)
def test_invalid_date_raises_naming_value(value: str, bad: str) -> None:
    """A date, or words with an explicit date, that does not exist raises, naming the value."""
    with pytest.raises(ValidationError) as caught:
        resolve_due(value, reference=OCT_2021)
    assert caught.value.field == "due"
    assert caught.value.value == value
    assert bad in str(caught.value)
    assert "YYYY-MM-DD" in str(caught.value)


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_empty_text_raises(value: str) -> None:
    """Empty or whitespace-only due text is refused."""
    with pytest.raises(ValidationError, match="empty"):
        resolve_due(value, reference=OCT_2021)


def test_text_over_200_characters_raises() -> None:
    """Due text longer than 200 characters is refused, and exactly 200 is accepted."""
    assert resolve_due("x" * 200, reference=OCT_2021) == Due(on=None, text="x" * 200)
    with pytest.raises(ValidationError, match="201 characters"):
        resolve_due("x" * 201, reference=OCT_2021)


def test_none_is_no_due_date() -> None:
    """None means no due date and no words."""
    assert resolve_due(None, reference=OCT_2021) == Due(on=None, text=None)


def test_iso_string_is_a_date_without_words() -> None:
    """An ISO date string becomes that date, with no words kept."""
    due = resolve_due(" 2022-03-01 ", reference=OCT_2021)
    assert due == Due(on=D(2022, 3, 1), text=None)
    assert isinstance(due.on, pendulum.Date)


def test_datetime_and_other_types_are_refused() -> None:
    """A date-time (not a date) or a non-text value raises ValidationError."""
    with pytest.raises(ValidationError):
        resolve_due(dt.datetime(2022, 3, 1, 10, 0), reference=OCT_2021)
    with pytest.raises(ValidationError):
        resolve_due(cast(Any, 5), reference=OCT_2021)


def test_whitespace_is_normalised_and_case_kept() -> None:
    """Runs of whitespace collapse to one space; the case and full stop are kept as given."""
    due = resolve_due("  Revisit   in\t6\nMonths. ", reference=OCT_2018)
    assert due == Due(on=D(2019, 4, 26), text="Revisit in 6 Months.")


def test_due_is_frozen() -> None:
    """A Due cannot be changed after it is made."""
    due = resolve_due("within two weeks", reference=OCT_2021)
    with pytest.raises(AttributeError):
        due.on = None  # type: ignore[misc]


@given(n=st.integers(1, 52).flatmap(lambda n: st.tuples(st.just(n), number(n))), ref=references)
def test_within_n_weeks_is_reference_plus_n_weeks(n: tuple[int, str], ref: pendulum.Date) -> None:
    """'within n weeks', n in digits or words, is the reference plus n weeks."""
    value, written = n
    assert resolve_due(f"within {written} weeks", reference=ref).on == ref.add(weeks=value)


@given(
    bounds=st.tuples(st.integers(1, 99), st.integers(1, 99)).map(sorted),
    data=st.data(),
    unit=units,
    lead=leads,
    sep=separators,
    ref=references,
)
def test_range_resolves_as_its_later_bound(
    bounds: list[int], data: st.DataObject, unit: str, lead: str, sep: str, ref: pendulum.Date
) -> None:
    """A range 'a-b' resolves to the same date as 'b' alone."""
    low, high = bounds
    low_words, high_words = data.draw(number(low)), data.draw(number(high))
    ranged = resolve_due(f"{lead} {low_words}{sep}{high_words} {unit}", reference=ref)
    single = resolve_due(f"{lead} {high_words} {unit}", reference=ref)
    assert single.on is not None
    assert ranged.on == single.on


@given(
    n=st.integers(1, 99).flatmap(number),
    unit=units,
    lead=leads,
    tail=st.sampled_from(["", " time", "' time", "\u2019 time", "."]),
    ref=references,
)
def test_relative_phrase_never_before_reference(
    n: str, unit: str, lead: str, tail: str, ref: pendulum.Date
) -> None:
    """'within/in N units' always resolves, and never to a date before the reference."""
    on = resolve_due(f"{lead} {n} {unit}{tail}", reference=ref).on
    assert on is not None
    assert on > ref


words = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCXYZ'\u2019.,-\u2013"),
    min_size=1,
    max_size=12,
)
phrases = st.one_of(
    st.sampled_from([phrase for phrase, _, _ in RESOLVED] + WORDS_ONLY).map(str.split),
    st.lists(words, min_size=1, max_size=8),
)


@given(parts=phrases, data=st.data(), ref=references)
def test_text_is_preserved_whitespace_normalised(
    parts: list[str], data: st.DataObject, ref: pendulum.Date
) -> None:
    """Whatever the phrase, its words are kept as given, with whitespace runs made one space."""
    gaps = data.draw(
        st.lists(
            st.sampled_from([" ", "  ", "\t", "\n", " \r\n"]), min_size=2, max_size=2 + len(parts)
        )
    )
    noisy = gaps[0] + "".join(part + gaps[1 + i % (len(gaps) - 1)] for i, part in enumerate(parts))
    assert resolve_due(noisy, reference=ref).text == " ".join(parts)


@given(day=st.dates(), ref=references)
def test_date_round_trips(day: dt.date, ref: pendulum.Date) -> None:
    """A date, or its ISO string, resolves to that same date as a pendulum Date with no words."""
    for value in (day, day.isoformat()):
        due = resolve_due(value, reference=ref)
        assert due == Due(on=D(day.year, day.month, day.day), text=None)
        assert isinstance(due.on, pendulum.Date)
