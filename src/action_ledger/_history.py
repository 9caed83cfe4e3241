"""An action's audit trail: one readable entry per event, with field changes old → new."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs
import pendulum

from ._clock import LONDON, parse_utc
from ._decider import LEAN_ACTION, evolve
from ._due import Due
from ._values import Owner
from .events import (
    ActionClosed,
    ActionCorrected,
    ActionEvent,
    ActionRaised,
    ActionReopened,
    ActionRevisited,
    ActionUpdated,
    Corrections,
)
from .store import StoredEvent

Change = tuple[str | None, str | None]

_EVENT_TYPES = {
    ActionRaised: "raised",
    ActionUpdated: "updated",
    ActionRevisited: "revisited",
    ActionClosed: "closed",
    ActionReopened: "reopened",
    ActionCorrected: "corrected",
}
_TRACKED = ("text", "owners", "due_on", "due_text", "status", "resolution", "superseded_by")
# The order of an entry's changes: the tracked fields', then a correction's (its fields'
# order). The two sets share only their first two names, in the same order, so sorting
# either kind's keys by this gives the order audit_entry made them in.
_CHANGE_ORDER = {
    name: i
    for i, name in enumerate(
        dict.fromkeys(_TRACKED + tuple(a.name for a in attrs.fields(Corrections)))
    )
}
# The audit_trail columns an entry is read back from, in AuditEntry's order (less
# corrected_by, which the rows of one action give).
AUDIT_COLUMNS = (
    "position",
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
)


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One event of an action's history, as an auditor reads it.

    Attributes:
        position: the event's global position in the log.
        version: its version within the action's stream.
        event_id: its id (the UUID a correction names).
        event_type: ``"raised"``, ``"updated"``, ``"revisited"``, ``"closed"``, ``"reopened"``
            or ``"corrected"``.
        occurred_at: when it happened in the world (UTC).
        recorded_at: when the ledger stored it (UTC).
        actor: who recorded it.
        summary: one readable sentence.
        changes: field → (old, new), as text; empty when nothing in the action changed.
        meeting: the meeting it happened at, if any; ``item`` the agenda item.
        corrects: for a correction, the id of the event it corrects.
        corrected_by: the ids of later corrections of this event.
        hash: the event's chain hash.
    """

    position: int
    version: int
    event_id: str
    event_type: str
    occurred_at: pendulum.DateTime
    recorded_at: pendulum.DateTime
    actor: str
    summary: str
    changes: Mapping[str, Change]
    meeting: str | None
    item: str | None
    corrects: str | None
    corrected_by: tuple[str, ...]
    hash: str


