"""The laws every ledger keeps, as checks a test can call.

Each check compares a live :class:`~action_ledger.Ledger` with what a pure computation says it
must hold, and raises :class:`LawViolation` (an ``AssertionError``) naming the law and the
first difference. :class:`~action_ledger.testing.LedgerMachine` runs them after every step;
a test of your own can call them after whatever your tool did::

    check_laws(ledger, model)        # every law at once, against a RegisterModel

The laws:

* **log-is-model**: the log holds exactly the events of the accepted commands, in order, at
  positions 1…n;
* **append-only**: what the log held before is still its beginning, byte for byte, and each
  action's earlier audit entries are unchanged;
* **state-is-fold**: each action and meeting, as the ledger gives it, is the fold of its
  stream, and the model's state;
* **read-models-are-fold**: the persisted tables (actions, meetings, owners, links, audit
  trail) hold exactly what the fold of the log gives;
* **verify-ok**: the hash chain verifies, over every event;
* **as-of-is-fixed**: the register as of an earlier recorded moment is what it was then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._codec import ACTION_PREFIX, MEETING_PREFIX, decode
from .._decider import Action, Meeting, fold, fold_meeting
from .._history import AUDIT_COLUMNS, AuditEntry, build_history, entries_from_rows
from .._ledger import Ledger
from .._views import RegisterView
from ..events import ActionEvent, MeetingRecorded
from ..store import StoredEvent
from .strategies import RegisterModel

__all__ = [
    "LawViolation",
    "RegisterSnapshot",
    "check_append_only",
    "check_as_of",
    "check_audit_append_only",
    "check_laws",
    "check_log",
    "check_read_models",
    "check_state",
    "check_verify",
    "snapshot",
]


class LawViolation(AssertionError):
    """A law of the ledger does not hold: ``law`` names it, the message says how."""

    def __init__(self, law: str, message: str) -> None:
        super().__init__(f"[{law}] {message}")
        self.law = law


def _require(condition: bool, law: str, message: str) -> None:
    if not condition:
        raise LawViolation(law, message)


def _first_difference(got: Sequence[Any], expected: Sequence[Any]) -> str:
    for n, (a, b) in enumerate(zip(got, expected, strict=False)):
        if a != b:
            return f"at index {n}: got {a!r}, expected {b!r}"
    return f"got {len(got)} items, expected {len(expected)}"


def check_log(ledger: Ledger, model: RegisterModel) -> list[StoredEvent]:
    """**log-is-model**: the log decodes to ``model.events``, in order, at positions 1…n.

    Returns the log, for the other checks."""
    log = list(ledger.store.read_all())
    positions = [s.position for s in log]
    _require(
        positions == list(range(1, len(log) + 1)),
        "log-is-model",
        f"positions are not 1…{len(log)}: {positions}",
    )
    events = [decode(s) for s in log]
    _require(
        events == model.events,
        "log-is-model",
        "the log is not the events of the accepted commands: "
        + _first_difference(events, model.events),
    )
    _require(
        ledger.store.last_position() == len(log),
        "log-is-model",
        f"last_position() is {ledger.store.last_position()}, the log holds {len(log)}",
    )
    return log


def check_append_only(before: Sequence[StoredEvent], log: Sequence[StoredEvent]) -> None:
    """**append-only**: ``before`` (the log read earlier) is the beginning of ``log``."""
    _require(
        len(log) >= len(before),
        "append-only",
        f"the log shrank from {len(before)} to {len(log)} events",
    )
    head = list(log[: len(before)])
    _require(
        head == list(before),
        "append-only",
        "an event already stored changed: " + _first_difference(head, list(before)),
    )


def check_state(ledger: Ledger, model: RegisterModel) -> None:
    """**state-is-fold**: ``ledger.get`` and ``ledger.meeting`` give the fold of each stream,
    which is also the model's state."""
    for action_id, state in model.actions.items():
        stream = [decode(s) for s in ledger.store.read_stream(ACTION_PREFIX + action_id)]
        folded = fold(e for e in stream if not isinstance(e, MeetingRecorded)).action
        _require(
            folded == state.action,
            "state-is-fold",
            f"{action_id}: the fold of its stream is {folded!r}, the model has {state.action!r}",
        )
        got = ledger.get(action_id)
        _require(
            got == state.action,
            "state-is-fold",
            f"{action_id}: get() gives {got!r}, the fold is {state.action!r}",
        )
    for meeting_id, meeting_state in model.meetings.items():
        stream = [decode(s) for s in ledger.store.read_stream(MEETING_PREFIX + meeting_id)]
        folded_meeting = fold_meeting(e for e in stream if isinstance(e, MeetingRecorded))
        _require(
            folded_meeting.meeting == meeting_state.meeting == ledger.meeting(meeting_id),
            "state-is-fold",
            f"meeting {meeting_id}: stream, model and meeting() disagree",
        )


def _rows(ledger: Ledger, sql: str, action_id: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ledger.read_model.select(sql, [action_id])]


