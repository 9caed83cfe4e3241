"""Bulk writers of the register's own projections: the rows of a whole stream at once.

A rebuild (:meth:`action_ledger._readmodel.ReadModel.rebuild`) reads the log stream by stream
(every event of one action together, in version order) and hands each stream to a
:class:`StreamFolder`, which folds it once and makes its rows: one ``audit_trail`` row per
event, and the final ``actions``, ``owners`` and ``links`` rows of the action once (not once
per event, as the per-event path writes and then overwrites them), as tuples in the tables'
column order, ready for ``executemany``. Meetings are few: their rows are kept until the end.

Only the projections named in :data:`BULK` have a bulk writer (matched by their ``handle``, so
that a projection of the same name but other code never takes this path); any other projection
(a custom one, or a new built-in one not yet given a bulk writer) keeps the per-event path.
The rows made here are exactly those the per-event path leaves (the rebuild = incremental law).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._clock import format_utc
from ._codec import canonical_json, decode
from ._decider import LEAN_ACTION, Meeting, MeetingState, evolve, evolve_meeting
from ._erasure import SubjectKeys
from ._history import (
    _EVENT_TYPES,
    _TRACKED,
    AuditEntry,
    _summary,
    audit_entry,
    show,
    values_in_effect,
)
from ._projections import (
    ACTIONS_TABLE,
    ATTENDANCE_TABLE,
    AUDIT_TABLE,
    LINKS_TABLE,
    MEETINGS_TABLE,
    OWNERS_TABLE,
    PROJECTIONS,
    Change,
    Projection,
    Put,
    Replace,
    Table,
    _fold,
    _meetings,
    action_row,
)
from ._values import Owner
from .events import ActionCorrected, ActionEvent, Event, MeetingEvent
from .store import StoredEvent

BULK: frozenset[Callable[..., Any]] = frozenset(p.handle for p in PROJECTIONS)
"""The ``handle`` functions of the projections that have a bulk writer here."""

Rows = dict[str, list[tuple[Any, ...]]]


def has_bulk(projection: Projection) -> bool:
    """Whether ``projection`` is one of the register's own, with a bulk writer."""
    return projection.handle in BULK


def _getter(table: Table) -> Callable[[Any], tuple[Any, ...]]:
    return operator.itemgetter(*table.columns)  # every table here has several columns


_ACTION = _getter(ACTIONS_TABLE)
_MEETING = _getter(MEETINGS_TABLE)
_ATTENDANCE = _getter(ATTENDANCE_TABLE)


def _links_of(values: Any) -> tuple[tuple[str, str], ...]:
    """As :func:`action_ledger._projections._links_of`, from an action's state values."""
    if values is None:
        return ()
    found = tuple(("follows", other) for other in values.get("follows", ()))
    superseded_by = values.get("superseded_by")  # the Action's defaults: () and None
    if superseded_by is not None:
        found += (("superseded_by", superseded_by),)
    return found


def _owner_rows(action_id: str, owners: Iterable[Owner]) -> list[tuple[Any, ...]]:
    # In OWNERS_TABLE's column order: action_id, seq, role, person, role_key, person_key.
    return [
        (action_id, seq, o.role, o.person, o.role.casefold(), _fold(o.person))
        for seq, o in enumerate(owners, 1)
    ]


assert tuple(OWNERS_TABLE.columns) == (
    "action_id",
    "seq",
    "role",
    "person",
    "role_key",
    "person_key",
), "_owner_rows and OWNERS_TABLE disagree"


def _audit_tuple(
    stored: StoredEvent,
    event: ActionEvent,
    before: Any,
    after: Any,
    events: list[ActionEvent],
    index: int,
) -> tuple[Any, ...]:
    """The ``audit_trail`` row of one event (in AUDIT_TABLE's column order): what
    ``audit_row(stored, action_id, audit_entry(...))`` gives, without the entry."""
    changes: dict[str, list[str | None]] = {}
    corrects = None
    if isinstance(event, ActionCorrected):
        corrects = event.corrects
        old = values_in_effect(events[:index], corrects)
        for name in event.corrections.fields():
            changes[name] = [show(old.get(name)), show(getattr(event.corrections, name))]
    else:
        before = before or {}
        after = after or {}
        for name in _TRACKED:
            old_value, new_value = before.get(name), after.get(name)
            if old_value != new_value:
                changes[name] = [show(old_value), show(new_value)]
    return (
        stored.position,
        event.action_id,
        stored.version,
        event.event_id,
        _EVENT_TYPES[type(event)],
        stored.occurred_at,
        stored.recorded_at,
        event.actor,
        _summary(event),
        canonical_json(changes) if changes else None,
        getattr(event, "meeting", None),
        getattr(event, "item", None),
        corrects,
        stored.hash,
    )


assert tuple(AUDIT_TABLE.columns) == (
    "position",
    "action_id",
    "version",
    "event_id",
    "event_type",
    "occurred_at",
    "recorded_at",
    "actor",
    "summary",
    "changes",
    "meeting",
    "item",
    "corrects",
    "hash",
), "_audit_tuple and AUDIT_TABLE disagree"


