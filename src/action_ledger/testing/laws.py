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
* **as-of-is-fixed**: the register as of an earlier recorded moment is what it was then;
* **restricted-stays-restricted**: no output meant for a reader without the right shows a
  restricted action, note, changed value or link (:func:`check_restricted`; not part of
  :func:`check_laws`, as it builds a second register).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import pendulum

from .._codec import ACTION_PREFIX, MEETING_PREFIX, decode, encode, stream_of
from .._decider import Action, Meeting, fold, fold_meeting
from .._due import Due
from .._history import AUDIT_COLUMNS, AuditEntry, build_history, entries_from_rows
from .._ledger import Ledger
from .._values import Owner
from .._views import RegisterView
from ..events import (
    ActionClosed,
    ActionCorrected,
    ActionEvent,
    ActionRaised,
    ActionReopened,
    ActionRevisited,
    ActionUpdated,
    Corrections,
    Event,
    MeetingEvent,
)
from ..store import StoredEvent
from .strategies import RegisterModel

__all__ = [
    "MARK",
    "LawViolation",
    "RegisterSnapshot",
    "check_append_only",
    "check_as_of",
    "check_audit_append_only",
    "check_laws",
    "check_log",
    "check_read_models",
    "check_restricted",
    "check_state",
    "check_verify",
    "mark_restricted",
    "public_outputs",
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
        folded = fold(e for e in stream if not isinstance(e, MeetingEvent)).action
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
        folded_meeting = fold_meeting(e for e in stream if isinstance(e, MeetingEvent))
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
    meeting_streams: dict[str, list[MeetingEvent]] = {}
    for stored in log:
        event = decode(stored)
        if isinstance(event, MeetingEvent):
            meeting_streams.setdefault(event.meeting_id, []).append(event)
        else:
            by_stream.setdefault(event.action_id, []).append((stored, event))
    meetings: dict[str, Meeting | None] = {
        meeting_id: fold_meeting(events).meeting for meeting_id, events in meeting_streams.items()
    }
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


# -- restricted-stays-restricted ---------------------------------------------------------------

MARK = "QQRESTRICTEDQQ"
"""What :func:`mark_restricted` puts in place of every restricted value: no generated text
holds it, so any output that shows it shows restricted matter."""

_MARKED_DUE = Due(on=pendulum.date(2099, 12, 31), text=MARK)
_MARKED_OWNERS = (Owner(role=MARK, person=MARK),)
_FIXED_TIME = "2030-01-01T00:00:00Z"


def _marked_id(action_id: str) -> str:
    return f"{action_id}.{MARK}"


def _mark_text(value: str | None) -> str | None:
    return None if value is None else f"{MARK} {value}"


def _mark_corrections(fix: Corrections) -> Corrections:
    return attrs.evolve(
        fix,
        text=_mark_text(fix.text),
        note=_mark_text(fix.note),
        outcome=_mark_text(fix.outcome),
        item=None if fix.item is None else MARK,
        owners=None if fix.owners is None else _MARKED_OWNERS,
        due=None if fix.due is None else _MARKED_DUE,
        occurred_at=None if fix.occurred_at is None else fix.occurred_at.add(days=3),
    )


def _mark_all(event: ActionEvent) -> ActionEvent:
    """Every value of an event of a restricted action, marked (its meeting kept)."""
    renamed = _marked_id(event.action_id)
    if isinstance(event, ActionRaised):
        return attrs.evolve(
            event,
            action_id=renamed,
            text=f"{MARK} {event.text}",
            owners=_MARKED_OWNERS,
            item=None if event.item is None else MARK,
            source=None if event.source is None else MARK,
            due=_MARKED_DUE,
        )
    if isinstance(event, ActionUpdated):
        return _mark_update(attrs.evolve(event, action_id=renamed))
    if isinstance(event, ActionRevisited):
        return attrs.evolve(
            event,
            action_id=renamed,
            outcome=f"{MARK} {event.outcome}",
            item=None if event.item is None else MARK,
            next_revisit=_MARKED_DUE,
        )
    if isinstance(event, ActionClosed):
        return attrs.evolve(
            event,
            action_id=renamed,
            note=f"{MARK} {event.note}",
            item=None if event.item is None else MARK,
        )
    if isinstance(event, ActionReopened):
        return attrs.evolve(event, action_id=renamed, reason=f"{MARK} {event.reason}")
    return attrs.evolve(event, action_id=renamed, corrections=_mark_corrections(event.corrections))


def _mark_update(event: ActionUpdated) -> ActionUpdated:
    """A restricted update with its note, changes and date marked."""
    return attrs.evolve(
        event,
        note=f"{MARK} {event.note}",
        text=_mark_text(event.text),
        owners=None if event.owners is None else _MARKED_OWNERS,
        due=None if event.due is None else _MARKED_DUE,
        reason=_mark_text(event.reason),
        occurred_at=event.occurred_at.add(days=3),
    )


def mark_restricted(events: Sequence[Event]) -> list[Event]:
    """The same register with every restricted value replaced by one holding :data:`MARK`.

    A restricted action's id, text, owners, due date, item, source and every note, outcome
    and correction of it are marked (and every link to it names the marked id); in other
    actions, a restricted update's note, changed text, owners and due date, reason and date
    are marked, as are the corrections of it. Meetings, and everything else, are kept.
    """
    restricted = {e.action_id for e in events if isinstance(e, ActionRaised) and e.restricted}
    hidden: set[str] = set()
    marked: list[Event] = []
    for event in events:
        if isinstance(event, MeetingEvent):
            marked.append(event)
        elif event.action_id in restricted:
            marked.append(_mark_all(event))
        elif isinstance(event, ActionUpdated) and event.restricted:
            hidden.add(event.event_id)
            marked.append(_mark_update(event))
        elif isinstance(event, ActionCorrected) and event.corrects in hidden:
            marked.append(attrs.evolve(event, corrections=_mark_corrections(event.corrections)))
        elif isinstance(event, ActionRaised) and event.follows:
            follows = tuple(_marked_id(a) if a in restricted else a for a in event.follows)
            marked.append(attrs.evolve(event, follows=follows))
        elif isinstance(event, ActionClosed) and event.superseded_by in restricted:
            assert event.superseded_by is not None
            marked.append(attrs.evolve(event, superseded_by=_marked_id(event.superseded_by)))
        else:
            marked.append(event)
    return marked


def _restricted_values(events: Sequence[Event]) -> tuple[set[str], set[str]]:
    """The ids of the restricted actions, and the texts typed into restricted matter (the
    filters a reader without the right may try)."""
    ids: set[str] = set()
    words: set[str] = set()
    for event in events:
        if isinstance(event, ActionRaised) and event.restricted:
            ids.add(event.action_id)
            words.add(event.text)
        elif isinstance(event, ActionUpdated) and event.restricted:
            words.update(v for v in (event.note, event.text) if v is not None)
            words.update(o.role for o in event.owners or ())
    return ids, words


def public_outputs(ledger: Ledger, *, words: Sequence[str] = ()) -> dict[str, str]:
    """Every output meant for the public or for a reader without the right, as text: the
    published HTML and Markdown logs (whole, and per meeting), the ``--publishable`` CSV,
    ``register(restricted=False)`` as the CLI lists it and as JSON (and filtered on each of
    ``words`` as owner and as text), and the agenda, overdue and RAG views with
    ``publishable=True`` on each meeting's date and the day after it, rendered and as JSON.
    The head hash in the published footers is replaced by ``HEAD``."""
    from .. import cli
    from ..exports import publish_html, publish_markdown, write_csv

    def as_json(value: object) -> str:
        return json.dumps(value, default=cli._json_default, sort_keys=True, ensure_ascii=False)

    head = ledger.head()[1]
    outputs: dict[str, str] = {
        "html": publish_html(ledger, generated_at=_FIXED_TIME),
        "markdown": publish_markdown(ledger, generated_at=_FIXED_TIME),
    }
    csv_out = io.StringIO()
    write_csv(ledger, csv_out, restricted=False)
    outputs["csv --publishable"] = csv_out.getvalue()
    public = ledger.register(restricted=False)
    outputs["list --publishable"] = cli.render_register(public)
    outputs["list --publishable --json"] = as_json(list(public))
    for word in words:
        for name in ("owner", "text"):
            found = ledger.register(restricted=False, **{name: word})
            outputs[f"register(restricted=False, {name}={word!r})"] = as_json(list(found))
    days: set[pendulum.Date] = set()
    for meeting in ledger.meetings():
        outputs[f"markdown --meeting {meeting.id}"] = publish_markdown(
            ledger, meeting=meeting.id, generated_at=_FIXED_TIME
        )
        days.update((meeting.date, meeting.date.add(days=1)))
    for day in sorted(days):
        agenda = ledger.agenda(day, publishable=True)
        outputs[f"agenda {day} --publishable"] = cli.render_agenda(agenda)
        outputs[f"agenda {day} --publishable --json"] = as_json(agenda)
        for name, statuses in (
            ("overdue", ledger.overdue(day, publishable=True)),
            ("overdue --all", ledger.rag(day, publishable=True)),
        ):
            outputs[f"{name} {day} --publishable"] = cli.render_rag(statuses)
            outputs[f"{name} {day} --publishable --json"] = as_json(list(statuses))
    return {k: v.replace(head, "HEAD") for k, v in outputs.items()}


def _restricted_ids_in(actions: Sequence[Action], restricted: set[str]) -> set[str]:
    shown = {a.id for a in actions} | {f for a in actions for f in a.follows}
    shown |= {a.superseded_by for a in actions if a.superseded_by is not None}
    return shown & restricted


def check_restricted(ledger: Ledger, model: RegisterModel) -> int:
    """**restricted-stays-restricted**: no output meant for a reader without the right shows
    a restricted action, a restricted note, a value changed in a restricted update, or the
    id of a restricted action.

    Checked three ways: (1) the public actions the views give name no restricted action
    (as id, in ``follows`` or as ``superseded_by``); (2) the same register with every
    restricted value replaced by a marked one (:func:`mark_restricted`) gives every public
    output (:func:`public_outputs`) exactly as ``ledger`` does, so none depends on a
    restricted value, even one equal to a public value; (3) no output of the marked
    register holds the mark. ``ledger`` must hold ``model``'s events.

    Returns:
        The number of outputs compared.
    """
    restricted, words = _restricted_values(model.events)
    probes = sorted(words)[:3]
    views: list[tuple[str, tuple[Action, ...]]] = [
        ("register(restricted=False)", ledger.register(restricted=False))
    ]
    for meeting in ledger.meetings():
        agenda = ledger.agenda(meeting.date, publishable=True)
        views.append((f"agenda({meeting.date})", agenda.outstanding + agenda.closed_since))
        rag = ledger.rag(meeting.date, publishable=True)
        views.append((f"rag({meeting.date})", tuple(s.action for s in rag)))
    for name, actions in views:
        leaked = _restricted_ids_in(actions, restricted)
        _require(
            not leaked,
            "restricted-stays-restricted",
            f"{name} names restricted actions {sorted(leaked)}",
        )
    got = public_outputs(ledger, words=probes)
    with Ledger.open(":memory:") as marked:
        versions: dict[str, int] = {}
        for event in mark_restricted(model.events):
            stream = stream_of(event)
            marked.store.append(stream, [encode(event)], versions.get(stream, 0))
            versions[stream] = versions.get(stream, 0) + 1
        marked.refresh()
        expected = public_outputs(marked, words=probes)
    for name, text in expected.items():
        _require(
            MARK not in text,
            "restricted-stays-restricted",
            f"{name} shows restricted matter: …{text[max(text.find(MARK) - 200, 0) :][:400]}…",
        )
    _require(
        got.keys() == expected.keys(),
        "restricted-stays-restricted",
        f"the outputs differ: {sorted(got.keys() ^ expected.keys())}",
    )
    for name in got:
        _require(
            got[name] == expected[name],
            "restricted-stays-restricted",
            f"{name} depends on restricted matter: "
            + _first_difference(got[name].splitlines(), expected[name].splitlines()),
        )
    return len(got)
