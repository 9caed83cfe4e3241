"""``Ledger.execute_many``: many commands decided together and recorded all or nothing, in one
transaction, on every backend.

The laws: for any accepted history split into batches, the register equals the model's fold
of the commands (each stream's events in command order, the read models the fold of the log,
the chain intact); a batch holding one refused command stores nothing, on any backend, and
names that command; the same batch twice records nothing the second time.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from action_ledger import (
    Ledger,
    RuleViolationError,
    ValidationError,
)
from action_ledger._codec import ACTION_PREFIX, MEETING_PREFIX, decode
from action_ledger.commands import (
    CloseAction,
    Command,
    CorrectMeeting,
    RaiseAction,
    RecordMeeting,
    UpdateAction,
)
from action_ledger.events import MeetingEvent
from action_ledger.pytest_plugin import LedgerFactory
from action_ledger.testing import laws
from action_ledger.testing.strategies import (
    RegisterModel,
    commands,
    histories,
    rejected_commands,
)

ACTOR = "Jackie Irvin"
BACKENDS = ["memory", "sqlite", "postgres"]
_settings = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _stream_of(command: Command) -> str:
    if isinstance(command, RecordMeeting | CorrectMeeting):
        return MEETING_PREFIX + command.meeting_id
    return ACTION_PREFIX + command.action_id


def _snapshot(ledger: Ledger) -> tuple[Any, ...]:
    """Everything a refused batch must leave as it was: the log, the checkpoints, the rows."""
    tables = tuple(
        tuple(map(tuple, ledger.read_model.select(f"SELECT * FROM {name} ORDER BY 1, 2", [])))
        for name in ("actions", "audit_trail", "owners", "links", "meetings")
    )
    return (list(ledger.store.read_all()), ledger.read_model.checkpoints(), tables)


def _check_per_stream(ledger: Ledger, model: RegisterModel) -> None:
    """Each stream holds the model's events of that stream, in command order."""
    by_stream: dict[str, list[Any]] = {}
    for event in model.events:
        stream = (
            MEETING_PREFIX + event.meeting_id
            if isinstance(event, MeetingEvent)
            else ACTION_PREFIX + event.action_id
        )
        by_stream.setdefault(stream, []).append(event)
    for stream, expected in by_stream.items():
        assert [decode(s) for s in ledger.store.read_stream(stream)] == expected, stream
    assert ledger.store.last_position() == len(model.events)


@pytest.mark.parametrize("backend", BACKENDS)
@_settings
@given(history=histories(), data=st.data())
def test_batches_of_a_history_record_the_fold_of_its_commands(
    ledger_factory: LedgerFactory, backend: str, history: list[Command], data: st.DataObject
) -> None:
    """Any accepted history, cut into batches anywhere, gives the model's register: every
    stream in command order, the state and read models its fold, the chain verified; and
    each command's result is the state it left."""
    with ledger_factory(backend) as ledger:  # closed after each example
        cuts = sorted(data.draw(st.sets(st.integers(0, len(history)), max_size=3), label="cuts"))
        model = RegisterModel()
        for start, stop in zip([0, *cuts], [*cuts, len(history)], strict=True):
            batch = history[start:stop]
            results = ledger.execute_many(batch)
            assert len(results) == len(batch)
            for command, result in zip(batch, results, strict=True):
                model.apply(command)
                if isinstance(command, RecordMeeting | CorrectMeeting):
                    assert result == model.meetings[command.meeting_id].meeting
                else:
                    assert result == model.actions[command.action_id].action
        _check_per_stream(ledger, model)
        laws.check_state(ledger, model)
        laws.check_read_models(ledger, list(ledger.store.read_all()))
        laws.check_verify(ledger)

        # The same commands again: nothing new (each event id is stored already).
        before = _snapshot(ledger)
        again = ledger.execute_many(history)
        assert _snapshot(ledger) == before
        assert len(again) == len(history)


@pytest.mark.parametrize("backend", BACKENDS)
@_settings
@given(history=histories(max_steps=6), data=st.data())
def test_one_refused_command_stores_nothing_of_its_batch(
    ledger_factory: LedgerFactory, backend: str, history: list[Command], data: st.DataObject
) -> None:
    """A batch of accepted commands with one that ``decide`` refuses (in the state the batch
    leaves it at its place) stores nothing: not the log, not a checkpoint, not a row. The
    error names the command by its number, kind and subject, with the rule it breaks."""
    with ledger_factory(backend) as ledger:  # closed after each example
        model = RegisterModel()
        ledger.execute_many(history)
        for command in history:
            model.apply(command)
        before = _snapshot(ledger)
        batch: list[Command] = []
        for _ in range(data.draw(st.integers(0, 3), label="accepted before")):
            command = data.draw(commands(model), label="accepted")
            model.apply(command)
            batch.append(command)
        refused = data.draw(rejected_commands(model), label="refused")
        batch.append(refused.command)
        for _ in range(data.draw(st.integers(0, 2), label="accepted after")):
            command = data.draw(commands(model), label="accepted after")
            model.apply(command)
            batch.append(command)
        with pytest.raises(
            (RuleViolationError, ValidationError), match="nothing was recorded"
        ) as e:
            ledger.execute_many(batch)
        number = batch.index(refused.command) + 1
        subject = _stream_of(refused.command).split(":", 1)[1]
        assert f"command {number} ({type(refused.command).__name__} {subject})" in str(e.value)
        assert isinstance(e.value.__cause__, refused.error)
        assert _snapshot(ledger) == before