class StreamFolder:
    """Folds whole streams into the rows of the bulk projections it is given.

    Args:
        projections: the projections to make rows for (each must satisfy :func:`has_bulk`).
        keys: the keys to open sealed fields with (see :mod:`action_ledger._erasure`).
    """

    def __init__(self, projections: Sequence[Projection], keys: SubjectKeys | None) -> None:
        assert all(has_bulk(p) for p in projections)
        names = {p.name for p in projections}
        self._actions = "actions" in names
        self._owners = "owners" in names
        self._audit = "audit_trail" in names
        self._links = "links" in names
        self._meetings = "meetings" in names
        self._keys = keys
        self.rows: Rows = {t.name: [] for p in projections for t in p.tables}
        # Meeting id → (position, meetings row, attendance rows): the last by position wins.
        self._meeting_rows: dict[str, tuple[int, tuple[Any, ...], list[tuple[Any, ...]]]] = {}

    def stream(self, events: Sequence[StoredEvent]) -> None:
        """Add the rows of one whole stream (``events``: all of it, in version order)."""
        keys = self._keys
        decoded = [decode(stored, keys) for stored in events]
        if isinstance(decoded[0], MeetingEvent):  # a meeting's record and its corrections
            state = MeetingState()
            for event in decoded:
                assert isinstance(event, MeetingEvent)
                state = evolve_meeting(state, event)
            if state.meeting is not None:
                self._meeting(events[-1], decoded[-1], state.meeting)
            return
        actions: list[ActionEvent] = []
        for event in decoded:
            assert not isinstance(event, MeetingEvent)
            actions.append(event)
        self._action(events, actions)

    def _meeting(self, stored: StoredEvent, event: Event, meeting: Meeting) -> None:
        """The rows of a meeting as its whole stream (ending at ``stored``) leaves it."""
        if not self._meetings:
            return
        kept = self._meeting_rows.get(meeting.id)
        if kept is not None and kept[0] > stored.position:
            return
        row: tuple[Any, ...] = ()
        attendance: list[tuple[Any, ...]] = []
        for write in _meetings(Change(stored=stored, event=event, meeting=meeting)):
            if isinstance(write, Put):
                assert not callable(write.row)
                row = _MEETING(write.row)
            else:
                assert isinstance(write, Replace)
                attendance = [_ATTENDANCE(r) for r in write.rows]
        self._meeting_rows[meeting.id] = (stored.position, row, attendance)

    def _action(self, stored_events: Sequence[StoredEvent], events: list[ActionEvent]) -> None:
        audit = self.rows.get("audit_trail") if self._audit else None
        links: dict[tuple[str, str], tuple[Any, ...]] = {}
        state = LEAN_ACTION
        then: tuple[tuple[str, str], ...] = ()
        for index, (stored, event) in enumerate(zip(stored_events, events, strict=True)):
            before = state
            state = evolve(state, event)
            if audit is not None:
                audit.append(
                    _audit_tuple(stored, event, before.values, state.values, events, index)
                )
            if not self._links or state.values is None:
                continue
            now = _links_of(state.values)
            if now == then:
                continue
            entry = self._entry(stored, event, before.values, state.values, events, index)
            for link in then:
                if link not in now:  # undone (a reopen clears superseded_by)
                    links.pop(link, None)
            for kind, other in now:
                if (kind, other) in then:
                    continue  # an earlier decision made this link; its row stays
                links[kind, other] = (
                    event.action_id,
                    kind,
                    other,
                    event.event_id,
                    stored.position,
                    format_utc(event.occurred_at),
                    entry.meeting,
                    entry.summary,
                )
            then = now
        action = state.action
        if action is None:
            return
        if self._actions:
            self.rows["actions"].append(_ACTION(action_row(action, stored_events[-1].position)))
        if self._owners:
            self.rows["owners"].extend(_owner_rows(action.id, action.owners))
        if self._links:
            self.rows["links"].extend(links.values())

    @staticmethod
    def _entry(
        stored: StoredEvent,
        event: ActionEvent,
        before: Any,
        after: Any,
        events: list[ActionEvent],
        index: int,
    ) -> AuditEntry:
        corrected = None
        if isinstance(event, ActionCorrected):
            corrected = values_in_effect(events[:index], event.corrects)
        return audit_entry(stored, event, before, after, corrected)

    def take(self, *, meetings: bool = False) -> Rows:
        """The rows made so far (and, with ``meetings``, the meetings' too), forgotten here."""
        rows = self.rows
        self.rows = {name: [] for name in rows}
        if meetings and self._meetings:
            for _, row, attendance in self._meeting_rows.values():
                rows["meetings"].append(row)
                rows["attendance"].extend(attendance)
            self._meeting_rows.clear()
        return rows


assert tuple(LINKS_TABLE.columns) == (
    "action_id",
    "kind",
    "other",
    "event_id",
    "position",
    "occurred_at",
    "meeting",
    "decision",
), "StreamFolder's links rows and LINKS_TABLE disagree"
