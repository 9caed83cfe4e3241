"""Meetings in an officer's day: correcting a meeting's record (``CorrectMeeting`` →
``MeetingCorrected``), listing and showing meetings, and who held a role, through the decider,
the Ledger on every backend, the read models, the as-of views and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest
from click.testing import CliRunner
from hypothesis import assume, given
from hypothesis import strategies as st

from action_ledger import (
    Attendee,
    Ledger,
    NotFoundError,
    Owner,
    RuleViolationError,
    ValidationError,
)
from action_ledger._codec import decode, encode
from action_ledger._decider import INITIAL_MEETING, evolve_meeting, fold_meeting
from action_ledger._memory import MemoryEventStore
from action_ledger.cli import EXIT_CODES, main
from action_ledger.commands import CorrectMeeting, RecordMeeting
from action_ledger.events import MEETING_CORRECTABLE, MeetingCorrected, MeetingRecorded
from action_ledger.pytest_plugin import LedgerFactory
from action_ledger.testing import strategies
from action_ledger.testing._scenario import given as given_events

ACTOR = "Jackie Irvin"
OCT = "2021-10-04"
MILLS = Attendee(name="Pippa Mills", capacity="Chief Constable", role="CC")
CAMPION = Attendee(name="John Campion", capacity="Police and Crime Commissioner", role="PCC")
MOSS = Attendee(name="Julian Moss", capacity="Deputy Chief Constable", role="DCC")
HELD = pendulum.datetime(2021, 10, 4, 12, 30, tz="UTC")  # 13:30 in London (BST)

RECORDED = MeetingRecorded(
    event_id="00000000-0000-0000-0000-000000000001",
    actor=ACTOR,
    occurred_at=HELD,
    meeting_id=OCT,
    title="Monthly Assurance Meeting October 2021",
    held_at=HELD,
    kind="Holding to account",
    venue="Willison Room",
    chair="John Campion",
    attendance=(CAMPION, MILLS),
)


def correct(**overrides: Any) -> CorrectMeeting:
    """A correction of the October meeting's venue (values replaced by ``overrides``)."""
    values: dict[str, Any] = {
        "event_id": "00000000-0000-0000-0000-000000000002",
        "actor": ACTOR,
        "occurred_at": "2021-10-20T09:00",
        "meeting_id": OCT,
        "reason": "Minuted in the wrong room.",
        "venue": "Meeting Room 1.38",
        **overrides,
    }
    return CorrectMeeting(**values)


# -- the decider -------------------------------------------------------------------------------


def test_a_correction_records_only_the_fields_that_change() -> None:
    """Fields given with the value already recorded are left out of the event."""
    outcome = given_events(RECORDED).when(correct(chair="John Campion", apologies=[MOSS]))
    (event,) = outcome.events or ()
    assert isinstance(event, MeetingCorrected)
    assert event.fields() == ("venue", "apologies")
    assert event.chair is None
    assert event.reason == "Minuted in the wrong room."


def test_evolve_applies_a_correction_and_keeps_the_rest() -> None:
    """The meeting after a correction has the corrected values, the others as recorded."""
    (event,) = given_events(RECORDED).when(correct(apologies=[MOSS])).events or ()
    assert isinstance(event, MeetingCorrected)
    meeting = fold_meeting([RECORDED, event]).meeting
    assert meeting is not None
    assert (meeting.venue, meeting.apologies, meeting.chair) == (
        "Meeting Room 1.38",
        (MOSS,),
        "John Campion",
    )
    assert meeting.version == 2


def test_a_correction_of_a_meeting_never_recorded_is_not_found() -> None:
    """Correcting an unknown meeting raises ``NotFoundError`` naming it and the list verb."""
    error = given_events().when(correct()).then_raises(NotFoundError)
    assert OCT in str(error)
    assert "meeting list" in str(error)


def test_a_correction_that_changes_nothing_is_refused() -> None:
    """Giving only the values already recorded breaks ``correction-must-differ``."""
    given_events(RECORDED).when(correct(venue="Willison Room")).then_raises(
        RuleViolationError, rule="correction-must-differ"
    )


