"""Tests for the functional core (``action_ledger._decider``): every rule of ``decide``, the happy
path of every command, ``evolve`` never failing, replay = fold, and how corrections apply."""

from __future__ import annotations

import ast
import inspect
import uuid
from typing import Any, TypeVar

import attrs
import pendulum
import pytest
from hypothesis import given as for_all
from hypothesis import strategies as st

from action_ledger import Owner, _decider
from action_ledger._codec import decode, encode, stream_of
from action_ledger._decider import (
    INITIAL_ACTION,
    ActionState,
    fold,
    fold_meeting,
)
from action_ledger._due import Due
from action_ledger._memory import MemoryEventStore
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
    MeetingEvent,
    MeetingRecorded,
)
from action_ledger.exceptions import NotFoundError, RuleViolationError
from action_ledger.testing import given, strategies

C = TypeVar("C")
ACTOR = "Charity Pearce"
OCT_2021 = "2021-10-04"
NOV_2021 = "2021-11-01"
HELD = pendulum.datetime(2021, 10, 4, 12, 30, tz="UTC")  # 13:30 BST
NOV_HELD = pendulum.datetime(2021, 11, 1, 10, 0, tz="UTC")  # 10:00 GMT
LATER = HELD.add(days=20)
A1 = "ACT-2021-001"
A2 = "ACT-2021-002"
T_CH_SUPT = (Owner(role="T/Ch Supt"),)
HOMICIDE = "T/Ch Supt to find out timeline for homicide review analysis."


def eid(number: int) -> str:
    """A readable, fixed event id."""
    return str(uuid.UUID(int=number))


MEETING = MeetingRecorded(
    event_id=eid(1),
    actor=ACTOR,
    occurred_at=HELD,
    meeting_id=OCT_2021,
    title="Monthly Assurance Meeting October 2021",
    held_at=HELD,
    kind="Holding to account",
    venue="Willison Room",
    chair="John Campion",
)
NOV_MEETING = MeetingRecorded(
    event_id=eid(5),
    actor=ACTOR,
    occurred_at=NOV_HELD,
    meeting_id=NOV_2021,
    title="Monthly Assurance Meeting November 2021",
    held_at=NOV_HELD,
)
RAISED = ActionRaised(
    event_id=eid(2),
    actor=ACTOR,
    occurred_at=HELD,
    action_id=A1,
    text=HOMICIDE,
    owners=T_CH_SUPT,
    meeting=OCT_2021,
    item="2.3",
    source="meeting",
    due=Due(on=pendulum.date(2021, 10, 18), text="Within two weeks"),
)
CLOSED = ActionClosed(
    event_id=eid(3),
    actor=ACTOR,
    occurred_at=LATER,
    action_id=A1,
    resolution="completed",
    note="Timeline shared with the PCC.",
)
UPDATED = ActionUpdated(
    event_id=eid(10),
    actor=ACTOR,
    occurred_at=LATER,
    action_id=A1,
    note="Written update provided in advance of the meeting.",
    source="written update",
)
OTHER = ActionRaised(
    event_id=eid(4),
    actor=ACTOR,
    occurred_at=HELD,
    action_id=A2,
    text="Active discussion between PCC commissioning team and Chief Officers.",
    owners=(Owner(role="PCC"),),
    meeting=OCT_2021,
    item="2.3",
    source="meeting",
)


def _command(cls: type[C], defaults: dict[str, Any], overrides: dict[str, Any]) -> C:
    return cls(**{"actor": ACTOR, **defaults, **overrides})


def record_meeting(**overrides: Any) -> RecordMeeting:
    """The command that records ``MEETING``."""
    defaults = {
        "event_id": eid(1),
        "occurred_at": HELD,
        "meeting_id": OCT_2021,
        "title": "Monthly Assurance Meeting October 2021",
        "held_at": "2021-10-04T13:30",
        "kind": "Holding to account",
        "venue": "Willison Room",
        "chair": "John Campion",
    }
    return _command(RecordMeeting, defaults, overrides)