def _meeting(event_id: str | None = None) -> RecordMeeting:
    return RecordMeeting(
        event_id=event_id or str(uuid.uuid4()),
        actor=ACTOR,
        occurred_at="2021-10-04T13:30",
        meeting_id="2021-10-04",
        title="Monthly Assurance Meeting",
        held_at="2021-10-04T13:30",
    )


def _raise(action_id: str, **extra: Any) -> RaiseAction:
    return RaiseAction(
        event_id=str(uuid.uuid4()),
        actor=ACTOR,
        occurred_at="2021-10-04T13:30",
        action_id=action_id,
        text=f"Report on {action_id}.",
        owners=["CC"],
        meeting="2021-10-04",
        **extra,
    )


def _update(action_id: str, note: str = "Progress.") -> UpdateAction:
    return UpdateAction(
        event_id=str(uuid.uuid4()),
        actor=ACTOR,
        occurred_at="2021-10-20T09:00",
        action_id=action_id,
        note=note,
        source="written update",
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_meeting_its_actions_and_their_decisions_in_one_batch(
    ledger_factory: LedgerFactory, backend: str
) -> None:
    """A batch can record a meeting, raise actions at it (one following another), update
    one and close it as superseded by the other: later commands see what earlier ones did;
    one durable commit holds all of it; history and the register show it."""
    ledger = ledger_factory(backend)
    close = CloseAction(
        event_id=str(uuid.uuid4()),
        actor=ACTOR,
        occurred_at="2021-11-01T10:00",
        action_id="ACT-2021-001",
        resolution="superseded",
        superseded_by="ACT-2021-002",
        note="Replaced by a wider review.",
    )
    batch: list[Command] = [
        _meeting(),
        _raise("ACT-2021-001"),
        _raise("ACT-2021-002", follows=["ACT-2021-001"]),
        _update("ACT-2021-001"),
        close,
    ]
    results = ledger.execute_many(batch)
    assert [getattr(r, "version", None) for r in results] == [1, 1, 1, 2, 3]
    assert ledger.get("ACT-2021-001").status == "closed"
    assert ledger.get("ACT-2021-001").superseded_by == "ACT-2021-002"
    assert [e.event_type for e in ledger.history("ACT-2021-001")] == [
        "raised",
        "updated",
        "closed",
    ]
    assert [a.id for a in ledger.register(status="open")] == ["ACT-2021-002"]
    assert ledger.store.last_position() == 5
    assert ledger.verify().ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_entries_that_are_not_commands_and_repeated_event_ids_are_refused(
    ledger_factory: LedgerFactory, backend: str
) -> None:
    """Something that is not a command, or two commands with one event id, is named and
    refused before anything is decided; nothing is stored."""
    ledger = ledger_factory(backend)
    with pytest.raises(ValidationError, match=r"entry 2: 'raise ACT-1' is not a command"):
        ledger.execute_many([_meeting(), "raise ACT-1"])  # type: ignore[list-item]
    twice = _raise("ACT-2021-001")
    other = UpdateAction(
        event_id=twice.event_id,
        actor=ACTOR,
        occurred_at="2021-10-20T09:00",
        action_id="ACT-2021-001",
        note="n",
        source="email",
    )
    with pytest.raises(ValidationError, match=r"command 3 \(UpdateAction ACT-2021-001\).*"):
        ledger.execute_many([_meeting(), twice, other])
    assert ledger.store.last_position() == 0
    assert ledger.execute_many([]) == ()
    for not_a_list in (_meeting(), "ACT-1", None, 3):
        with pytest.raises(ValidationError, match="is not a list of commands"):
            ledger.execute_many(not_a_list)  # type: ignore[arg-type]
    assert ledger.store.last_position() == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_batch_that_loses_a_race_is_decided_again(
    ledger_factory: LedgerFactory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer changes an action after the batch was decided and before it is
    appended: the batch is decided again on the fresh state and recorded after it."""
    ledger = ledger_factory(backend)
    ledger.execute_many([_meeting(), _raise("ACT-2021-001")])
    append = ledger.read_model.append
    interfered: list[int] = []

    def interfere(*args: Any, **kwargs: Any) -> Any:
        if not interfered:
            interfered.append(1)
            ledger.update_action("ACT-2021-001", note="Meanwhile.", source="email", actor=ACTOR)
        return append(*args, **kwargs)

    monkeypatch.setattr(ledger.read_model, "append", interfere)
    (updated, raised) = ledger.execute_many(
        [_update("ACT-2021-001", "From the batch."), _raise("ACT-2021-002")]
    )
    assert interfered
    assert updated.version == 3  # after the other writer's update
    assert updated.last_update == "From the batch."
    assert raised.id == "ACT-2021-002"
    assert ledger.store.last_position() == 5