def test_a_correction_cannot_move_the_meeting_to_another_date() -> None:
    """``held_at`` may change the time on the meeting's date, not the date (its id)."""
    given_events(RECORDED).when(correct(held_at="2021-10-05T13:30")).then_raises(
        RuleViolationError, rule="meeting-id-is-its-date"
    )
    (event,) = given_events(RECORDED).when(correct(held_at="2021-10-04T14:00")).events or ()
    assert isinstance(event, MeetingCorrected)
    assert event.held_at == pendulum.datetime(2021, 10, 4, 13, 0, tz="UTC")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"venue": None}, "fields"),
        ({"reason": "  "}, "reason"),
        ({"title": ""}, "title"),
        ({"attendance": "Pippa Mills"}, "attendance"),
        ({"held_at": "2021-13-01T10:00"}, "held_at"),
    ],
)
def test_a_malformed_correction_is_refused_on_construction(
    overrides: dict[str, Any], field: str
) -> None:
    """No field to correct, a blank reason or value, text for a list, or a bad date: each
    is a ``ValidationError`` naming the field."""
    with pytest.raises(ValidationError) as caught:
        correct(**overrides)
    assert caught.value.field == field


def test_recording_a_meeting_twice_points_to_the_real_correct_verb() -> None:
    """The refusal to record a meeting again names how to correct it (API and CLI)."""
    outcome = given_events(RECORDED).when(_record_again())
    error = outcome.then_raises(RuleViolationError, rule="meeting-recorded-once")
    assert "correct_meeting" in str(error)
    assert "meeting correct" in str(error)


def _record_again() -> RecordMeeting:
    return RecordMeeting(
        event_id="00000000-0000-0000-0000-000000000003",
        actor=ACTOR,
        occurred_at=HELD,
        meeting_id=OCT,
        title="Again",
        held_at=HELD,
    )


@given(strategies.meetings_recorded(), st.lists(strategies.meetings_corrected(), max_size=4))
def test_evolve_meeting_folds_corrections_field_by_field(
    recorded: MeetingRecorded, fixes: list[MeetingCorrected]
) -> None:
    """The fold of a record and its corrections has, for each field, the last value set."""
    fixes = [attrs.evolve(f, meeting_id=recorded.meeting_id) for f in fixes]
    meeting = fold_meeting([recorded, *fixes]).meeting
    assert meeting is not None
    for name in MEETING_CORRECTABLE:
        expected = getattr(recorded, name)
        for fix in fixes:
            if getattr(fix, name) is not None:
                expected = getattr(fix, name)
        assert getattr(meeting, name) == expected
    assert meeting.version == 1 + len(fixes)


@given(st.lists(strategies.meetings_corrected(), max_size=3))
def test_a_correction_before_any_record_only_counts(fixes: list[MeetingCorrected]) -> None:
    """``evolve_meeting`` never fails: corrections with no record leave no meeting."""
    state = INITIAL_MEETING
    for fix in fixes:
        state = evolve_meeting(state, fix)
    assert state.meeting is None
    assert state.version == len(fixes)


@given(strategies.meetings_corrected())
def test_a_meeting_correction_round_trips_through_its_envelope(fix: MeetingCorrected) -> None:
    """Encoding then decoding a ``MeetingCorrected`` gives it back (schema version 1)."""
    envelope = encode(fix)
    assert (envelope.event_type, envelope.schema_version) == ("meeting.corrected", 1)
    store = MemoryEventStore()
    store.append(f"meeting:{fix.meeting_id}", [envelope], 0)
    (back,) = [decode(s) for s in store.read_all()]
    assert back == fix


# -- the Ledger, on every backend ----------------------------------------------------------------


def _october(ledger: Ledger) -> None:
    ledger.record_meeting(
        OCT,
        title="Monthly Assurance Meeting October 2021",
        held_at="2021-10-04T13:30",
        kind="Holding to account",
        venue="Willison Room",
        chair="John Campion",
        attendance=[CAMPION, MILLS],
        actor=ACTOR,
        occurred_at="2021-10-04T13:30",
    )


@pytest.mark.parametrize("ledger_backend", ["memory", "sqlite", "postgres"])
def test_correct_meeting_changes_the_record_and_its_tables(ledger: Ledger) -> None:
    """``correct_meeting`` returns the corrected meeting; ``meeting``, ``meetings`` and
    ``holder`` (the tables) agree with it, the chain verifies, and a rebuild gives the same."""
    _october(ledger)
    fixed = ledger.correct_meeting(
        OCT,
        reason="The DCC attended for the CC.",
        attendance=[CAMPION, MOSS],
        apologies=[MILLS],
        actor=ACTOR,
        corrected_at="2021-10-20T09:00",
    )
    assert fixed.attendance == (CAMPION, MOSS)
    assert fixed.apologies == (MILLS,)
    assert fixed.version == 2
    assert ledger.meeting(OCT) == fixed
    assert ledger.meetings() == (fixed,)
    holder = ledger.holder("DCC", "2021-10-04")
    assert holder is not None
    assert holder.name == "Julian Moss"
    assert holder.present
    cc = ledger.holder("CC", "2021-10-04")
    assert cc is not None
    assert not cc.present
    (fix,) = ledger.meeting_corrections(OCT)
    assert fix.reason == "The DCC attended for the CC."
    assert fix.fields() == (
        "attendance",
        "apologies",
    )
    assert ledger.verify().ok
    ledger.rebuild()
    assert ledger.meetings() == (fixed,)


