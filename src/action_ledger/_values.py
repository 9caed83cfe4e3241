"""Small value types shared by commands, events and states, and their single-value checks."""

from __future__ import annotations

import re

import attrs

from ._clock import check_year
from .exceptions import ValidationError

MAX_TEXT = 2000
MAX_SHORT = 200
MAX_ROLE = 40

_ACTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
_MEETING_ID = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:-[a-z0-9][a-z0-9-]{0,39})?", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_encodable(field: str, value: str) -> str:
    """Refuse text holding a lone surrogate (half of a UTF-16 pair, e.g. from a badly decoded
    file name), which is no character and cannot be stored as UTF-8."""
    found = _SURROGATE.search(value)
    if found is not None:
        raise ValidationError(
            f"{field}: {value[:40]!r} holds a lone surrogate {found[0]!r} at character "
            f"{found.start()}, which is not a character and cannot be stored: give the text as "
            "real characters (UTF-8)",
            field=field,
            value=value,
        )
    return value


def check_text(field: str, value: object, *, limit: int = MAX_TEXT) -> str:
    """Return ``value`` stripped if it is non-empty text of at most ``limit`` characters."""
    if not isinstance(value, str):
        raise ValidationError(
            f"{field}: expected text, got {type(value).__name__} {value!r}",
            field=field,
            value=value,
        )
    stripped = check_encodable(field, value).strip()
    if not stripped:
        raise ValidationError(f"{field}: must not be empty", field=field, value=value)
    if len(stripped) > limit:
        raise ValidationError(
            f"{field}: {len(stripped)} characters is too long (at most {limit}): "
            f"{stripped[:40]!r}…",
            field=field,
            value=value,
        )
    return stripped


def check_optional_text(field: str, value: object, *, limit: int = MAX_SHORT) -> str | None:
    """Like :func:`check_text`, but ``None`` passes through."""
    return None if value is None else check_text(field, value, limit=limit)


def check_action_id(value: object) -> str:
    """An action id: 1–64 letters, digits, ``.``, ``_``, ``/`` or ``-``, starting alphanumeric."""
    if not isinstance(value, str) or not _ACTION_ID.fullmatch(value):
        raise ValidationError(
            f"action id {value!r} is not valid: use 1-64 letters, digits, '.', '_', '/' or '-', "
            "starting with a letter or digit (e.g. 'ACT-2021-004')",
            field="action_id",
            value=value,
        )
    return value


def check_meeting_id(value: object) -> str:
    """A meeting id: a real date ``YYYY-MM-DD``, optionally with a suffix such as ``-mam``."""
    import datetime as _dt

    match = _MEETING_ID.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationError(
            f"meeting id {value!r} is not valid: use the meeting date YYYY-MM-DD, optionally "
            "followed by a lower-case suffix (e.g. '2021-10-04' or '2021-10-04-mam')",
            field="meeting",
            value=value,
        )
    try:
        _dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValidationError(
            f"meeting id {value!r} does not start with a real date (YYYY-MM-DD)",
            field="meeting",
            value=value,
        ) from None
    check_year("meeting", value, int(match[1]))
    assert isinstance(value, str)
    return value


def _role(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    check_text("owner role", value, limit=MAX_ROLE)


def _person(_inst: object, _attr: attrs.Attribute[str | None], value: str | None) -> None:
    check_optional_text("owner person", value)


@attrs.frozen(kw_only=True)
class Owner:
    """Who owns an action: a role code as minuted ("CC", "T/Ch Supt") and, where known, a person.

    Attributes:
        role: the role code, e.g. ``"PCC"``, ``"CC"``, ``"DCC"``, ``"T/Ch Supt"``.
        person: the person's name, or ``None`` when the minutes give only the role.
    """

    role: str = attrs.field(validator=_role)
    person: str | None = attrs.field(default=None, validator=_person)

    @classmethod
    def parse(cls, value: str | Owner) -> Owner:
        """Read an owner from ``"CC"`` or ``"CC: Pippa Mills"`` (an ``Owner`` passes through)."""
        if isinstance(value, Owner):
            return value
        if not isinstance(value, str):
            raise ValidationError(
                f"owner {value!r} is not valid: give a role code such as 'CC', or "
                "'CC: Pippa Mills'",
                field="owners",
                value=value,
            )
        role, _, person = value.partition(":")
        return cls(role=role.strip(), person=person.strip() or None)

    def __str__(self) -> str:
        return self.role if self.person is None else f"{self.role}: {self.person}"


def parse_owners(values: object) -> tuple[Owner, ...]:
    """Owners from a list of strings or ``Owner`` values; at least one, no repeats."""
    if isinstance(values, str | Owner):
        values = [values]
    if not isinstance(values, list | tuple) or not values:
        raise ValidationError(
            f"owners: {values!r} is not valid: give at least one owner, e.g. ['CC'] or "
            "['PCC', 'CC']",
            field="owners",
            value=values,
        )
    owners = tuple(Owner.parse(v) for v in values)
    if len(set(owners)) != len(owners):
        raise ValidationError(
            f"owners: {[str(o) for o in owners]} names an owner twice", field="owners", value=values
        )
    return owners


def _name(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    check_text("attendee name", value, limit=MAX_SHORT)


def _capacity(_inst: object, _attr: attrs.Attribute[str | None], value: str | None) -> None:
    check_optional_text("attendee capacity", value)


def _role_code(_inst: object, _attr: attrs.Attribute[str | None], value: str | None) -> None:
    check_optional_text("attendee role", value, limit=MAX_ROLE)


@attrs.frozen(kw_only=True)
class Attendee:
    """Someone at (or sending apologies to) a meeting, with the capacity in which they attend.

    Attributes:
        name: the person, e.g. ``"Pippa Mills"``.
        capacity: as minuted, e.g. ``"Chief Constable"``.
        role: the role code used for owners, e.g. ``"CC"``.
    """

    name: str = attrs.field(validator=_name)
    capacity: str | None = attrs.field(default=None, validator=_capacity)
    role: str | None = attrs.field(default=None, validator=_role_code)
