"""Tests for the Ledger API (``action_ledger._ledger``), end to end on the in-memory store and on
a SQLite file: commands, queries, the audit trail, bad input, retries, and the West Mercia
example; and a property: the Ledger agrees with the pure fold of a generated history."""

from __future__ import annotations

import importlib
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from action_ledger import (
    Action,
    ActionLedgerError,
    Attendee,
    ConcurrencyError,
    Ledger,
    NotFoundError,
    Owner,
    RuleViolationError,
    ValidationError,
)
from action_ledger._codec import decode
from action_ledger._decider import fold
from action_ledger.commands import (
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
from action_ledger.testing import strategies

ACTOR = "Charity Pearce"
OCT_2021 = "2021-10-04"
APR_2018 = "2018-04-23"
UTC = pendulum.UTC
OCT_HELD = pendulum.datetime(2021, 10, 4, 12, 30, tz=UTC)  # 13:30 BST
HOMICIDE = "T/Ch Supt to find out timeline for homicide review analysis."


@pytest.fixture(params=["memory", "sqlite"])
def ledger_backend(request: pytest.FixtureRequest) -> str:
    """Each test runs on a fresh register (the plugin's ``ledger`` fixture), in memory and in a
    SQLite file."""
    return str(request.param)


def october(ledger: Ledger) -> None:
    """Record the October 2021 monthly assurance meeting."""
    ledger.record_meeting(
        OCT_2021,
        title="Monthly Assurance Meeting October 2021",
        held_at="2021-10-04T13:30",
        kind="Holding to account",
        venue="Willison Room",
        chair="John Campion",
        attendance=[Attendee(name="Pippa Mills", capacity="Chief Constable", role="CC")],
        actor=ACTOR,
    )


def homicide_action(ledger: Ledger, **overrides: Any) -> str:
    """Raise the homicide review action at the October 2021 meeting."""
    values: dict[str, Any] = {
        "text": HOMICIDE,
        "owners": ["T/Ch Supt"],
        "meeting": OCT_2021,
        "item": "2.3",
        "due": "Within two weeks",
        "actor": ACTOR,
    }
    return ledger.raise_action(**{**values, **overrides})


def stored_count(ledger: Ledger) -> int:
    """How many events the store holds."""
    return ledger.store.last_position()


# -- commands --------------------------------------------------------------------------------


def test_record_meeting_reads_london_wall_time(ledger: Ledger) -> None:
    """A meeting's naive time is London wall time (BST here); it is kept in UTC."""
    october(ledger)
    meeting = ledger.meeting(OCT_2021)
    assert (meeting.held_at, meeting.date) == (OCT_HELD, pendulum.date(2021, 10, 4))
    assert meeting.attendance == (
        Attendee(name="Pippa Mills", capacity="Chief Constable", role="CC"),
    )
    assert [m.id for m in ledger.meetings()] == [OCT_2021]


def test_raise_action_generates_ids_per_london_year(ledger: Ledger) -> None:
    """Generated ids count up per year of the London date the action was raised."""
    october(ledger)
    ledger.record_meeting(
        APR_2018,
        title="Monthly Assurance Meeting April 2018",
        held_at="2018-04-23T10:30",
        actor=ACTOR,
    )
    first = homicide_action(ledger)
    second = homicide_action(ledger, text="Active discussion with the commissioning team.")
    earlier = homicide_action(ledger, meeting=APR_2018, item="2.1.1")
    # 23:30 on 31 December in London (GMT), though 00:30 on 1 January at UTC+1.
    new_year_eve = homicide_action(
        ledger, meeting=None, item=None, occurred_at="2022-01-01T00:30:00+01:00"
    )
    new_year = homicide_action(ledger, meeting=None, item=None, occurred_at="2022-01-01T00:30")
    assert (first, second, earlier, new_year_eve, new_year) == (
        "ACT-2021-001",
        "ACT-2021-002",
        "ACT-2018-001",
        "ACT-2021-003",
        "ACT-2022-001",
    )


def test_raise_action_takes_a_callers_id(ledger: Ledger) -> None:
    """A caller may give the action its own id."""
    october(ledger)
    assert homicide_action(ledger, action_id="SOC/2021-1.2") == "SOC/2021-1.2"
    assert ledger.get("SOC/2021-1.2").text == HOMICIDE


def test_raise_action_at_a_meeting_resolves_due_and_occurs_when_the_meeting_was_held(
    ledger: Ledger,
) -> None:
    """Raised at a meeting, an action occurred at its ``held_at`` and is due from its date."""
    october(ledger)
    action = ledger.get(homicide_action(ledger))
    assert action.raised_at == OCT_HELD
    assert (action.due_on, action.due_text) == (pendulum.date(2021, 10, 18), "Within two weeks")
    assert (action.status, action.meeting, action.item, action.source) == (
        "open",
        OCT_2021,
        "2.3",
        "meeting",
    )


def test_update_action_records_changes_old_to_new(ledger: Ledger) -> None:
    """An update changing owners and due shows each field old → new in the trail."""
    october(ledger)
    action_id = homicide_action(ledger)
    updated = ledger.update_action(
        action_id,
        note="The review is delayed.",
        source="briefing note",
        owners=["DCC: Julian Moss"],
        due="by 1 December 2021",
        reason="Reassigned by the CC.",
        occurred_at="2021-10-20T09:00",
        actor=ACTOR,
    )
    assert updated == ledger.get(action_id)
    assert updated.owners == (Owner(role="DCC", person="Julian Moss"),)
    assert (updated.due_on, updated.last_update) == (
        pendulum.date(2021, 12, 1),
        "The review is delayed.",
    )
    entry = ledger.history(action_id)[-1]
    assert entry.event_type == "updated"
    assert dict(entry.changes) == {
        "owners": ("T/Ch Supt", "DCC: Julian Moss"),
        "due_on": ("2021-10-18", "2021-12-01"),
        "due_text": ("Within two weeks", "by 1 December 2021"),
    }
    assert "Reassigned by the CC." in entry.summary


def test_update_at_a_meeting_occurs_when_the_meeting_was_held(ledger: Ledger) -> None:
    """Without ``occurred_at``, an update at a meeting happened when the meeting was held."""
    october(ledger)
    action_id = homicide_action(ledger)
    updated = ledger.update_action(
        action_id, note="Verbal update.", source="verbal", meeting=OCT_2021, actor=ACTOR
    )
    assert updated.last_updated_at == OCT_HELD


def test_revisit_action_records_the_outcome(ledger: Ledger) -> None:
    """A revisit keeps the outcome, the verdict and the next revisit date."""
    october(ledger)
    action_id = homicide_action(ledger)
    action = ledger.revisit_action(
        action_id,
        meeting=OCT_2021,
        item="1.2",
        outcome="The written update evidenced force activity across all 4Ps.",
        assured=True,
        next_revisit="Revisit in 6 months",
        actor=ACTOR,
    )
    assert action == ledger.get(action_id)
    assert (action.last_revisited_at, action.last_revisit_meeting, action.assured) == (
        OCT_HELD,
        OCT_2021,
        True,
    )
    assert action.next_revisit_on == pendulum.date(2022, 4, 4)


def test_close_action_as_completed_then_reopen(ledger: Ledger) -> None:
    """A completed action can be reopened, and is then open without its resolution."""
    october(ledger)
    action_id = homicide_action(ledger)
    closed = ledger.close_action(
        action_id, resolution="completed", note="Timeline shared.", actor=ACTOR
    )
    assert (closed.status, closed.resolution, closed.closing_note) == (
        "closed",
        "completed",
        "Timeline shared.",
    )
    reopened = ledger.reopen_action(action_id, reason="Wrong review.", actor=ACTOR)
    assert reopened == ledger.get(action_id)
    assert (reopened.status, reopened.resolution, reopened.closed_at) == ("open", None, None)


def test_close_action_as_superseded_names_its_successor(ledger: Ledger) -> None:
    """An action replaced by another is closed as superseded, naming the successor."""
    october(ledger)
    old = homicide_action(ledger)
    new = homicide_action(ledger, text="Revisit in 6 months.", follows=[old])
    closed = ledger.close_action(
        old,
        resolution="superseded",
        note="Replaced by a new action.",
        meeting=OCT_2021,
        superseded_by=new,
        actor=ACTOR,
    )
    assert (closed.resolution, closed.superseded_by) == ("superseded", new)
    assert ledger.get(new).follows == (old,)
    entry = ledger.history(old)[-1]
    assert entry.changes["superseded_by"] == (None, new)
    assert f"superseded by {new}" in entry.summary


def test_correct_event_changes_the_state_and_keeps_both_in_history(ledger: Ledger) -> None:
    """Correcting the raised owners changes the action; the trail keeps both events, linked."""
    october(ledger)
    action_id = homicide_action(ledger)
    raised = ledger.history(action_id)[0]
    corrected = ledger.correct_event(
        action_id,
        raised.event_id,
        reason="Minuted against the wrong owner.",
        owners=["DCC"],
        actor=ACTOR,
    )
    assert corrected.owners == (Owner(role="DCC"),) == ledger.get(action_id).owners
    first, fix = ledger.history(action_id)
    assert (fix.event_type, fix.corrects) == ("corrected", raised.event_id)
    assert dict(fix.changes) == {"owners": ("T/Ch Supt", "DCC")}
    assert first.corrected_by == (fix.event_id,)
    assert "Minuted against the wrong owner." in fix.summary


def test_correct_event_can_correct_when_an_event_occurred(ledger: Ledger) -> None:
    """``occurred_at=`` as a corrected field moves the corrected event, as documented."""
    october(ledger)
    action_id = homicide_action(ledger)
    raised = ledger.history(action_id)[0]
    corrected = ledger.correct_event(
        action_id,
        raised.event_id,
        reason="The action was raised at the start of the meeting.",
        occurred_at="2021-10-04T13:00",
        actor=ACTOR,
    )
    assert corrected.raised_at == pendulum.datetime(2021, 10, 4, 12, 0, tz=UTC)


# -- queries ---------------------------------------------------------------------------------


def test_history_is_a_readable_trail_of_the_stored_events(ledger: Ledger) -> None:
    """The trail lists each event oldest first with type, sentence, actor, times and hash."""
    october(ledger)
    action_id = homicide_action(ledger)
    ledger.update_action(
        action_id,
        note="Timeline requested from the review team.",
        source="email",
        occurred_at="2021-10-06T09:00",
        actor="Jackie Irvin",
    )
    ledger.close_action(
        action_id,
        resolution="completed",
        note="Timeline shared.",
        occurred_at="2021-10-12T09:00",
        actor=ACTOR,
    )
    trail = ledger.history(action_id)
    stored = ledger.store.read_stream(f"action:{action_id}")
    assert [e.event_type for e in trail] == ["raised", "updated", "closed"]
    assert [e.actor for e in trail] == [ACTOR, "Jackie Irvin", ACTOR]
    assert [e.occurred_at for e in trail] == [
        OCT_HELD,
        pendulum.datetime(2021, 10, 6, 8, tz=UTC),
        pendulum.datetime(2021, 10, 12, 8, tz=UTC),
    ]
    assert [e.hash for e in trail] == [s.hash for s in stored]
    assert [(e.position, e.version) for e in trail] == [(s.position, s.version) for s in stored]
    assert [e.event_id for e in trail] == [s.event_id for s in stored]
    for entry, row in zip(trail, stored, strict=True):
        assert entry.recorded_at == pendulum.parse(row.recorded_at)
        assert entry.recorded_at > pendulum.datetime(2024, 1, 1, tz=UTC)
    raised, update, close = (e.summary for e in trail)
    for value in (OCT_2021, "2.3", "T/Ch Supt", "2021-10-18", "Within two weeks", HOMICIDE):
        assert value in raised
    assert "email" in update
    assert "Timeline requested from the review team." in update
    assert "completed" in close
    assert "Timeline shared." in close


def test_register_filters_by_status_and_owner(ledger: Ledger) -> None:
    """The register filters by status and by owner role or person, case-insensitively."""
    october(ledger)
    first = homicide_action(ledger, owners=["CC: Pippa Mills"])
    second = homicide_action(ledger, owners=["PCC", "DCC"], occurred_at="2021-10-04T13:40")
    third = homicide_action(ledger, owners=["T/Ch Supt"], occurred_at="2021-10-04T13:20")
    ledger.close_action(second, resolution="withdrawn", note="No longer needed.", actor=ACTOR)

    def ids(**filters: Any) -> list[str]:
        return [a.id for a in ledger.register(**filters)]

    assert ids() == [third, first, second]  # oldest raised first
    assert ids(status="open") == [third, first]
    assert ids(status="closed") == [second]
    assert ids(owner="cc") == [first]
    assert ids(owner="  PIPPA MILLS ") == [first]
    assert ids(owner="t/ch supt") == [third]
    assert ids(owner="dcc", status="closed") == [second]
    assert ids(owner="dcc", status="open") == []
    assert ids(owner="Julian Moss") == []


def test_verify_checks_every_stored_event(ledger: Ledger) -> None:
    """``verify`` reads the whole log and reports it intact, ending at the last hash."""
    october(ledger)
    homicide_action(ledger)
    report = ledger.verify()
    last = list(ledger.store.read_all())[-1]
    assert (report.ok, report.checked, report.first_bad_position) == (True, 2, None)
    assert report.head_hash == last.hash
    assert ledger.verify(head=last.hash).ok
    assert not ledger.verify(head="f" * 64).ok


# -- bad input changes nothing ---------------------------------------------------------------

Call = Callable[[Ledger, dict[str, str]], object]

BAD_CALLS: list[Any] = [
    pytest.param(
        lambda led, ids: led.update_action(
            ids["closed"], note="More.", source="email", actor=ACTOR
        ),
        RuleViolationError,
        "cannot update a closed action",
        id="update-closed-action",
    ),
    pytest.param(
        lambda led, ids: led.revisit_action(
            ids["closed"], meeting=OCT_2021, outcome="Discussed.", actor=ACTOR
        ),
        RuleViolationError,
        "cannot revisit a closed action",
        id="revisit-closed-action",
    ),
    pytest.param(
        lambda led, ids: led.close_action(
            ids["closed"], resolution="completed", note="Again.", actor=ACTOR
        ),
        RuleViolationError,
        "already closed",
        id="double-close",
    ),
    pytest.param(
        lambda led, ids: led.reopen_action(ids["open"], reason="Why not.", actor=ACTOR),
        RuleViolationError,
        "only a closed action can be reopened",
        id="reopen-open-action",
    ),
    pytest.param(
        lambda led, ids: led.update_action("ACT-1999-001", note="N.", source="email", actor=ACTOR),
        NotFoundError,
        "'ACT-1999-001'",
        id="unknown-action",
    ),
    pytest.param(lambda led, ids: led.get("ACT-1999-001"), NotFoundError, "ACT-1999-001", id="get"),
    pytest.param(
        lambda led, ids: led.history("ACT-1999-001"), NotFoundError, "ACT-1999-001", id="history"
    ),
    pytest.param(
        lambda led, ids: homicide_action(led, meeting="2021-11-01"),
        RuleViolationError,
        "'2021-11-01'",
        id="unknown-meeting",
    ),
    pytest.param(
        lambda led, ids: led.revisit_action(
            ids["open"], meeting="2021-11-01", outcome="Discussed.", actor=ACTOR
        ),
        RuleViolationError,
        "'2021-11-01'",
        id="revisit-at-unknown-meeting",
    ),
    pytest.param(
        lambda led, ids: homicide_action(led, due="2022-02-30"),
        ValidationError,
        "'2022-02-30'",
        id="bad-due-date",
    ),
    pytest.param(
        lambda led, ids: homicide_action(led, due="by 30 February 2022"),
        ValidationError,
        "30 february 2022",
        id="bad-due-words",
    ),
    pytest.param(
        lambda led, ids: led.close_action(
            ids["open"],
            resolution="superseded",
            superseded_by="ACT-2099-001",
            note="Replaced.",
            actor=ACTOR,
        ),
        RuleViolationError,
        "'ACT-2099-001'",
        id="superseded-by-unknown",
    ),
    pytest.param(
        lambda led, ids: led.update_action(ids["open"], note="   ", source="email", actor=ACTOR),
        ValidationError,
        "note",
        id="empty-note",
    ),
    pytest.param(
        lambda led, ids: led.update_action(ids["open"], note="N.", source="fax", actor=ACTOR),
        ValidationError,
        "'fax'",
        id="unknown-source",
    ),
    pytest.param(
        lambda led, ids: led.close_action(ids["open"], resolution="done", note="N.", actor=ACTOR),
        ValidationError,
        "'done'",
        id="unknown-resolution",
    ),
    pytest.param(
        lambda led, ids: led.register(status="pending"), ValidationError, "'pending'", id="status"
    ),
    pytest.param(
        lambda led, ids: homicide_action(led, action_id=ids["open"]),
        RuleViolationError,
        "choose another id",
        id="duplicate-action-id",
    ),
    pytest.param(
        lambda led, ids: homicide_action(led, action_id="bad id!"),
        ValidationError,
        "'bad id!'",
        id="malformed-action-id",
    ),
    pytest.param(
        lambda led, ids: homicide_action(led, follows=["ACT-2099-001"]),
        RuleViolationError,
        "'ACT-2099-001'",
        id="follows-unknown",
    ),
    pytest.param(
        lambda led, ids: led.record_meeting(
            "2021-10-05", title="Wrong date", held_at="2021-10-04T13:30", actor=ACTOR
        ),
        RuleViolationError,
        "2021-10-05",
        id="meeting-id-not-its-date",
    ),
    pytest.param(
        lambda led, ids: october(led),
        RuleViolationError,
        "already recorded",
        id="meeting-recorded-twice",
    ),
    pytest.param(
        lambda led, ids: led.record_meeting(
            "2021-02-30", title="No such day", held_at="2021-02-28T10:00", actor=ACTOR
        ),
        ValidationError,
        "'2021-02-30'",
        id="meeting-id-not-a-date",
    ),
    pytest.param(
        lambda led, ids: led.correct_event(
            ids["open"], ids["raised_event"], reason="Oops.", colour="red", actor=ACTOR
        ),
        ValidationError,
        "'colour'",
        id="correct-unknown-field",
    ),
    pytest.param(
        lambda led, ids: led.correct_event(
            ids["open"], str(uuid.UUID(int=99)), reason="Oops.", text="New.", actor=ACTOR
        ),
        RuleViolationError,
        str(uuid.UUID(int=99)),
        id="correct-unknown-event",
    ),
]


@pytest.mark.parametrize(("call", "error_type", "shown"), BAD_CALLS)
def test_bad_input_raises_a_typed_error_and_changes_nothing(
    ledger: Ledger, call: Call, error_type: type[Exception], shown: str
) -> None:
    """A bad call raises its typed ``ActionLedgerError`` naming the offending value, stores
    nothing, and leaves the register usable."""
    october(ledger)
    ids = {"open": homicide_action(ledger), "closed": homicide_action(ledger)}
    ids["raised_event"] = ledger.history(ids["open"])[0].event_id
    ledger.close_action(ids["closed"], resolution="completed", note="Done.", actor=ACTOR)
    before = stored_count(ledger)
    register = ledger.register()
    with pytest.raises(error_type) as info:
        call(ledger, ids)
    assert isinstance(info.value, ActionLedgerError)
    assert shown in str(info.value)
    assert stored_count(ledger) == before
    assert ledger.register() == register
    assert ledger.verify().ok
    homicide_action(ledger, text="A good call still works.")
    assert stored_count(ledger) == before + 1


# -- retries ---------------------------------------------------------------------------------

RETRIES: dict[str, Call] = {
    "record_meeting": lambda led, ids: led.record_meeting(
        "2021-11-01",
        title="November",
        held_at="2021-11-01T10:00",
        actor=ACTOR,
        event_id=ids["event_id"],
    ),
    "raise_action": lambda led, ids: homicide_action(led, event_id=ids["event_id"]),
    "raise_action_with_id": lambda led, ids: homicide_action(
        led, action_id="OWN-1", event_id=ids["event_id"]
    ),
    "update_action": lambda led, ids: led.update_action(
        ids["open"],
        note="Written update.",
        source="written update",
        actor=ACTOR,
        event_id=ids["event_id"],
    ),
    "revisit_action": lambda led, ids: led.revisit_action(
        ids["open"],
        meeting=OCT_2021,
        outcome="Discussed.",
        actor=ACTOR,
        event_id=ids["event_id"],
    ),
    "close_action": lambda led, ids: led.close_action(
        ids["open"], resolution="completed", note="Done.", actor=ACTOR, event_id=ids["event_id"]
    ),
    "reopen_action": lambda led, ids: led.reopen_action(
        ids["closed"], reason="Not done.", actor=ACTOR, event_id=ids["event_id"]
    ),
    "correct_event": lambda led, ids: led.correct_event(
        ids["open"],
        ids["raised_event"],
        reason="Wrong owner.",
        owners=["DCC"],
        actor=ACTOR,
        event_id=ids["event_id"],
    ),
}


@pytest.mark.parametrize("name", list(RETRIES))
def test_retrying_a_command_with_the_same_event_id_is_a_no_op(ledger: Ledger, name: str) -> None:
    """Sending a command again with the same ``event_id`` (a retry after a lost reply) stores
    nothing more and returns what the first call returned, which is what the register holds."""
    october(ledger)
    ids = {"open": homicide_action(ledger), "closed": homicide_action(ledger)}
    ids["raised_event"] = ledger.history(ids["open"])[0].event_id
    ledger.close_action(ids["closed"], resolution="completed", note="Done.", actor=ACTOR)
    ids["event_id"] = str(uuid.uuid4())
    call = RETRIES[name]
    first = call(ledger, ids)
    count = stored_count(ledger)
    again = call(ledger, ids)
    assert stored_count(ledger) == count
    assert again == first
    if isinstance(first, Action):
        assert again == ledger.get(first.id)


# -- the West Mercia example -----------------------------------------------------------------


def west_mercia() -> ModuleType:
    """The example module, ``src/action_ledger/_examples/west_mercia.py``."""
    return importlib.import_module("action_ledger._examples.west_mercia")


def test_the_west_mercia_example_records_three_meetings(ledger: Ledger) -> None:
    """The example records 3 meetings and 14 actions; the March 2021 SOC action is closed as
    superseded by its follow-on; the chain verifies."""
    west_mercia().record(ledger)
    assert [m.id for m in ledger.meetings()] == ["2018-04-23", "2018-10-26", "2021-10-04"]
    actions = ledger.register()
    assert len(actions) == 14
    assert sum(a.id.startswith("ACT-2018-") for a in actions) == 8
    assert sum(a.id.startswith("ACT-2021-") for a in actions) == 6
    (closed,) = ledger.register(status="closed")
    assert closed.text.startswith("Revisit in 6 months to see how SOC activity")
    assert (closed.resolution, closed.due_on) == ("superseded", pendulum.date(2021, 9, 1))
    successor = ledger.get(closed.superseded_by or "")
    assert successor.text.startswith("Revisit in 6 months to seek reassurance")
    assert successor.follows == (closed.id,)
    assert successor.due_on == pendulum.date(2022, 4, 4)
    assert [e.event_type for e in ledger.history(closed.id)] == [
        "raised",
        "updated",
        "revisited",
        "closed",
    ]
    assert [a.id for a in ledger.register(owner="T/Ch Supt")] == ["ACT-2021-005"]
    report = ledger.verify()
    assert (report.ok, report.checked) == (True, stored_count(ledger))


# -- the Ledger agrees with the pure core ----------------------------------------------------


def apply(ledger: Ledger, command: Command) -> object:
    """Send ``command`` through the Ledger's public API."""
    match command:
        case RecordMeeting():
            return ledger.record_meeting(
                command.meeting_id,
                title=command.title,
                held_at=command.held_at,
                actor=command.actor,
                kind=command.kind,
                venue=command.venue,
                chair=command.chair,
                minutes_by=command.minutes_by,
                attendance=command.attendance,
                apologies=command.apologies,
                event_id=command.event_id,
                occurred_at=command.occurred_at,
            )
        case CorrectMeeting():
            return ledger.correct_meeting(
                command.meeting_id,
                reason=command.reason,
                actor=command.actor,
                title=command.title,
                held_at=command.held_at,
                kind=command.kind,
                venue=command.venue,
                chair=command.chair,
                minutes_by=command.minutes_by,
                attendance=command.attendance,
                apologies=command.apologies,
                event_id=command.event_id,
                corrected_at=command.occurred_at,
            )
        case RaiseAction():
            return ledger.raise_action(
                text=command.text,
                owners=command.owners,
                actor=command.actor,
                meeting=command.meeting,
                item=command.item,
                source=command.source,
                due=command.due,
                follows=command.follows,
                restricted=command.restricted,
                action_id=command.action_id,
                event_id=command.event_id,
                occurred_at=command.occurred_at,
            )
        case UpdateAction():
            return ledger.update_action(
                command.action_id,
                note=command.note,
                source=command.source,
                actor=command.actor,
                meeting=command.meeting,
                text=command.text,
                owners=command.owners,
                due=command.due,
                reason=command.reason,
                restricted=command.restricted,
                event_id=command.event_id,
                occurred_at=command.occurred_at,
            )
        case RevisitAction():
            return ledger.revisit_action(
                command.action_id,
                meeting=command.meeting,
                outcome=command.outcome,
                actor=command.actor,
                item=command.item,
                assured=command.assured,
                next_revisit=command.next_revisit,
                event_id=command.event_id,
                occurred_at=command.occurred_at,
            )
        case CloseAction():
            return ledger.close_action(
                command.action_id,
                resolution=command.resolution,
                note=command.note,
                actor=command.actor,
                meeting=command.meeting,
                item=command.item,
                superseded_by=command.superseded_by,
                event_id=command.event_id,
                occurred_at=command.occurred_at,
            )
        case ReopenAction():
            return ledger.reopen_action(
                command.action_id,
                reason=command.reason,
                actor=command.actor,
                meeting=command.meeting,
                event_id=command.event_id,
                occurred_at=command.occurred_at,
            )
        case CorrectEvent():
            return ledger.correct_event(
                command.action_id,
                command.corrects,
                reason=command.reason,
                actor=command.actor,
                event_id=command.event_id,
                corrected_at=command.occurred_at,
                **dict(command.fields),
            )
    raise TypeError(command)  # pragma: no cover


LEDGER_HISTORIES = strategies.histories()


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@given(commands=LEDGER_HISTORIES)
def test_the_ledger_agrees_with_the_pure_fold(backend: str, commands: list[Command]) -> None:
    """Applied through the Ledger, a valid history gives, for every action, the fold of its
    stored events, which is the pure model's state; the register is all of them."""
    model = strategies.RegisterModel.replay(commands)
    with tempfile.TemporaryDirectory() as folder:
        target = ":memory:" if backend == "memory" else Path(folder) / "register.db"
        with Ledger.open(target, synchronous="NORMAL") as ledger:
            for command in commands:
                result = apply(ledger, command)
                if isinstance(result, Action):
                    assert result == ledger.get(result.id)
            for action_id, state in model.actions.items():
                rows = ledger.store.read_stream(f"action:{action_id}")
                folded = fold([decode(r) for r in rows])  # type: ignore[misc]
                assert ledger.get(action_id) == folded.action == state.action
            register = ledger.register()
            assert set(register) == {s.action for s in model.actions.values()}
            assert [a.id for a in register] == [
                a.id for a in sorted(register, key=lambda a: (a.raised_at, a.id))
            ]
            assert {m.id for m in ledger.meetings()} == set(model.meetings)
            assert ledger.verify().ok


@given(st.sampled_from(["open", "closed", None]), st.sampled_from(["cc", "PCC", "nobody", None]))
def test_register_filters_match_the_definition(status: str | None, owner: str | None) -> None:
    """Each filtered register is exactly the actions with that status and an owner matching."""
    ledger = Ledger.open(":memory:")
    october(ledger)
    homicide_action(ledger, owners=["CC"])
    closed = homicide_action(ledger, owners=["PCC: John Campion", "CC"])
    homicide_action(ledger, owners=["DCC"])
    ledger.close_action(closed, resolution="withdrawn", note="Withdrawn.", actor=ACTOR)
    everything = ledger.register()
    wanted = [
        a
        for a in everything
        if (status is None or a.status == status)
        and (owner is None or any(o.role.lower() == owner.lower() for o in a.owners))
    ]
    assert ledger.register(status=status, owner=owner) == tuple(wanted)


def test_a_cached_state_never_changes_an_answer(tmp_path: Path) -> None:
    """Two Ledgers on one file: each decides on the other's latest changes, not a stale copy."""
    path = tmp_path / "shared.db"
    with Ledger.open(path) as first, Ledger.open(path) as second:
        action_id = first.raise_action(
            text="Find out the timeline.",
            owners=["CC"],
            actor=ACTOR,
            occurred_at="2021-10-04T13:30",
        )
        first.update_action(action_id, note="Asked.", source="email", actor=ACTOR)
        second.close_action(action_id, resolution="withdrawn", note="Not needed.", actor=ACTOR)
        # first's cached copy says open; the store says closed: the rule must win.
        with pytest.raises(RuleViolationError) as rejected:
            first.update_action(action_id, note="More.", source="email", actor=ACTOR)
        assert rejected.value.rule == "closed-action-is-final"
        second.reopen_action(action_id, reason="Needed after all.", actor=ACTOR)
        # first's copy (refreshed by the rejection) said closed; the store says open again.
        updated = first.update_action(action_id, note="Resumed.", source="email", actor=ACTOR)
        assert updated.status == "open"
        assert updated.version == 5
        assert first.get(action_id) == second.get(action_id) == updated


@pytest.mark.slow
def test_processes_updating_the_same_actions_lose_nothing(tmp_path: Path) -> None:
    """Four OS processes updating two actions at once: every update stored once, in order."""
    import json
    import subprocess
    import sys

    import ledger_procs

    path = tmp_path / "shared.db"
    with Ledger.open(path) as ledger:
        for action_id in ledger_procs.ACTIONS:
            ledger.raise_action(
                text="Shared action.",
                owners=["CC"],
                actor=ACTOR,
                action_id=action_id,
                occurred_at="2021-10-04T13:30",
            )
    workers, count = 4, 30
    script = str(Path(ledger_procs.__file__).resolve())
    children = [
        subprocess.Popen(
            [sys.executable, script, str(path), str(w), str(count)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    reports = [json.loads(child.communicate(timeout=120)[0]) for child in children]
    assert all(child.returncode == 0 for child in children)
    with Ledger.open(path) as ledger:
        intended = {ledger_procs.update_id(w, n) for w in range(workers) for n in range(count)}
        assert {i for r in reports for i in r["stored"]} == intended
        stored = [e for e, _ in ledger.events() if e.event_type == "action.updated"]
        assert sorted(e.event_id for e in stored) == sorted(intended)
        for action_id in ledger_procs.ACTIONS:
            action = ledger.get(action_id)
            assert action.version == 1 + workers * count // 2
            assert [e.version for e in ledger.history(action_id)] == list(
                range(1, action.version + 1)
            )
        assert ledger.verify().ok


def test_head_is_the_last_position_and_hash_that_verify_reports() -> None:
    """``head()`` gives the event count and the last chain hash, as verify does."""
    from action_ledger._examples.west_mercia import record

    with Ledger.open(":memory:") as ledger:
        assert ledger.head() == (0, "0" * 64)
        record(ledger)
        report = ledger.verify()
        assert ledger.head() == (report.checked, report.head_hash)


@given(commands=LEDGER_HISTORIES)
def test_execute_is_the_keyword_methods(commands: list[Command]) -> None:
    """``execute`` of each command object stores exactly what the keyword method stores, and
    returns the action or meeting as it then stands."""
    with Ledger.open(":memory:") as by_keyword, Ledger.open(":memory:") as by_object:
        for command in commands:
            expected = apply(by_keyword, command)
            result = by_object.execute(command)
            if isinstance(command, RaiseAction):
                assert isinstance(result, Action)
                assert result == by_keyword.get(command.action_id)
            elif not isinstance(command, RecordMeeting | CorrectMeeting):
                assert result == expected
            else:
                assert result == by_keyword.meeting(command.meeting_id)
        keyword_log = [(s.stream_id, decode(s)) for s in by_keyword.store.read_all()]
        object_log = [(s.stream_id, decode(s)) for s in by_object.store.read_all()]
        assert object_log == keyword_log


@given(commands=LEDGER_HISTORIES)
def test_executing_a_command_again_changes_nothing(commands: list[Command]) -> None:
    """A command's event id is its idempotency key: executing every command a second time
    stores nothing and returns the current state."""
    with Ledger.open(":memory:") as ledger:
        for command in commands:
            ledger.execute(command)
        head = ledger.head()
        for command in commands:
            again = ledger.execute(command)
            if isinstance(command, RecordMeeting | CorrectMeeting):
                assert again == ledger.meeting(command.meeting_id)
            else:
                assert again == ledger.get(command.action_id)
        assert ledger.head() == head


@pytest.mark.parametrize("thing", ["close A-001", {"action_id": "A-001"}, None, 42])
def test_execute_refuses_what_is_not_a_command(ledger: Ledger, thing: Any) -> None:
    """``execute`` given anything but a command raises ValidationError naming it, and stores
    nothing."""
    october(ledger)
    head = ledger.head()
    with pytest.raises(ValidationError, match="cannot execute") as refused:
        ledger.execute(thing)
    assert repr(thing) in str(refused.value)
    assert refused.value.field == "command"
    assert ledger.head() == head


def test_execute_raises_what_decide_raises(ledger: Ledger) -> None:
    """A rejected command object raises the rule it breaks, and stores nothing."""
    october(ledger)
    action_id = homicide_action(ledger)
    ledger.close_action(action_id, resolution="completed", note="Done.", actor=ACTOR)
    head = ledger.head()
    close_again = CloseAction(
        event_id=str(uuid.uuid4()),
        actor=ACTOR,
        occurred_at=OCT_HELD,
        action_id=action_id,
        resolution="completed",
        note="Done again.",
    )
    with pytest.raises(RuleViolationError) as rejected:
        ledger.execute(close_again)
    assert rejected.value.rule == "no-double-close"
    assert ledger.head() == head


def _raised_and_cached(path: str, **options: Any) -> tuple[Ledger, str]:
    """A ledger on ``path`` that has raised an action and holds its state in its cache."""
    ledger = Ledger.open(path, **options)
    action_id = ledger.raise_action(text="Find out the timeline.", owners=["CC"], actor="A")
    ledger.get(action_id)
    return ledger, action_id


def test_a_lost_race_is_decided_again_on_fresh_state(tmp_path: Path) -> None:
    """A command decided on a state another writer has since moved on is decided again on
    the fresh state and stored: the caller never sees the race."""
    path = str(tmp_path / "r.db")
    ledger, action_id = _raised_and_cached(path)
    with ledger, Ledger.open(path) as other:
        other.update_action(action_id, note="From the other writer.", source="email", actor="B")
        action = ledger.update_action(action_id, note="From this one.", source="email", actor="A")
        assert action.version == 3
        assert [e.actor for e in ledger.history(action_id)] == ["A", "B", "A"]


@pytest.mark.parametrize("options", [{"retry_budget": 0}, {"max_retries": 0}])
def test_with_retries_off_a_lost_race_says_so(tmp_path: Path, options: dict[str, Any]) -> None:
    """With retries turned off the first lost race reaches the caller as a ConcurrencyError
    that says retries are off and how to turn them on; nothing of the command is stored."""
    path = str(tmp_path / "r.db")
    ledger, action_id = _raised_and_cached(path, **options)
    with ledger, Ledger.open(path) as other:
        other.update_action(action_id, note="From the other writer.", source="email", actor="B")
        with pytest.raises(ConcurrencyError, match="retries are turned off") as caught:
            ledger.update_action(action_id, note="Lost.", source="email", actor="A")
        assert caught.value.attempts == 1
        assert ledger.get(action_id).version == 2


def test_a_spent_retry_budget_says_how_many_attempts_it_made(tmp_path: Path) -> None:
    """When other writers win every race within the budget, the ConcurrencyError says how
    many attempts were made in how many seconds, and what to do."""
    path = str(tmp_path / "r.db")
    ledger, action_id = _raised_and_cached(path, retry_budget=0.05)
    real_remember = ledger.read_model.remember
    calls = 0

    def always_beaten(action: str, state: Any) -> None:
        # Between deciding and appending, another writer gets there first.
        nonlocal calls
        calls += 1
        with Ledger.open(path) as other:
            other.update_action(action, note=f"Beat it {calls}.", source="email", actor="B")
        real_remember(action, state)

    ledger.read_model.remember = always_beaten  # type: ignore[method-assign]
    with ledger, pytest.raises(ConcurrencyError, match=r"gave up after \d+ attempts") as caught:
        ledger.update_action(action_id, note="Never first.", source="email", actor="A")
    assert caught.value.attempts == calls > 1
    assert caught.value.budget == 0.05


def test_max_retries_must_not_be_negative() -> None:
    """A negative ``max_retries`` is refused, naming the value."""
    with pytest.raises(ValidationError, match="max_retries -1"):
        Ledger.open(":memory:", max_retries=-1)
