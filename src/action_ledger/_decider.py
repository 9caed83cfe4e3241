"""The functional core: ``decide(command, state, context) -> events`` and ``evolve(state, event)``.

``decide`` enforces every business rule and raises :class:`RuleViolationError` (or
:class:`NotFoundError`) naming the action, the rule and the bad value. ``evolve`` never fails:
state is the fold of the events from :data:`INITIAL_ACTION` / :data:`INITIAL_MEETING`. Neither
does I/O, reads a clock or makes ids; those arrive on the command.

Cross-stream rules (a meeting named must exist; ``superseded_by`` must name another action)
are decided against a :class:`Context`, a read-only snapshot of the other streams the command
names, which the shell loads before deciding.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import attrs
import pendulum

from ._clock import local_date
from ._due import Due, meeting_words, resolve_due
from ._values import Attendee, Owner
from .commands import (
    CloseAction,
    Command,
    CorrectEvent,
    CorrectMeeting,
    DueInput,
    RaiseAction,
    RecordMeeting,
    ReopenAction,
    RevisitAction,
    UpdateAction,
)
from .events import (
    MEETING_CORRECTABLE,
    ActionClosed,
    ActionCorrected,
    ActionEvent,
    ActionRaised,
    ActionReopened,
    ActionRevisited,
    ActionUpdated,
    Corrections,
    Event,
    MeetingCorrected,
    MeetingEvent,
    MeetingRecorded,
    Resolution,
)
from .exceptions import NotFoundError, RuleViolationError

Status: TypeAlias = Literal["open", "closed"]
_EMPTY: Mapping[str, str] = MappingProxyType({})


@attrs.frozen(kw_only=True)
class Meeting:
    """A recorded meeting, as its events say now.

    ``source`` and ``source_sha256`` name the notes it was imported from (file name and the
    SHA-256 of their bytes), or are ``None`` when it was recorded by hand.
    """

    id: str
    title: str
    held_at: pendulum.DateTime
    kind: str | None
    venue: str | None
    chair: str | None
    minutes_by: str | None
    attendance: tuple[Attendee, ...]
    apologies: tuple[Attendee, ...]
    version: int
    source: str | None = None
    source_sha256: str | None = None

    @property
    def date(self) -> pendulum.Date:
        """The meeting's Europe/London calendar date."""
        return local_date(self.held_at)


@attrs.frozen(kw_only=True)
class Action:
    """The current state of one action, folded from its events.

    Attributes:
        id: the action id, e.g. ``"ACT-2021-004"``.
        text: what is to be done, as minuted.
        owners: who owns it (role codes, and persons where known).
        status: ``"open"`` or ``"closed"``.
        resolution: how it was closed (``"completed"``, ``"superseded"``, ``"withdrawn"``) or
            ``None`` while open.
        due_on: the due date, or ``None`` when none was given or the words give none.
        due_text: the due words as minuted (``"Within two weeks"``), if any.
        meeting: the id of the meeting that raised it, if any; ``item`` its agenda item.
        source: where it came from when not a meeting (or ``"meeting"``).
        raised_at: when it was raised (occurred time, UTC).
        closed_at: when it was last closed, or ``None`` while open.
        restricted: exempt from publication.
        version: the number of events in its stream.
        follows: the earlier actions it follows on from.
        superseded_by: the action that replaced it, when closed as superseded.
        last_update, last_updated_at: the latest progress note and when it was given.
        last_revisited_at, last_revisit_meeting, last_outcome, assured: the latest revisit.
        next_revisit_on: the date set for the next revisit, if any.
        closing_note: the note given when it was closed.
    """

    id: str
    text: str
    owners: tuple[Owner, ...]
    status: Status
    resolution: Resolution | None
    due_on: pendulum.Date | None
    due_text: str | None
    meeting: str | None
    item: str | None
    source: str | None
    raised_at: pendulum.DateTime
    closed_at: pendulum.DateTime | None
    restricted: bool
    version: int
    follows: tuple[str, ...] = ()
    superseded_by: str | None = None
    last_update: str | None = None
    last_updated_at: pendulum.DateTime | None = None
    last_revisited_at: pendulum.DateTime | None = None
    last_revisit_meeting: str | None = None
    last_outcome: str | None = None
    assured: bool | None = None
    next_revisit_on: pendulum.Date | None = None
    closing_note: str | None = None


