"""Time: the one module that reads the clock, and the ISO 8601 boundary (which also reads
dates as written in England: ``25/08/2022``, ``25 August 2022``).

Everything stored is UTC; meeting-local input is Europe/London. Values are timezone-aware
pendulum ``DateTime`` and ``Date`` objects.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable

import pendulum

from .exceptions import ValidationError

LONDON = pendulum.timezone("Europe/London")
UTC = pendulum.UTC

Clock = Callable[[], pendulum.DateTime]
_ZERO = _dt.timedelta(0)

#: The years the register accepts for meetings, occurred and held times, and due dates
#: (Europe/London calendar years): wide enough for any real minute, narrow enough that a
#: typed ``0001`` or ``2999`` is caught rather than stored as ``ACT-1-001``.
FIRST_YEAR = 1900
LAST_YEAR = 2199


def system_clock() -> pendulum.DateTime:
    """The current instant, in UTC (the only place the library reads the wall clock)."""
    return pendulum.now(UTC)


def to_datetime(value: object, *, field: str, local: bool = True) -> pendulum.DateTime:
    """Coerce ``value`` to an aware UTC ``DateTime``.

    Accepts an aware ``datetime``, an ISO 8601 string with an offset, or (when ``local``) a
    naive ISO string or ``datetime``, read as Europe/London wall time. A bare date is refused:
    a moment needs a time.

    Raises:
        ValidationError: for anything else, or a date that does not exist.
    """
    name = _words(field)
    if isinstance(value, str):
        text = value.strip()
        day = bare_date(text)
        if day is not None:
            raise ValidationError(
                f"{name}: {value!r} is a date without a time; give a date-time such as "
                f"{day.isoformat()}T10:00",
                field=field,
                value=value,
            )
        try:
            value = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                f"{name}: {value!r} is not a real ISO 8601 date-time (e.g. 2021-10-04T13:30 "
                "for London time, or 2021-10-04T12:30:00Z)",
                field=field,
                value=value,
            ) from None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            if not local:
                raise ValidationError(
                    f"{name}: {value!r} has no time zone; give an aware date-time",
                    field=field,
                    value=value,
                )
            naive = value.replace(tzinfo=None, fold=0)
            _check_wall_time(naive, field=field)
            value = pendulum.instance(naive, tz=LONDON)
        try:
            return pendulum.instance(value).in_tz(UTC)
        except (OverflowError, ValueError):
            raise ValidationError(
                f"{name}: {value.isoformat()} is outside the calendar in UTC; give a date-time "
                f"in the years {FIRST_YEAR}-{LAST_YEAR}",
                field=field,
                value=value,
            ) from None
    raise ValidationError(
        f"{name}: {value!r} is not a date-time; give an ISO 8601 string or an aware datetime",
        field=field,
        value=value,
    )


def _check_wall_time(naive: _dt.datetime, *, field: str) -> None:
    """Refuse a London wall time that happened twice (clocks back) or never (clocks forward)."""
    try:
        first, second = (
            naive.replace(tzinfo=LONDON, fold=fold).astimezone(_dt.UTC) for fold in (0, 1)
        )
        kept = [
            moment
            for moment in (first, second)
            if moment.astimezone(LONDON).replace(tzinfo=None, fold=0) == naive
        ]
    except (OverflowError, ValueError):
        return  # at the ends of the calendar: no clock change, and the range check follows
    if len(kept) == 2 and first != second:
        raise ValidationError(
            f"{_words(field)}: {naive.isoformat(timespec='minutes')} happened twice in "
            "Europe/London "
            f"(the clocks went back that hour): give the offset, "
            f"{naive.isoformat(timespec='minutes')}+01:00 for the first (BST) or "
            f"{naive.isoformat(timespec='minutes')}+00:00 for the second (GMT)",
            field=field,
            value=naive,
        )
    if not kept:
        raise ValidationError(
            f"{_words(field)}: {naive.isoformat(timespec='minutes')} does not exist in "
            "Europe/London "
            f"(the clocks went forward that hour, from 01:00 GMT to 02:00 BST): give the time "
            f"with its offset, {naive.isoformat(timespec='minutes')}+00:00 (GMT, the same as "
            f"{(naive + _dt.timedelta(hours=1)).strftime('%H:%M')} BST) or "
            f"{naive.isoformat(timespec='minutes')}+01:00 (BST, the same as "
            f"{(naive - _dt.timedelta(hours=1)).strftime('%H:%M')} GMT)",
            field=field,
            value=naive,
        )


def check_year(field: str, value: object, year: int) -> None:
    """Refuse a moment or date whose (London) year is outside ``FIRST_YEAR``-``LAST_YEAR``.

    Raises:
        ValidationError: naming the value and the accepted years.
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(
            f"{_words(field)}: {value!r} is in the year {year}; the register accepts the years "
            f"{FIRST_YEAR}-{LAST_YEAR} (check for a typing mistake)",
            field=field,
            value=value,
        )