def correct_meeting(**overrides: Any) -> CorrectMeeting:
    """A correction of ``MEETING``'s venue."""
    defaults = {
        "event_id": eid(14),
        "occurred_at": LATER,
        "meeting_id": OCT_2021,
        "reason": "Minuted in the wrong room.",
        "venue": "Meeting Room 1.38",
    }
    return _command(CorrectMeeting, defaults, overrides)


def raise_action(**overrides: Any) -> RaiseAction:
    """The command that raises ``RAISED``."""
    defaults = {
        "event_id": eid(2),
        "occurred_at": HELD,
        "action_id": A1,
        "text": HOMICIDE,
        "owners": ["T/Ch Supt"],
        "meeting": OCT_2021,
        "item": "2.3",
        "due": "Within two weeks",
    }
    return _command(RaiseAction, defaults, overrides)


def update_action(**overrides: Any) -> UpdateAction:
    """A written update on A1, twenty days after the meeting."""
    defaults = {
        "event_id": eid(10),
        "occurred_at": LATER,
        "action_id": A1,
        "note": "Written update provided in advance of the meeting.",
        "source": "written update",
    }
    return _command(UpdateAction, defaults, overrides)


def revisit_action(**overrides: Any) -> RevisitAction:
    """A1 revisited at the October 2021 meeting."""
    defaults = {
        "event_id": eid(11),
        "occurred_at": HELD,
        "action_id": A1,
        "meeting": OCT_2021,
        "outcome": "The written update evidenced force activity across all 4Ps.",
    }
    return _command(RevisitAction, defaults, overrides)


def close_action(**overrides: Any) -> CloseAction:
    """A1 closed as completed."""
    defaults = {
        "event_id": eid(3),
        "occurred_at": LATER,
        "action_id": A1,
        "resolution": "completed",
        "note": "Timeline shared with the PCC.",
    }
    return _command(CloseAction, defaults, overrides)


def reopen_action(**overrides: Any) -> ReopenAction:
    """A1 reopened."""
    defaults = {
        "event_id": eid(12),
        "occurred_at": LATER.add(days=1),
        "action_id": A1,
        "reason": "The timeline was for the wrong review.",
    }
    return _command(ReopenAction, defaults, overrides)


def correct_event(**overrides: Any) -> CorrectEvent:
    """A correction of A1's raised event."""
    defaults = {
        "event_id": eid(13),
        "occurred_at": LATER,
        "action_id": A1,
        "corrects": RAISED.event_id,
        "reason": "Minuted against the wrong owner.",
        "fields": {"owners": ["DCC"]},
    }
    return _command(CorrectEvent, defaults, overrides)


def state_after(*events: Event) -> ActionState:
    """The fold of one action's events (meeting events are not part of it)."""
    return fold(e for e in events if not isinstance(e, MeetingEvent))


def accepted(*history: Event, command: Command) -> tuple[Event, ...]:
    """The events ``command`` produces after ``history``; fails if ``decide`` rejects it."""
    outcome = given(*history).when(command)
    if outcome.error is not None:
        raise AssertionError(f"decide rejected {command!r}: {outcome.error!r}")
    assert outcome.events is not None
    return outcome.events


# -- happy paths -----------------------------------------------------------------------------


def test_record_meeting_records_it_with_london_time_in_utc() -> None:
    """Recording a meeting produces a ``MeetingRecorded`` with ``held_at`` converted to UTC."""
    given().when(record_meeting()).then(MEETING)


def test_record_meeting_accepts_a_suffixed_id() -> None:
    """A meeting id may carry a suffix after its date."""
    expected = attrs.evolve(MEETING, meeting_id="2021-10-04-mam")
    given().when(record_meeting(meeting_id="2021-10-04-mam")).then(expected)


def test_record_meeting_id_is_the_london_date_across_midnight_in_bst() -> None:
    """A meeting at 00:30 BST on 4 October (23:30 UTC on the 3rd) has the id of the 4th."""
    held = "2021-10-04T00:30"
    (event,) = (
        given()
        .when(record_meeting(held_at=held))
        .then(attrs.evolve(MEETING, held_at=pendulum.datetime(2021, 10, 3, 23, 30, tz="UTC")))
    )
    assert isinstance(event, MeetingRecorded)
    assert event.held_at.in_tz("UTC").day == 3


