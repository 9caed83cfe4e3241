"""Commands: what a user asks the register to do, checked value by value on construction.

A command carries everything ``decide`` needs, including its provenance (``event_id``,
``actor``, ``occurred_at``): the core reads no clock and makes no ids. Business rules that need
the state (an action must be open to be updated, …) are checked by ``decide``, not here.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

import attrs
import pendulum

from ._clock import check_year, to_register_date, to_register_moment
from ._due import Due, check_due_words
from ._values import (
    MAX_SHORT,
    MAX_TEXT,
    Attendee,
    Owner,
    check_action_id,
    check_meeting_id,
    check_optional_text,
    check_text,
    parse_owners,
)
from .events import MEETING_CORRECTABLE, Resolution
from .exceptions import ValidationError

__all__ = [
    "UPDATE_SOURCES",
    "CloseAction",
    "Command",
    "CorrectEvent",
    "CorrectMeeting",
    "DueInput",
    "RaiseAction",
    "RecordMeeting",
    "ReopenAction",
    "RevisitAction",
    "UpdateAction",
]

DueInput: TypeAlias = str | _dt.date | Due | None

UPDATE_SOURCES = ("written update", "briefing note", "verbal", "email", "meeting", "other")
RESOLUTIONS: tuple[Resolution, ...] = ("completed", "superseded", "withdrawn")


def _text(field: str, limit: int = MAX_TEXT) -> Callable[[object], str]:
    return lambda value: check_text(field, value, limit=limit)


def _moment(value: object) -> pendulum.DateTime:
    return to_register_moment(value, field="occurred_at")


def check_event_id(value: object) -> str:
    """An event id: a UUID (as text or a ``uuid.UUID``), returned in its canonical form.

    Raises:
        ValidationError: anything else, including ``""``.
    """
    if not isinstance(value, str | uuid.UUID):
        raise ValidationError(
            f"event_id: {value!r} is not a UUID (e.g. '{uuid.UUID(int=0)}')",
            field="event_id",
            value=value,
        )
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValidationError(
            f"event_id: {value!r} is not a UUID (e.g. '{uuid.UUID(int=0)}')",
            field="event_id",
            value=value,
        ) from None


def as_tuple(field: str, value: object) -> tuple[Any, ...]:
    """The items of a list, tuple or other collection (not text, bytes or a mapping).

    Raises:
        ValidationError: for ``None``, text, a mapping or a value that is no collection.
    """
    if isinstance(value, tuple):
        return value
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError(
            f"{field}: {value!r} is not a list; give a list (or tuple), e.g. [] for none",
            field=field,
            value=value,
        )
    return tuple(value)


def _optional_meeting(value: object) -> str | None:
    return None if value is None else check_meeting_id(value)


def _ids(value: object) -> tuple[str, ...]:
    ids = tuple(check_action_id(v) for v in as_tuple("follows", value))
    if len(set(ids)) != len(ids):
        raise ValidationError(f"follows: {list(ids)} names an action twice", field="follows")
    return ids


def _attendees(value: object) -> tuple[Attendee, ...]:
    people = as_tuple("attendance", value)
    if not all(isinstance(v, Attendee) for v in people):
        raise ValidationError(
            f"attendance: {value!r} is not a list of Attendee values",
            field="attendance",
            value=value,
        )
    return people


def _optional_attendees(value: object) -> tuple[Attendee, ...] | None:
    return None if value is None else _attendees(value)


def _optional_title(value: object) -> str | None:
    return check_optional_text("title", value, limit=MAX_SHORT)


def _optional_held_at(value: object) -> pendulum.DateTime | None:
    return None if value is None else to_register_moment(value, field="held_at")


def _due(value: object) -> DueInput:
    if isinstance(value, Due) and value.on is not None:
        check_year("due", value, value.on.year)
    if value is None or isinstance(value, Due):
        return value
    if isinstance(value, _dt.datetime):
        raise ValidationError(
            f"due: {value!r} is a date-time; give a date or the words as minuted",
            field="due",
            value=value,
        )
    if isinstance(value, _dt.date):
        return to_register_date(value, field="due")
    if isinstance(value, str):
        return check_due_words(value)
    raise ValidationError(
        f"due: {value!r} is not a date (YYYY-MM-DD) or the words as minuted",
        field="due",
        value=value,
    )


def _optional_owners(value: object) -> tuple[Owner, ...] | None:
    return None if value is None else parse_owners(value)


def _check_choice(field: str, value: object, choices: tuple[str, ...]) -> Any:
    if value not in choices:
        raise ValidationError(
            f"{field}: {value!r} is not one of {', '.join(choices)}", field=field, value=value
        )
    return value


def _optional_bool(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValidationError(
        f"assured: {value!r} is not true, false or unknown (None)", field="assured", value=value
    )


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationError(f"restricted: {value!r} is not true or false", field="restricted")


def _resolution_choice(value: object) -> Any:
    return _check_choice("resolution", value, RESOLUTIONS)


def _source_choice(value: object) -> Any:
    return _check_choice("source", value, UPDATE_SOURCES)


def _optional_chair(value: object) -> str | None:
    return check_optional_text("chair", value, limit=MAX_SHORT)


def _optional_item(value: object) -> str | None:
    return check_optional_text("item", value, limit=20)


def _optional_kind(value: object) -> str | None:
    return check_optional_text("kind", value, limit=MAX_SHORT)


def _optional_minutes_by(value: object) -> str | None:
    return check_optional_text("minutes_by", value, limit=MAX_SHORT)


def _optional_reason(value: object) -> str | None:
    return check_optional_text("reason", value, limit=MAX_TEXT)


def _optional_source(value: object) -> str | None:
    return check_optional_text("source", value, limit=MAX_SHORT)


def _optional_text(value: object) -> str | None:
    return check_optional_text("text", value, limit=MAX_TEXT)


def _optional_venue(value: object) -> str | None:
    return check_optional_text("venue", value, limit=MAX_SHORT)


def _actor_short(value: object) -> str:
    return check_text("actor", value, limit=MAX_SHORT)


def _note_text(value: object) -> str:
    return check_text("note", value, limit=MAX_TEXT)


def _outcome_text(value: object) -> str:
    return check_text("outcome", value, limit=MAX_TEXT)


def _reason_text(value: object) -> str:
    return check_text("reason", value, limit=MAX_TEXT)


def _text_text(value: object) -> str:
    return check_text("text", value, limit=MAX_TEXT)


def _title_short(value: object) -> str:
    return check_text("title", value, limit=MAX_SHORT)


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _optional_sha256(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and _SHA256.fullmatch(value.lower()):
        return value.lower()
    raise ValidationError(
        f"source_sha256: {value!r} is not a SHA-256 digest: give 64 hex digits (0-9, a-f), "
        "as printed by sha256sum",
        field="source_sha256",
        value=value,
    )


def _held_at(value: object) -> pendulum.DateTime:
    return to_register_moment(value, field="held_at")


def _optional_action_id(value: object) -> str | None:
    return None if value is None else check_action_id(value)


@attrs.frozen(kw_only=True)
class RecordMeeting:
    """Record a meeting: its id is its date (Europe/London), optionally with a suffix.

    ``source`` is the file name of the notes it was imported from and ``source_sha256`` the
    SHA-256 (64 hex digits) of their bytes, so every imported decision is traceable to them.
    """

    event_id: str = attrs.field(converter=check_event_id)
    actor: str = attrs.field(converter=_actor_short)
    occurred_at: pendulum.DateTime = attrs.field(converter=_moment)
    meeting_id: str = attrs.field(converter=check_meeting_id)
    title: str = attrs.field(converter=_title_short)
    held_at: pendulum.DateTime = attrs.field(converter=_held_at)
    kind: str | None = attrs.field(default=None, converter=_optional_kind)
    venue: str | None = attrs.field(default=None, converter=_optional_venue)
    chair: str | None = attrs.field(default=None, converter=_optional_chair)
    minutes_by: str | None = attrs.field(default=None, converter=_optional_minutes_by)
    attendance: tuple[Attendee, ...] = attrs.field(default=(), converter=_attendees)
    apologies: tuple[Attendee, ...] = attrs.field(default=(), converter=_attendees)
    source: str | None = attrs.field(default=None, converter=_optional_source)
    source_sha256: str | None = attrs.field(default=None, converter=_optional_sha256)


@attrs.frozen(kw_only=True)
class RaiseAction:
    """Raise a new action, at a meeting or from another source."""

    event_id: str = attrs.field(converter=check_event_id)
    actor: str = attrs.field(converter=_actor_short)
    occurred_at: pendulum.DateTime = attrs.field(converter=_moment)
    action_id: str = attrs.field(converter=check_action_id)
    text: str = attrs.field(converter=_text_text)
    owners: tuple[Owner, ...] = attrs.field(converter=parse_owners)
    meeting: str | None = attrs.field(default=None, converter=_optional_meeting)
    item: str | None = attrs.field(default=None, converter=_optional_item)
    source: str | None = attrs.field(default=None, converter=_optional_source)
    due: DueInput = attrs.field(default=None, converter=_due)
    follows: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    restricted: bool = attrs.field(default=False, converter=_bool)


@attrs.frozen(kw_only=True)
class UpdateAction:
    """Record progress on an action; optionally change its text, owners or due (with a reason)."""

    event_id: str = attrs.field(converter=check_event_id)
    actor: str = attrs.field(converter=_actor_short)
    occurred_at: pendulum.DateTime = attrs.field(converter=_moment)
    action_id: str = attrs.field(converter=check_action_id)
    note: str = attrs.field(converter=_note_text)
    source: str = attrs.field(converter=_source_choice)
    meeting: str | None = attrs.field(default=None, converter=_optional_meeting)
    text: str | None = attrs.field(default=None, converter=_optional_text)
    owners: tuple[Owner, ...] | None = attrs.field(default=None, converter=_optional_owners)
    due: DueInput = attrs.field(default=None, converter=_due)
    reason: str | None = attrs.field(default=None, converter=_optional_reason)
    restricted: bool = attrs.field(default=False, converter=_bool)


@attrs.frozen(kw_only=True)
class RevisitAction:
    """Record that an action was discussed at a meeting, with the outcome."""

    event_id: str = attrs.field(converter=check_event_id)
    actor: str = attrs.field(converter=_actor_short)
    occurred_at: pendulum.DateTime = attrs.field(converter=_moment)
    action_id: str = attrs.field(converter=check_action_id)
    meeting: str = attrs.field(converter=check_meeting_id)
    outcome: str = attrs.field(converter=_outcome_text)
    item: str | None = attrs.field(default=None, converter=_optional_item)
    assured: bool | None = attrs.field(default=None, converter=_optional_bool)
    next_revisit: DueInput = attrs.field(default=None, converter=_due)


@attrs.frozen(kw_only=True)
class CloseAction:
    """Close an action: completed, superseded by another action, or withdrawn."""

    event_id: str = attrs.field(converter=check_event_id)
    actor: str = attrs.field(converter=_actor_short)
    occurred_at: pendulum.DateTime = attrs.field(converter=_moment)
    action_id: str = attrs.field(converter=check_action_id)
    resolution: Resolution = attrs.field(converter=_resolution_choice)
    note: str = attrs.field(converter=_note_text)
    meeting: str | None = attrs.field(default=None, converter=_optional_meeting)
    item: str | None = attrs.field(default=None, converter=_optional_item)
    superseded_by: str | None = attrs.field(default=None, converter=_optional_action_id)


@attrs.frozen(kw_only=True)
class ReopenAction:
    """Bring a closed action back, with the reason."""

    event_id: str = attrs.field(converter=check_event_id)
    actor: str = attrs.field(converter=_actor_short)
    occurred_at: pendulum.DateTime = attrs.field(converter=_moment)
    action_id: str = attrs.field(converter=check_action_id)
    reason: str = attrs.field(converter=_reason_text)
    meeting: str | None = attrs.field(default=None, converter=_optional_meeting)


CORRECTABLE = (
    "text",
    "owners",
    "due",
    "meeting",
    "item",
    "note",
    "outcome",
    "assured",
    "occurred_at",
)


def _corrections(value: object) -> tuple[tuple[str, Any], ...]:
    if isinstance(value, dict):
        pairs = tuple((str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        pairs = tuple((str(k), v) for k, v in value)
    else:
        raise ValidationError(f"fields: {value!r} is not a mapping", field="fields", value=value)
    unknown = sorted(k for k, _ in pairs if k not in CORRECTABLE)
    if unknown:
        raise ValidationError(
            f"cannot correct {', '.join(map(repr, unknown))}: correctable fields are "
            f"{', '.join(CORRECTABLE)}",
            field=unknown[0],
            value=unknown,
        )
    if not pairs:
        raise ValidationError(
            f"a correction must set at least one field of: {', '.join(CORRECTABLE)}",
            field="fields",
        )
    converted: list[tuple[str, Any]] = []
    for key, raw in pairs:
        if raw is None:
            raise ValidationError(f"{key}: a corrected value cannot be empty", field=key)
        conv: Callable[[object], Any] = {
            "text": _text("text"),
            "owners": parse_owners,
            "due": _due,
            "meeting": check_meeting_id,
            "item": _text("item", 20),
            "note": _text("note"),
            "outcome": _text("outcome"),
            "assured": _optional_bool,
            "occurred_at": _moment,
        }[key]
        converted.append((key, conv(raw)))
    return tuple(sorted(converted))


@attrs.frozen(kw_only=True)
class CorrectEvent:
    """Correct an earlier event of an action that was entered wrongly; history keeps both.

    ``fields`` maps field names (see ``CORRECTABLE``) to their corrected values.
    """

    event_id: str = attrs.field(converter=check_event_id)
    actor: str = attrs.field(converter=_actor_short)
    occurred_at: pendulum.DateTime = attrs.field(converter=_moment)
    action_id: str = attrs.field(converter=check_action_id)
    corrects: str = attrs.field(converter=check_event_id)
    reason: str = attrs.field(converter=_reason_text)
    fields: tuple[tuple[str, Any], ...] = attrs.field(converter=_corrections)


@attrs.frozen(kw_only=True)
class CorrectMeeting:
    """Correct a meeting's record that was entered wrongly; history keeps both.

    Give the corrected values of the fields that were wrong (``None`` leaves a field as it
    is); ``held_at`` may move within the meeting's date only, since the id is its date.
    """

    event_id: str = attrs.field(converter=check_event_id)
    actor: str = attrs.field(converter=_actor_short)
    occurred_at: pendulum.DateTime = attrs.field(converter=_moment)
    meeting_id: str = attrs.field(converter=check_meeting_id)
    reason: str = attrs.field(converter=_reason_text)
    title: str | None = attrs.field(default=None, converter=_optional_title)
    held_at: pendulum.DateTime | None = attrs.field(default=None, converter=_optional_held_at)
    kind: str | None = attrs.field(default=None, converter=_optional_kind)
    venue: str | None = attrs.field(default=None, converter=_optional_venue)
    chair: str | None = attrs.field(default=None, converter=_optional_chair)
    minutes_by: str | None = attrs.field(default=None, converter=_optional_minutes_by)
    attendance: tuple[Attendee, ...] | None = attrs.field(
        default=None, converter=_optional_attendees
    )
    apologies: tuple[Attendee, ...] | None = attrs.field(
        default=None, converter=_optional_attendees
    )

    def __attrs_post_init__(self) -> None:
        if not any(getattr(self, name) is not None for name in MEETING_CORRECTABLE):
            raise ValidationError(
                f"meeting {self.meeting_id}: a correction must set at least one of "
                f"{', '.join(MEETING_CORRECTABLE)}",
                field="fields",
            )


Command: TypeAlias = (
    RecordMeeting
    | CorrectMeeting
    | RaiseAction
    | UpdateAction
    | RevisitAction
    | CloseAction
    | ReopenAction
    | CorrectEvent
)
