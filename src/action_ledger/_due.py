"""Due dates as minuted: the words a meeting used, and the date they resolve to.

Actions are raised at meetings with due words ("Within two weeks", "Revisit in 6 months").
:func:`resolve_due` keeps those words and, where they name a date without guessing, resolves
them against the meeting date (the *reference*, a Europe/London calendar date). It is pure: it
never reads the clock.

Accepted input:

* ``None``: no due date (``Due(on=None, text=None)``).
* a ``date`` or an ISO ``YYYY-MM-DD`` string: that date, no words.
* any other text of at most 200 characters: due words, kept whitespace-normalised and in their
  own case, with the date they resolve to, or ``on=None`` when they name none.

Phrases resolved (case-insensitive; an optional trailing full stop; straight or curly
apostrophes; hyphens or en/em dashes). ``N`` is digits (up to three) or words: ``one`` to
``nineteen``, ``twenty`` to ``ninety`` with an optional unit (``twenty-one``, ``forty two``),
``a``/``an`` (1) and ``a couple of`` (2). ``UNIT`` is ``day``, ``week``, ``fortnight`` (two
weeks), ``month`` or ``year``, singular or plural, optionally followed by ``'s``/``'`` and
``time``. ``MONTH`` is a month name or its usual abbreviation (``Jan``, ``Sept``...).

* relative: ``within N UNIT``, ``in N UNIT``, ``in N UNIT's time``, ``within the next N UNIT``,
  ``within the next UNIT`` (N = 1), ``for the next N UNIT``, ``over the next N UNIT``,
  ``next week``, ``next month``. Months and years use pendulum arithmetic, which clamps to the
  end of a shorter month (31 August + 6 months is the end of February).
* ranges, anywhere ``N`` is allowed: ``N-M``, ``N – M``, ``N to M``, ``N or M``. The later bound
  ``M`` is taken; a range whose first bound is larger (``twenty - three weeks``) is ambiguous
  and stays words.
* explicit dates: ``1 June 2018``, ``1st June 2018``, ``the 1st of June 2018``,
  ``June 1, 2018``, ``01/06/2018`` (UK day/month/year), ``2018-06-01``. Without a year
  (``1 June``) it is the next such day on or after the reference.
* ends of periods: ``the end of MONTH [YEAR]`` (its last day; without a year, the next such month
  on or after the reference month), ``the end of the month`` / ``this month`` /
  ``next month``, ``the end of the year`` / ``this year`` / ``next year`` (31 December).
* months: ``by MONTH [YEAR]`` and ``by the start of MONTH [YEAR]`` resolve to the **first** day
  of that month: a deadline "by December" arrives with December. Without a year it is the next
  such month on or after the reference *month*, so at a December meeting "by December" is the
  1st of that same December (already due), not a year away.

Any of these may open with ``by`` (required for the bare-month form) and with a verb:
``revisit``, ``review``, ``reconsider``, ``report back``, ``come back``, ``return`` or
``update`` (optionally followed by ``it``/``this``).

Everything else ("by the next meeting", "to the July holding to account", "ASAP", "ongoing")
is kept as words with ``on=None``: the resolver never guesses. Words that name a meeting
(:func:`meeting_words`) are resolved by the decider instead, to the first recorded meeting
that fits them (see "Due words that name a meeting" in the queries guide).

But an explicit date that does not exist ("by 30 February 2022", "by 31/04/2022",
"by 31 April") is a mistake in the minutes and raises
:class:`~action_ledger.exceptions.ValidationError`, as does empty text or text over 200
characters.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable
from typing import Final, TypeAlias

import attrs
import pendulum

from ._clock import FIRST_YEAR, LAST_YEAR, to_date, to_register_date
from ._values import check_text
from .exceptions import ValidationError

__all__ = ["MAX_DUE_TEXT", "Due", "MeetingWords", "due_both", "meeting_words", "resolve_due"]

FIELD: Final = "due"
MAX_DUE_TEXT: Final = 200
"""The longest due text accepted, in characters."""

_ACCEPTED: Final = (
    "give a real date as YYYY-MM-DD, or the due words as minuted "
    f"(at most {MAX_DUE_TEXT} characters, e.g. 'Within two weeks')"
)


@attrs.frozen(kw_only=True)
class Due:
    """A due date as minuted: the resolved date (None when the words give none) and the words."""

    on: pendulum.Date | None
    text: str | None


# --- words --------------------------------------------------------------------------------

_SMALL: Final[dict[str, int]] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS: Final[dict[str, int]] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_UNIT_WORDS: Final = {word: value for word, value in _SMALL.items() if value < 10}

_MONTH_NAMES: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTHS: Final[dict[str, int]] = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    "sept": 9,
}


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first (so ``seventeen`` beats ``seven``)."""
    return "|".join(sorted(words, key=len, reverse=True))