@pytest.mark.parametrize("ledger_backend", ["memory", "sqlite"])
def test_a_refused_correction_leaves_the_store_unchanged(ledger: Ledger) -> None:
    """A correction that changes nothing, or names another date, stores nothing."""
    _october(ledger)
    before = list(ledger.store.read_all())
    with pytest.raises(RuleViolationError):
        ledger.correct_meeting(OCT, reason="Same.", venue="Willison Room", actor=ACTOR)
    with pytest.raises(RuleViolationError):
        ledger.correct_meeting(OCT, reason="Moved.", held_at="2021-10-05T10:00", actor=ACTOR)
    with pytest.raises(NotFoundError):
        ledger.correct_meeting("2021-11-01", reason="Unknown.", venue="X", actor=ACTOR)
    with pytest.raises(NotFoundError):
        ledger.meeting_corrections("2021-11-01")
    assert list(ledger.store.read_all()) == before


@pytest.mark.parametrize("ledger_backend", ["memory", "sqlite"])
def test_a_repeated_correction_is_stored_once(ledger: Ledger) -> None:
    """The correction's event id is its idempotency key, through ``execute`` too."""
    _october(ledger)
    command = correct()
    first = ledger.execute(command)
    again = ledger.execute(command)
    assert first == again
    assert len(ledger.meeting_corrections(OCT)) == 1


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_as_of_views_show_the_record_then_and_as_corrected(
    ledger_factory: LedgerFactory, backend: str
) -> None:
    """Before the correction was recorded, the register showed the old venue; on the occurred
    axis (the world at the meeting, as known now) the correction is applied."""
    times = iter(pendulum.datetime(2021, 10, day, 12, tz="UTC") for day in (5, 20, 21, 22))
    ledger = ledger_factory(backend, clock=lambda: next(times))
    _october(ledger)
    ledger.correct_meeting(OCT, reason="Wrong room.", venue="Meeting Room 1.38", actor=ACTOR)
    (then,) = ledger.as_of("2021-10-10", axis="recorded").meetings()
    assert then.venue == "Willison Room"
    (known,) = ledger.as_of("2021-10-05", axis="occurred").meetings()
    assert known.venue == "Meeting Room 1.38"


def test_execute_many_records_and_corrects_a_meeting_together(tmp_path: Path) -> None:
    """A batch can record a meeting and correct it; the result of each is as it left it."""
    with Ledger.open(str(tmp_path / "r.db")) as ledger:
        recorded, fixed = ledger.execute_many([_record_again(), correct(venue="Room 2")])
        assert getattr(recorded, "venue", "") is None
        assert getattr(fixed, "venue", "") == "Room 2"
        assert ledger.meeting(OCT).venue == "Room 2"


# -- the CLI -------------------------------------------------------------------------------------