@attrs.frozen(kw_only=True)
class ActionState:
    """What ``decide`` needs about one action stream: the action and its bookkeeping.

    ``set_by`` names, for each state slot, the event whose value is in effect, so a correction
    of that event changes the state only while nothing later has replaced the value.
    ``correctable`` lists, for each event, its kind and the fields a correction may set; it is
    ``None`` in a lean state (:data:`LEAN_ACTION`), which projections that only read use, so
    their memory grows with the number of actions, not of events.
    """

    values: Mapping[str, Any] | None = None
    version: int = 0
    set_by: Mapping[str, str] = _EMPTY
    correctable: Mapping[str, tuple[str, frozenset[str]]] | None = MappingProxyType({})
    first_followup: pendulum.DateTime | None = None
    """The earliest occurred time of anything that happened to the action after its raise
    (as recorded or as corrected): a correction may not move the raise past it."""

    @functools.cached_property
    def action(self) -> Action | None:
        """The action, or ``None`` before it was raised (built once, on first use)."""
        return None if self.values is None else Action(**self.values)


@attrs.frozen(kw_only=True)
class MeetingState:
    """What ``decide`` needs about one meeting stream."""

    meeting: Meeting | None = None
    version: int = 0


INITIAL_ACTION = ActionState()
LEAN_ACTION = ActionState(correctable=None)
INITIAL_MEETING = MeetingState()


def _frozen_meetings(value: Mapping[str, Meeting]) -> Mapping[str, Meeting]:
    return MappingProxyType(dict(value))


def _frozen_actions(value: Mapping[str, Action]) -> Mapping[str, Action]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class Context:
    """The other streams a command names, loaded by the shell: meetings and actions by id.

    Due words that name a meeting (:func:`~action_ledger._due.meeting_words`) widen it: a
    command giving such words also has every recorded meeting held after its reference day in
    ``meetings``, and ``RecordMeeting`` has every open action whose such words have no date
    yet in ``actions`` (more may be given: ``decide`` picks the ones that fit).
    """

    meetings: Mapping[str, Meeting] = attrs.field(factory=dict, converter=_frozen_meetings)
    actions: Mapping[str, Action] = attrs.field(factory=dict, converter=_frozen_actions)


EMPTY_CONTEXT = Context()

# Which state slot each correctable field of each event kind feeds.
_SLOTS: Mapping[str, Mapping[str, str]] = {
    "raised": {
        "text": "text",
        "owners": "owners",
        "due": "due",
        "meeting": "meeting",
        "item": "item",
        "occurred_at": "raised_at",
    },
    "updated": {
        "note": "last_update",
        "occurred_at": "last_update",
        "text": "text",
        "owners": "owners",
        "due": "due",
    },
    "revisited": {
        "outcome": "last_revisit",
        "assured": "last_revisit",
        "item": "last_revisit",
        "occurred_at": "last_revisit",
    },
    "closed": {"note": "closed", "occurred_at": "closed"},
    "reopened": {"occurred_at": "reopened"},
}


def _reject(subject: str, rule: str, message: str, value: object = None) -> RuleViolationError:
    return RuleViolationError(f"{subject}: {message}", subject=subject, rule=rule, value=value)


# ---------------------------------------------------------------------------------------------
# decide