_NUM: Final = (
    r"(?:\d{1,3}|a couple of"
    rf"|(?:{_alternatives(_TENS)})(?:[- ](?:{_alternatives(_UNIT_WORDS)}))?"
    rf"|{_alternatives(_SMALL)}|an|a)"
)
# The range is tried only after the plain number fails (lazy ``??``), so "twenty-three" is 23.
_QTY: Final = rf"(?:(?P<low>{_NUM})(?:\s*-\s*|\s+(?:to|or)\s+))??(?P<n>{_NUM})"
_UNIT: Final = r"(?P<unit>day|week|fortnight|month|year)s?(?:'s?)?(?:\s+time)?"
_MONTH: Final = rf"(?P<month>{_alternatives(_MONTHS)})"
_YEAR: Final = r"(?P<year>\d{4})"
_DAY: Final = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?(?!\d)"
_PREFIX: Final = (
    r"(?:(?:revisit|review|reconsider|report back|come back|return|update)(?:\s+(?:it|this))?\s+)?"
)
_BY: Final = r"(?:by\s+)?"

# Explicit dates, without prefix or anchors: used both to resolve and to find impossible dates.
_DAY_MONTH: Final = rf"(?:the\s+)?{_DAY}(?:\s+of)?\s+{_MONTH}(?:,?\s+{_YEAR})?"
_MONTH_DAY: Final = rf"{_MONTH}\s+(?:the\s+)?{_DAY}(?:,?\s+{_YEAR})?"
_SLASHED: Final = r"(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})"
_ISO_IN_TEXT: Final = r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
_EXPLICIT: Final = tuple(
    re.compile(rf"\b{body}(?!\w)") for body in (_DAY_MONTH, _MONTH_DAY, _SLASHED, _ISO_IN_TEXT)
)

_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_PLAIN_PUNCTUATION: Final = str.maketrans(dict.fromkeys("‐‑‒–—−", "-") | dict.fromkeys("‘’ʼ′", "'"))


def _number(words: str) -> int:
    """The value of a number matched by ``_NUM`` (``"18"``, ``"forty-two"``, ``"a couple of"``)."""
    if words.isdigit():
        return int(words)
    if words in ("a", "an"):
        return 1
    if words == "a couple of":
        return 2
    first, _, unit = words.replace("-", " ").partition(" ")
    return (_TENS.get(first) or _SMALL[first]) + (_UNIT_WORDS[unit] if unit else 0)


def _month(value: str) -> int:
    """A month number from a name, an abbreviation or digits."""
    return int(value) if value.isdigit() else _MONTHS[value]


def _days_in(year: int, month: int) -> int:
    """The number of days of ``month`` in ``year``."""
    return pendulum.date(year, month, 1).days_in_month


# --- resolvers: each takes the match and the reference, and returns a date or None ----------

Resolver: TypeAlias = Callable[[re.Match[str], pendulum.Date], pendulum.Date | None]


def _after(reference: pendulum.Date, months: int, weeks: int, days: int) -> pendulum.Date:
    """``reference`` moved on (pendulum clamps to the end of a shorter month)."""
    return reference.add(months=months, weeks=weeks, days=days)


_STEPS: Final[dict[str, tuple[int, int, int]]] = {
    # unit: (months, weeks, days) per one
    "day": (0, 0, 1),
    "week": (0, 1, 0),
    "fortnight": (0, 2, 0),
    "month": (1, 0, 0),
    "year": (12, 0, 0),
}


def _relative(match: re.Match[str], reference: pendulum.Date) -> pendulum.Date | None:
    """``within N UNIT`` and friends: the reference plus N units (the later bound of a range)."""
    groups = match.groupdict()
    count = _number(groups["n"]) if groups.get("n") else 1
    if groups.get("low") and _number(groups["low"]) > count:
        return None  # "twenty - three weeks": not a range, and not ours to guess
    months, weeks, days = _STEPS[match["unit"]]
    return _after(reference, months * count, weeks * count, days * count)


def _explicit(match: re.Match[str], reference: pendulum.Date) -> pendulum.Date | None:
    """A day and month, with a year or else the next such day on or after the reference."""
    day, month = int(match["day"]), _month(match["month"])
    if match["year"]:
        return pendulum.date(int(match["year"]), month, day)
    year = reference.year
    while day > _days_in(year, month) or pendulum.date(year, month, day) < reference:
        year += 1  # at most a few years, for 29 February
    return pendulum.date(year, month, day)


def _month_year(match: re.Match[str], reference: pendulum.Date) -> int:
    """The year of a named month: as given, or that of the next such month from the reference."""
    if match["year"]:
        return int(match["year"])
    return reference.year if _month(match["month"]) >= reference.month else reference.year + 1


