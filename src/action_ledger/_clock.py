"""Time: the one module that reads the clock, and the ISO 8601 boundary.

Everything stored is UTC; meeting-local input is Europe/London. Values are timezone-aware
pendulum ``DateTime`` and ``Date`` objects.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

import pendulum

from .exceptions import ValidationError

LONDON = pendulum.timezone("Europe/London")
UTC = pendulum.UTC

Clock = Callable[[], pendulum.DateTime]
_ZERO = _dt.timedelta(0)


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
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            raise ValidationError(
                f"{field}: {value!r} is a date without a time; give a date-time such as "
                f"{text}T10:00",
                field=field,
                value=value,
            )
        try:
            value = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                f"{field}: {value!r} is not a real ISO 8601 date-time (e.g. 2021-10-04T13:30 "
                "for London time, or 2021-10-04T12:30:00Z)",
                field=field,
                value=value,
            ) from None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            if not local:
                raise ValidationError(
                    f"{field}: {value!r} has no time zone; give an aware date-time",
                    field=field,
                    value=value,
                )
            naive = value.replace(tzinfo=None)
            value = pendulum.instance(naive, tz=LONDON)
            if value.replace(tzinfo=None) != naive:
                raise ValidationError(
                    f"{field}: {naive.isoformat()} does not exist in Europe/London (the clocks "
                    "went forward that hour); give the time with its offset",
                    field=field,
                    value=naive,
                )
        return pendulum.instance(value).in_tz(UTC)
    raise ValidationError(
        f"{field}: {value!r} is not a date-time; give an ISO 8601 string or an aware datetime",
        field=field,
        value=value,
    )


def to_date(value: object, *, field: str) -> pendulum.Date:
    """Coerce ``value`` (a ``date`` or an ISO ``YYYY-MM-DD`` string) to a pendulum ``Date``.

    Raises:
        ValidationError: when it is not a real calendar date (``"2022-02-30"``).
    """
    if isinstance(value, _dt.datetime):
        raise ValidationError(
            f"{field}: {value!r} is a date-time; give a date (YYYY-MM-DD)", field=field, value=value
        )
    if isinstance(value, _dt.date):
        return pendulum.date(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            parsed = _dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(
                f"{field}: {value!r} is not a real date in the form YYYY-MM-DD",
                field=field,
                value=value,
            ) from None
        return pendulum.date(parsed.year, parsed.month, parsed.day)
    raise ValidationError(
        f"{field}: {value!r} is not a date; give YYYY-MM-DD", field=field, value=value
    )


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