def decide(
    command: Command, state: ActionState | MeetingState, context: Context = EMPTY_CONTEXT
) -> tuple[Event, ...]:
    """Decide which events ``command`` produces against ``state``, or raise why it can't.

    Args:
        command: what the user asked for.
        state: the fold of the command's own stream (an ``ActionState`` for action commands,
            a ``MeetingState`` for ``RecordMeeting`` and ``CorrectMeeting``).
        context: the other streams the command names (meetings, linked actions).

    Returns:
        The new events, in order (empty when nothing is to be recorded).

    Raises:
        RuleViolationError: the command breaks a rule; ``rule`` says which.
        NotFoundError: the command names an action (or a meeting to correct) that does not
            exist.
        ValidationError: a due phrase names a date that does not exist.
    """
    if isinstance(command, RecordMeeting | CorrectMeeting):
        if not isinstance(state, MeetingState):
            raise TypeError(f"{type(command).__name__} is decided against a MeetingState")
        if isinstance(command, CorrectMeeting):
            return (_correct_meeting(command, state),)
        recorded = _record_meeting(command, state)
        return (recorded, *_due_by_meeting(command, recorded, context))
    if not isinstance(state, ActionState):
        raise TypeError(f"{type(command).__name__} is decided against an ActionState")
    if isinstance(command, RaiseAction):
        return (_raise(command, state, context),)
    action = _existing(command.action_id, state)
    match command:
        case UpdateAction():
            return (_update(command, action, context),)
        case RevisitAction():
            return (_revisit(command, action, context),)
        case CloseAction():
            return (_close(command, action, context),)
        case ReopenAction():
            return (_reopen(command, action, context),)
        case CorrectEvent():
            return (_correct(command, action, state, context),)
    raise TypeError(f"not a command: {command!r}")  # pragma: no cover


def _record_meeting(command: RecordMeeting, state: MeetingState) -> MeetingRecorded:
    subject = f"meeting {command.meeting_id}"
    if state.meeting is not None:
        raise _reject(
            subject,
            "meeting-recorded-once",
            f"is already recorded ({state.meeting.title}, held {state.meeting.held_at}); "
            "correct it instead of recording it again (Ledger.correct_meeting, or "
            "`action-ledger meeting correct`)",
            command.meeting_id,
        )
    held_on = local_date(command.held_at).isoformat()
    if not command.meeting_id.startswith(held_on):
        raise _reject(
            subject,
            "meeting-id-is-its-date",
            f"held_at {command.held_at.in_tz('Europe/London').isoformat()} falls on {held_on} "
            f"(Europe/London) but the id says {command.meeting_id[:10]}; the id must start with "
            "the meeting date",
            command.held_at,
        )
    return MeetingRecorded(
        event_id=command.event_id,
        actor=command.actor,
        occurred_at=command.occurred_at,
        meeting_id=command.meeting_id,
        title=command.title,
        held_at=command.held_at,
        kind=command.kind,
        venue=command.venue,
        chair=command.chair,
        minutes_by=command.minutes_by,
        attendance=command.attendance,
        apologies=command.apologies,
        source=command.source,
        source_sha256=command.source_sha256,
    )


def _correct_meeting(command: CorrectMeeting, state: MeetingState) -> MeetingCorrected:
    subject = f"meeting {command.meeting_id}"
    meeting = state.meeting
    if meeting is None:
        raise NotFoundError(
            f"meeting {command.meeting_id!r} is not recorded, so it cannot be corrected; "
            "record it (or check the id: `action-ledger meeting list` lists every meeting)"
        )
    if command.held_at is not None:
        held_on = local_date(command.held_at)
        if held_on != meeting.date:
            raise _reject(
                subject,
                "meeting-id-is-its-date",
                f"held_at {command.held_at.in_tz('Europe/London').isoformat()} falls on "
                f"{held_on} but the meeting is {meeting.date}; a correction may change the "
                "time, not the date (record the meeting under its real date instead)",
                command.held_at,
            )
    names = [
        name
        for name in MEETING_CORRECTABLE
        if getattr(command, name) is not None and getattr(command, name) != getattr(meeting, name)
    ]
    if not names:
        given = [name for name in MEETING_CORRECTABLE if getattr(command, name) is not None]
        raise _reject(
            subject,
            "correction-must-differ",
            f"the record already says that ({', '.join(given)}); a correction must change "
            "something",
            given,
        )
    changed = {name: getattr(command, name) for name in names}
    return MeetingCorrected(
        event_id=command.event_id,
        actor=command.actor,
        occurred_at=command.occurred_at,
        meeting_id=command.meeting_id,
        reason=command.reason,
        **changed,
    )