def run(db: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", db, "--actor", ACTOR, *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "register.db")
    with Ledger.open(path) as ledger:
        _october(ledger)
    return path


def test_meeting_correct_list_and_show_from_the_terminal(db: str) -> None:
    """`meeting correct` changes the record; `meeting list` and `meeting show` print it with
    attendance, apologies (capacities and role codes) and the correction."""
    code, out, _ = run(
        db,
        "meeting",
        "correct",
        OCT,
        "--venue",
        "Meeting Room 1.38",
        "--apology",
        "Julian Moss, Deputy Chief Constable (DCC)",
        "--reason",
        "Minuted wrongly",
    )
    assert code == 0, out
    assert f"corrected meeting {OCT}" in out
    code, out, _ = run(db, "meeting", "list")
    assert code == 0
    assert OCT in out
    assert "Monthly Assurance Meeting October 2021" in out
    code, out, _ = run(db, "meeting", "show", OCT)
    assert code == 0
    assert "Meeting Room 1.38" in out
    assert "Pippa Mills, Chief Constable (CC)" in out
    assert "Julian Moss, Deputy Chief Constable (DCC)" in out
    assert "venue, apologies — Minuted wrongly" in out
    code, out, _ = run(db, "meeting", "show", OCT, "--json")
    shown = json.loads(out)
    assert shown["meeting"]["venue"] == "Meeting Room 1.38"
    assert shown["corrections"][0]["reason"] == "Minuted wrongly"
    code, out, _ = run(db, "meeting", "list", "--json")
    assert [m["id"] for m in json.loads(out)] == [OCT]


@pytest.mark.parametrize(
    ("args", "exit_code", "words"),
    [
        (["meeting", "correct", OCT, "--reason", "x"], "invalid input", "at least one"),
        (
            ["meeting", "correct", OCT, "--venue", "Willison Room", "--reason", "x"],
            "rule rejected",
            "must change",
        ),
        (
            ["meeting", "correct", "2021-11-01", "--venue", "X", "--reason", "x"],
            "not found",
            "not recorded",
        ),
        (["meeting", "show", "2021-11-01"], "not found", "not recorded"),
        (["meeting", "show", "October"], "invalid input", "YYYY-MM-DD"),
        (["holder", "ACC", "2021-10-04"], "not found", "'ACC'"),
        (["holder", "CC", "2021-02-30"], "invalid input", "2021-02-30"),
    ],
)
def test_meeting_verbs_refuse_bad_input_with_one_line(
    db: str, args: list[str], exit_code: str, words: str
) -> None:
    """Each mistake prints one line (no traceback) with the documented exit code."""
    code, _, err = run(db, *args)
    assert code == EXIT_CODES[exit_code], err
    assert words in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_holder_prints_who_held_a_role(db: str) -> None:
    """`holder CC DATE` names the person and the meeting whose attendance shows it."""
    code, out, _ = run(db, "holder", "CC", "2021-11-01")
    assert code == 0
    assert out.strip() == f"CC on 2021-11-01: Pippa Mills, Chief Constable (attended meeting {OCT})"
    code, out, _ = run(db, "holder", "cc", "2021-11-01", "--json")
    assert json.loads(out)["name"] == "Pippa Mills"


# -- owners by person or capacity ----------------------------------------------------------------

OCT_2018 = "2018-10-26"
BANGHAM = Attendee(name="Anthony Bangham", capacity="Chief Constable", role="CC")


@pytest.fixture
def two_chiefs(tmp_path: Path) -> Iterator[Ledger]:
    """A register whose CC was Anthony Bangham in October 2018 and Pippa Mills in October
    2021, with a CC action raised at each meeting and one owned by the PCC."""
    with Ledger.open(str(tmp_path / "chiefs.db")) as ledger:
        ledger.record_meeting(
            OCT_2018,
            title="Monthly Assurance Meeting October 2018",
            held_at="2018-10-26T10:00",
            attendance=[BANGHAM, CAMPION],
            actor=ACTOR,
        )
        _october(ledger)
        for meeting in (OCT_2018, OCT):
            ledger.raise_action(text="Report back.", owners=["CC"], meeting=meeting, actor=ACTOR)
        ledger.raise_action(text="Write to the panel.", owners=["PCC"], meeting=OCT, actor=ACTOR)
        yield ledger


@pytest.mark.parametrize(
    ("name", "on_date", "expected"),
    [
        ("cc", OCT, Owner(role="CC")),
        ("Chief Constable", "2018-12-01", Owner(role="CC", person="Anthony Bangham")),
        ("chief constable", "2021-12-01", Owner(role="CC", person="Pippa Mills")),
        ("Pippa Mills", "2018-01-01", Owner(role="CC", person="Pippa Mills")),
        ("Police and Crime Commissioner", OCT, Owner(role="PCC", person="John Campion")),
        ("Deputy Chief Constable", OCT, None),
    ],
)
def test_owner_for_maps_codes_people_and_capacities(
    two_chiefs: Ledger, name: str, on_date: str, expected: Owner | None
) -> None:
    """A role code, a person or a capacity maps to the role code (and who held it) on the
    date, through the attendance lists; a name no list knows maps to nothing."""
    assert two_chiefs.owner_for(name, on_date) == expected


def test_owners_named_refuses_an_unknown_role_unless_kept(two_chiefs: Ledger) -> None:
    """An owner no attendance list knows is refused by default, naming the known codes, and
    kept as given only when asked; nothing is recorded either way."""
    with pytest.raises(ValidationError) as caught:
        two_chiefs.owners_named(["Chief Constable", "T/Ch Supt"], OCT)
    assert "'T/Ch Supt'" in str(caught.value)
    assert "CC, PCC" in str(caught.value)
    kept = two_chiefs.owners_named(["Chief Constable", "T/Ch Supt"], OCT, unknown="keep")
    assert kept == (Owner(role="CC", person="Pippa Mills"), Owner(role="T/Ch Supt"))
    with pytest.raises(ValidationError):
        two_chiefs.owners_named(["CC"], OCT, unknown="allow")  # type: ignore[arg-type]


def test_the_register_by_person_follows_who_held_the_role(two_chiefs: Ledger) -> None:
    """``register(owner=PERSON)`` finds the role's actions raised while they held it; by
    capacity, every action of its role code."""
    by_mills = two_chiefs.register(owner="Pippa Mills")
    by_bangham = two_chiefs.register(owner="anthony bangham")
    assert [a.raised_at.year for a in by_mills] == [2021]
    assert [a.raised_at.year for a in by_bangham] == [2018]
    assert len(two_chiefs.register(owner="Chief Constable")) == 2
    assert two_chiefs.register(owner="Pippa Mills", restricted=False) == by_mills
    assert [a.text for a in two_chiefs.register(owner="John Campion")] == ["Write to the panel."]


def test_cli_owners_by_person_or_capacity_and_the_warning(two_chiefs: Ledger) -> None:
    """`raise --owner "Chief Constable"` records the CC of the meeting's date; an unknown role
    is recorded with a one-line warning; `list --owner PERSON` follows who held the role."""
    db = two_chiefs.read_model.path
    code, out, err = run(
        db, "raise", "Brief the panel.", "--owner", "Chief Constable", "--meeting", OCT_2018
    )
    assert code == 0, err
    assert err == ""
    with Ledger.open(db) as ledger:
        assert ledger.get(out.strip()).owners == (Owner(role="CC", person="Anthony Bangham"),)
    code, out, err = run(db, "raise", "Look again.", "--owner", "ACC Ops", "--meeting", OCT)
    assert code == 0
    assert err.startswith("warning: owner 'ACC Ops' is in no recorded meeting's attendance")
    code, out, _ = run(db, "list", "--owner", "Pippa Mills", "--json")
    assert [a["text"] for a in json.loads(out)] == ["Report back."]


JUNK = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=4),
    st.just(""),
    st.just("   "),
    st.text(max_size=3).map(lambda t: t + "\ud800"),
    st.just({"venue": "Room"}),
    st.just(["a", 1]),
    st.just("2021-02-30T10:00"),
    st.just("x" * 20_001),
)
VALID_CORRECTION: dict[str, Any] = {
    "reason": "Minuted wrongly.",
    "actor": ACTOR,
    "title": "Monthly Assurance Meeting, October 2021",
    "held_at": "2021-10-04T14:00",
    "kind": "Performance",
    "venue": "Meeting Room 1.38",
    "chair": "Tracey Onslow",
    "minutes_by": "Charity Pearce",
    "attendance": [MILLS],
    "apologies": [MOSS],
    "corrected_at": "2021-10-20T09:00",
}