def _end_of_named_month(match: re.Match[str], reference: pendulum.Date) -> pendulum.Date | None:
    """``the end of MONTH [YEAR]``: the last day of that month."""
    return pendulum.date(_month_year(match, reference), _month(match["month"]), 1).end_of("month")


def _start_of_named_month(match: re.Match[str], reference: pendulum.Date) -> pendulum.Date | None:
    """``by MONTH [YEAR]``: the first day of that month (the deadline arrives with the month)."""
    return pendulum.date(_month_year(match, reference), _month(match["month"]), 1)


def _end_of_period(match: re.Match[str], reference: pendulum.Date) -> pendulum.Date | None:
    """``the end of the month`` / ``of next month`` / ``of the year`` / ``of next year``."""
    step = 1 if match["next"] else 0
    if match["period"] == "month":
        return reference.add(months=step).end_of("month")
    return pendulum.date(reference.year + step, 12, 31)


def _pattern(body: str) -> re.Pattern[str]:
    """A whole-phrase pattern: an optional verb such as ``revisit``, then ``body``."""
    return re.compile(rf"{_PREFIX}{body}")


_RESOLVERS: Final[tuple[tuple[re.Pattern[str], Resolver], ...]] = (
    (_pattern(rf"(?:within|in)\s+{_QTY}\s+{_UNIT}"), _relative),
    (_pattern(rf"(?:within|in|over|for)\s+the\s+next\s+(?:{_QTY}\s+)?{_UNIT}"), _relative),
    (_pattern(r"next\s+(?P<unit>week|month)"), _relative),
    (_pattern(rf"{_BY}{_DAY_MONTH}"), _explicit),
    (_pattern(rf"{_BY}{_MONTH_DAY}"), _explicit),
    (_pattern(rf"{_BY}{_SLASHED}"), _explicit),
    (_pattern(rf"{_BY}{_ISO_IN_TEXT}"), _explicit),
    (_pattern(rf"{_BY}(?:the\s+)?end\s+of\s+{_MONTH}(?:\s+{_YEAR})?"), _end_of_named_month),
    (
        _pattern(
            rf"{_BY}(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(?P<next>next\s+)?(?P<period>month|year)"
        ),
        _end_of_period,
    ),
    (
        _pattern(rf"by\s+(?:the\s+(?:start|beginning)\s+of\s+)?{_MONTH}(?:\s+{_YEAR})?"),
        _start_of_named_month,
    ),
)


# --- the entry point ------------------------------------------------------------------------


def _invalid(value: object, reason: str) -> ValidationError:
    """A ValidationError for the due ``value``, saying why and what is accepted."""
    return ValidationError(f"{FIELD}: {value!r} {reason}; {_ACCEPTED}", field=FIELD, value=value)


def _check_explicit_dates(key: str, value: str) -> None:
    """Refuse words naming a day that does not exist (``30 February 2022``, ``31 April``)."""
    for pattern in _EXPLICIT:
        for match in pattern.finditer(key):
            day, month, year = int(match["day"]), _month(match["month"]), match["year"]
            if year is None:
                real = 1 <= month <= 12 and 1 <= day <= _days_in(2000, month)  # a leap year
            else:
                try:
                    _dt.date(int(year), month, day)
                except ValueError:
                    real = False
                else:
                    real = True
            if not real:
                raise _invalid(value, f"names {match[0]!r}, which is not a real date")
            if year is not None:
                _check_year(value, int(year))