def _existing(action_id: str, state: ActionState) -> Action:
    if state.action is None:
        raise NotFoundError(
            f"action {action_id!r} does not exist; raise it first or check the id "
            "(the register lists every action)"
        )
    return state.action


def _meeting(subject: str, meeting_id: str | None, context: Context) -> Meeting | None:
    if meeting_id is None:
        return None
    meeting = context.meetings.get(meeting_id)
    if meeting is None:
        raise _reject(
            subject,
            "meeting-must-exist",
            f"meeting {meeting_id!r} is not recorded; record the meeting first",
            meeting_id,
        )
    return meeting


def _due(value: DueInput, reference: pendulum.Date, meetings: Iterable[Meeting] = ()) -> Due:
    if isinstance(value, Due):
        return value
    due = resolve_due(value, reference=reference)
    if due.on is None:
        meeting = _first_fitting(due.text, reference, meetings)
        if meeting is not None:
            return Due(on=meeting.date, text=due.text)
    return due


def _first_fitting(
    text: str | None, reference: pendulum.Date, meetings: Iterable[Meeting]
) -> Meeting | None:
    """The first meeting (by time held, then id) that due words naming a meeting fit."""
    words = meeting_words(text)
    if words is None:
        return None
    fitting = [
        m for m in meetings if words.fits(m.date, kind=m.kind, title=m.title, reference=reference)
    ]
    return min(fitting, key=lambda m: (m.held_at, m.id), default=None)


def raised_on(action: Action) -> pendulum.Date:
    """The day an action was raised, which its due words are relative to: the date of the
    meeting that raised it (its id starts with it), else the London date it was raised."""
    if action.meeting is not None:
        year, month, day = action.meeting[:10].split("-")
        return pendulum.date(int(year), int(month), int(day))
    return local_date(action.raised_at)


_DUE_BY_MEETING = uuid.UUID("5b0c8a52-3c1e-4b8e-9a57-0d3f2f6a7c21")


def _due_by_meeting(
    command: RecordMeeting, recorded: MeetingRecorded, context: Context
) -> tuple[ActionUpdated, ...]:
    """For each open action whose due words name a meeting this one fits, and have no date
    yet: an update setting the due date to this meeting's (oldest action id first). Its event
    id is derived from the command's and the action's, so a retry decides the same events."""
    held_on = local_date(recorded.held_at)
    updates = []
    for action in sorted(context.actions.values(), key=lambda a: a.id):
        if action.status != "open" or action.due_on is not None:
            continue
        words = meeting_words(action.due_text)
        if words is None or not words.fits(
            held_on, kind=recorded.kind, title=recorded.title, reference=raised_on(action)
        ):
            continue
        updates.append(
            ActionUpdated(
                event_id=str(uuid.uuid5(_DUE_BY_MEETING, f"{command.event_id} {action.id}")),
                actor=command.actor,
                occurred_at=max(command.occurred_at, action.raised_at),
                action_id=action.id,
                note=(
                    f"due date set to {held_on} by the meeting of {held_on} "
                    f"({recorded.title}, {recorded.meeting_id}) being recorded: the due words "
                    f"{action.due_text!r} name it"
                ),
                source="other",
                due=Due(on=held_on, text=action.due_text),
                reason=f"the due words name a meeting, and {recorded.meeting_id} fits first",
            )
        )
    return tuple(updates)


def _not_before_raised(subject: str, action: Action, moment: pendulum.DateTime) -> None:
    if moment < action.raised_at:
        raise _reject(
            subject,
            "not-before-raised",
            f"the time it happened, {moment.isoformat()}, is before the action was raised "
            f"({action.raised_at.isoformat()})",
            moment,
        )