def check_read_models(ledger: Ledger, log: Sequence[StoredEvent]) -> None:
    """**read-models-are-fold**: the tables hold what the fold of ``log`` gives: one row per
    action (the folded action), per meeting, per owner and per link, and one audit-trail
    row per event, as :meth:`~action_ledger.RegisterView.history` builds them."""
    by_stream: dict[str, list[tuple[StoredEvent, ActionEvent]]] = {}
    meetings: dict[str, Meeting | None] = {}
    for stored in log:
        event = decode(stored)
        if isinstance(event, MeetingRecorded):
            meetings[event.meeting_id] = fold_meeting([event]).meeting
        else:
            by_stream.setdefault(event.action_id, []).append((stored, event))
    folded: dict[str, Action] = {}
    for action_id, rows in by_stream.items():
        action = fold(event for _, event in rows).action
        if action is not None:
            folded[action_id] = action
    in_table = {a.id: a for a in ledger.register()}
    _require(
        in_table == folded,
        "read-models-are-fold",
        "the actions table differs from the fold: " + _dict_difference(in_table, folded),
    )
    listed = {m.id: m for m in ledger.meetings()}
    _require(
        listed == meetings,
        "read-models-are-fold",
        "the meetings table differs from the fold: " + _dict_difference(listed, meetings),
    )
    for action_id, action in folded.items():
        owners = _rows(
            ledger, "SELECT role, person FROM owners WHERE action_id = ? ORDER BY seq", action_id
        )
        _require(
            owners == [(o.role, o.person) for o in action.owners],
            "read-models-are-fold",
            f"{action_id}: owners rows {owners} for owners {action.owners}",
        )
        links = _rows(
            ledger,
            "SELECT kind, other FROM links WHERE action_id = ? ORDER BY kind, other",
            action_id,
        )
        expected = [("follows", other) for other in action.follows]
        if action.superseded_by is not None:
            expected.append(("superseded_by", action.superseded_by))
        _require(
            links == sorted(expected),
            "read-models-are-fold",
            f"{action_id}: links rows {links}, expected {sorted(expected)}",
        )
        # Every column, read back as history reads it from the table (changes in order).
        trail = [
            (entry, tuple(entry.changes))
            for entry in entries_from_rows(
                _rows(
                    ledger,
                    f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_trail "
                    "WHERE action_id = ? ORDER BY version",
                    action_id,
                )
            )
        ]
        built = [(entry, tuple(entry.changes)) for entry in build_history(by_stream[action_id])]
        _require(
            trail == built,
            "read-models-are-fold",
            f"{action_id}: audit trail rows differ from its history: "
            + _first_difference(trail, built),
        )


def _dict_difference(got: Mapping[str, Any], expected: Mapping[str, Any]) -> str:
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing or extra:
        return f"missing {missing}, unexpected {extra}"
    for key in sorted(got):
        if got[key] != expected[key]:
            return f"{key}: got {got[key]!r}, expected {expected[key]!r}"
    return "no difference"  # pragma: no cover - only called when they differ


def check_verify(ledger: Ledger) -> None:
    """**verify-ok**: the hash chain verifies, over every event of the log."""
    report = ledger.verify()
    _require(report.ok, "verify-ok", f"verify failed: {report.reason}")
    count = ledger.store.last_position()
    _require(
        report.checked == count,
        "verify-ok",
        f"verify checked {report.checked} of {count} events",
    )


@attrs.frozen
class RegisterSnapshot:
    """What the register said as of a recorded moment: every action and its history."""

    moment: str
    actions: tuple[Action, ...]
    histories: Mapping[str, tuple[AuditEntry, ...]]


def snapshot(view: RegisterView, moment: str) -> RegisterSnapshot:
    """What ``view`` (a ledger's :meth:`~action_ledger.Ledger.as_of` view) says, to compare
    later with :func:`check_as_of`."""
    actions = view.register()
    return RegisterSnapshot(moment, actions, {a.id: view.history(a.id) for a in actions})


def check_as_of(ledger: Ledger, earlier: RegisterSnapshot) -> None:
    """**as-of-is-fixed**: the register as of ``earlier.moment`` (recorded axis) is still what
    it was when the snapshot was taken."""
    with ledger.as_of(earlier.moment) as view:
        now = snapshot(view, earlier.moment)
    _require(
        now.actions == earlier.actions,
        "as-of-is-fixed",
        f"the register as of {earlier.moment} changed: "
        + _first_difference(now.actions, earlier.actions),
    )
    _require(
        now.histories == earlier.histories,
        "as-of-is-fixed",
        f"an action's history as of {earlier.moment} changed",
    )


def check_audit_append_only(
    before: Mapping[str, tuple[AuditEntry, ...]], ledger: Ledger
) -> dict[str, tuple[AuditEntry, ...]]:
    """**append-only**, for histories: each entry an action's history held before is still
    there, unchanged. Returns the histories now."""
    now = {aid: ledger.history(aid) for aid in before}
    for action_id, entries in before.items():
        current = {e.event_id: e for e in now[action_id]}
        for entry in entries:
            found = current.get(entry.event_id)
            # Only ``corrected_by`` may grow: a later correction of this event is listed.
            _require(
                found is not None
                and found.corrected_by[: len(entry.corrected_by)] == entry.corrected_by
                and attrs.evolve(found, corrected_by=entry.corrected_by) == entry,
                "append-only",
                f"{action_id}: the history entry of event {entry.event_id} changed or went: "
                f"{entry!r} became {found!r}",
            )
    return now


def check_laws(ledger: Ledger, model: RegisterModel) -> list[StoredEvent]:
    """Check log-is-model, state-is-fold, read-models-are-fold and verify-ok; return the log."""
    log = check_log(ledger, model)
    check_state(ledger, model)
    check_read_models(ledger, log)
    check_verify(ledger)
    return log
