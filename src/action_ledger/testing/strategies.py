"""Hypothesis strategies for action_ledger's tests, in one place.

Values are the kind the minutes hold: role codes with optional persons, texts, meetings held
across BST/GMT changes (2018–2026), due words and dates, single events of every type and their
envelopes, and commands drawn from a :class:`RegisterModel`'s state: *valid* ones (one at a time
with :func:`commands`, or whole :func:`histories` that ``decide`` accepts in order), commands
``decide`` turns down (:func:`rejected_commands`) and malformed input to the
:class:`~action_ledger.Ledger`'s keyword methods (:func:`invalid_inputs`), each tagged with the
rule it breaks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Collection, Container, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pendulum
from hypothesis import reject
from hypothesis import strategies as st

from action_ledger import Attendee, Ledger, MemoryEventStore, Owner
from action_ledger._clock import FIRST_YEAR, LAST_YEAR, local_date
from action_ledger._codec import encode, stream_of
from action_ledger._decider import (
    INITIAL_ACTION,
    INITIAL_MEETING,
    ActionState,
    Context,
    MeetingState,
    decide,
    evolve,
    evolve_meeting,
)
from action_ledger._due import Due
from action_ledger._values import MAX_SHORT, MAX_TEXT
from action_ledger.commands import (
    CORRECTABLE,
    UPDATE_SOURCES,
    CloseAction,
    Command,
    CorrectEvent,
    CorrectMeeting,
    RaiseAction,
    RecordMeeting,
    ReopenAction,
    RevisitAction,
    UpdateAction,
)
from action_ledger.events import (
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
)
from action_ledger.exceptions import (
    ActionLedgerError,
    NotFoundError,
    RuleViolationError,
    ValidationError,
)
from action_ledger.store import NewEvent, StoredEvent

__all__ = [
    "CLOCK_CHANGES",
    "CORRECTED_KINDS",
    "DUE_PHRASES",
    "EVENT_STRATEGIES",
    "FIRST_DAY",
    "INVALID_INPUT_RULES",
    "LAST_DAY",
    "LONDON",
    "MEETING_SUFFIXES",
    "MINUTED",
    "PERSONS",
    "REJECTED",
    "REJECTION_RULES",
    "ROLES",
    "SOURCES",
    "TIME_ZONES",
    "UTC",
    "InvalidInput",
    "RegisterModel",
    "Rejected",
    "action_event_sequences",
    "action_events",
    "action_ids",
    "actions_closed",
    "actions_corrected",
    "actions_raised",
    "actions_reopened",
    "actions_revisited",
    "actions_updated",
    "actors",
    "attendees",
    "commands",
    "correction_commands",
    "corrections",
    "dates",
    "due_inputs",
    "due_phrases",
    "dues",
    "envelopes",
    "event_ids",
    "events",
    "histories",
    "in_time_zones",
    "invalid_inputs",
    "items",
    "meeting_due_words",
    "meeting_ids",
    "meeting_times",
    "meetings_corrected",
    "meetings_recorded",
    "moments",
    "owner_lists",
    "owners",
    "rejected_commands",
    "same_day_times",
    "stored_events",
    "texts",
]

LONDON = ZoneInfo("Europe/London")
UTC = pendulum.UTC

ROLES = ("PCC", "DPCC", "CC", "DCC", "ACC", "T/Ch Supt", "Ch Supt", "CEx", "DBS", "PM")
PERSONS = (
    "John Campion",
    "Tracey Onslow",
    "Anthony Bangham",
    "Amanda Blakeman",
    "Pippa Mills",
    "Julian Moss",
    "Mel Crowther",
    "Siân O'Connor",
)
MINUTED = (
    "Headlines from Durham work to be shared with PCC.",
    "T/Ch Supt to find out timeline for homicide review analysis.",
    "Revisit in 6 months to see how SOC activity across the 4P's is balanced.",
    "PCC to revisit LPPT teams to check against original agreement for resource.",
    "The CC to provide the dates of all the partnership meetings to the PCC.",
)
DUE_PHRASES = (
    "Within two weeks",
    "within 2 weeks",
    "Revisit in 6 months",
    "revisit in 12 months",
    "in six months' time",
    "within a fortnight",
    "next month",
    "by the end of March",
    "by 1 June 2018",
    "by 31 December 2026",
    "to the July holding to account",
    "by the next meeting",
    "for the next 12 to 18 months",
    "ASAP",
)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MEETING_SUFFIXES = ("", "-mam", "-htoa", "-thematic", "-2")
SOURCES = ("written request", "email from the CC", "Police and Crime Panel", "FOI request")
TIME_ZONES = ("UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Pacific/Chatham")

FIRST_DAY = dt.datetime(2018, 1, 1)
LAST_DAY = dt.datetime(2026, 12, 31, 23, 59)

# Errors by which ``decide`` turns a command down.
REJECTED = (RuleViolationError, NotFoundError, ValidationError)


def _clock_changes() -> tuple[pendulum.DateTime, ...]:
    """The UTC instants of every BST/GMT change from 2018 to 2026 (01:00 UTC, last Sundays)."""
    changes = []
    for year in range(2018, 2027):
        for month in (3, 10):
            last = dt.date(year, month, 31)
            sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)
            changes.append(pendulum.datetime(year, month, sunday.day, 1, tz=UTC))
    return tuple(changes)


CLOCK_CHANGES = _clock_changes()


# -- small values ----------------------------------------------------------------------------


def texts(*, max_size: int = 80) -> st.SearchStrategy[str]:
    """Non-empty text with no surrounding space (as the commands keep it), often as minuted."""
    free = (
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
            min_size=1,
            max_size=max_size,
        )
        .map(str.strip)
        .filter(bool)
    )
    return st.one_of(st.sampled_from(MINUTED), free)


def owners() -> st.SearchStrategy[Owner]:
    """An owner: a role code as minuted and, sometimes, the person."""
    return st.builds(
        Owner, role=st.sampled_from(ROLES), person=st.none() | st.sampled_from(PERSONS)
    )


def owner_lists() -> st.SearchStrategy[tuple[Owner, ...]]:
    """One to three distinct owners ("PCC / CC")."""
    return st.lists(owners(), min_size=1, max_size=3, unique=True).map(tuple)


def attendees() -> st.SearchStrategy[Attendee]:
    """Someone at a meeting, with a capacity and a role code where known."""
    return st.builds(
        Attendee,
        name=st.sampled_from(PERSONS),
        capacity=st.none() | st.sampled_from(("Chief Constable", "Police and Crime Commissioner")),
        role=st.none() | st.sampled_from(ROLES),
    )


def event_ids() -> st.SearchStrategy[str]:
    """An event id: a UUID as text."""
    return st.uuids().map(str)


def action_ids() -> st.SearchStrategy[str]:
    """An action id: generated style (``ACT-2021-004``) or a caller's own."""
    generated = st.builds("ACT-{}-{:03d}".format, st.integers(2018, 2026), st.integers(1, 999))
    own = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,20}", fullmatch=True)
    return st.one_of(generated, own)


def items() -> st.SearchStrategy[str]:
    """An agenda item number such as ``2.1.1``."""
    return st.from_regex(r"[1-9][0-9]?(\.[1-9]){0,2}", fullmatch=True)


def actors() -> st.SearchStrategy[str]:
    """Who records an event."""
    return st.sampled_from(("Jackie Irvin", "Charity Pearce", "register-bot"))


# -- time ------------------------------------------------------------------------------------


def moments() -> st.SearchStrategy[pendulum.DateTime]:
    """An aware UTC moment in 2018–2026, often within a day and a half of a clock change."""
    anywhere = st.datetimes(min_value=FIRST_DAY, max_value=LAST_DAY, timezones=st.just(dt.UTC)).map(
        lambda d: pendulum.instance(d).in_tz(UTC)
    )
    near_change = st.builds(
        lambda change, seconds: change.add(seconds=seconds),
        st.sampled_from(CLOCK_CHANGES),
        st.integers(-36 * 3600, 36 * 3600),
    )
    return st.one_of(anywhere, near_change)


def meeting_times() -> st.SearchStrategy[pendulum.DateTime]:
    """When a meeting was held: a whole minute, UTC, from London wall time across BST/GMT."""
    return moments().map(lambda m: m.replace(second=0, microsecond=0))


def in_time_zones(moment: pendulum.DateTime) -> st.SearchStrategy[pendulum.DateTime]:
    """The same instant, expressed in some time zone."""
    return st.sampled_from(TIME_ZONES).map(moment.in_tz)


def meeting_ids(held_at: pendulum.DateTime) -> st.SearchStrategy[str]:
    """A valid id for a meeting held at ``held_at``: its London date, maybe with a suffix."""
    day = local_date(held_at).isoformat()
    return st.sampled_from(MEETING_SUFFIXES).map(lambda suffix: day + suffix)