def test_raise_action_at_a_meeting_resolves_due_words_against_the_meeting_date() -> None:
    """An action raised at a meeting keeps the due words and resolves them from its date."""
    given(MEETING).when(raise_action()).then(RAISED)


def test_raise_action_from_another_source_resolves_due_against_the_london_date() -> None:
    """Without a meeting, due words resolve from the London date it occurred (BST here)."""
    occurred = pendulum.datetime(2021, 3, 31, 23, 30, tz="UTC")  # 1 April 00:30 BST
    command = raise_action(meeting=None, item=None, source="written request", occurred_at=occurred)
    expected = attrs.evolve(
        RAISED,
        occurred_at=occurred,
        meeting=None,
        item=None,
        source="written request",
        due=Due(on=pendulum.date(2021, 4, 15), text="Within two weeks"),
    )
    given().when(command).then(expected)


def test_raise_action_records_follows_and_restricted() -> None:
    """An action may follow earlier actions and be restricted from publication."""
    command = raise_action(action_id=A2, event_id=eid(4), follows=[A1], restricted=True, due=None)
    expected = attrs.evolve(
        RAISED,
        event_id=eid(4),
        action_id=A2,
        follows=(A1,),
        restricted=True,
        due=Due(on=None, text=None),
    )
    given(MEETING, RAISED).when(command).then(expected)


def test_update_action_with_a_note_changes_nothing_else() -> None:
    """A plain progress note produces an update with no changed fields."""
    (event,) = given(MEETING, RAISED).when(update_action()).then(UPDATED)
    action = state_after(RAISED, event).action
    assert action is not None
    assert (action.last_update, action.last_updated_at) == (UPDATED.note, LATER)
    assert (action.text, action.owners) == (RAISED.text, RAISED.owners)


def test_update_action_changes_text_owners_and_due_with_a_reason() -> None:
    """Changed fields carry their new values, the due resolved from the update's meeting."""
    command = update_action(
        meeting=NOV_2021,
        occurred_at=NOV_HELD,
        text="T/Ch Supt to share the homicide review timeline.",
        owners=["DCC: Julian Moss"],
        due="within 3 weeks",
        reason="Reassigned at the November meeting.",
    )
    (event,) = (
        given(MEETING, NOV_MEETING, RAISED)
        .when(command)
        .then(
            ActionUpdated(
                event_id=eid(10),
                actor=ACTOR,
                occurred_at=NOV_HELD,
                action_id=A1,
                note="Written update provided in advance of the meeting.",
                source="written update",
                meeting=NOV_2021,
                text="T/Ch Supt to share the homicide review timeline.",
                owners=(Owner(role="DCC", person="Julian Moss"),),
                due=Due(on=pendulum.date(2021, 11, 22), text="within 3 weeks"),
                reason="Reassigned at the November meeting.",
            )
        )
    )
    assert isinstance(event, ActionUpdated)
    action = state_after(RAISED, event).action
    assert action is not None
    assert (action.owners, action.due_on) == (event.owners, pendulum.date(2021, 11, 22))


def test_revisit_action_resolves_next_revisit_against_the_meeting_date() -> None:
    """A revisit's next revisit words resolve from the meeting's date."""
    command = revisit_action(assured=False, item="1.2", next_revisit="Revisit in 6 months")
    (event,) = (
        given(MEETING, RAISED)
        .when(command)
        .then(
            ActionRevisited(
                event_id=eid(11),
                actor=ACTOR,
                occurred_at=HELD,
                action_id=A1,
                meeting=OCT_2021,
                outcome="The written update evidenced force activity across all 4Ps.",
                item="1.2",
                assured=False,
                next_revisit=Due(on=pendulum.date(2022, 4, 4), text="Revisit in 6 months"),
            )
        )
    )
    action = state_after(RAISED, event).action
    assert action is not None
    assert (action.next_revisit_on, action.assured, action.last_revisit_meeting) == (
        pendulum.date(2022, 4, 4),
        False,
        OCT_2021,
    )


