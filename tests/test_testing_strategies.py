"""The strategies of ``action_ledger.testing.strategies`` keep their promises: drawn commands
are accepted (by the model and by a real ledger, with the same events), rejected commands
break exactly the rule they are tagged with, malformed input raises before anything is
stored, and envelopes decode back to their events."""

from __future__ import annotations

import ast
import inspect
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import pendulum
import pytest
from hypothesis import HealthCheck, Phase, event, find, settings
from hypothesis import given as for_all
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from action_ledger import Ledger, MemoryEventStore
from action_ledger._clock import to_datetime
from action_ledger._codec import decode, encode, stream_of
from action_ledger.commands import (
    CORRECTABLE,
    CloseAction,
    Command,
    CorrectEvent,
    CorrectMeeting,
    RaiseAction,
    RecordMeeting,
    UpdateAction,
)
from action_ledger.events import ActionCorrected, ActionRaised, ActionUpdated, Event, MeetingEvent
from action_ledger.exceptions import ActionLedgerError, ValidationError
from action_ledger.store import NewEvent, StoredEvent, verify_chain
from action_ledger.testing import strategies
from action_ledger.testing.strategies import RegisterModel
from test_decider import _rules_in_decider

ACTOR = "Jackie Irvin"

# The tags that are no rule of decide's: a command about an action never raised, or a
# correction of a meeting never recorded (NotFoundError), and due words that leave the
# calendar from a far-future date (ValidationError, raised by decide when it resolves them).
NOT_RULES = {"action-exists", "meeting-exists", "due-within-calendar"}

# What can be broken with no state at all: an empty register.
STATELESS = {
    "meeting-id-is-its-date",
    "meeting-must-exist",
    "item-needs-meeting",
    "follows-another-action",
    "follows-must-exist",
    *NOT_RULES,
}


# For ``find``: the first example that fits, not shrunk (only whether one is drawn matters).
FIND = settings(
    database=None,
    max_examples=1000,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)

# The UUID Hypothesis draws first, and shrinks every UUID towards (found once, at import:
# ``find`` cannot run inside a test that is itself generated).
FIRST_UUID = str(find(st.uuids(), lambda _: True, settings=FIND))


def _drive(data: st.DataObject, model: RegisterModel, most: int = 8) -> list[Command]:
    """Apply up to ``most`` commands drawn by ``strategies.commands`` to ``model``."""
    drawn = []
    for _ in range(data.draw(st.integers(0, most), label="steps")):
        command = data.draw(strategies.commands(model), label="command")
        model.apply(command)
        drawn.append(command)
    return drawn


@contextmanager
def _ledger(commands: Sequence[Command]) -> Iterator[Ledger]:
    """An in-memory ledger that has executed ``commands``."""
    with Ledger.open(":memory:") as ledger:
        for command in commands:
            ledger.execute(command)
        yield ledger


def _log(ledger: Ledger) -> list[Event]:
    return [decode(stored) for stored in ledger.store.read_all()]


def _snapshot(ledger: Ledger) -> tuple[object, ...]:
    """What a refused call must leave as it was: the head, the event count, the register."""
    return ledger.head(), len(list(ledger.store.read_all())), ledger.register()


def test_all_lists_every_public_name() -> None:
    """``__all__`` names exactly the functions, classes and constants the module defines
    without a leading underscore."""
    defined: set[str] = set()
    for node in ast.parse(inspect.getsource(strategies)).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined.update(t.id for t in targets if isinstance(t, ast.Name))
    public = {name for name in defined if not name.startswith("_")}
    assert sorted(strategies.__all__) == sorted(public)


# -- valid commands --------------------------------------------------------------------------


def _is_open(state: object) -> bool:
    action = getattr(state, "action", None)
    return action is not None and action.status == "open"


@for_all(st.data())
def test_every_drawn_command_is_accepted_with_new_ids(data: st.DataObject) -> None:
    """Each command drawn for a model's state is accepted, from an empty model, a fixed
    register (whose event ids are the UUIDs drawn first) or a history, and its event, meeting
    and action ids are new to the model."""
    start = data.draw(
        st.builds(_rich_history) | st.just([]) | strategies.histories(), label="history"
    )
    model = RegisterModel.replay(start)
    for _ in range(data.draw(st.integers(1, 10), label="steps")):
        command = data.draw(strategies.commands(model), label="command")
        known_events = {e.event_id for e in model.events}
        known = set(model.meetings) if isinstance(command, RecordMeeting) else set(model.actions)
        open_actions = {a for a, state in model.actions.items() if _is_open(state)}
        new = model.apply(command)
        own, *resolved = new  # the command's event, then any due dates its meeting set
        assert own.event_id == command.event_id
        for update in resolved:  # recording a meeting sets the dates of waiting due words
            assert isinstance(command, RecordMeeting)
            assert isinstance(update, ActionUpdated)
            assert update.action_id in open_actions
            assert update.due is not None
            assert update.due.on is not None
        assert command.event_id not in known_events
        if isinstance(command, RecordMeeting | RaiseAction):
            stream = command.meeting_id if isinstance(command, RecordMeeting) else command.action_id
            assert stream not in known
    assert len({e.event_id for e in model.events}) == len(model.events)