def _must_be_open(subject: str, action: Action, verb: str) -> None:
    if action.status == "closed":
        assert action.closed_at is not None
        raise _reject(
            subject,
            "closed-action-is-final",
            f"cannot {verb} a closed action (closed {local_date(action.closed_at)} as "
            f"{action.resolution}); reopen it first",
            action.status,
        )


def _raise(command: RaiseAction, state: ActionState, context: Context) -> ActionRaised:
    subject = f"action {command.action_id}"
    if state.action is not None:
        raise _reject(
            subject,
            "action-id-unique",
            f"already exists ({state.action.text[:60]!r}); choose another id",
            command.action_id,
        )
    meeting = _meeting(subject, command.meeting, context)
    if command.item is not None and meeting is None:
        raise _reject(
            subject,
            "item-needs-meeting",
            f"agenda item {command.item!r} given without a meeting; name the meeting too",
            command.item,
        )
    for earlier in command.follows:
        if earlier == command.action_id:
            raise _reject(subject, "follows-another-action", "cannot follow itself", earlier)
        if earlier not in context.actions:
            raise _reject(
                subject,
                "follows-must-exist",
                f"follows {earlier!r}, which does not exist",
                earlier,
            )
    reference = meeting.date if meeting is not None else local_date(command.occurred_at)
    return ActionRaised(
        event_id=command.event_id,
        actor=command.actor,
        occurred_at=command.occurred_at,
        action_id=command.action_id,
        text=command.text,
        owners=command.owners,
        meeting=command.meeting,
        item=command.item,
        source=command.source if command.source is not None else ("meeting" if meeting else None),
        due=_due(command.due, reference, context.meetings.values()),
        follows=command.follows,
        restricted=command.restricted,
    )


def _update(command: UpdateAction, action: Action, context: Context) -> ActionUpdated:
    subject = f"action {action.id}"
    _must_be_open(subject, action, "update")
    _not_before_raised(subject, action, command.occurred_at)
    meeting = _meeting(subject, command.meeting, context)
    text = command.text
    if text is not None and text == action.text:
        raise _reject(subject, "change-must-differ", "the new text is the same as the old", text)
    owners = command.owners
    if owners is not None and owners == action.owners:
        raise _reject(
            subject,
            "change-must-differ",
            f"the owners are already {', '.join(map(str, owners))}",
            [str(o) for o in owners],
        )
    due = None
    if command.due is not None:
        reference = meeting.date if meeting is not None else local_date(command.occurred_at)
        due = _due(command.due, reference, context.meetings.values())
        if due.on == action.due_on and due.text == action.due_text:
            raise _reject(
                subject, "change-must-differ", f"the due date is already {due.text or due.on}", due
            )
    changed = text is not None or owners is not None or due is not None
    if changed and command.reason is None:
        raise _reject(
            subject,
            "change-needs-reason",
            "changing the text, owners or due date needs a reason",
            None,
        )
    if not changed and command.reason is not None:
        raise _reject(
            subject,
            "reason-without-change",
            "a reason was given but nothing is changed; put it in the note",
            command.reason,
        )
    return ActionUpdated(
        event_id=command.event_id,
        actor=command.actor,
        occurred_at=command.occurred_at,
        action_id=action.id,
        note=command.note,
        source=command.source,
        meeting=command.meeting,
        text=text,
        owners=owners,
        due=due,
        reason=command.reason,
        restricted=command.restricted,
    )


def _revisit(command: RevisitAction, action: Action, context: Context) -> ActionRevisited:
    subject = f"action {action.id}"
    _must_be_open(subject, action, "revisit")
    _not_before_raised(subject, action, command.occurred_at)
    meeting = _meeting(subject, command.meeting, context)
    assert meeting is not None
    next_revisit = _due(command.next_revisit, meeting.date)
    if next_revisit.on is not None and next_revisit.on <= meeting.date:
        raise _reject(
            subject,
            "next-revisit-after-meeting",
            f"the next revisit ({next_revisit.on}) must fall after this meeting ({meeting.date})",
            next_revisit.on,
        )
    return ActionRevisited(
        event_id=command.event_id,
        actor=command.actor,
        occurred_at=command.occurred_at,
        action_id=action.id,
        meeting=command.meeting,
        outcome=command.outcome,
        item=command.item,
        assured=command.assured,
        next_revisit=next_revisit,
    )