def test_close_action_as_completed() -> None:
    """Closing an open action as completed produces the closed event; the action is closed."""
    (event,) = given(MEETING, RAISED).when(close_action()).then(CLOSED)
    action = state_after(RAISED, event).action
    assert action is not None
    assert (action.status, action.resolution, action.closed_at) == ("closed", "completed", LATER)


def test_close_action_as_superseded_names_the_successor() -> None:
    """A superseded close names the other action that replaces it."""
    command = close_action(resolution="superseded", superseded_by=A2, meeting=OCT_2021)
    expected = attrs.evolve(CLOSED, resolution="superseded", superseded_by=A2, meeting=OCT_2021)
    (event,) = given(MEETING, RAISED, OTHER).when(command).then(expected)
    action = state_after(RAISED, event).action
    assert action is not None
    assert action.superseded_by == A2


def test_reopen_action_brings_a_closed_action_back() -> None:
    """Reopening a closed action makes it open again, without resolution or closing note."""
    (event,) = (
        given(MEETING, RAISED, CLOSED)
        .when(reopen_action())
        .then(
            ActionReopened(
                event_id=eid(12),
                actor=ACTOR,
                occurred_at=LATER.add(days=1),
                action_id=A1,
                reason="The timeline was for the wrong review.",
            )
        )
    )
    action = state_after(RAISED, CLOSED, event).action
    assert action is not None
    assert (action.status, action.resolution, action.closing_note, action.closed_at) == (
        "open",
        None,
        None,
        None,
    )


def test_correct_event_names_the_event_and_carries_the_corrected_values() -> None:
    """A correction names the event it corrects, the reason and the corrected values."""
    given(MEETING, RAISED).when(correct_event()).then(
        ActionCorrected(
            event_id=eid(13),
            actor=ACTOR,
            occurred_at=LATER,
            action_id=A1,
            corrects=RAISED.event_id,
            corrects_type="raised",
            reason="Minuted against the wrong owner.",
            corrections=Corrections(owners=(Owner(role="DCC"),)),
        )
    )


def test_a_correction_may_not_move_the_raise_after_a_later_event() -> None:
    """Correcting when an action was raised to after its first update is refused: nothing
    happens to an action before it was raised."""
    too_late = correct_event(fields={"occurred_at": LATER.add(minutes=1)})
    given(MEETING, RAISED, UPDATED).when(too_late).then_raises(
        RuleViolationError, rule="not-before-raised"
    )
    just_in_time = correct_event(fields={"occurred_at": LATER})
    assert accepted(MEETING, RAISED, UPDATED, command=just_in_time)


def test_correct_event_resolves_corrected_due_words_against_the_raising_meeting() -> None:
    """Corrected due words are resolved from the date of the meeting that raised the action."""
    command = correct_event(fields={"due": "Revisit in 6 months"})
    (event,) = accepted(MEETING, RAISED, command=command)
    assert isinstance(event, ActionCorrected)
    assert event.corrections.due == Due(on=pendulum.date(2022, 4, 4), text="Revisit in 6 months")


# -- every rule ------------------------------------------------------------------------------