def to_register_moment(value: object, *, field: str) -> pendulum.DateTime:
    """Like :func:`to_datetime`, and its London date must fall in ``FIRST_YEAR``-``LAST_YEAR``."""
    moment = to_datetime(value, field=field)
    try:
        year = local_date(moment).year
    except (OverflowError, ValueError):
        year = moment.year
    check_year(field, value if isinstance(value, str) else moment.isoformat(), year)
    return moment


def to_register_date(value: object, *, field: str) -> pendulum.Date:
    """Like :func:`to_date`, and the year must be in ``FIRST_YEAR``-``LAST_YEAR``."""
    day = to_date(value, field=field)
    check_year(field, value, day.year)
    return day


def _words(field: str) -> str:
    """A field's name as words for a message (``meeting_date`` → ``meeting date``)."""
    return field.replace("_", " ")


#: The forms of a date people write in England, besides ISO ``2022-08-25``: pendulum tokens.
DATE_FORMS = ("D/M/YYYY", "D MMMM YYYY", "D MMM YYYY")
# In English whatever the machine's locale (``calendar.day_name`` follows it).
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAYS = {
    form: number
    for number, name in enumerate(_DAY_NAMES)
    for form in (name.casefold(), name[:3].casefold())
}
_DATE_EXAMPLES = "2022-08-25, 25/08/2022 or 25 August 2022"
_LOOKS_LIKE_A_DATE = re.compile(
    r"\d{1,2}/\d{1,2}/\d{4}|(?:[A-Za-z]+,? +)?\d{1,2}(?:st|nd|rd|th)? +[A-Za-z]+\.? +\d{4}"
)


def parse_day(text: str) -> _dt.date | None:
    """The calendar date ``text`` writes, or ``None`` when it is not written as a date.

    Accepts ISO ``2022-08-25`` and the English forms ``25/08/2022`` (day first),
    ``25 August 2022``, ``25 Aug 2022`` and ``Thursday 25 August 2022``.

    Raises:
        ValueError: it is written as a date that does not exist (``31/02/2022``), or names
            the wrong day of the week (``Monday 4 October 2022``: a Tuesday); its message
            says which.
    """
    text = " ".join(text.replace(",", " ").split())
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return _dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError("is not a real date") from None
    if not _LOOKS_LIKE_A_DATE.fullmatch(text):
        return None
    text = re.sub(r"(?<=\d)(st|nd|rd|th)\b", "", text).replace(".", "")
    text = re.sub(r"\bsept\b", "sep", text, flags=re.IGNORECASE)
    named = None
    if text[0].isalpha():  # a day of the week first: checked, not trusted
        first, text = text.split(" ", 1)
        named = _WEEKDAYS.get(first.casefold())
        if named is None:
            raise ValueError(f"starts with {first!r}, which is not a day of the week")
    for form in DATE_FORMS:
        try:
            parsed = pendulum.from_format(text.title(), form, locale="en")
        except ValueError:
            continue
        day = _dt.date(parsed.year, parsed.month, parsed.day)
        if named is not None and named != day.weekday():
            written = parsed.format("D MMMM YYYY", locale="en")
            raise ValueError(
                f"names a {_DAY_NAMES[named]}, but {written} is a {_DAY_NAMES[day.weekday()]}"
            )
        return day
    raise ValueError("is not a real date")