@given(keyword=st.sampled_from(sorted(VALID_CORRECTION)), junk=JUNK)
def test_junk_in_any_argument_of_correct_meeting_is_a_typed_error(
    keyword: str, junk: object
) -> None:
    """Junk in any one argument of ``correct_meeting`` raises ``ValidationError`` naming
    it (never a ``TypeError``), and nothing is stored."""
    # A date that does not exist is junk only where a time is expected.
    assume(junk != "2021-02-30T10:00" or keyword in ("held_at", "corrected_at"))
    with Ledger.open(":memory:") as ledger:
        _october(ledger)
        before = list(ledger.store.read_all())
        with pytest.raises(ValidationError):
            ledger.correct_meeting(OCT, **{**VALID_CORRECTION, keyword: junk})
        assert list(ledger.store.read_all()) == before
        assert ledger.meeting(OCT).version == 1


def test_a_correction_by_another_process_is_seen(tmp_path: Path) -> None:
    """A ledger that read a meeting sees another writer's correction of it, through
    ``meeting`` and ``meetings``, and decides its own correction on the corrected record."""
    path = str(tmp_path / "shared.db")
    with Ledger.open(path) as first, Ledger.open(path) as second:
        _october(first)
        assert first.meeting(OCT).venue == "Willison Room"
        second.correct_meeting(OCT, reason="Wrong room.", venue="Meeting Room 1.38", actor=ACTOR)
        assert first.meeting(OCT).venue == "Meeting Room 1.38"
        assert first.meetings()[0].venue == "Meeting Room 1.38"
        with pytest.raises(RuleViolationError):  # decided on the record as now corrected
            first.correct_meeting(OCT, reason="Again.", venue="Meeting Room 1.38", actor=ACTOR)
        assert first.correct_meeting(OCT, reason="Chair.", chair="Tracey Onslow", actor=ACTOR)
        assert second.meeting(OCT).version == 3