def dates() -> st.SearchStrategy[pendulum.Date]:
    """A calendar date in 2018–2027."""
    return st.dates(dt.date(2018, 1, 1), dt.date(2027, 12, 31)).map(
        lambda d: pendulum.date(d.year, d.month, d.day)
    )


def meeting_due_words() -> st.SearchStrategy[str]:
    """Due words that name a meeting ("at the next meeting", "to the July holding to
    account"), of the kinds :func:`meetings_recorded` draws, so some fit a later meeting."""
    kind = st.sampled_from(("", "holding to account ", "Performance ", "assurance "))
    at = st.sampled_from(("", "at ", "to ", "by ", "report back at "))
    month = st.sampled_from(_MONTHS)
    nxt = st.builds("{}the next {}meeting".format, at, kind)
    named = st.builds(
        "{}the {} {}".format, at, month, st.sampled_from(("meeting", "holding to account"))
    )
    return st.one_of(st.just("next meeting"), nxt, named)


def due_phrases() -> st.SearchStrategy[str]:
    """Due words as minuted, some resolving to a date, some naming a meeting, some neither."""
    within = st.builds("within {} weeks".format, st.integers(1, 52))
    revisit = st.builds("Revisit in {} months".format, st.integers(1, 24))
    by_date = dates().map(lambda d: f"by {d.day} {_MONTHS[d.month - 1]} {d.year}")
    return st.one_of(st.sampled_from(DUE_PHRASES), within, revisit, by_date, meeting_due_words())


def due_inputs() -> st.SearchStrategy[str | dt.date | None]:
    """What a caller gives as due: nothing, a date, an ISO date string, or words."""
    return st.one_of(st.none(), dates(), dates().map(lambda d: d.isoformat()), due_phrases())


def dues() -> st.SearchStrategy[Due]:
    """A resolved due: a date, words, both, or neither."""
    return st.builds(Due, on=st.none() | dates(), text=st.none() | due_phrases())


# -- single events ---------------------------------------------------------------------------


@st.composite
def meetings_recorded(draw: st.DrawFn) -> MeetingRecorded:
    """A ``MeetingRecorded`` with valid values (its id is its London date)."""
    held_at = draw(meeting_times())
    return MeetingRecorded(
        event_id=draw(event_ids()),
        actor=draw(actors()),
        occurred_at=held_at,
        meeting_id=draw(meeting_ids(held_at)),
        title=draw(texts(max_size=60)),
        held_at=held_at,
        kind=draw(st.none() | st.sampled_from(("Holding to account", "Performance"))),
        venue=draw(st.none() | st.sampled_from(("Willison Room", "Meeting Room 1.38"))),
        chair=draw(st.none() | st.sampled_from(PERSONS)),
        minutes_by=draw(st.none() | st.sampled_from(PERSONS)),
        attendance=tuple(draw(st.lists(attendees(), max_size=3))),
        apologies=tuple(draw(st.lists(attendees(), max_size=2))),
        source=draw(st.none() | st.just("notes-2021-10-04.docx")),
        source_sha256=draw(st.none() | st.text("0123456789abcdef", min_size=64, max_size=64)),
    )


def same_day_times(held_at: pendulum.DateTime) -> st.SearchStrategy[pendulum.DateTime]:
    """Another whole-minute time (UTC) on ``held_at``'s London date, between 08:00 and 19:59:
    what a meeting's corrected ``held_at`` may be (its id is its date)."""
    local = held_at.in_tz("Europe/London")
    return st.tuples(st.integers(8, 19), st.integers(0, 59)).map(
        lambda hm: local.set(hour=hm[0], minute=hm[1], second=0, microsecond=0).in_tz(UTC)
    )


@st.composite
def meetings_corrected(draw: st.DrawFn) -> MeetingCorrected:
    """A ``MeetingCorrected`` with valid values, setting at least one field."""
    held_at = draw(meeting_times())
    values: dict[str, st.SearchStrategy[Any]] = {
        "title": texts(max_size=60),
        "held_at": same_day_times(held_at),
        "kind": st.sampled_from(("Holding to account", "Performance", "Thematic")),
        "venue": st.sampled_from(("Willison Room", "Meeting Room 1.38", "Hindlip Hall")),
        "chair": st.sampled_from(PERSONS),
        "minutes_by": st.sampled_from(PERSONS),
        "attendance": st.lists(attendees(), max_size=3).map(tuple),
        "apologies": st.lists(attendees(), max_size=2).map(tuple),
    }
    names = draw(st.sets(st.sampled_from(sorted(values)), min_size=1, max_size=3))
    return MeetingCorrected(
        event_id=draw(event_ids()),
        actor=draw(actors()),
        occurred_at=draw(moments()),
        meeting_id=draw(meeting_ids(held_at)),
        reason=draw(texts()),
        **{name: draw(values[name]) for name in names},
    )


def _action_event(cls: type[Any], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(
        cls,
        event_id=event_ids(),
        actor=actors(),
        occurred_at=moments(),
        action_id=action_ids(),
        **fields,
    )


def _meeting_id() -> st.SearchStrategy[str]:
    return meeting_times().flatmap(meeting_ids)


def actions_raised() -> st.SearchStrategy[ActionRaised]:
    """An ``ActionRaised`` with valid values."""
    return _action_event(
        ActionRaised,
        text=texts(),
        owners=owner_lists(),
        meeting=st.none() | _meeting_id(),
        item=st.none() | items(),
        source=st.none() | st.sampled_from(("meeting", *SOURCES)),
        due=dues(),
        follows=st.lists(action_ids(), max_size=2, unique=True).map(tuple),
        restricted=st.booleans(),
    )


def actions_updated() -> st.SearchStrategy[ActionUpdated]:
    """An ``ActionUpdated`` with valid values (some change fields, with a reason)."""
    return _action_event(
        ActionUpdated,
        note=texts(),
        source=st.sampled_from(UPDATE_SOURCES),
        meeting=st.none() | _meeting_id(),
        text=st.none() | texts(),
        owners=st.none() | owner_lists(),
        due=st.none() | dues(),
        reason=st.none() | texts(),
        restricted=st.booleans(),
    )


def actions_revisited() -> st.SearchStrategy[ActionRevisited]:
    """An ``ActionRevisited`` with valid values."""
    return _action_event(
        ActionRevisited,
        meeting=_meeting_id(),
        outcome=texts(),
        item=st.none() | items(),
        assured=st.none() | st.booleans(),
        next_revisit=dues(),
    )


def actions_closed() -> st.SearchStrategy[ActionClosed]:
    """An ``ActionClosed`` with valid values (``superseded_by`` only when superseded)."""
    plain = _action_event(
        ActionClosed,
        resolution=st.sampled_from(("completed", "withdrawn")),
        note=texts(),
        meeting=st.none() | _meeting_id(),
        item=st.none() | items(),
    )
    superseded = _action_event(
        ActionClosed,
        resolution=st.just("superseded"),
        note=texts(),
        meeting=st.none() | _meeting_id(),
        item=st.none() | items(),
        superseded_by=action_ids(),
    )
    return st.one_of(plain, superseded)


def actions_reopened() -> st.SearchStrategy[ActionReopened]:
    """An ``ActionReopened`` with valid values."""
    return _action_event(ActionReopened, reason=texts(), meeting=st.none() | _meeting_id())


_CORRECTION_VALUES: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
    "text": texts,
    "owners": owner_lists,
    "due": dues,
    "meeting": _meeting_id,
    "item": items,
    "note": texts,
    "outcome": texts,
    "assured": st.booleans,
    "occurred_at": moments,
}


@st.composite
def corrections(draw: st.DrawFn) -> Corrections:
    """Corrected values for at least one field."""
    names = draw(st.sets(st.sampled_from(sorted(_CORRECTION_VALUES)), min_size=1))
    return Corrections(**{name: draw(_CORRECTION_VALUES[name]()) for name in names})


CORRECTED_KINDS = ("raised", "updated", "revisited", "closed", "reopened")


def actions_corrected() -> st.SearchStrategy[ActionCorrected]:
    """An ``ActionCorrected`` with valid values."""
    return _action_event(
        ActionCorrected,
        corrects=event_ids(),
        corrects_type=st.sampled_from(CORRECTED_KINDS),
        reason=texts(),
        corrections=corrections(),
    )


EVENT_STRATEGIES: dict[type[Any], Callable[[], st.SearchStrategy[Any]]] = {
    MeetingRecorded: meetings_recorded,
    MeetingCorrected: meetings_corrected,
    ActionRaised: actions_raised,
    ActionUpdated: actions_updated,
    ActionRevisited: actions_revisited,
    ActionClosed: actions_closed,
    ActionReopened: actions_reopened,
    ActionCorrected: actions_corrected,
}


def events() -> st.SearchStrategy[Event]:
    """A single event of any type, with valid values."""
    return st.one_of([strategy() for strategy in EVENT_STRATEGIES.values()])