def _close(command: CloseAction, action: Action, context: Context) -> ActionClosed:
    subject = f"action {action.id}"
    if action.status == "closed":
        raise _reject(
            subject,
            "no-double-close",
            f"is already closed ({action.resolution}); it cannot be closed twice",
            action.resolution,
        )
    _not_before_raised(subject, action, command.occurred_at)
    _meeting(subject, command.meeting, context)
    if command.resolution == "superseded":
        if command.superseded_by is None:
            raise _reject(
                subject,
                "superseded-needs-successor",
                "a 'superseded' close must name the action that replaces it (superseded_by)",
                None,
            )
        if command.superseded_by == action.id:
            raise _reject(
                subject,
                "superseded-by-another",
                "cannot be superseded by itself",
                command.superseded_by,
            )
        if command.superseded_by not in context.actions:
            raise _reject(
                subject,
                "superseded-by-must-exist",
                f"the successor {command.superseded_by!r} (superseded by) does not exist; "
                "raise it first",
                command.superseded_by,
            )
    elif command.superseded_by is not None:
        raise _reject(
            subject,
            "successor-only-when-superseded",
            f"superseded by is only for the resolution 'superseded', not {command.resolution!r}",
            command.superseded_by,
        )
    return ActionClosed(
        event_id=command.event_id,
        actor=command.actor,
        occurred_at=command.occurred_at,
        action_id=action.id,
        resolution=command.resolution,
        note=command.note,
        meeting=command.meeting,
        item=command.item,
        superseded_by=command.superseded_by,
    )


def _reopen(command: ReopenAction, action: Action, context: Context) -> ActionReopened:
    subject = f"action {action.id}"
    if action.status != "closed":
        raise _reject(
            subject, "reopen-only-closed", "is open; only a closed action can be reopened"
        )
    _not_before_raised(subject, action, command.occurred_at)
    _meeting(subject, command.meeting, context)
    return ActionReopened(
        event_id=command.event_id,
        actor=command.actor,
        occurred_at=command.occurred_at,
        action_id=action.id,
        reason=command.reason,
        meeting=command.meeting,
    )


def _correct(
    command: CorrectEvent, action: Action, state: ActionState, context: Context
) -> ActionCorrected:
    subject = f"action {action.id}"
    if state.correctable is None:
        raise TypeError("CorrectEvent is decided against a state that tracks its events")
    target = state.correctable.get(command.corrects)
    if target is None:
        raise _reject(
            subject,
            "correction-names-own-event",
            f"event {command.corrects} is not a correctable event of this action "
            "(corrections themselves are corrected by correcting the original again)",
            command.corrects,
        )
    kind, allowed = target
    values = dict(command.fields)
    wrong = sorted(set(values) - allowed)
    if wrong:
        raise _reject(
            subject,
            "field-not-correctable",
            f"a {kind} event has no {', '.join(wrong)} to correct; it can correct "
            f"{', '.join(sorted(allowed))}",
            wrong,
        )
    meeting = _meeting(subject, values.get("meeting"), context)
    moment = values.get("occurred_at")
    if moment is not None and kind != "raised":
        _not_before_raised(subject, action, moment)
    later = state.first_followup
    if moment is not None and kind == "raised" and later is not None and moment > later:
        raise _reject(
            subject,
            "not-before-raised",
            f"the time it happened, {moment.isoformat()}, would put the raise after something that "
            f"happened to the action at {later.isoformat()}",
            moment,
        )
    due = values.get("due")
    if due is not None and not isinstance(due, Due):
        if meeting is None and action.meeting is not None:
            meeting = context.meetings.get(action.meeting)
        reference = meeting.date if meeting is not None else local_date(action.raised_at)
        due = _due(due, reference, context.meetings.values())
    return ActionCorrected(
        event_id=command.event_id,
        actor=command.actor,
        occurred_at=command.occurred_at,
        action_id=action.id,
        corrects=command.corrects,
        corrects_type=kind,
        reason=command.reason,
        corrections=Corrections(
            text=values.get("text"),
            owners=values.get("owners"),
            due=due,
            meeting=values.get("meeting"),
            item=values.get("item"),
            note=values.get("note"),
            outcome=values.get("outcome"),
            assured=values.get("assured"),
            occurred_at=moment,
        ),
    )