REJECTIONS = [
    pytest.param((MEETING,), record_meeting(), "meeting-recorded-once", id="meeting-recorded-once"),
    pytest.param(
        (),
        record_meeting(meeting_id="2021-10-05"),
        "meeting-id-is-its-date",
        id="meeting-id-is-its-date",
    ),
    pytest.param(
        (),
        record_meeting(meeting_id="2021-10-03", held_at="2021-10-04T00:30"),
        "meeting-id-is-its-date",
        id="meeting-id-is-its-date/utc-date-in-bst",
    ),
    pytest.param(
        (MEETING,),
        correct_meeting(held_at="2021-10-05T13:30"),
        "meeting-id-is-its-date",
        id="meeting-id-is-its-date/correct-meeting",
    ),
    pytest.param(
        (MEETING,),
        correct_meeting(venue="Willison Room", chair="John Campion"),
        "correction-must-differ",
        id="correction-must-differ",
    ),
    pytest.param((), raise_action(), "meeting-must-exist", id="meeting-must-exist/raise"),
    pytest.param(
        (MEETING, RAISED),
        update_action(meeting=NOV_2021),
        "meeting-must-exist",
        id="meeting-must-exist/update",
    ),
    pytest.param(
        (MEETING, RAISED),
        revisit_action(meeting=NOV_2021, occurred_at=NOV_HELD),
        "meeting-must-exist",
        id="meeting-must-exist/revisit",
    ),
    pytest.param(
        (MEETING, RAISED),
        correct_event(fields={"meeting": NOV_2021}),
        "meeting-must-exist",
        id="meeting-must-exist/correction",
    ),
    pytest.param(
        (MEETING, RAISED),
        update_action(occurred_at=HELD.subtract(minutes=1)),
        "not-before-raised",
        id="not-before-raised/update",
    ),
    pytest.param(
        (MEETING, RAISED),
        close_action(occurred_at=HELD.subtract(days=1)),
        "not-before-raised",
        id="not-before-raised/close",
    ),
    pytest.param(
        (MEETING, RAISED, UPDATED),
        correct_event(corrects=eid(10), fields={"occurred_at": HELD.subtract(days=1)}),
        "not-before-raised",
        id="not-before-raised/correction",
    ),
    pytest.param(
        (MEETING, RAISED, CLOSED),
        update_action(),
        "closed-action-is-final",
        id="closed-action-is-final/update",
    ),
    pytest.param(
        (MEETING, RAISED, CLOSED),
        revisit_action(),
        "closed-action-is-final",
        id="closed-action-is-final/revisit",
    ),
    pytest.param((MEETING, RAISED), raise_action(), "action-id-unique", id="action-id-unique"),
    pytest.param(
        (),
        raise_action(meeting=None, item="2.3"),
        "item-needs-meeting",
        id="item-needs-meeting",
    ),
    pytest.param(
        (MEETING,),
        raise_action(follows=[A1]),
        "follows-another-action",
        id="follows-another-action",
    ),
    pytest.param(
        (MEETING,),
        raise_action(follows=["ACT-2020-009"]),
        "follows-must-exist",
        id="follows-must-exist",
    ),
    pytest.param(
        (MEETING, RAISED),
        update_action(text=HOMICIDE, reason="Retyped."),
        "change-must-differ",
        id="change-must-differ/text",
    ),
    pytest.param(
        (MEETING, RAISED),
        update_action(owners=["T/Ch Supt"], reason="Confirmed."),
        "change-must-differ",
        id="change-must-differ/owners",
    ),
    pytest.param(
        (MEETING, RAISED),
        update_action(meeting=OCT_2021, due="Within two weeks", reason="Confirmed."),
        "change-must-differ",
        id="change-must-differ/due",
    ),
    pytest.param(
        (MEETING, RAISED),
        update_action(owners=["DCC"]),
        "change-needs-reason",
        id="change-needs-reason",
    ),
    pytest.param(
        (MEETING, RAISED),
        update_action(reason="Because the PCC asked."),
        "reason-without-change",
        id="reason-without-change",
    ),
    pytest.param(
        (MEETING, RAISED),
        revisit_action(next_revisit="2021-10-04"),
        "next-revisit-after-meeting",
        id="next-revisit-after-meeting",
    ),
    pytest.param(
        (MEETING, RAISED, CLOSED),
        close_action(event_id=eid(20)),
        "no-double-close",
        id="no-double-close",
    ),
    pytest.param(
        (MEETING, RAISED),
        close_action(resolution="superseded"),
        "superseded-needs-successor",
        id="superseded-needs-successor",
    ),
    pytest.param(
        (MEETING, RAISED),
        close_action(resolution="superseded", superseded_by=A1),
        "superseded-by-another",
        id="superseded-by-another",
    ),
    pytest.param(
        (MEETING, RAISED),
        close_action(resolution="superseded", superseded_by="ACT-2099-001"),
        "superseded-by-must-exist",
        id="superseded-by-must-exist",
    ),
    pytest.param(
        (MEETING, RAISED, OTHER),
        close_action(resolution="withdrawn", superseded_by=A2),
        "successor-only-when-superseded",
        id="successor-only-when-superseded",
    ),
    pytest.param(
        (MEETING, RAISED),
        reopen_action(),
        "reopen-only-closed",
        id="reopen-only-closed",
    ),
    pytest.param(
        (MEETING, RAISED),
        correct_event(corrects=eid(999)),
        "correction-names-own-event",
        id="correction-names-own-event/unknown",
    ),
    pytest.param(
        (MEETING, RAISED, OTHER),
        correct_event(corrects=OTHER.event_id),
        "correction-names-own-event",
        id="correction-names-own-event/other-action",
    ),
    pytest.param(
        (
            MEETING,
            RAISED,
            ActionCorrected(
                event_id=eid(13),
                actor=ACTOR,
                occurred_at=LATER,
                action_id=A1,
                corrects=RAISED.event_id,
                corrects_type="raised",
                reason="Wrong owner.",
                corrections=Corrections(owners=(Owner(role="DCC"),)),
            ),
        ),
        correct_event(event_id=eid(14), corrects=eid(13)),
        "correction-names-own-event",
        id="correction-names-own-event/a-correction",
    ),
    pytest.param(
        (MEETING, RAISED),
        correct_event(fields={"outcome": "Assured."}),
        "field-not-correctable",
        id="field-not-correctable",
    ),
    pytest.param(
        (MEETING, RAISED, UPDATED),
        correct_event(corrects=eid(10), fields={"owners": ["CC"]}),
        "field-not-correctable",
        id="field-not-correctable/update-that-changed-no-owners",
    ),
]