def action_events() -> st.SearchStrategy[ActionEvent]:
    """A single action event of any type."""
    meeting_events = (MeetingRecorded, MeetingCorrected)
    return st.one_of([s() for cls, s in EVENT_STRATEGIES.items() if cls not in meeting_events])


@st.composite
def action_event_sequences(draw: st.DrawFn) -> list[ActionEvent]:
    """Events of one action in any order (not necessarily one ``decide`` would produce):
    raises anywhere or nowhere, closes twice, and corrections naming events of the list
    (with any kind, right or wrong)."""
    drawn = draw(st.lists(action_events(), max_size=12))
    action_id = draw(action_ids())
    ids = [e.event_id for e in drawn]
    sequence: list[ActionEvent] = []
    for event in drawn:
        event = attrs.evolve(event, action_id=action_id)
        if isinstance(event, ActionCorrected) and ids:
            event = attrs.evolve(event, corrects=draw(st.sampled_from(ids)))
        sequence.append(event)
    return sequence


def envelopes() -> st.SearchStrategy[NewEvent]:
    """An envelope as a store receives it: a single valid event, encoded (canonical JSON data,
    the provenance outside it)."""
    return events().map(encode)


@st.composite
def stored_events(draw: st.DrawFn) -> StoredEvent:
    """A single valid event as a store holds it, first in its log: appended to the reference
    store (in memory) at some moment, it is at position 1, version 1 of the event's own stream,
    chained to the genesis hash."""
    event = draw(events())
    recorded_at = draw(moments())
    store = MemoryEventStore(clock=lambda: recorded_at)
    store.append(stream_of(event), [encode(event)], 0)
    (stored,) = store.read_all()
    return stored


# -- the model, and valid commands -----------------------------------------------------------


@attrs.define
class RegisterModel:
    """The pure model of a register: every stream's state, built by ``decide`` and ``evolve``."""

    actions: dict[str, ActionState] = attrs.Factory(dict)
    meetings: dict[str, MeetingState] = attrs.Factory(dict)
    events: list[Event] = attrs.Factory(list)

    def context(self) -> Context:
        """Every recorded meeting and raised action, as the shell would load them."""
        return Context(
            meetings={k: s.meeting for k, s in self.meetings.items() if s.meeting is not None},
            actions={k: s.action for k, s in self.actions.items() if s.action is not None},
        )

    def decide(self, command: Command) -> tuple[Event, ...]:
        """The events ``apply(command)`` would record in the current state, without changing
        the model: the command's own stream and the context go to ``decide``, which raises
        ``RuleViolationError``, ``NotFoundError`` or ``ValidationError`` when it turns the
        command down."""
        if isinstance(command, RecordMeeting | CorrectMeeting):
            meeting_state = self.meetings.get(command.meeting_id, INITIAL_MEETING)
            return decide(command, meeting_state, self.context())
        return decide(command, self.actions.get(command.action_id, INITIAL_ACTION), self.context())

    def apply(self, command: Command) -> tuple[Event, ...]:
        """Decide ``command`` and evolve the state; raise as ``decide`` does (nothing changes)."""
        new = self.decide(command)
        if isinstance(command, RecordMeeting | CorrectMeeting):
            meeting_state = self.meetings.get(command.meeting_id, INITIAL_MEETING)
            for event in new:
                if isinstance(event, MeetingEvent):
                    meeting_state = evolve_meeting(meeting_state, event)
                else:  # a due date set by the meeting being recorded
                    self.actions[event.action_id] = evolve(self.actions[event.action_id], event)
            self.meetings[command.meeting_id] = meeting_state
        else:
            state = self.actions.get(command.action_id, INITIAL_ACTION)
            for event in new:
                assert not isinstance(event, MeetingEvent)
                state = evolve(state, event)
            self.actions[command.action_id] = state
        self.events.extend(new)
        return new

    @classmethod
    def replay(cls, commands: Sequence[Command]) -> RegisterModel:
        """The model after applying ``commands`` in order (they must all be accepted)."""
        register = cls()
        for command in commands:
            register.apply(command)
        return register

    def events_of(self, action_id: str) -> list[ActionEvent]:
        """The events of one action's stream, in order."""
        return [
            e for e in self.events if not isinstance(e, MeetingEvent) and e.action_id == action_id
        ]


# A command for the model's state, given (draw, model, event id, actor).
_Make = Callable[[st.DrawFn, RegisterModel, str, str], Command]
# A command about one action, given (draw, model, the action's state, event id, actor).
_Maker = Callable[[st.DrawFn, RegisterModel, ActionState, str, str], Command]

# How many candidates a strategy draws before it gives the example up.
_TRIES = 25


def _fresh_event_id(draw: st.DrawFn, model: RegisterModel) -> str:
    """A UUID no event of the model has: drawn, then stepped past any taken one (Hypothesis
    shrinks UUIDs towards the same value, so two draws are often equal)."""
    taken = {e.event_id for e in model.events}
    number = draw(st.uuids()).int
    while str(uuid.UUID(int=number)) in taken:
        number = (number + 1) % 2**128
    return str(uuid.UUID(int=number))


def _unused(candidate: str, taken: Container[str]) -> str:
    """``candidate``, or it with the first suffix ``-2``, ``-3``… that makes it unused (a
    meeting or action id stays valid)."""
    found, number = candidate, 2
    while found in taken:
        found, number = f"{candidate}-{number}", number + 1
    return found


def _none_or_one_of(values: Collection[str]) -> st.SearchStrategy[str | None]:
    """``None`` or one of ``values`` (only ``None`` when there are none)."""
    return (st.none() | st.sampled_from(sorted(values))) if values else st.none()


def _later(draw: st.DrawFn, start: pendulum.DateTime) -> pendulum.DateTime:
    """A moment at or after ``start`` (up to about two years on)."""
    return start.add(minutes=draw(st.integers(0, 2 * 365 * 24 * 60)))


def _accepted(draw: st.DrawFn, model: RegisterModel, make: _Make, actor: str) -> Command | None:
    """A command from ``make`` with a fresh event id, if ``decide`` accepts it (else None)."""
    try:
        command = make(draw, model, _fresh_event_id(draw, model), actor)
        model.decide(command)
    except REJECTED:
        return None
    return command