# ---------------------------------------------------------------------------------------------
# evolve


def evolve_meeting(state: MeetingState, event: MeetingEvent) -> MeetingState:
    """Apply a meeting event (never fails; a correction before the record only counts)."""
    if isinstance(event, MeetingCorrected):
        if state.meeting is None:
            return attrs.evolve(state, version=state.version + 1)
        changes = {name: getattr(event, name) for name in event.fields()}
        return MeetingState(
            meeting=attrs.evolve(state.meeting, version=state.version + 1, **changes),
            version=state.version + 1,
        )
    return MeetingState(
        meeting=Meeting(
            id=event.meeting_id,
            title=event.title,
            held_at=event.held_at,
            kind=event.kind,
            venue=event.venue,
            chair=event.chair,
            minutes_by=event.minutes_by,
            attendance=event.attendance,
            apologies=event.apologies,
            version=state.version + 1,
            source=event.source,
            source_sha256=event.source_sha256,
        ),
        version=state.version + 1,
    )


def _with(mapping: Mapping[str, str], changes: Mapping[str, str]) -> Mapping[str, str]:
    merged = dict(mapping)
    merged.update(changes)
    return merged


_RAISED_SLOTS = ("text", "owners", "due", "meeting", "item", "raised_at")
_TARGETS: dict[tuple[str, frozenset[str]], tuple[str, frozenset[str]]] = {}


def _target(kind: str, fields: Iterable[str]) -> tuple[str, frozenset[str]]:
    """One shared (kind, fields) value per combination: streams hold references, not copies."""
    key = (kind, frozenset(fields))
    return _TARGETS.setdefault(key, key)