def show(value: Any) -> str | None:
    """A value as the audit trail prints it."""
    if value is None:
        return None
    if isinstance(value, tuple) and all(isinstance(v, Owner) for v in value):
        return ", ".join(map(str, value))
    if isinstance(value, Due):
        if value.on is None:
            return value.text
        return f"{value.on.isoformat()} ({value.text})" if value.text else value.on.isoformat()
    if isinstance(value, pendulum.DateTime):
        return value.in_tz(LONDON).format("YYYY-MM-DD HH:mm")
    if isinstance(value, pendulum.Date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _at(meeting: str | None, item: str | None) -> str:
    if meeting is None:
        return ""
    return f" at meeting {meeting}" + (f" item {item}" if item else "")


def _values_of(event: ActionEvent) -> dict[str, Any]:
    """The correctable values an event carries (what a correction can show as 'old')."""
    names = ("text", "owners", "due", "meeting", "item", "note", "outcome", "assured")
    values = {n: getattr(event, n) for n in names if getattr(event, n, None) is not None}
    values["occurred_at"] = event.occurred_at
    return values


def _summary(event: ActionEvent) -> str:
    match event:
        case ActionRaised():
            due = show(event.due)
            return (
                f"Raised{_at(event.meeting, event.item)}"
                + (f" (source: {event.source})" if event.source not in (None, "meeting") else "")
                + f", owned by {show(event.owners)}"
                + (f", due {due}" if due else "")
                + (f", following {', '.join(event.follows)}" if event.follows else "")
                + (" (restricted)" if event.restricted else "")
                + f": {event.text}"
            )
        case ActionUpdated():
            changed = [
                name for name in ("text", "owners", "due") if getattr(event, name) is not None
            ]
            text = (
                f"Updated ({event.source}{_at(event.meeting, None)}"
                + (", restricted" if event.restricted else "")
                + f"): {event.note}"
            )
            if changed:
                text += f" Changed {', '.join(changed)} because {event.reason}."
            return text
        case ActionRevisited():
            assured = {True: "; the PCC was assured", False: "; the PCC was not assured"}.get(
                event.assured,  # type: ignore[arg-type]
                "",
            )
            nxt = show(event.next_revisit)
            return f"Revisited{_at(event.meeting, event.item)}{assured}: {event.outcome}" + (
                f" Next revisit: {nxt}." if nxt else ""
            )
        case ActionClosed():
            how = (
                f"superseded by {event.superseded_by}"
                if event.resolution == "superseded"
                else event.resolution
            )
            return f"Closed as {how}{_at(event.meeting, event.item)}: {event.note}"
        case ActionReopened():
            return f"Reopened{_at(event.meeting, None)}: {event.reason}"
        case ActionCorrected():
            return (
                f"Corrected the {event.corrects_type} event {event.corrects[:8]} "
                f"({', '.join(event.corrections.fields())}): {event.reason}"
            )
    raise TypeError(event)  # pragma: no cover


def values_in_effect(events: Iterable[ActionEvent], event_id: str) -> dict[str, Any]:
    """The correctable values of event ``event_id`` as ``events`` (its stream so far) leave them:
    what it carried, with every correction of it among ``events`` applied."""
    values: dict[str, Any] = {}
    for event in events:
        if event.event_id == event_id:
            values = _values_of(event)
        elif isinstance(event, ActionCorrected) and event.corrects == event_id:
            for name in event.corrections.fields():
                values[name] = getattr(event.corrections, name)
    return values


def audit_entry(
    stored: StoredEvent,
    event: ActionEvent,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    corrected: Mapping[str, Any] | None = None,
    corrected_by: tuple[str, ...] = (),
) -> AuditEntry:
    """One entry of the audit trail.

    Args:
        stored, event: the stored envelope and its event.
        before, after: the action's values before and after the event (``None`` before it
            was raised).
        corrected: for a correction, the values of the corrected event it finds in effect
            (see :func:`values_in_effect`); the entry shows each corrected field old → new.
        corrected_by: the ids of later corrections of this event.
    """
    changes: dict[str, Change] = {}
    corrects = None
    if isinstance(event, ActionCorrected):
        corrects = event.corrects
        old = corrected or {}
        for name in event.corrections.fields():
            changes[name] = (show(old.get(name)), show(getattr(event.corrections, name)))
    else:
        before = before or {}
        after = after or {}
        for name in _TRACKED:
            old_value, new_value = before.get(name), after.get(name)
            if old_value != new_value:
                changes[name] = (show(old_value), show(new_value))
    return AuditEntry(
        position=stored.position,
        version=stored.version,
        event_id=event.event_id,
        event_type=_EVENT_TYPES[type(event)],
        occurred_at=event.occurred_at,
        recorded_at=parse_utc(stored.recorded_at),
        actor=event.actor,
        summary=_summary(event),
        changes=MappingProxyType(changes),
        meeting=getattr(event, "meeting", None),
        item=getattr(event, "item", None),
        corrects=corrects,
        corrected_by=corrected_by,
        hash=stored.hash,
    )


def build_history(rows: Iterable[tuple[StoredEvent, ActionEvent]]) -> tuple[AuditEntry, ...]:
    """The audit trail of one action from its stored events (oldest first)."""
    rows = list(rows)
    corrected_by: dict[str, list[str]] = {}
    for _, event in rows:
        if isinstance(event, ActionCorrected):
            corrected_by.setdefault(event.corrects, []).append(event.event_id)
    state = LEAN_ACTION
    values: dict[str, dict[str, Any]] = {}
    entries: list[AuditEntry] = []
    for stored, event in rows:
        before = state.values
        state = evolve(state, event)
        corrected = None
        if isinstance(event, ActionCorrected):
            corrected = values.setdefault(event.corrects, {})
            entry = audit_entry(stored, event, before, state.values, dict(corrected))
            for name in event.corrections.fields():
                corrected[name] = getattr(event.corrections, name)
        else:
            values[event.event_id] = _values_of(event)
            entry = audit_entry(stored, event, before, state.values)
        entries.append(
            attrs.evolve(entry, corrected_by=tuple(corrected_by.get(event.event_id, ())))
        )
    return tuple(entries)


def entries_from_rows(rows: Sequence[Sequence[Any]]) -> tuple[AuditEntry, ...]:
    """The audit trail of one action from its ``audit_trail`` rows (:data:`AUDIT_COLUMNS`, in
    version order): the entries :func:`build_history` gives from its events, without
    decoding or rendering them again."""
    corrected_by: dict[str, list[str]] = {}
    for row in rows:
        if row[11] is not None:
            corrected_by.setdefault(row[11], []).append(row[2])
    entries = []
    for (
        position,
        version,
        event_id,
        event_type,
        occurred_at,
        recorded_at,
        actor,
        summary,
        changes,
        meeting,
        item,
        corrects,
        hash_,
    ) in rows:
        found: dict[str, Change] = {}
        if changes is not None:
            loaded = json.loads(changes)
            for name in sorted(loaded, key=_CHANGE_ORDER.__getitem__):
                old, new = loaded[name]
                found[name] = (old, new)
        entries.append(
            AuditEntry(
                position=position,
                version=version,
                event_id=event_id,
                event_type=event_type,
                occurred_at=parse_utc(occurred_at),
                recorded_at=parse_utc(recorded_at),
                actor=actor,
                summary=summary,
                changes=MappingProxyType(found),
                meeting=meeting,
                item=item,
                corrects=corrects,
                corrected_by=tuple(corrected_by.get(event_id, ())),
                hash=hash_,
            )
        )
    return tuple(entries)