def to_date(value: object, *, field: str) -> pendulum.Date:
    """Coerce ``value`` (a ``date``, ISO ``YYYY-MM-DD`` text, or a date as written in England:
    ``25/08/2022``, ``25 August 2022``) to a pendulum ``Date``.

    Raises:
        ValidationError: when it is not a real calendar date (``"2022-02-30"``).
    """
    name = _words(field)
    if isinstance(value, _dt.datetime):
        raise ValidationError(
            f"{name}: {value!r} is a date-time; give a date ({_DATE_EXAMPLES})",
            field=field,
            value=value,
        )
    if isinstance(value, _dt.date):
        return pendulum.date(value.year, value.month, value.day)
    if isinstance(value, str):
        problem = "is not a real date"
        try:
            parsed = parse_day(value)
        except ValueError as error:
            parsed, problem = None, str(error)
        if parsed is None:
            raise ValidationError(
                f"{name}: {value!r} {problem}; give one such as {_DATE_EXAMPLES}",
                field=field,
                value=value,
            ) from None
        return pendulum.date(parsed.year, parsed.month, parsed.day)
    raise ValidationError(
        f"{name}: {value!r} is not a date; give one such as {_DATE_EXAMPLES}",
        field=field,
        value=value,
    )


def bare_date(value: object) -> _dt.date | None:
    """The date ``value`` gives when it is a date without a time (a ``date``, or text such as
    ``2022-08-25``, ``25/08/2022`` or ``25 August 2022``); ``None`` for anything else."""
    if isinstance(value, _dt.datetime):
        return None
    if isinstance(value, _dt.date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return parse_day(value)
    except ValueError:
        return None


#: The time of day a bare date means when no meeting gives one (Europe/London).
MIDDAY = _dt.time(12, 0)


def moment_on(day: _dt.date, at: _dt.time, *, field: str) -> pendulum.DateTime:
    """The UTC instant of the London wall time ``at`` on ``day`` (its year checked as
    :func:`to_register_moment` does).

    Raises:
        ValidationError: the year is outside ``FIRST_YEAR``-``LAST_YEAR``, or the wall time
            did not happen once that day in London.
    """
    check_year(field, day.isoformat(), day.year)
    return to_register_moment(_dt.datetime.combine(day, at.replace(tzinfo=None)), field=field)


def local_date(moment: pendulum.DateTime) -> pendulum.Date:
    """The Europe/London calendar date of a moment."""
    return moment.in_tz(LONDON).date()


def format_utc(moment: _dt.datetime) -> str:
    """The canonical text of a moment: UTC, microseconds, ``Z`` (stable across machines)."""
    if moment.tzinfo is not UTC and moment.tzinfo is not _dt.UTC:
        offset = moment.utcoffset()
        if offset is None:
            raise ValidationError(f"{moment!r} has no time zone; stored times must be aware")
        if offset != _ZERO:
            moment = moment.astimezone(_dt.UTC)
    # Formatted by hand: strftime on a pendulum value costs several microseconds per call,
    # and every stored event has two moments.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}Z"
    )


def parse_utc(text: str) -> pendulum.DateTime:
    """Read a moment written by :func:`format_utc` (or any aware ISO 8601 string)."""
    parsed = _dt.datetime.fromisoformat(text)
    if parsed.utcoffset() != _ZERO:
        parsed = parsed.astimezone(_dt.UTC)
    # Built directly: pendulum.instance() is ten times slower, and this is on every read.
    return pendulum.DateTime(
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute,
        parsed.second,
        parsed.microsecond,
        tzinfo=UTC,
    )