@for_all(strategies.histories(), st.data())
def test_drawn_corrections_are_accepted_corrections_with_new_ids(
    history: list[Command], data: st.DataObject
) -> None:
    """Each correction drawn for a model with actions is a ``CorrectEvent`` the model accepts,
    naming an event of its own action, with a new event id."""
    model = RegisterModel.replay(history)
    for _ in range(data.draw(st.integers(1, 5), label="corrections")):
        command = data.draw(strategies.correction_commands(model), label="correction")
        assert isinstance(command, CorrectEvent)
        own = {e.event_id for e in model.events_of(command.action_id)}
        assert command.corrects in own
        assert command.event_id not in {e.event_id for e in model.events}
        (event,) = model.apply(command)
        assert isinstance(event, ActionCorrected)


def test_no_correction_is_drawn_for_a_model_without_actions() -> None:
    """With no action to correct, the strategy rejects the example rather than draw one."""
    with pytest.raises(Unsatisfiable):
        find(strategies.correction_commands(RegisterModel()), lambda _: True)


@for_all(st.data())
def test_drawn_commands_are_an_a_numbered_register(data: st.DataObject) -> None:
    """From an empty model, actions are raised as A-001, A-002… in order."""
    model = RegisterModel()
    _drive(data, model, most=12)
    raised = [e.action_id for e in model.events if isinstance(e, ActionRaised)]
    assert raised == [f"A-{n:03d}" for n in range(1, len(raised) + 1)]


@for_all(st.data())
def test_the_model_decides_without_changing(data: st.DataObject) -> None:
    """``RegisterModel.decide`` gives the events ``apply`` then records, and changes nothing."""
    model = RegisterModel()
    _drive(data, model)
    command = data.draw(strategies.commands(model), label="command")
    before = (dict(model.actions), dict(model.meetings), list(model.events))
    decided = model.decide(command)
    assert (dict(model.actions), dict(model.meetings), list(model.events)) == before
    assert model.apply(command) == decided


@for_all(st.data())
def test_drawn_commands_give_a_ledger_the_models_events(data: st.DataObject) -> None:
    """Commands drawn one by one, executed on a real ledger, store exactly the model's events
    and return the model's state."""
    model = RegisterModel()
    with Ledger.open(":memory:") as ledger:
        for _ in range(data.draw(st.integers(1, 12), label="steps")):
            command = data.draw(strategies.commands(model), label="command")
            result = ledger.execute(command)
            model.apply(command)
            if isinstance(command, RecordMeeting | CorrectMeeting):
                assert result == model.meetings[command.meeting_id].meeting
            else:
                assert result == model.actions[command.action_id].action
        assert _log(ledger) == model.events


# -- rejected commands -----------------------------------------------------------------------


def _raises_exactly(call: Callable[[], object], rejected: strategies.Rejected) -> None:
    """``call()`` raises exactly the error of ``rejected``, with its rule if it has one."""
    with pytest.raises(ActionLedgerError) as caught:
        call()
    assert type(caught.value) is rejected.error
    assert getattr(caught.value, "rule", rejected.rule) == rejected.rule


def _check_refused(commands: Sequence[Command], rejected: strategies.Rejected) -> None:
    """After ``commands``, the model and a ledger refuse ``rejected`` and change nothing."""
    model = RegisterModel.replay(commands)
    events = list(model.events)
    _raises_exactly(lambda: model.decide(rejected.command), rejected)
    assert model.events == events
    with _ledger(commands) as ledger:
        assert _log(ledger) == model.events
        before = _snapshot(ledger)
        _raises_exactly(lambda: ledger.execute(rejected.command), rejected)
        assert _snapshot(ledger) == before


@for_all(st.data())
def test_rejected_commands_break_exactly_their_rule_in_model_and_ledger(
    data: st.DataObject,
) -> None:
    """A rejected command raises exactly its error and rule from ``model.decide`` and from
    ``Ledger.execute`` on a ledger holding the model's events, which it leaves unchanged."""
    start = data.draw(st.just([]) | strategies.histories(), label="history")
    model = RegisterModel.replay(start)
    drawn = [*start, *_drive(data, model, most=4)]
    rejected = data.draw(strategies.rejected_commands(model), label="rejected")
    event(rejected.rule)
    assert rejected.rule in strategies.REJECTION_RULES
    _check_refused(drawn, rejected)


@for_all(strategies.rejected_commands(RegisterModel()))
def test_rejected_commands_need_no_state(rejected: strategies.Rejected) -> None:
    """On an empty model, a rejected command breaks one of the rules that need no state."""
    assert rejected.rule in STATELESS
    with pytest.raises(rejected.error):
        RegisterModel().decide(rejected.command)


def test_every_rule_of_decide_has_a_tag() -> None:
    """The tags of rejected commands are every rule ``decide`` names, and two more."""
    # Every rule is reachable from a well-formed command in some state, so none is left out.
    rules = _rules_in_decider()
    assert len(rules) >= 20  # the source was read
    assert set(strategies.REJECTION_RULES) == rules | NOT_RULES