def evolve(state: ActionState, event: ActionEvent) -> ActionState:
    """Apply one action event to the state (never fails; facts are facts)."""
    version = state.version + 1
    if isinstance(event, ActionRaised):
        values: dict[str, Any] = {
            "id": event.action_id,
            "text": event.text,
            "owners": event.owners,
            "status": "open",
            "resolution": None,
            "due_on": event.due.on,
            "due_text": event.due.text,
            "meeting": event.meeting,
            "item": event.item,
            "source": event.source,
            "raised_at": event.occurred_at,
            "closed_at": None,
            "restricted": event.restricted,
            "version": version,
            "follows": event.follows,
        }
        return ActionState(
            values=values,
            version=version,
            set_by=MappingProxyType(dict.fromkeys(_RAISED_SLOTS, event.event_id)),
            correctable=_track(state, event.event_id, "raised", _SLOTS["raised"]),
        )
    if state.values is None:  # an action event before its raise: ignore, keep counting
        return attrs.evolve(state, version=version)
    set_by = state.set_by
    correctable = state.correctable
    changes: dict[str, Any]
    if isinstance(event, ActionUpdated):
        changes = {"last_update": event.note, "last_updated_at": event.occurred_at}
        slots_changed: dict[str, str] = {"last_update": event.event_id}
        fields = ["note", "occurred_at"]
        if event.text is not None:
            changes["text"] = event.text
            slots_changed["text"] = event.event_id
            fields.append("text")
        if event.owners is not None:
            changes["owners"] = event.owners
            slots_changed["owners"] = event.event_id
            fields.append("owners")
        if event.due is not None:
            changes["due_on"] = event.due.on
            changes["due_text"] = event.due.text
            slots_changed["due"] = event.event_id
            fields.append("due")
        set_by = _with(set_by, slots_changed)
        correctable = _track(state, event.event_id, "updated", fields)
    elif isinstance(event, ActionRevisited):
        changes = {
            "last_revisited_at": event.occurred_at,
            "last_revisit_meeting": event.meeting,
            "last_outcome": event.outcome,
            "assured": event.assured,
            "next_revisit_on": event.next_revisit.on,
        }
        set_by = _with(set_by, {"last_revisit": event.event_id})
        correctable = _track(state, event.event_id, "revisited", _SLOTS["revisited"])
    elif isinstance(event, ActionClosed):
        changes = {
            "status": "closed",
            "resolution": event.resolution,
            "closed_at": event.occurred_at,
            "superseded_by": event.superseded_by,
            "closing_note": event.note,
        }
        set_by = _with(set_by, {"closed": event.event_id})
        correctable = _track(state, event.event_id, "closed", _SLOTS["closed"])
    elif isinstance(event, ActionReopened):
        changes = {
            "status": "open",
            "resolution": None,
            "closed_at": None,
            "superseded_by": None,
            "closing_note": None,
        }
        set_by = _with(set_by, {"closed": event.event_id})
        correctable = _track(state, event.event_id, "reopened", _SLOTS["reopened"])
    else:
        changes = _correction_changes(state.values, state.set_by, event)
    # A dict copy, not attrs.evolve: this runs once per event on every replay.
    values = dict(state.values)
    values.update(changes)
    values["version"] = version
    first = state.first_followup
    moment = (
        event.corrections.occurred_at if isinstance(event, ActionCorrected) else event.occurred_at
    )
    if moment is not None and not (
        isinstance(event, ActionCorrected) and event.corrects_type == "raised"
    ):
        first = moment if first is None or moment < first else first
    return ActionState(
        values=values,
        version=version,
        set_by=set_by,
        correctable=correctable,
        first_followup=first,
    )


def _track(
    state: ActionState, event_id: str, kind: str, fields: Iterable[str]
) -> Mapping[str, tuple[str, frozenset[str]]] | None:
    if state.correctable is None:
        return None
    merged = dict(state.correctable)
    merged[event_id] = _target(kind, fields)
    return merged


def _correction_changes(
    values: Mapping[str, Any], set_by: Mapping[str, str], event: ActionCorrected
) -> dict[str, Any]:
    """The corrected values that are still in effect (nothing later replaced them)."""
    fix = event.corrections
    slots = _SLOTS.get(event.corrects_type, {})
    changes: dict[str, Any] = {}
    for name in fix.fields():
        slot = slots.get(name)
        if slot is None or set_by.get(slot) != event.corrects:
            continue
        value = getattr(fix, name)
        if slot == "due":
            changes["due_on"], changes["due_text"] = value.on, value.text
        elif slot == "raised_at":
            changes["raised_at"] = value
        elif slot == "last_update":
            changes["last_update" if name == "note" else "last_updated_at"] = value
        elif slot == "last_revisit":
            key = {
                "outcome": "last_outcome",
                "assured": "assured",
                "occurred_at": "last_revisited_at",
            }.get(name)
            if key is not None:
                changes[key] = value
        elif slot == "closed":
            if values["status"] == "closed":
                changes["closing_note" if name == "note" else "closed_at"] = value
        elif slot in ("text", "owners", "meeting", "item"):
            changes[slot] = value
    return changes


def fold(events: Iterable[ActionEvent], state: ActionState = INITIAL_ACTION) -> ActionState:
    """The state after ``events``, from ``state`` (the initial state by default)."""
    for event in events:
        state = evolve(state, event)
    return state


def fold_meeting(
    events: Iterable[MeetingEvent], state: MeetingState = INITIAL_MEETING
) -> MeetingState:
    """The meeting state after ``events``."""
    for event in events:
        state = evolve_meeting(state, event)
    return state
