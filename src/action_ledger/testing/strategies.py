"""Hypothesis strategies for action_ledger's tests, in one place.

Values are the kind the minutes hold: role codes with optional persons, texts, meetings held
across BST/GMT changes (2018–2026), due words and dates, single events of every type, and
*valid histories*: lists of commands that ``decide`` accepts when applied in order.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pendulum
from hypothesis import strategies as st

from action_ledger import Attendee, Owner
from action_ledger._clock import local_date
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
from action_ledger.commands import (
    UPDATE_SOURCES,
    CloseAction,
    Command,
    CorrectEvent,
    RaiseAction,
    RecordMeeting,
    ReopenAction,
    RevisitAction,
    UpdateAction,
)
from action_ledger.events import (
    ActionClosed,
    ActionCorrected,
    ActionEvent,
    ActionRaised,
    ActionReopened,
    ActionRevisited,
    ActionUpdated,
    Corrections,
    Event,
    MeetingRecorded,
)
from action_ledger.exceptions import NotFoundError, RuleViolationError, ValidationError

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


def due_phrases() -> st.SearchStrategy[str]:
    """Due words as minuted, some resolving to a date and some not."""
    within = st.builds("within {} weeks".format, st.integers(1, 52))
    revisit = st.builds("Revisit in {} months".format, st.integers(1, 24))
    by_date = dates().map(lambda d: f"by {d.day} {_MONTHS[d.month - 1]} {d.year}")
    return st.one_of(st.sampled_from(DUE_PHRASES), within, revisit, by_date)


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
    return st.one_of([s() for cls, s in EVENT_STRATEGIES.items() if cls is not MeetingRecorded])


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


# -- valid histories -------------------------------------------------------------------------


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

    def apply(self, command: Command) -> tuple[Event, ...]:
        """Decide ``command`` and evolve the state; raise as ``decide`` does (nothing changes)."""
        if isinstance(command, RecordMeeting):
            meeting_state = self.meetings.get(command.meeting_id, INITIAL_MEETING)
            new = decide(command, meeting_state, self.context())
            for event in new:
                assert isinstance(event, MeetingRecorded)
                meeting_state = evolve_meeting(meeting_state, event)
            self.meetings[command.meeting_id] = meeting_state
        else:
            state = self.actions.get(command.action_id, INITIAL_ACTION)
            new = decide(command, state, self.context())
            for event in new:
                assert not isinstance(event, MeetingRecorded)
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
            e
            for e in self.events
            if not isinstance(e, MeetingRecorded) and e.action_id == action_id
        ]


Maker = Callable[[st.DrawFn, RegisterModel, ActionState, str, str], Command]


def _later(draw: st.DrawFn, start: pendulum.DateTime) -> pendulum.DateTime:
    """A moment at or after ``start`` (up to about two years on)."""
    return start.add(minutes=draw(st.integers(0, 2 * 365 * 24 * 60)))


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
    of updates, revisits, closes, reopens and corrections that respects the rules.

    Candidates are drawn from the current state and kept only when ``decide`` accepts them.
    Event ids are unique UUIDs; every command carries its ``occurred_at``. With
    ``correct_occurred_at=False`` no correction sets ``occurred_at``.
    """
    register = RegisterModel()
    commands: list[Command] = []
    salt = draw(st.integers(0, 2**64 - 1))
    counter = itertools.count(1)

    def new_id() -> str:
        return str(uuid.UUID(int=(salt << 64) | next(counter)))

    def attempt(make: Callable[[], Command]) -> bool:
        try:
            command = make()
            register.apply(command)
        except REJECTED:
            return False
        commands.append(command)
        return True

    actor = draw(actors())
    for _ in range(draw(st.integers(1, max_meetings))):
        held = draw(meeting_times())
        mid = draw(meeting_ids(held))

        def record(held: pendulum.DateTime = held, mid: str = mid) -> Command:
            return RecordMeeting(
                event_id=new_id(),
                actor=actor,
                occurred_at=held,
                meeting_id=mid,
                title=draw(texts(max_size=40)),
                held_at=held,
                kind=draw(st.none() | st.just("Holding to account")),
                attendance=tuple(draw(st.lists(attendees(), max_size=2))),
            )

        attempt(record)
    meetings = sorted(register.meetings)

    for number in range(1, draw(st.integers(1, max_actions)) + 1):
        at_meeting = draw(st.booleans())
        meeting = draw(st.sampled_from(meetings)) if at_meeting else None
        raised_ids = sorted(register.actions)

        def raise_it(
            meeting: str | None = meeting, raised_ids: list[str] = raised_ids, number: int = number
        ) -> Command:
            if meeting is not None:
                found = register.meetings[meeting].meeting
                assert found is not None
                when = found.held_at
            else:
                when = draw(moments())
            return RaiseAction(
                event_id=new_id(),
                actor=actor,
                occurred_at=when,
                action_id=f"A-{number:03d}",
                text=draw(texts()),
                owners=draw(owner_lists()),
                meeting=meeting,
                item=draw(st.none() | items()) if meeting else None,
                source=None if meeting else draw(st.sampled_from(SOURCES)),
                due=draw(due_inputs()),
                follows=tuple(
                    draw(st.lists(st.sampled_from(raised_ids), max_size=2, unique=True))
                    if raised_ids
                    else ()
                ),
                restricted=draw(st.booleans()),
            )

        attempt(raise_it)

    if not register.actions:  # pragma: no cover - the first raise is always accepted
        return commands

    for _ in range(draw(st.integers(0, max_steps))):
        action_id = draw(st.sampled_from(sorted(register.actions)))
        state = register.actions[action_id]
        action = state.action
        assert action is not None
        closed = action.status == "closed"
        kinds = ("reopen", "reopen", "correct") if closed else ("update", "revisit", "close")
        kind = draw(st.sampled_from((*kinds, "close", "correct", "update")))
        makers: dict[str, Maker] = {
            "update": _update,
            "revisit": _revisit,
            "close": _close,
            "reopen": _reopen,
            "correct": _correct,
        }
        make = makers[kind]
        if kind == "correct" and not correct_occurred_at:
            make = _correct_except_occurred_at

        def step(make: Maker = make, state: ActionState = state) -> Command:
            return make(draw, register, state, new_id(), actor)

        attempt(step)
    return commands


def _update(
    draw: st.DrawFn, register: RegisterModel, state: ActionState, event_id: str, actor: str
) -> UpdateAction:
    action = state.action
    assert action is not None
    changes = draw(st.sets(st.sampled_from(("text", "owners", "due")), max_size=2))
    meeting = draw(st.none() | st.sampled_from(sorted(register.meetings)))
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
    meeting = draw(st.none() | st.sampled_from(sorted(register.meetings)))
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
        meeting=draw(st.none() | st.sampled_from(sorted(register.meetings))),
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