def _moment(text: str) -> pendulum.DateTime:
    """A London wall time, in UTC."""
    return to_datetime(text, field="occurred_at")


def _rich_history() -> list[Command]:
    """A register with a meeting, an open action with an update, and a closed action."""
    held = _moment("2021-10-04T13:30")
    ids = iter([FIRST_UUID, *(str(uuid.UUID(int=n)) for n in range(1, 100))])
    return [
        RecordMeeting(
            event_id=next(ids),
            actor=ACTOR,
            occurred_at=held,
            meeting_id="2021-10-04",
            title="Holding to account",
            held_at=held,
        ),
        RaiseAction(
            event_id=next(ids),
            actor=ACTOR,
            occurred_at=held,
            action_id="A-001",
            text="T/Ch Supt to find out timeline for homicide review analysis.",
            owners=["T/Ch Supt"],
            meeting="2021-10-04",
            item="2.1",
            due="Within two weeks",
        ),
        RaiseAction(
            event_id=next(ids),
            actor=ACTOR,
            occurred_at=held,
            action_id="A-002",
            text="Headlines from Durham work to be shared with PCC.",
            owners=["CC"],
            meeting="2021-10-04",
        ),
        UpdateAction(
            event_id=next(ids),
            actor=ACTOR,
            occurred_at=_moment("2021-10-11T09:00"),
            action_id="A-001",
            note="Analysis under way.",
            source="email",
        ),
        CloseAction(
            event_id=next(ids),
            actor=ACTOR,
            occurred_at=_moment("2021-10-12T09:00"),
            action_id="A-002",
            resolution="completed",
            note="Shared.",
        ),
    ]


@pytest.mark.parametrize(
    ("state", "rule"),
    [("rich", r) for r in strategies.REJECTION_RULES] + [("empty", r) for r in sorted(STATELESS)],
)
def test_rejected_commands_can_break_each_rule(state: str, rule: str) -> None:
    """In a register with open and closed actions (or an empty one, for the rules that need
    no state), some drawn rejected command breaks each rule, in the model and in a ledger."""
    history = _rich_history() if state == "rich" else []
    model = RegisterModel.replay(history)
    found = find(strategies.rejected_commands(model), lambda r: r.rule == rule, settings=FIND)
    _check_refused(history, found)


# -- malformed input -------------------------------------------------------------------------


def _check_invalid(history: Sequence[Command], invalid: strategies.InvalidInput) -> None:
    """On a ledger holding ``history``, ``invalid`` raises ``ValidationError`` for the field
    its tag names, and changes nothing."""
    assert invalid.rule in strategies.INVALID_INPUT_RULES
    assert invalid.error is ValidationError
    with _ledger(history) as ledger:
        before = _snapshot(ledger)
        with pytest.raises(ValidationError) as caught:
            invalid.call(ledger)
        assert type(caught.value) is invalid.error
        field = caught.value.field
        if invalid.rule == "fields:unknown":  # the field is the unknown name itself
            assert field in invalid.arguments
            assert field not in CORRECTABLE
        else:
            assert field == invalid.rule.partition(":")[0]
        assert _snapshot(ledger) == before


@settings(max_examples=500)
@for_all(strategies.invalid_inputs())
def test_invalid_input_raises_validation_error_on_an_empty_ledger(
    invalid: strategies.InvalidInput,
) -> None:
    """Malformed input raises ``ValidationError`` for the field its tag names, and an empty
    ledger stays empty (many examples: every tag, method and keyword)."""
    event(invalid.rule)
    _check_invalid([], invalid)


@for_all(strategies.histories(max_steps=4), strategies.invalid_inputs())
def test_invalid_input_changes_no_register(
    history: list[Command], invalid: strategies.InvalidInput
) -> None:
    """Malformed input, naming actions and meetings that may exist, raises
    ``ValidationError`` and leaves a ledger holding a history unchanged."""
    _check_invalid(history, invalid)


# -- envelopes -------------------------------------------------------------------------------


@for_all(strategies.envelopes(), strategies.action_ids())
def test_envelopes_decode_back_to_their_event(envelope: NewEvent, action_id: str) -> None:
    """An envelope, stored in a stream of its kind, decodes to an event that encodes to it."""
    meeting = envelope.event_type.startswith("meeting.")
    stream = "meeting:2021-10-04" if meeting else f"action:{action_id}"
    store = MemoryEventStore()
    store.append(stream, [envelope], 0)
    event = decode(next(store.read_all()))
    assert isinstance(event, MeetingEvent) is meeting
    assert encode(event) == envelope


@for_all(strategies.stored_events())
def test_stored_events_decode_in_their_stream_and_verify(stored: StoredEvent) -> None:
    """A stored event decodes to an event of its stream that encodes to its envelope, and its
    chain hash verifies."""
    event = decode(stored)
    assert stream_of(event) == stored.stream_id
    assert encode(event) == NewEvent(
        event_id=stored.event_id,
        event_type=stored.event_type,
        schema_version=stored.schema_version,
        data=stored.data,
        occurred_at=stored.occurred_at,
        actor=stored.actor,
    )
    assert verify_chain([stored]).ok
