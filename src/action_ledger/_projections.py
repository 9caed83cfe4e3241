"""The read-model projections: small, pure pieces that say what each event does to the tables.

A projection is a :class:`Projection`: its tables and a function from one :class:`Change` (a
stored event, its decoded event, and the action's state before and after it) to the row writes
it implies (:class:`Put`, :class:`Replace`). It does no I/O; the runner
(:mod:`action_ledger._readmodel`) reads the log, works out the states, and applies the writes
with the checkpoint in one transaction, the same loop for every projection.

The tables are meant to be read by people and other tools (any SQLite browser, Datasette):
times are canonical UTC text, dates ``YYYY-MM-DD`` (Europe/London calendar dates), owners
written as in the minutes. ``data`` columns hold the full value as canonical JSON, which is
what the library reads back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import msgspec

from ._clock import format_utc, local_date
from ._codec import CONVERTER, canonical_json, trusted_hook
from ._decider import Action, Meeting
from ._history import AuditEntry
from ._values import Attendee, Owner
from .events import Event, MeetingEvent
from .exceptions import IntegrityError
from .store import StoredEvent

Row = Mapping[str, Any]


@attrs.frozen(kw_only=True)
class Change:
    """What one stored event did, as a projection sees it.

    Attributes:
        stored: the stored envelope (position, hash, recorded time).
        event: the decoded event.
        before, after: for an action event, the action before and after it (``None`` before
            it was raised); ``None`` for a meeting event.
        meeting: for a meeting event, the meeting it recorded.
        entry: for an action event, its audit-trail entry.
    """

    stored: StoredEvent
    event: Event
    before: Action | None = None
    after: Action | None = None
    meeting: Meeting | None = None
    entry: AuditEntry | None = None


@attrs.frozen(kw_only=True)
class Put:
    """Insert ``row`` into ``table``, replacing the row with the same primary key.

    ``row`` may be a function that makes the row, with ``key`` its primary-key values: the
    runner then calls it only if no later write of the batch replaces it (a batch often
    changes one action many times, and only its last row is written).
    """

    table: str
    row: Row | Callable[[], Row]
    key: tuple[Any, ...] | None = None
    changed: frozenset[str] | None = None
    """The columns that may differ from the row stored under the key, when the projection
    knows (``None``: any). A row that is there already has only these columns set: fewer
    index entries rewritten. A row that is not there is inserted whole."""


@attrs.frozen(kw_only=True)
class Delete:
    """Delete the row of ``table`` whose primary key is ``key`` (column → value)."""

    table: str
    key: Row


@attrs.frozen(kw_only=True)
class Replace:
    """Make ``rows`` the only rows of ``table`` whose ``column`` equals ``key``."""

    table: str
    column: str
    key: Any
    rows: tuple[Row, ...]


Write = Put | Delete | Replace


@attrs.frozen(kw_only=True)
class Table:
    """A read-model table: columns (name → Python type), primary key, indexes."""

    name: str
    columns: Mapping[str, type]
    pk: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    not_null: frozenset[str] = frozenset()


@attrs.frozen(kw_only=True)
class Projection:
    """A named, versioned projection: its tables and what each change writes to them.

    A table is written either by :class:`Put` and :class:`Delete` (keyed by its primary key)
    or by :class:`Replace` (keyed by one column), never both, so the writes of a batch can be
    coalesced (the last write per key wins). Bump ``version`` when the tables or the writes
    change: the runner then rebuilds this projection from the start of the log.
    """

    name: str
    version: int
    tables: tuple[Table, ...]
    handle: Callable[[Change], Iterable[Write]]


# -- rows ---------------------------------------------------------------------------------------


def _utc(value: Any) -> str | None:
    return None if value is None else format_utc(value)


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def owners_text(owners: Iterable[Owner]) -> str:
    """Owners as the minutes write them: ``"CC: Pippa Mills, PCC"``."""
    return ", ".join(map(str, owners))


def action_row(action: Action, position: int) -> dict[str, Any]:
    """The ``actions`` row of an action (``position``: the last event that changed it)."""
    return {
        "id": action.id,
        "text": action.text,
        "owners": owners_text(action.owners),
        "status": action.status,
        "resolution": action.resolution,
        "due_on": _iso(action.due_on),
        "due_text": action.due_text,
        "meeting": action.meeting,
        "item": action.item,
        "source": action.source,
        "raised_at": format_utc(action.raised_at),
        "raised_on": local_date(action.raised_at).isoformat(),
        "closed_at": _utc(action.closed_at),
        "closed_on": None if action.closed_at is None else local_date(action.closed_at).isoformat(),
        "restricted": int(action.restricted),
        "follows": ", ".join(action.follows) or None,
        "superseded_by": action.superseded_by,
        "last_update": action.last_update,
        "last_updated_at": _utc(action.last_updated_at),
        "last_revisited_at": _utc(action.last_revisited_at),
        "last_revisit_meeting": action.last_revisit_meeting,
        "last_outcome": action.last_outcome,
        "assured": None if action.assured is None else int(action.assured),
        "next_revisit_on": _iso(action.next_revisit_on),
        "closing_note": action.closing_note,
        "version": action.version,
        "position": position,
        "data": canonical_json(CONVERTER.unstructure(action)),
    }


# Rows are written by this library from folded states, so they are read on the trusted path
# (msgspec: types checked, no cattrs re-validation), 3.5× faster than the strict converter.
_ACTION_ROW = msgspec.json.Decoder(Action, dec_hook=trusted_hook)
_MEETING_ROW = msgspec.json.Decoder(Meeting, dec_hook=trusted_hook)


@functools.lru_cache(maxsize=8192)
def action_from_row(data: str) -> Action:
    """The action a row's ``data`` column holds.

    Memoised on the row's exact text (a decoded action is an immutable value, and the same
    text always decodes to the same action): a process that asks for the agenda or the
    register again reads the rows again but decodes only those that changed. At most 8,192
    actions are kept (about 20 MB at most).

    Raises:
        IntegrityError: the column does not hold an action (the table was edited).
    """
    try:
        return _ACTION_ROW.decode(data)
    except (msgspec.DecodeError, ValueError) as exc:
        raise IntegrityError(f"an actions row cannot be read: {exc}; repair: rebuild") from exc


def meeting_from_row(data: str) -> Meeting:
    """The meeting a row's ``data`` column holds.

    Raises:
        IntegrityError: the column does not hold a meeting (the table was edited).
    """
    try:
        return _MEETING_ROW.decode(data)
    except (msgspec.DecodeError, ValueError) as exc:
        raise IntegrityError(f"a meetings row cannot be read: {exc}; repair: rebuild") from exc


def audit_row(stored: StoredEvent, action_id: str, entry: AuditEntry) -> dict[str, Any]:
    """The ``audit_trail`` row of one entry (corrections point back through ``corrects``)."""
    return {
        "position": entry.position,
        "action_id": action_id,
        "version": entry.version,
        "event_id": entry.event_id,
        "event_type": entry.event_type,
        "occurred_at": stored.occurred_at,  # the canonical text of entry.occurred_at
        "recorded_at": stored.recorded_at,
        "actor": entry.actor,
        "summary": entry.summary,
        "changes": canonical_json({k: list(v) for k, v in entry.changes.items()})
        if entry.changes
        else None,
        "meeting": entry.meeting,
        "item": entry.item,
        "corrects": entry.corrects,
        "hash": entry.hash,
    }


def _fold(text: str | None) -> str | None:
    return None if text is None else text.casefold()


# -- the projections ------------------------------------------------------------------------------

ACTIONS_TABLE = Table(
    name="actions",
    columns={
        "id": str,
        "text": str,
        "owners": str,
        "status": str,
        "resolution": str,
        "due_on": str,
        "due_text": str,
        "meeting": str,
        "item": str,
        "source": str,
        "raised_at": str,
        "raised_on": str,
        "closed_at": str,
        "closed_on": str,
        "restricted": int,
        "follows": str,
        "superseded_by": str,
        "last_update": str,
        "last_updated_at": str,
        "last_revisited_at": str,
        "last_revisit_meeting": str,
        "last_outcome": str,
        "assured": int,
        "next_revisit_on": str,
        "closing_note": str,
        "version": int,
        "position": int,
        "data": str,
    },
    pk=("id",),
    indexes=(
        ("status", "due_on"),
        ("status", "raised_on"),
        ("raised_on",),
        ("meeting",),
        ("closed_on", "raised_on"),
    ),
    not_null=frozenset({"text", "owners", "status", "raised_at", "raised_on", "version", "data"}),
)


# The actions columns each field of Action gives (see action_row); every field is here.
_ACTION_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "text": ("text",),
    "owners": ("owners",),
    "status": ("status",),
    "resolution": ("resolution",),
    "due_on": ("due_on",),
    "due_text": ("due_text",),
    "meeting": ("meeting",),
    "item": ("item",),
    "source": ("source",),
    "raised_at": ("raised_at", "raised_on"),
    "closed_at": ("closed_at", "closed_on"),
    "restricted": ("restricted",),
    "version": ("version",),
    "follows": ("follows",),
    "superseded_by": ("superseded_by",),
    "last_update": ("last_update",),
    "last_updated_at": ("last_updated_at",),
    "last_revisited_at": ("last_revisited_at",),
    "last_revisit_meeting": ("last_revisit_meeting",),
    "last_outcome": ("last_outcome",),
    "assured": ("assured",),
    "next_revisit_on": ("next_revisit_on",),
    "closing_note": ("closing_note",),
}
_ACTION_FIELDS = tuple(a.name for a in attrs.fields(Action))
assert set(_ACTION_FIELDS) == set(_ACTION_COLUMNS), "action_row and _ACTION_COLUMNS disagree"


def action_changes(before: Action, after: Action) -> frozenset[str]:
    """The ``actions`` columns whose values differ between two states of one action (with
    ``position`` and ``data``, which every change moves)."""
    changed = {"position", "data"}
    for name in _ACTION_FIELDS:
        if getattr(before, name) != getattr(after, name):
            changed.update(_ACTION_COLUMNS[name])
    return frozenset(changed)


def _actions(change: Change) -> Iterable[Write]:
    after, before = change.after, change.before
    if after is not None:
        position = change.stored.position
        yield Put(
            table="actions",
            key=(after.id,),
            row=lambda: action_row(after, position),
            changed=None if before is None else action_changes(before, after),
        )


OWNERS_TABLE = Table(
    name="owners",
    columns={
        "action_id": str,
        "seq": int,
        "role": str,
        "person": str,
        "role_key": str,
        "person_key": str,
    },
    pk=("action_id", "seq"),
    indexes=(("role_key",), ("person_key",)),
    not_null=frozenset({"role", "role_key"}),
)


def _owners(change: Change) -> Iterable[Write]:
    after, before = change.after, change.before
    if after is None or (before is not None and before.owners == after.owners):
        return
    yield Replace(
        table="owners",
        column="action_id",
        key=after.id,
        rows=tuple(
            {
                "action_id": after.id,
                "seq": seq,
                "role": owner.role,
                "person": owner.person,
                "role_key": owner.role.casefold(),
                "person_key": _fold(owner.person),
            }
            for seq, owner in enumerate(after.owners, 1)
        ),
    )


AUDIT_TABLE = Table(
    name="audit_trail",
    columns={
        "position": int,
        "action_id": str,
        "version": int,
        "event_id": str,
        "event_type": str,
        "occurred_at": str,
        "recorded_at": str,
        "actor": str,
        "summary": str,
        "changes": str,
        "meeting": str,
        "item": str,
        "corrects": str,
        "hash": str,
    },
    pk=("position",),
    indexes=(("action_id", "version"), ("corrects",)),
    not_null=frozenset({"action_id", "event_id", "event_type", "summary", "hash"}),
)


def _audit(change: Change) -> Iterable[Write]:
    if change.entry is not None:
        event = change.event
        assert not isinstance(event, MeetingEvent)
        yield Put(table="audit_trail", row=audit_row(change.stored, event.action_id, change.entry))


MEETINGS_TABLE = Table(
    name="meetings",
    columns={
        "id": str,
        "title": str,
        "held_at": str,
        "held_on": str,
        "kind": str,
        "venue": str,
        "chair": str,
        "minutes_by": str,
        "position": int,
        "data": str,
    },
    pk=("id",),
    indexes=(("held_on",),),
    not_null=frozenset({"title", "held_at", "held_on", "data"}),
)
ATTENDANCE_TABLE = Table(
    name="attendance",
    columns={
        "meeting_id": str,
        "held_on": str,
        "seq": int,
        "name": str,
        "capacity": str,
        "role": str,
        "role_key": str,
        "present": int,
    },
    pk=("meeting_id", "present", "seq"),
    indexes=(("role_key", "held_on"),),
    not_null=frozenset({"name", "held_on", "present"}),
)


def _attendance_rows(meeting: Meeting) -> Iterable[Row]:
    held_on = meeting.date.isoformat()
    groups: tuple[tuple[int, tuple[Attendee, ...]], ...] = (
        (1, meeting.attendance),
        (0, meeting.apologies),
    )
    for present, people in groups:
        for seq, person in enumerate(people, 1):
            yield {
                "meeting_id": meeting.id,
                "held_on": held_on,
                "seq": seq,
                "name": person.name,
                "capacity": person.capacity,
                "role": person.role,
                "role_key": _fold(person.role),
                "present": present,
            }


def _meetings(change: Change) -> Iterable[Write]:
    meeting = change.meeting
    if meeting is None:
        return
    yield Put(
        table="meetings",
        row={
            "id": meeting.id,
            "title": meeting.title,
            "held_at": format_utc(meeting.held_at),
            "held_on": meeting.date.isoformat(),
            "kind": meeting.kind,
            "venue": meeting.venue,
            "chair": meeting.chair,
            "minutes_by": meeting.minutes_by,
            "position": change.stored.position,
            "data": canonical_json(CONVERTER.unstructure(meeting)),
        },
    )
    yield Replace(
        table="attendance",
        column="meeting_id",
        key=meeting.id,
        rows=tuple(_attendance_rows(meeting)),
    )


LINKS_TABLE = Table(
    name="links",
    columns={
        "action_id": str,
        "kind": str,
        "other": str,
        "event_id": str,
        "position": int,
        "occurred_at": str,
        "meeting": str,
        "decision": str,
    },
    pk=("action_id", "kind", "other"),
    indexes=(("other",),),
    not_null=frozenset({"event_id", "position", "occurred_at", "decision"}),
)


def _links_of(action: Action | None) -> tuple[tuple[str, str], ...]:
    if action is None:
        return ()
    found = tuple(("follows", other) for other in action.follows)
    if action.superseded_by is not None:
        found += (("superseded_by", action.superseded_by),)
    return found


def _links(change: Change) -> Iterable[Write]:
    """``links``: one row per link an action declares (it *follows* an earlier action, or is
    *superseded_by* a later one), with the decision (event) that made it."""
    after = change.after
    if after is None:
        return
    now, then = _links_of(after), _links_of(change.before)
    if now == then:
        return
    event = change.event
    assert not isinstance(event, MeetingEvent)
    entry = change.entry
    assert entry is not None
    for kind, other in then:
        if (kind, other) not in now:  # undone (a reopen clears superseded_by)
            yield Delete(table="links", key={"action_id": after.id, "kind": kind, "other": other})
    for kind, other in now:
        if (kind, other) in then:
            continue  # an earlier decision made this link; its row stays as it was
        yield Put(
            table="links",
            row={
                "action_id": after.id,
                "kind": kind,
                "other": other,
                "event_id": event.event_id,
                "position": change.stored.position,
                "occurred_at": format_utc(event.occurred_at),
                "meeting": entry.meeting,
                "decision": entry.summary,
            },
        )


PROJECTIONS: tuple[Projection, ...] = (
    Projection(name="actions", version=2, tables=(ACTIONS_TABLE,), handle=_actions),
    Projection(name="owners", version=1, tables=(OWNERS_TABLE,), handle=_owners),
    Projection(name="audit_trail", version=2, tables=(AUDIT_TABLE,), handle=_audit),
    # meetings v2: a meeting's data holds the notes' source and SHA-256 (rows of v1 are rebuilt)
    Projection(
        name="meetings", version=2, tables=(MEETINGS_TABLE, ATTENDANCE_TABLE), handle=_meetings
    ),
    Projection(name="links", version=2, tables=(LINKS_TABLE,), handle=_links),
)
"""The register's projections, in the order the runner applies them."""