def _check_year(value: object, year: int) -> None:
    """Refuse a due date outside the years the register accepts."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise _invalid(
            value, f"falls in the year {year}, outside the years {FIRST_YEAR}-{LAST_YEAR}"
        )


def _match_key(text: str) -> str:
    """The form phrases are matched in: lower case, plain apostrophes and hyphens, no full stop."""
    return text.lower().translate(_PLAIN_PUNCTUATION).removesuffix(".").rstrip()


def check_due_words(value: str) -> str:
    """Check due words on their own, before any meeting date is known.

    Returns the words, whitespace-normalised.

    Raises:
        ValidationError: empty or too long, an ISO date that does not exist, or words naming a
            day that does not exist.
    """
    text = " ".join(check_text(FIELD, value, limit=MAX_DUE_TEXT).split())
    if _ISO_DATE.fullmatch(text):
        try:
            day = to_date(text, field=FIELD)
        except ValidationError:
            raise _invalid(value, "is not a real date") from None
        _check_year(value, day.year)
        return text
    _check_explicit_dates(_match_key(text), value)
    return text


def resolve_due(value: str | _dt.date | None, *, reference: pendulum.Date) -> Due:
    """Resolve due words as minuted against the meeting date ``reference``.

    See the module docstring for the accepted forms. Words that name no date are kept with
    ``on=None``; nothing is guessed.

    Raises:
        ValidationError: for a date (or date-shaped text) that does not exist, empty text, text
            over 200 characters, or a value that is neither text nor a date.
    """
    if value is None:
        return Due(on=None, text=None)
    if isinstance(value, _dt.date):
        return Due(on=to_date(value, field=FIELD), text=None)
    if not isinstance(value, str):
        raise _invalid(value, "is neither a date nor due words")
    if len(value) > MAX_DUE_TEXT:
        raise _invalid(value, f"is {len(value)} characters long")
    text = " ".join(value.split())
    if not text:
        raise _invalid(value, "is empty")
    if _ISO_DATE.fullmatch(text):
        try:
            return Due(on=to_date(text, field=FIELD), text=None)
        except ValidationError:
            raise _invalid(value, "is not a real date") from None
    key = _match_key(text)
    _check_explicit_dates(key, value)
    ref = pendulum.date(reference.year, reference.month, reference.day)
    for pattern, resolver in _RESOLVERS:
        match = pattern.fullmatch(key)
        if match is not None:
            try:
                on = resolver(match, ref)
            except (ValueError, OverflowError):
                raise _invalid(value, f"falls outside the calendar from {ref}") from None
            if on is not None:
                _check_year(value, on.year)
            return Due(on=on, text=text)
    return Due(on=None, text=text)


# --- words that name a meeting -------------------------------------------------------------

_AT: Final = r"(?:(?:at|to|by|for|before|until|in\s+time\s+for)\s+)?"
_KIND: Final = r"(?P<kind>[a-z][a-z0-9' &/-]*?)"
_NEXT_MEETING: Final = re.compile(rf"{_PREFIX}{_AT}(?:the\s+)?next\s+(?:{_KIND}\s+)?meeting")
_MONTH_MEETING: Final = re.compile(
    rf"{_PREFIX}{_AT}the\s+{_MONTH}(?:\s+{_YEAR})?\s+{_KIND}(?:\s+meeting)?"
)
_SPACES: Final = re.compile(r"[\s-]+")


def _plain(text: str) -> str:
    """``text`` for comparing kinds and titles: lower case, hyphens as spaces, single spaces."""
    return _SPACES.sub(" ", _match_key(text)).strip()


@attrs.frozen(kw_only=True)
class MeetingWords:
    """Due words that name a meeting rather than a date ("at the next meeting", "to the July
    holding to account"): which meeting fits them.

    Attributes:
        month: the month named (1-12), or ``None`` for "the next meeting".
        year: the year named with the month, if any.
        kind: the words naming the kind of meeting ("holding to account", "assurance"),
            lower case, or ``None`` for any meeting.
    """

    month: int | None
    year: int | None
    kind: str | None

    def fits(
        self, held_on: pendulum.Date, *, kind: str | None, title: str, reference: pendulum.Date
    ) -> bool:
        """Whether a meeting held on ``held_on`` with that ``kind`` and ``title`` fits the
        words of an action raised on ``reference``: held after that day; of the month (and
        year) named, within a year of ``reference`` when no year is named; and with the kind
        words in its kind or title."""
        if held_on <= reference:
            return False
        if self.month is not None:
            if held_on.month != self.month:
                return False
            if self.year is not None:
                if held_on.year != self.year:
                    return False
            elif held_on > reference.add(years=1):
                return False
        if self.kind is not None:
            return self.kind in _plain(f"{kind or ''} {title}")
        return True


def meeting_words(text: str | None) -> MeetingWords | None:
    """The meeting that due words name, or ``None`` when they name none.

    Accepted (case-insensitive, with an optional verb such as ``report back`` and an optional
    ``at``/``to``/``by``/``for``/``before``/``until``/``in time for``): ``the next meeting``,
    ``the next KIND meeting`` (``the next assurance meeting``), ``the MONTH [YEAR] meeting``,
    ``the MONTH [YEAR] KIND [meeting]`` (``the July holding to account``).
    """
    if text is None:
        return None
    key = _match_key(" ".join(text.split()))
    match = _NEXT_MEETING.fullmatch(key)
    if match is None:
        match = _MONTH_MEETING.fullmatch(key)
    if match is None:
        return None
    groups = match.groupdict()
    kind = _plain(groups["kind"]) if groups.get("kind") else None
    if kind == "meeting":
        kind = None
    return MeetingWords(
        month=_month(groups["month"]) if groups.get("month") else None,
        year=int(groups["year"]) if groups.get("year") else None,
        kind=kind or None,
    )


def due_both(on: str | _dt.date, text: str | None) -> Due:
    """A due date given together with the words as minuted (``Due(on=..., text=...)``,
    checked): the date is kept as given and the words are not resolved.

    Raises:
        ValidationError: the date is not a real date in the register's years, or the words
            are empty, too long or name a day that does not exist.
    """
    day = to_register_date(on, field=FIELD)
    return Due(on=day, text=None if text is None else check_due_words(text))