def _record(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> RecordMeeting:
    held = draw(meeting_times())
    return RecordMeeting(
        event_id=event_id,
        actor=actor,
        occurred_at=held,
        meeting_id=_unused(draw(meeting_ids(held)), model.meetings),
        title=draw(texts(max_size=40)),
        held_at=held,
        kind=draw(st.none() | st.just("Holding to account")),
        attendance=tuple(draw(st.lists(attendees(), max_size=2))),
    )


def _correct_meeting(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> CorrectMeeting:
    """A correction of a recorded meeting: new values for one to three of its fields (maybe
    some the same as recorded, never all)."""
    meeting_id = draw(st.sampled_from(sorted(model.meetings)))
    meeting = model.meetings[meeting_id].meeting
    assert meeting is not None
    values: dict[str, st.SearchStrategy[Any]] = {
        "title": texts(max_size=40),
        "held_at": same_day_times(meeting.held_at),
        "kind": st.sampled_from(("Holding to account", "Performance", "Thematic")),
        "venue": st.sampled_from(("Willison Room", "Meeting Room 1.38")),
        "chair": st.sampled_from(PERSONS),
        "minutes_by": st.sampled_from(PERSONS),
        "attendance": st.lists(attendees(), max_size=2).map(tuple),
        "apologies": st.lists(attendees(), max_size=2).map(tuple),
    }
    names = draw(st.sets(st.sampled_from(sorted(values)), min_size=1, max_size=3))
    return CorrectMeeting(
        event_id=event_id,
        actor=actor,
        occurred_at=_later(draw, meeting.held_at),
        meeting_id=meeting_id,
        reason=draw(texts()),
        **{name: draw(values[name]) for name in names},
    )


def _raise(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> RaiseAction:
    meeting_id = draw(_none_or_one_of(model.meetings))
    if meeting_id is not None:
        found = model.meetings[meeting_id].meeting
        assert found is not None
        when = found.held_at
    else:
        when = draw(moments())
    raised_ids = sorted(model.actions)
    number = len(model.actions) + 1
    while f"A-{number:03d}" in model.actions:
        number += 1
    return RaiseAction(
        event_id=event_id,
        actor=actor,
        occurred_at=when,
        action_id=f"A-{number:03d}",
        text=draw(texts()),
        owners=draw(owner_lists()),
        meeting=meeting_id,
        item=draw(st.none() | items()) if meeting_id else None,
        source=None if meeting_id else draw(st.sampled_from(SOURCES)),
        due=draw(due_inputs()),
        follows=tuple(
            draw(st.lists(st.sampled_from(raised_ids), max_size=2, unique=True))
            if raised_ids
            else ()
        ),
        restricted=draw(st.booleans()),
    )


def _pick(draw: st.DrawFn, model: RegisterModel, status: str | None = None) -> ActionState:
    """The state of one of the model's actions (with that status, if given)."""
    ids = sorted(k for k, s in model.actions.items() if status in (None, _status(s)))
    return model.actions[draw(st.sampled_from(ids))]


def _status(state: ActionState) -> str | None:
    return None if state.action is None else state.action.status


def _with_revisit(model: RegisterModel, *kinds: str) -> tuple[str, ...]:
    """``kinds``, and ``"revisit"`` when there is a meeting to revisit at."""
    return (*kinds, "revisit") if model.meetings else kinds


def _step(
    draw: st.DrawFn,
    model: RegisterModel,
    event_id: str,
    actor: str,
    *,
    correct_occurred_at: bool = True,
) -> Command:
    """An update, revisit, close, reopen or correction of an action, mostly one its status
    allows (sometimes one it does not)."""
    state = _pick(draw, model)
    closed = _status(state) == "closed"
    kinds = ("reopen", "reopen", "correct") if closed else ("update", "revisit", "close")
    choices = [
        k for k in (*kinds, "close", "correct", "update") if k != "revisit" or model.meetings
    ]
    kind = draw(st.sampled_from(choices))
    make = _STEP_MAKERS[kind]
    if kind == "correct" and not correct_occurred_at:
        make = _correct_except_occurred_at
    return make(draw, model, state, event_id, actor)


def _step_except_occurred_at(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    return _step(draw, model, event_id, actor, correct_occurred_at=False)


@st.composite
def commands(draw: st.DrawFn, model: RegisterModel) -> Command:
    """One command that ``decide`` accepts in the model's current state, so that
    ``model.apply(command)`` succeeds: recording a new meeting (its id its London date, maybe
    with a suffix, never one recorded), raising the next action (``A-001``, ``A-002``… at a
    recorded meeting or from another source, maybe following earlier actions) or, once there
    are actions, updating, revisiting, closing, reopening or correcting one; or correcting a
    recorded meeting. Its event id is
    new to the model. Candidates are drawn until ``decide`` accepts one; when a bounded number
    of them are all refused, the example is rejected (never a refused command).
    """
    makers: tuple[_Make, ...] = (_record, _raise)
    if model.meetings:
        makers += (_correct_meeting,)
    if model.actions:
        makers += (_step, _step, _step)
    return _draw_accepted(draw, model, makers)


@st.composite
def correction_commands(draw: st.DrawFn, model: RegisterModel) -> Command:
    """One correction ``decide`` accepts in the model's current state: of an event of one of
    its actions, with new values for fields that event has. Corrections are where the two
    time axes and the audit trail meet, so a test may want more of them than
    :func:`commands` draws. The example is rejected when the model has no action."""
    if not model.actions:
        reject()
    return _draw_accepted(draw, model, (_correction,))


def _correction(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    return _correct(draw, model, _pick(draw, model), event_id, actor)


def _draw_accepted(draw: st.DrawFn, model: RegisterModel, makers: Sequence[_Make]) -> Command:
    """The first candidate of the ``makers`` (drawn among them) that ``decide`` accepts; the
    example is rejected when a bounded number of candidates are all refused."""
    actor = draw(actors())
    for _ in range(_TRIES):
        command = _accepted(draw, model, draw(st.sampled_from(makers)), actor)
        if command is not None:
            return command
    reject()


@st.composite
def histories(
    draw: st.DrawFn,
    *,
    max_meetings: int = 3,
    max_actions: int = 4,
    max_steps: int = 12,
    correct_occurred_at: bool = True,
) -> list[Command]:
    """Commands that ``decide`` accepts in order: 1–3 meetings, 1–4 actions raised, then a mix
    of updates, revisits, closes, reopens and corrections that respects the rules. Actions
    and updates are restricted about half the time.

    Candidates are drawn from the current state (as :func:`commands` draws them) and kept only
    when ``decide`` accepts them. Event ids are unique UUIDs; every command carries its
    ``occurred_at``. With ``correct_occurred_at=False`` no correction of an action sets
    ``occurred_at``. About one step in six corrects a recorded meeting instead.
    """
    register = RegisterModel()
    accepted: list[Command] = []
    actor = draw(actors())

    def attempt(make: _Make) -> None:
        command = _accepted(draw, register, make, actor)
        if command is not None:
            register.apply(command)
            accepted.append(command)

    for _ in range(draw(st.integers(1, max_meetings))):
        attempt(_record)
    for _ in range(draw(st.integers(1, max_actions))):
        attempt(_raise)
    if not register.actions:  # pragma: no cover - the first raise is always accepted
        return accepted
    step = _step if correct_occurred_at else _step_except_occurred_at
    for _ in range(draw(st.integers(0, max_steps))):
        attempt(draw(st.sampled_from((step, step, step, step, step, _correct_meeting))))
    return accepted


def _update(
    draw: st.DrawFn, register: RegisterModel, state: ActionState, event_id: str, actor: str
) -> UpdateAction:
    action = state.action
    assert action is not None
    changes = draw(st.sets(st.sampled_from(("text", "owners", "due")), max_size=2))
    meeting = draw(_none_or_one_of(register.meetings))
    return UpdateAction(
        event_id=event_id,
        actor=actor,
        occurred_at=_later(draw, action.raised_at),
        action_id=action.id,
        note=draw(texts()),
        source=draw(st.sampled_from(UPDATE_SOURCES)),
        meeting=meeting,
        text=draw(texts()) if "text" in changes else None,
        owners=draw(owner_lists()) if "owners" in changes else None,
        due=draw(due_phrases() | dates()) if "due" in changes else None,
        reason=draw(texts()) if changes else None,
        restricted=draw(st.booleans()),
    )


def _revisit(
    draw: st.DrawFn, register: RegisterModel, state: ActionState, event_id: str, actor: str
) -> RevisitAction:
    action = state.action
    assert action is not None
    meeting_id = draw(st.sampled_from(sorted(register.meetings)))
    meeting = register.meetings[meeting_id].meeting
    assert meeting is not None
    return RevisitAction(
        event_id=event_id,
        actor=actor,
        occurred_at=max(meeting.held_at, action.raised_at),
        action_id=action.id,
        meeting=meeting_id,
        outcome=draw(texts()),
        item=draw(st.none() | items()),
        assured=draw(st.none() | st.booleans()),
        next_revisit=draw(st.none() | due_phrases()),
    )


def _close(
    draw: st.DrawFn, register: RegisterModel, state: ActionState, event_id: str, actor: str
) -> CloseAction:
    action = state.action
    assert action is not None
    resolution = draw(st.sampled_from(("completed", "superseded", "withdrawn")))
    others = sorted(set(register.actions) - {action.id})
    successor = draw(st.sampled_from(others)) if resolution == "superseded" and others else None
    meeting = draw(_none_or_one_of(register.meetings))
    return CloseAction(
        event_id=event_id,
        actor=actor,
        occurred_at=_later(draw, action.raised_at),
        action_id=action.id,
        resolution=resolution,
        note=draw(texts()),
        meeting=meeting,
        item=draw(st.none() | items()) if meeting else None,
        superseded_by=successor,
    )


def _reopen(
    draw: st.DrawFn, register: RegisterModel, state: ActionState, event_id: str, actor: str
) -> ReopenAction:
    action = state.action
    assert action is not None
    return ReopenAction(
        event_id=event_id,
        actor=actor,
        occurred_at=_later(draw, action.raised_at),
        action_id=action.id,
        reason=draw(texts()),
        meeting=draw(_none_or_one_of(register.meetings)),
    )


def _correct(
    draw: st.DrawFn,
    register: RegisterModel,
    state: ActionState,
    event_id: str,
    actor: str,
    *,
    exclude: frozenset[str] = frozenset(),
) -> CorrectEvent:
    action = state.action
    assert action is not None
    correctable = state.correctable
    assert correctable is not None  # the model starts from INITIAL_ACTION, which tracks them
    if not register.meetings:  # no meeting to correct one to
        exclude = exclude | {"meeting"}
    targets = sorted(t for t, (_, fields) in correctable.items() if fields - exclude)
    target = draw(st.sampled_from(targets))
    kind, allowed = correctable[target]
    allowed = allowed - exclude
    names = draw(st.sets(st.sampled_from(sorted(allowed)), min_size=1, max_size=3))
    values: dict[str, Any] = {}
    for name in sorted(names):
        if name == "occurred_at":
            start = action.raised_at.subtract(days=3) if kind == "raised" else action.raised_at
            values[name] = _later(draw, start)
        elif name == "meeting":
            values[name] = draw(st.sampled_from(sorted(register.meetings)))
        elif name == "due":
            values[name] = draw(due_phrases() | dates())
        else:
            values[name] = draw(_CORRECTION_VALUES[name]())
    return CorrectEvent(
        event_id=event_id,
        actor=actor,
        occurred_at=_later(draw, action.raised_at),
        action_id=action.id,
        corrects=target,
        reason=draw(texts()),
        fields=values,
    )


def _correct_except_occurred_at(
    draw: st.DrawFn, register: RegisterModel, state: ActionState, event_id: str, actor: str
) -> CorrectEvent:
    return _correct(draw, register, state, event_id, actor, exclude=frozenset({"occurred_at"}))


_STEP_MAKERS: dict[str, _Maker] = {
    "update": _update,
    "revisit": _revisit,
    "close": _close,
    "reopen": _reopen,
    "correct": _correct,
}


# -- commands decide turns down --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Rejected:
    """A well-formed command that ``decide`` turns down in the model's state it was drawn for,
    tagged with why: ``error`` is the exact type it raises and ``rule`` the
    ``RuleViolationError.rule`` it breaks, or for the other errors a tag of the same kind:
    ``"action-exists"`` (``NotFoundError``: the command names an action never raised),
    ``"meeting-exists"`` (``NotFoundError``: a correction of a meeting never recorded) and
    ``"due-within-calendar"`` (``ValidationError``: due words that resolve past
    the register's last year, 2199). :data:`REJECTION_RULES` lists every tag.
    """

    rule: str
    error: type[ActionLedgerError]
    command: Command


def _raised_event_id(state: ActionState) -> str:
    """The id of the action's raise, which a correction can name."""
    assert state.correctable is not None
    return next(t for t, (kind, _) in state.correctable.items() if kind == "raised")


def _record_twice(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    recorded = draw(st.sampled_from(sorted(model.meetings)))
    return attrs.evolve(_record(draw, model, event_id, actor), meeting_id=recorded)


def _correct_meeting_to_same(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    command = _correct_meeting(draw, model, event_id, actor)
    meeting = model.meetings[command.meeting_id].meeting
    assert meeting is not None
    # The recorded values of the fields drawn (of those the record has), else its title.
    same = {
        name: getattr(meeting, name)
        for name in _fields_set(command)
        if getattr(meeting, name) is not None
    } or {"title": meeting.title}
    return attrs.evolve(command, **{name: same.get(name) for name in MEETING_CORRECTABLE})


def _fields_set(command: CorrectMeeting) -> list[str]:
    """The meeting fields a ``CorrectMeeting`` sets (its values may equal the record's)."""
    return [name for name in MEETING_CORRECTABLE if getattr(command, name) is not None]


def _correct_unknown_meeting(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    held = draw(meeting_times())
    return CorrectMeeting(
        event_id=event_id,
        actor=actor,
        occurred_at=held,
        meeting_id=_unused(draw(meeting_ids(held)), model.meetings),
        reason=draw(texts()),
        venue=draw(st.sampled_from(("Willison Room", "Meeting Room 1.38"))),
    )


def _correct_meeting_date(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    command = _correct_meeting(draw, model, event_id, actor)
    meeting = model.meetings[command.meeting_id].meeting
    assert meeting is not None
    days = draw(st.integers(1, 400)) * draw(st.sampled_from((1, -1)))
    return attrs.evolve(command, held_at=meeting.held_at.add(days=days))


def _record_misdated(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    command = _record(draw, model, event_id, actor)
    days = draw(st.integers(1, 400)) * draw(st.sampled_from((1, -1)))
    day = local_date(command.held_at).add(days=days).isoformat()
    meeting_id = day + draw(st.sampled_from(MEETING_SUFFIXES))
    return attrs.evolve(command, meeting_id=_unused(meeting_id, model.meetings))


def _at_unknown_meeting(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    unknown = _unused(draw(_meeting_id()), model.meetings)
    kinds = ["raise"]
    if _has_open(model):
        kinds += _with_revisit(model, "update", "close")
    if _has_closed(model):
        kinds.append("reopen")
    if model.actions:
        kinds.append("correct")
    kind = draw(st.sampled_from(kinds))
    if kind == "raise":
        return attrs.evolve(_raise(draw, model, event_id, actor), meeting=unknown)
    if kind == "correct":
        state = _pick(draw, model)
        correction = _correct(draw, model, state, event_id, actor)
        return attrs.evolve(
            correction, corrects=_raised_event_id(state), fields={"meeting": unknown}
        )
    state = _pick(draw, model, "closed" if kind == "reopen" else "open")
    command = _STEP_MAKERS[kind](draw, model, state, event_id, actor)
    assert isinstance(command, UpdateAction | RevisitAction | CloseAction | ReopenAction)
    return attrs.evolve(command, meeting=unknown)


def _before_raised(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    state = _pick(draw, model)
    action = state.action
    assert action is not None
    assert state.correctable is not None
    earlier = action.raised_at.subtract(minutes=draw(st.integers(1, 2 * 365 * 24 * 60)))
    later_events = sorted(t for t, (kind, _) in state.correctable.items() if kind != "raised")
    ways = ["command"]
    if later_events:
        ways.append("correct a later event")
    if state.first_followup is not None:
        ways.append("correct the raise")
    way = draw(st.sampled_from(ways))
    if way == "command":
        kinds = (
            ("reopen",) if action.status == "closed" else _with_revisit(model, "update", "close")
        )
        make = _STEP_MAKERS[draw(st.sampled_from(kinds))]
        return attrs.evolve(make(draw, model, state, event_id, actor), occurred_at=earlier)
    command = _correct(draw, model, state, event_id, actor)
    if way == "correct a later event":
        target = draw(st.sampled_from(later_events))
        return attrs.evolve(command, corrects=target, fields={"occurred_at": earlier})
    assert state.first_followup is not None
    after = state.first_followup.add(minutes=draw(st.integers(1, 2 * 365 * 24 * 60)))
    return attrs.evolve(command, corrects=_raised_event_id(state), fields={"occurred_at": after})


def _change_closed(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    make = _STEP_MAKERS[draw(st.sampled_from(_with_revisit(model, "update")))]
    return make(draw, model, _pick(draw, model, "closed"), event_id, actor)


def _raise_existing(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    existing = draw(st.sampled_from(sorted(model.actions)))
    return attrs.evolve(_raise(draw, model, event_id, actor), action_id=existing)


def _raise_item_alone(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    return attrs.evolve(_raise(draw, model, event_id, actor), meeting=None, item=draw(items()))


def _raise_following_itself(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    command = _raise(draw, model, event_id, actor)
    return attrs.evolve(command, follows=(*command.follows, command.action_id))


def _raise_following_unknown(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    command = _raise(draw, model, event_id, actor)
    unknown = _unused(draw(action_ids()), {*model.actions, command.action_id})
    return attrs.evolve(command, follows=(*command.follows, unknown))


def _raise_beyond_calendar(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    """Raised late in the years the register accepts, due "within 999 years": past 2199."""
    when = pendulum.datetime(draw(st.integers(2100, 2199)), draw(st.integers(1, 12)), 1, tz=UTC)
    return attrs.evolve(
        _raise(draw, model, event_id, actor),
        occurred_at=when,
        meeting=None,
        item=None,
        source=draw(st.sampled_from(SOURCES)),
        due=draw(st.sampled_from(("within 999 years", "in 999 years' time", "in 999 years"))),
    )


def _update_open(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> UpdateAction:
    return _update(draw, model, _pick(draw, model, "open"), event_id, actor)


def _update_to_same(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    command = _update_open(draw, model, event_id, actor)
    action = model.actions[command.action_id].action
    assert action is not None
    same = {
        "text": action.text,
        "owners": action.owners,
        "due": Due(on=action.due_on, text=action.due_text),
    }
    which = draw(st.sampled_from(sorted(same)))
    changes: dict[str, Any] = {"text": None, "owners": None, "due": None, "reason": draw(texts())}
    changes[which] = same[which]
    return attrs.evolve(command, **changes)


def _update_without_reason(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    command = _update_open(draw, model, event_id, actor)
    changes: dict[str, Any] = {"text": None, "owners": None, "due": None, "reason": None}
    new: dict[str, st.SearchStrategy[Any]] = {
        "text": texts(),
        "owners": owner_lists(),
        "due": due_phrases() | dates(),
    }
    which = draw(st.sampled_from(sorted(new)))
    changes[which] = draw(new[which])
    return attrs.evolve(command, **changes)


def _update_reason_alone(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    command = _update_open(draw, model, event_id, actor)
    return attrs.evolve(command, text=None, owners=None, due=None, reason=draw(texts()))


def _revisit_too_soon(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    command = _revisit(draw, model, _pick(draw, model, "open"), event_id, actor)
    meeting = model.meetings[command.meeting].meeting
    assert meeting is not None
    return attrs.evolve(command, next_revisit=meeting.date.subtract(days=draw(st.integers(0, 400))))


def _close_open(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> CloseAction:
    return _close(draw, model, _pick(draw, model, "open"), event_id, actor)


def _close_closed(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    return _close(draw, model, _pick(draw, model, "closed"), event_id, actor)


def _superseded_by_nothing(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    command = _close_open(draw, model, event_id, actor)
    return attrs.evolve(command, resolution="superseded", superseded_by=None)


def _superseded_by_itself(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    command = _close_open(draw, model, event_id, actor)
    return attrs.evolve(command, resolution="superseded", superseded_by=command.action_id)


def _superseded_by_unknown(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    command = _close_open(draw, model, event_id, actor)
    unknown = _unused(draw(action_ids()), model.actions)
    return attrs.evolve(command, resolution="superseded", superseded_by=unknown)


def _needless_successor(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    command = _close_open(draw, model, event_id, actor)
    return attrs.evolve(
        command,
        resolution=draw(st.sampled_from(("completed", "withdrawn"))),
        superseded_by=draw(st.sampled_from(sorted(model.actions)) | action_ids()),
    )


def _reopen_open(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    return _reopen(draw, model, _pick(draw, model, "open"), event_id, actor)


def _correct_foreign_event(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    """A correction naming an event that is no correctable event of its action: a meeting's,
    another action's, one of its own corrections, or none at all."""
    state = _pick(draw, model)
    assert state.correctable is not None
    command = _correct(draw, model, state, event_id, actor)
    others = sorted(e.event_id for e in model.events if e.event_id not in state.correctable)
    return attrs.evolve(
        command, corrects=draw(st.sampled_from([*others, _fresh_event_id(draw, model)]))
    )


def _correct_missing_field(
    draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str
) -> Command:
    state = _pick(draw, model)
    assert state.correctable is not None
    command = _correct(draw, model, state, event_id, actor)
    _, allowed = state.correctable[command.corrects]
    name = draw(st.sampled_from(sorted(set(CORRECTABLE) - allowed)))
    fields = {**dict(command.fields), name: draw(_CORRECTION_VALUES[name]())}
    return attrs.evolve(command, fields=fields)


def _unknown_action(draw: st.DrawFn, model: RegisterModel, event_id: str, actor: str) -> Command:
    """A command about an action never raised, made as for one raised by a drawn event."""
    raised = draw(actions_raised())
    phantom = attrs.evolve(raised, action_id=_unused(raised.action_id, model.actions))
    kinds = _with_revisit(model, "update", "close", "reopen", "correct")
    make = _STEP_MAKERS[draw(st.sampled_from(kinds))]
    return make(draw, model, evolve(INITIAL_ACTION, phantom), event_id, actor)


def _has_meeting(model: RegisterModel) -> bool:
    return bool(model.meetings)


def _has_action(model: RegisterModel) -> bool:
    return bool(model.actions)


def _has_open(model: RegisterModel) -> bool:
    return any(_status(s) == "open" for s in model.actions.values())


def _has_closed(model: RegisterModel) -> bool:
    return any(_status(s) == "closed" for s in model.actions.values())


def _has_open_and_meeting(model: RegisterModel) -> bool:
    return _has_open(model) and _has_meeting(model)


def _anything(model: RegisterModel) -> bool:
    return True


@attrs.frozen
class _Breaking:
    """A way to break ``rule`` (raising ``error``), possible in a state where ``needs`` holds."""

    rule: str
    error: type[ActionLedgerError]
    needs: Callable[[RegisterModel], bool]
    make: _Make


_BREAKINGS = (
    _Breaking("meeting-recorded-once", RuleViolationError, _has_meeting, _record_twice),
    _Breaking("meeting-id-is-its-date", RuleViolationError, _anything, _record_misdated),
    _Breaking("meeting-id-is-its-date", RuleViolationError, _has_meeting, _correct_meeting_date),
    _Breaking("correction-must-differ", RuleViolationError, _has_meeting, _correct_meeting_to_same),
    _Breaking("meeting-exists", NotFoundError, _anything, _correct_unknown_meeting),
    _Breaking("meeting-must-exist", RuleViolationError, _anything, _at_unknown_meeting),
    _Breaking("action-id-unique", RuleViolationError, _has_action, _raise_existing),
    _Breaking("item-needs-meeting", RuleViolationError, _anything, _raise_item_alone),
    _Breaking("follows-another-action", RuleViolationError, _anything, _raise_following_itself),
    _Breaking("follows-must-exist", RuleViolationError, _anything, _raise_following_unknown),
    _Breaking("action-exists", NotFoundError, _anything, _unknown_action),
    _Breaking("due-within-calendar", ValidationError, _anything, _raise_beyond_calendar),
    _Breaking("not-before-raised", RuleViolationError, _has_action, _before_raised),
    _Breaking("closed-action-is-final", RuleViolationError, _has_closed, _change_closed),
    _Breaking("change-must-differ", RuleViolationError, _has_open, _update_to_same),
    _Breaking("change-needs-reason", RuleViolationError, _has_open, _update_without_reason),
    _Breaking("reason-without-change", RuleViolationError, _has_open, _update_reason_alone),
    _Breaking(
        "next-revisit-after-meeting", RuleViolationError, _has_open_and_meeting, _revisit_too_soon
    ),
    _Breaking("no-double-close", RuleViolationError, _has_closed, _close_closed),
    _Breaking("superseded-needs-successor", RuleViolationError, _has_open, _superseded_by_nothing),
    _Breaking("superseded-by-another", RuleViolationError, _has_open, _superseded_by_itself),
    _Breaking("superseded-by-must-exist", RuleViolationError, _has_open, _superseded_by_unknown),
    _Breaking("successor-only-when-superseded", RuleViolationError, _has_open, _needless_successor),
    _Breaking("reopen-only-closed", RuleViolationError, _has_open, _reopen_open),
    _Breaking(
        "correction-names-own-event", RuleViolationError, _has_action, _correct_foreign_event
    ),
    _Breaking("field-not-correctable", RuleViolationError, _has_action, _correct_missing_field),
)

REJECTION_RULES: tuple[str, ...] = tuple(sorted({b.rule for b in _BREAKINGS}))
"""Every tag :func:`rejected_commands` gives: each ``rule`` of ``decide``'s
``RuleViolationError``, with ``"action-exists"``, ``"meeting-exists"`` and
``"due-within-calendar"``."""


def _breaks(model: RegisterModel, command: Command, error: type[Exception], rule: str) -> bool:
    """Whether ``decide`` turns ``command`` down with exactly ``error`` (and ``rule``)."""
    try:
        model.decide(command)
    except ActionLedgerError as exc:
        return type(exc) is error and getattr(exc, "rule", rule) == rule
    return False


@st.composite
def rejected_commands(draw: st.DrawFn, model: RegisterModel) -> Rejected:
    """A well-formed command that ``decide`` turns down in the model's current state, as a
    :class:`Rejected` tagged with the rule it breaks (one of :data:`REJECTION_RULES`, as many
    as the state allows: on an empty model, a meeting id that is not its date, an unknown
    meeting, action or follow-on, an agenda item without a meeting…; with actions, closing a
    closed one, updating one to what it is, correcting an event it does not have…). Its event
    id is new to the model. Each candidate is checked with ``model.decide``, and kept only when
    that raises exactly the tagged error and rule; when a bounded number of them miss, the
    example is rejected.
    """
    actor = draw(actors())
    possible = [b for b in _BREAKINGS if b.needs(model)]
    for _ in range(_TRIES):
        breaking = draw(st.sampled_from(possible))
        command = breaking.make(draw, model, _fresh_event_id(draw, model), actor)
        if _breaks(model, command, breaking.error, breaking.rule):
            return Rejected(rule=breaking.rule, error=breaking.error, command=command)
    reject()


# -- malformed input -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class InvalidInput:
    """A call of a :class:`~action_ledger.Ledger` method with one malformed value, which must
    raise ``error`` (a ``ValidationError``) before anything is stored.

    ``rule`` is ``"<field>:<problem>"``, where ``<field>`` is the ``ValidationError.field`` the
    call raises: the library's name for the value, which is not always the keyword (a
    malformed ``meeting_id`` raises for ``meeting``, ``next_revisit`` for ``due``, a
    ``superseded_by`` or ``follows`` entry for ``action_id``, ``corrects`` for ``event_id``,
    ``corrected_at`` for ``occurred_at``). One exception: ``"fields:unknown"``, a correction
    of a field no event has, raises with that unknown name as its field. The ``<problem>`` is
    one of ``blank``, ``too-long``, ``not-text``, ``not-a-moment``, ``no-time``,
    ``skipped-hour``, ``malformed``, ``not-a-uuid``, ``empty``, ``repeated``,
    ``not-a-real-date``, ``date-time``, ``unknown``, ``not-a-bool``, ``not-a-command``,
    ``surrogate``, ``out-of-range``, ``repeated-hour``, ``not-a-list``;
    :data:`INVALID_INPUT_RULES` lists every tag.
    """

    rule: str
    error: type[ActionLedgerError]
    method: str
    arguments: Mapping[str, Any]

    def call(self, ledger: Ledger) -> object:
        """Call ``ledger.<method>(**arguments)``, which should raise ``error``."""
        return getattr(ledger, self.method)(**self.arguments)


_ABSENT = object()  # as a malformed value: leave the keyword out


def _likely_action_ids() -> st.SearchStrategy[str]:
    """An action id, often one :func:`commands` and :func:`histories` raise."""
    return st.sampled_from(("A-001", "A-002", "A-003")) | action_ids()


def _valid_arguments(method: str) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments ``method`` takes as well-formed (its rules may still refuse them)."""
    when = {"actor": actors(), "occurred_at": moments()}
    about = {**when, "action_id": _likely_action_ids()}
    if method == "record_meeting":
        return meeting_times().flatmap(
            lambda held: st.fixed_dictionaries(
                {
                    "meeting_id": meeting_ids(held),
                    "title": texts(max_size=60),
                    "held_at": st.just(held),
                    "actor": actors(),
                }
            )
        )
    fields: dict[str, st.SearchStrategy[Any]] = {
        "raise_action": {
            **when,
            "text": texts(),
            "owners": owner_lists().map(list),
            "source": st.sampled_from(SOURCES),
        },
        "update_action": {
            **about,
            "note": texts(),
            "source": st.sampled_from(UPDATE_SOURCES),
        },
        "revisit_action": {**about, "meeting": _meeting_id(), "outcome": texts()},
        "close_action": {
            **about,
            "resolution": st.sampled_from(("completed", "withdrawn")),
            "note": texts(),
        },
        "reopen_action": {**about, "reason": texts()},
        "correct_event": {
            "action_id": _likely_action_ids(),
            "corrects": event_ids(),
            "reason": texts(),
            "actor": actors(),
            "corrected_at": moments(),
            "text": texts(),
        },
        "execute": {},
    }[method]
    return st.fixed_dictionaries(fields)


@attrs.frozen
class _Malformed:
    """Malformed ``values`` that raise ``rule`` given as one of ``places`` (method, keyword)."""

    rule: str
    places: tuple[tuple[str, str], ...]
    values: st.SearchStrategy[Any]


def _at(methods: str, keywords: str) -> tuple[tuple[str, str], ...]:
    """Each keyword of ``keywords`` of each method of ``methods`` (both space-separated)."""
    return tuple((m, k) for m in methods.split() for k in keywords.split())


_ACTIONS = "update_action revisit_action close_action reopen_action correct_event"
_ALL = f"record_meeting raise_action {_ACTIONS}"
# Where each kind of value is given (a correction gives most of them again, as fields).
_MOMENT_PLACES = (
    _at("record_meeting raise_action", "occurred_at")
    + _at("update_action revisit_action close_action reopen_action", "occurred_at")
    + _at("correct_event", "corrected_at occurred_at")
)
_TEXT_PLACES = _at("raise_action update_action correct_event", "text")
_NOTE_PLACES = _at("update_action close_action correct_event", "note")
_OWNER_PLACES = _at("raise_action update_action correct_event", "owners")
_DUE_PLACES = _at("raise_action update_action correct_event", "due") + _at(
    "revisit_action", "next_revisit"
)
_ITEM_PLACES = _at("raise_action revisit_action close_action correct_event", "item")


def _blanks() -> st.SearchStrategy[str]:
    return st.sampled_from(("", " ", "   ", "\t", "\n", " \r\n\t "))


def _too_long(limit: int) -> st.SearchStrategy[str]:
    """Minuted text repeated past ``limit`` characters."""
    return st.builds(
        lambda text, extra: " ".join([text] * (limit // len(text) + extra)),
        st.sampled_from(MINUTED),
        st.integers(1, 3),
    )


def _impossible_dates() -> st.SearchStrategy[str]:
    """``YYYY-MM-DD`` text that is no calendar date (30 February, 31 April, month 13…)."""
    days = ("02-29", "02-30", "02-31", "04-31", "06-31", "09-31", "11-31", "13-01", "00-10")
    return st.builds(
        lambda year, day: f"{year}-{day}",
        st.sampled_from((2018, 2019, 2021, 2022, 2023, 2025, 2026)),  # not leap years
        st.sampled_from(days),
    )


def _not_moments() -> st.SearchStrategy[Any]:
    words = ("yesterday", "soon", "2021-10-04 at 10:00", "04/10/2021 10:00", "2021-10-04T25:00")
    return st.one_of(
        st.sampled_from(words), _impossible_dates().map(lambda d: f"{d}T10:00"), st.integers()
    )


def _skipped_hours() -> st.SearchStrategy[Any]:
    """A London wall time the clocks skipped (01:00–01:59 on a spring change), naive."""
    springs = [change for change in CLOCK_CHANGES if change.month == 3]
    naive = st.builds(
        lambda change, minute: dt.datetime(change.year, 3, change.day, 1, minute),
        st.sampled_from(springs),
        st.integers(0, 59),
    )
    return naive | naive.map(lambda moment: moment.isoformat(timespec="minutes"))


def _repeated_hours() -> st.SearchStrategy[Any]:
    """A London wall time that happened twice (01:00–01:59 on an autumn change), naive."""
    autumns = [change for change in CLOCK_CHANGES if change.month == 10]
    naive = st.builds(
        lambda change, minute: dt.datetime(change.year, 10, change.day, 1, minute),
        st.sampled_from(autumns),
        st.integers(0, 59),
    )
    return naive | naive.map(lambda moment: moment.isoformat(timespec="minutes"))


def _far_years() -> st.SearchStrategy[int]:
    """A year well outside the register's years (1900-2199), so no offset brings it inside."""
    return st.integers(1, FIRST_YEAR - 2) | st.integers(LAST_YEAR + 2, 9999)


def _out_of_range_moments() -> st.SearchStrategy[Any]:
    """A moment in a year the register does not accept: aware, naive London, or ISO text,
    down to the ends of the calendar (``0001-01-01T00:00+01:00`` is before any UTC instant)."""
    offsets = st.sampled_from(("Z", "+00:00", "+01:00", "-05:00", "+14:00", "-12:00"))
    text = st.builds(
        lambda year, month, day, hour, offset: (
            f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:00{offset}"
        ),
        _far_years(),
        st.integers(1, 12),
        st.integers(1, 28),
        st.integers(0, 23),
        st.sampled_from(("", "Z", "+01:00", "-05:00")),
    )
    aware = st.builds(
        lambda year, offset: dt.datetime.fromisoformat(f"{year:04d}-06-15T12:00{offset}"),
        _far_years(),
        offsets,
    )
    ends = st.sampled_from(("0001-01-01T00:00+01:00", "9999-12-31T23:30-05:00", "0001-01-01T00:00"))
    return st.one_of(text, aware, ends)


def _out_of_range_dates() -> st.SearchStrategy[Any]:
    """A due date in a year the register does not accept, as a date, ISO text or words."""
    days = st.builds(dt.date, _far_years(), st.integers(1, 12), st.integers(1, 28))
    return st.one_of(
        days,
        days.map(lambda d: d.isoformat()),
        days.filter(lambda d: d.year >= 1000).map(  # words name a year in four digits
            lambda d: f"by {d.day} {_MONTHS[d.month - 1]} {d.year}"
        ),
    )


def _out_of_range_meeting_ids() -> st.SearchStrategy[str]:
    """A well-formed meeting id dated in a year the register does not accept."""
    years = _far_years().filter(lambda year: year >= 1000)  # four digits, as ids need
    days = st.builds(dt.date, years, st.integers(1, 12), st.integers(1, 28))
    return st.builds(
        lambda day, suffix: day.isoformat() + suffix, days, st.sampled_from(MEETING_SUFFIXES)
    )


def _with_surrogates() -> st.SearchStrategy[str]:
    """Text holding a lone surrogate (half a UTF-16 pair: no character, not storable)."""
    return st.builds(
        lambda before, half, after: f"{before}{half}{after}",
        texts(max_size=20),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.text(max_size=10),
    )


def _not_lists() -> st.SearchStrategy[Any]:
    """Something that is no list of values: nothing, a number, text, bytes, a mapping."""
    return st.one_of(
        st.none(),
        st.integers(),
        st.floats(allow_nan=False),
        st.sampled_from(("A-001", "CC", b"A-001", True)),
        st.dictionaries(st.sampled_from(("A-001", "CC")), st.integers(), max_size=2),
    )


def _days() -> st.SearchStrategy[Any]:
    """A date, as a value or ``YYYY-MM-DD`` text, where a moment needs a time too."""
    return dates() | dates().map(str)


def _malformed_meeting_ids() -> st.SearchStrategy[str]:
    shapes = ("", "meeting", "2021-10-4", "04/10/2021", "2021-10-04-MAM", "2021-10-04 mam")
    return st.sampled_from((*shapes, "2021-10-04-", "2021-10-04--x")) | _impossible_dates()


def _malformed_action_ids() -> st.SearchStrategy[str]:
    shapes = ("", " A-001", "A 001", "-A", ".A", "A-001!", "ACT#4", "Ä-001", "A" * 65)
    return st.sampled_from(shapes)


def _unreal_due_dates() -> st.SearchStrategy[str]:
    words = ("by 30 February 2022", "by 31 April", "by 31/04/2022", "Revisit by 31st June")
    return st.sampled_from(words) | _impossible_dates()


_NOT_CORRECTABLE = ("status", "resolution", "title", "owner", "due_on", "source", "restricted")
_NOT_BOOLS = ("yes", "no", "true", "False", 0, 1, "")

_MALFORMED = (
    _Malformed("actor:blank", _at(_ALL, "actor"), _blanks()),
    _Malformed("actor:too-long", _at(_ALL, "actor"), _too_long(MAX_SHORT)),
    _Malformed("title:blank", _at("record_meeting", "title"), _blanks()),
    _Malformed("title:too-long", _at("record_meeting", "title"), _too_long(MAX_SHORT)),
    _Malformed("held_at:not-a-moment", _at("record_meeting", "held_at"), _not_moments()),
    _Malformed("held_at:no-time", _at("record_meeting", "held_at"), _days()),
    _Malformed("held_at:skipped-hour", _at("record_meeting", "held_at"), _skipped_hours()),
    _Malformed("occurred_at:not-a-moment", _MOMENT_PLACES, _not_moments()),
    _Malformed("occurred_at:no-time", _MOMENT_PLACES, _days()),
    _Malformed("occurred_at:skipped-hour", _MOMENT_PLACES, _skipped_hours()),
    _Malformed(
        "meeting:malformed",
        _at("record_meeting", "meeting_id") + _at(f"raise_action {_ACTIONS}", "meeting"),
        _malformed_meeting_ids(),
    ),
    _Malformed(
        "action_id:malformed",
        _at(f"raise_action {_ACTIONS}", "action_id") + _at("close_action", "superseded_by"),
        _malformed_action_ids(),
    ),
    _Malformed(
        "action_id:malformed",
        _at("raise_action", "follows"),
        _malformed_action_ids().map(lambda bad: ["A-001", bad]),
    ),
    _Malformed(
        "follows:repeated",
        _at("raise_action", "follows"),
        _likely_action_ids().map(lambda a: [a, a]),
    ),
    _Malformed(
        "event_id:not-a-uuid",
        _at(_ALL, "event_id") + _at("correct_event", "corrects"),
        st.sampled_from(("not-a-uuid", "1234", "A-001", "g" * 32, "0000-0000")),
    ),
    _Malformed("text:blank", _TEXT_PLACES, _blanks()),
    _Malformed("text:too-long", _TEXT_PLACES, _too_long(MAX_TEXT)),
    _Malformed("text:not-text", _TEXT_PLACES, st.integers() | st.just(["Headlines."])),
    _Malformed("note:blank", _NOTE_PLACES, _blanks()),
    _Malformed("note:too-long", _NOTE_PLACES, _too_long(MAX_TEXT)),
    _Malformed("outcome:blank", _at("revisit_action correct_event", "outcome"), _blanks()),
    _Malformed(
        "reason:blank", _at("update_action reopen_action correct_event", "reason"), _blanks()
    ),
    _Malformed("owners:empty", _OWNER_PLACES, st.sampled_from(([], ()))),
    _Malformed(
        "owners:repeated",
        _OWNER_PLACES,
        owners().flatmap(lambda o: st.sampled_from(([o, o], [str(o), o], (str(o), str(o))))),
    ),
    _Malformed("due:not-a-real-date", _DUE_PLACES, _unreal_due_dates()),
    _Malformed("due:date-time", _DUE_PLACES, moments()),
    _Malformed(
        "source:unknown",
        _at("update_action", "source"),
        st.sampled_from(("Written update", "phone call", "letter", "")),
    ),
    _Malformed("source:blank", _at("raise_action", "source"), _blanks()),
    _Malformed(
        "resolution:unknown",
        _at("close_action", "resolution"),
        st.sampled_from(("done", "Completed", "closed", "superseded by A-002", "")),
    ),
    _Malformed(
        "assured:not-a-bool",
        _at("revisit_action correct_event", "assured"),
        st.sampled_from(_NOT_BOOLS),
    ),
    _Malformed(
        "restricted:not-a-bool",
        _at("raise_action update_action", "restricted"),
        st.sampled_from((*_NOT_BOOLS, None)),
    ),
    _Malformed("item:blank", _ITEM_PLACES, _blanks()),
    _Malformed(
        "item:too-long",
        _ITEM_PLACES,
        st.sampled_from(("2.1.1.1.1.1.1.1.1.1.1", "Any other business (AOB)")),
    ),
    _Malformed("fields:unknown", _at("correct_event", " ".join(_NOT_CORRECTABLE)), texts()),
    _Malformed("fields:empty", _at("correct_event", "text"), st.just(_ABSENT)),
    _Malformed("actor:surrogate", _at(_ALL, "actor"), _with_surrogates()),
    _Malformed("title:surrogate", _at("record_meeting", "title"), _with_surrogates()),
    _Malformed("text:surrogate", _TEXT_PLACES, _with_surrogates()),
    _Malformed("note:surrogate", _NOTE_PLACES, _with_surrogates()),
    _Malformed(
        "outcome:surrogate", _at("revisit_action correct_event", "outcome"), _with_surrogates()
    ),
    _Malformed(
        "reason:surrogate",
        _at("update_action reopen_action correct_event", "reason"),
        _with_surrogates(),
    ),
    _Malformed("held_at:out-of-range", _at("record_meeting", "held_at"), _out_of_range_moments()),
    _Malformed("occurred_at:out-of-range", _MOMENT_PLACES, _out_of_range_moments()),
    _Malformed("held_at:repeated-hour", _at("record_meeting", "held_at"), _repeated_hours()),
    _Malformed("occurred_at:repeated-hour", _MOMENT_PLACES, _repeated_hours()),
    _Malformed(
        "meeting:out-of-range",
        _at("record_meeting", "meeting_id") + _at(f"raise_action {_ACTIONS}", "meeting"),
        _out_of_range_meeting_ids(),
    ),
    _Malformed("due:out-of-range", _DUE_PLACES, _out_of_range_dates()),
    _Malformed("follows:not-a-list", _at("raise_action", "follows"), _not_lists()),
    _Malformed("attendance:not-a-list", _at("record_meeting", "attendance"), _not_lists()),
    _Malformed("apologies:not-a-list", _at("record_meeting", "apologies"), _not_lists()),
    _Malformed(
        "owners:not-a-list",
        _at("raise_action update_action", "owners"),
        _not_lists().filter(lambda value: value is not None and not isinstance(value, str)),
    ),
    _Malformed(
        "event_id:blank", _at(_ALL, "event_id") + _at("correct_event", "corrects"), _blanks()
    ),
    _Malformed(
        "command:not-a-command",
        _at("execute", "command"),
        events() | st.sampled_from((None, "raise_action", 42, RaiseAction)),
    ),
)

INVALID_INPUT_RULES: tuple[str, ...] = tuple(sorted({m.rule for m in _MALFORMED}))
"""Every tag :func:`invalid_inputs` gives (``"<field>:<problem>"``, see :class:`InvalidInput`)."""


@st.composite
def invalid_inputs(draw: st.DrawFn) -> InvalidInput:
    """A call of one of the :class:`~action_ledger.Ledger`'s keyword methods
    (``record_meeting``, ``raise_action``, ``update_action``, ``revisit_action``,
    ``close_action``, ``reopen_action``, ``correct_event``; and ``execute``) with well-formed
    arguments but one malformed value, which must raise ``ValidationError`` before anything is
    stored, as an :class:`InvalidInput` tagged ``"<field>:<problem>"`` (one of
    :data:`INVALID_INPUT_RULES`): blank or over-long text (``"text:blank"``,
    ``"actor:too-long"``…), a moment that is no date-time, has no time or falls in the hour the
    clocks skip (``"occurred_at:skipped-hour"``…), a due date that does not exist
    (``"due:not-a-real-date"``, e.g. ``"2021-02-30"``) or a date-time as due, an unknown update
    source or resolution, a malformed meeting id, action id or event id, no owners or one
    twice, a follow-on named twice, ``assured`` or ``restricted`` not a bool, a correction of
    an unknown field or of none, something not a command given to ``execute``; text holding a
    lone surrogate (``"text:surrogate"``), a moment, meeting or due date outside the years
    1900-2199 (``"occurred_at:out-of-range"``, down to ``0001-01-01T00:00+01:00``), a London
    wall time the clocks repeat (``"held_at:repeated-hour"``), ``None`` or another non-list
    for ``follows``, ``owners``, ``attendance`` or ``apologies``, and a blank event id. The names
    it gives may or may not exist in the ledger: the value is refused first either way.
    """
    malformed = draw(st.sampled_from(_MALFORMED))
    method, keyword = draw(st.sampled_from(malformed.places))
    arguments = draw(_valid_arguments(method))
    value = draw(malformed.values)
    if value is _ABSENT:
        del arguments[keyword]
    else:
        arguments[keyword] = value
    return InvalidInput(
        rule=malformed.rule, error=ValidationError, method=method, arguments=arguments
    )