@pytest.mark.parametrize(("history", "command", "rule"), REJECTIONS)
def test_decide_rejects_a_command_that_breaks_a_rule(
    history: tuple[Event, ...], command: Command, rule: str
) -> None:
    """``decide`` raises ``RuleViolationError`` with the rule's name and the command's subject."""
    error = given(*history).when(command).then_raises(RuleViolationError, rule=rule)
    assert isinstance(error, RuleViolationError)
    subject = (
        f"meeting {command.meeting_id}"
        if isinstance(command, RecordMeeting | CorrectMeeting)
        else f"action {command.action_id}"
    )
    assert error.subject == subject
    assert str(error).startswith(subject)


def _rules_in_decider() -> set[str]:
    tree = ast.parse(inspect.getsource(_decider))
    return {
        str(node.args[1].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_reject"
        and isinstance(node.args[1], ast.Constant)
    }


def test_every_rule_of_decide_has_a_rejection_test() -> None:
    """Each ``rule=`` name that ``decide`` can raise is exercised by ``REJECTIONS``."""
    tested = {param.values[2] for param in REJECTIONS}
    assert _rules_in_decider() == tested


@pytest.mark.parametrize(
    "command",
    [
        update_action(),
        revisit_action(),
        close_action(),
        reopen_action(),
        correct_event(),
    ],
    ids=lambda c: type(c).__name__,
)
def test_commands_on_an_unknown_action_raise_not_found(command: Command) -> None:
    """A command about an action that was never raised raises ``NotFoundError`` naming it."""
    error = given(MEETING, OTHER).when(command).then_raises(NotFoundError)
    assert A1 in str(error)


def test_meeting_commands_need_a_meeting_state() -> None:
    """Deciding ``RecordMeeting`` against an action state is a programming error."""
    with pytest.raises(TypeError):
        _decider.decide(record_meeting(), INITIAL_ACTION)


# -- corrections -----------------------------------------------------------------------------

OWNER_FIX = ActionCorrected(
    event_id=eid(30),
    actor=ACTOR,
    occurred_at=LATER,
    action_id=A1,
    corrects=RAISED.event_id,
    corrects_type="raised",
    reason="Minuted against the wrong owner.",
    corrections=Corrections(owners=(Owner(role="DCC"),)),
)


def _update(number: int, **changes: Any) -> ActionUpdated:
    values = {
        "event_id": eid(number),
        "actor": ACTOR,
        "occurred_at": LATER,
        "action_id": A1,
        "note": f"Update {number}.",
        "source": "email",
        **changes,
    }
    if any(name in changes for name in ("text", "owners", "due")):
        values["reason"] = "Agreed at the meeting."
    return ActionUpdated(**values)


def _close(number: int, note: str) -> ActionClosed:
    return attrs.evolve(CLOSED, event_id=eid(number), note=note)


def _reopen(number: int) -> ActionReopened:
    return ActionReopened(
        event_id=eid(number), actor=ACTOR, occurred_at=LATER, action_id=A1, reason="Not done."
    )


def _fix(number: int, target: str, kind: str = "raised", **values: Any) -> ActionCorrected:
    return ActionCorrected(
        event_id=eid(number),
        actor=ACTOR,
        occurred_at=LATER,
        action_id=A1,
        corrects=target,
        corrects_type=kind,
        reason="Entered wrongly.",
        corrections=Corrections(**values),
    )


def _action(*events: Event) -> Any:
    action = state_after(*events).action
    assert action is not None
    return action


def test_correcting_raised_owners_changes_them_while_no_update_replaced_them() -> None:
    """A correction of the raised owners is in effect when no later update changed owners."""
    (fix,) = (
        given(MEETING, RAISED, _update(40)).when(correct_event(event_id=eid(30))).then(OWNER_FIX)
    )
    assert _action(RAISED, _update(40), fix).owners == (Owner(role="DCC"),)


def test_correcting_raised_owners_after_an_owner_change_keeps_the_update() -> None:
    """Once an update replaced the owners, correcting the raised owners leaves them as updated."""
    changed = _update(40, owners=(Owner(role="CC"),))
    (fix,) = given(MEETING, RAISED, changed).when(correct_event(event_id=eid(30))).then(OWNER_FIX)
    action = _action(RAISED, changed, fix)
    assert action.owners == (Owner(role="CC"),)
    assert action.version == 3


def test_correcting_the_owner_change_itself_changes_the_owners() -> None:
    """Correcting the update that changed the owners puts the corrected owners in effect."""
    changed = _update(40, owners=(Owner(role="CC"),))
    command = correct_event(event_id=eid(30), corrects=eid(40), fields={"owners": ["ACC"]})
    (fix,) = accepted(MEETING, RAISED, changed, command=command)
    assert _action(RAISED, changed, fix).owners == (Owner(role="ACC"),)


def test_a_second_correction_of_the_same_event_wins() -> None:
    """Correcting the original again replaces the earlier correction."""
    again = _fix(31, RAISED.event_id, owners=(Owner(role="ACC", person="Martin Evans"),))
    assert _action(RAISED, OWNER_FIX, again).owners == (Owner(role="ACC", person="Martin Evans"),)


def test_correcting_a_close_changes_the_closing_note_while_closed() -> None:
    """A correction of the close's note is in effect while that close stands."""
    fix = _fix(31, CLOSED.event_id, "closed", note="Timeline shared with the DPCC.")
    action = _action(RAISED, CLOSED, fix)
    assert (action.status, action.closing_note) == ("closed", "Timeline shared with the DPCC.")


def test_correcting_a_close_after_a_reopen_leaves_the_action_open() -> None:
    """After a reopen, correcting the earlier close changes nothing in the state."""
    reopened = _reopen(32)
    command = correct_event(
        event_id=eid(31), corrects=CLOSED.event_id, fields={"note": "Shared with the DPCC."}
    )
    (fix,) = accepted(MEETING, RAISED, CLOSED, reopened, command=command)
    before = _action(RAISED, CLOSED, reopened)
    after = _action(RAISED, CLOSED, reopened, fix)
    assert after == attrs.evolve(before, version=before.version + 1)
    assert (after.status, after.closing_note, after.closed_at) == ("open", None, None)


def test_correcting_the_first_close_after_a_second_close_changes_nothing() -> None:
    """Only the close in effect is changed by a correction; an earlier one is history."""
    second = attrs.evolve(_close(33, "Closed again."), occurred_at=LATER.add(days=2))
    events = (RAISED, CLOSED, _reopen(32), second)
    first_fix = _fix(34, CLOSED.event_id, "closed", note="Corrected first note.")
    second_fix = _fix(35, second.event_id, "closed", note="Corrected second note.")
    assert _action(*events, first_fix).closing_note == "Closed again."
    assert _action(*events, second_fix).closing_note == "Corrected second note."


def test_correcting_an_earlier_update_note_keeps_the_latest_note() -> None:
    """A correction of an update's note is in effect only while it is the latest update."""
    events = (RAISED, _update(40), _update(41))
    assert _action(*events, _fix(42, eid(40), "updated", note="Fixed.")).last_update == "Update 41."
    assert _action(*events, _fix(43, eid(41), "updated", note="Fixed.")).last_update == "Fixed."


def test_correcting_raised_text_after_a_text_change_keeps_the_changed_text() -> None:
    """The raised text, once changed by an update, is not brought back by a correction."""
    changed = _update(40, text="New wording.")
    fix = _fix(41, RAISED.event_id, text="Corrected original wording.")
    assert _action(RAISED, changed, fix).text == "New wording."
    assert _action(RAISED, fix).text == "Corrected original wording."


def test_correcting_a_revisit_changes_the_latest_outcome() -> None:
    """A correction of the latest revisit's outcome and verdict is in effect."""
    revisit = ActionRevisited(
        event_id=eid(40),
        actor=ACTOR,
        occurred_at=HELD,
        action_id=A1,
        meeting=OCT_2021,
        outcome="Assured.",
        assured=True,
    )
    fix = _fix(41, eid(40), "revisited", outcome="Not assured.", assured=False)
    action = _action(RAISED, revisit, fix)
    assert (action.last_outcome, action.assured) == ("Not assured.", False)


def test_correcting_raised_occurred_at_moves_raised_at() -> None:
    """A correction of when the action was raised changes ``raised_at``."""
    moment = HELD.subtract(days=7)
    assert _action(RAISED, _fix(41, RAISED.event_id, occurred_at=moment)).raised_at == moment


# -- properties ------------------------------------------------------------------------------


@for_all(strategies.action_event_sequences())
def test_evolve_never_raises_and_counts_every_event(events: list[ActionEvent]) -> None:
    """``evolve`` accepts any sequence of action events and the version counts them all."""
    state = fold(events)
    assert state.version == len(events)
    if state.action is not None:
        assert state.action.version == len(events)


@for_all(strategies.action_event_sequences().flatmap(st.permutations))
def test_evolve_never_raises_on_events_in_odd_orders(events: list[ActionEvent]) -> None:
    """``evolve`` accepts action events in any order, even before the action was raised."""
    state = fold(events)
    assert state.version == len(events)
    raised = any(isinstance(e, ActionRaised) for e in events)
    assert (state.action is not None) == raised


@for_all(st.lists(strategies.meetings_recorded(), max_size=3))
def test_evolve_meeting_never_raises(events: list[MeetingRecorded]) -> None:
    """Folding meeting events never fails; the meeting is the last one recorded."""
    state = fold_meeting(events)
    assert state.version == len(events)
    if events:
        assert state.meeting is not None
        assert state.meeting.title == events[-1].title


@for_all(strategies.histories())
def test_replay_equals_fold_of_each_stream(commands: list[Command]) -> None:
    """The state built step by step by deciding equals the fold of each stream's events,
    after every step, and after the events went through a store and back."""
    model = strategies.RegisterModel()
    for command in commands:
        model.apply(command)
        for action_id, state in model.actions.items():
            assert fold(model.events_of(action_id)) == state
    store = MemoryEventStore()
    for event in model.events:
        stream = stream_of(event)
        store.append(stream, [encode(event)], store.stream_version(stream))
    for action_id, state in model.actions.items():
        read = [decode(s) for s in store.read_stream(f"action:{action_id}")]
        assert fold(read) == state  # type: ignore[arg-type]


@for_all(strategies.histories())
def test_valid_histories_respect_the_rules_of_the_register(commands: list[Command]) -> None:
    """In a generated history, no event is about a closed action except a reopen or correction,
    and every action was raised before anything else happened to it."""
    model = strategies.RegisterModel.replay(commands)
    for action_id in model.actions:
        status = None
        for event in model.events_of(action_id):
            if isinstance(event, ActionRaised):
                assert status is None
                status = "open"
            elif isinstance(event, ActionClosed):
                assert status == "open"
                status = "closed"
            elif isinstance(event, ActionReopened):
                assert status == "closed"
                status = "open"
            elif isinstance(event, ActionUpdated | ActionRevisited):
                assert status == "open"
            else:
                assert status is not None
