"""Tests for commands (``action_ledger.commands``): each single value is checked on construction
and a bad one raises ``ValidationError`` naming the field and the offending value."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from action_ledger import ActionLedgerError, Owner
from action_ledger._due import Due
from action_ledger.commands import (
    CORRECTABLE,
    CloseAction,
    CorrectEvent,
    RaiseAction,
    RecordMeeting,
    ReopenAction,
    RevisitAction,
    UpdateAction,
)
from action_ledger.exceptions import ValidationError
from action_ledger.testing import strategies

EVENT_ID = str(uuid.UUID(int=7))
ACTOR = "Charity Pearce"


def raise_action(**overrides: Any) -> RaiseAction:
    """A valid ``RaiseAction`` with some values replaced."""
    values: dict[str, Any] = {
        "event_id": EVENT_ID,
        "actor": ACTOR,
        "occurred_at": "2021-10-04T13:30",
        "action_id": "ACT-2021-004",
        "text": "T/Ch Supt to find out timeline for homicide review analysis.",
        "owners": ["T/Ch Supt"],
        "meeting": "2021-10-04",
        "item": "2.3",
    }
    return RaiseAction(**{**values, **overrides})


def record_meeting(**overrides: Any) -> RecordMeeting:
    """A valid ``RecordMeeting`` with some values replaced."""
    values: dict[str, Any] = {
        "event_id": EVENT_ID,
        "actor": ACTOR,
        "occurred_at": "2021-10-04T13:30",
        "meeting_id": "2021-10-04",
        "title": "Monthly Assurance Meeting October 2021",
        "held_at": "2021-10-04T13:30",
    }
    return RecordMeeting(**{**values, **overrides})


def update_action(**overrides: Any) -> UpdateAction:
    """A valid ``UpdateAction`` with some values replaced."""
    values: dict[str, Any] = {
        "event_id": EVENT_ID,
        "actor": ACTOR,
        "occurred_at": "2021-10-01T09:00",
        "action_id": "ACT-2021-004",
        "note": "Written update provided in advance of the meeting.",
        "source": "written update",
    }
    return UpdateAction(**{**values, **overrides})


def close_action(**overrides: Any) -> CloseAction:
    """A valid ``CloseAction`` with some values replaced."""
    values: dict[str, Any] = {
        "event_id": EVENT_ID,
        "actor": ACTOR,
        "occurred_at": "2021-10-04T13:30",
        "action_id": "ACT-2021-004",
        "resolution": "completed",
        "note": "Agreed as completed and can be closed.",
    }
    return CloseAction(**{**values, **overrides})


def correct_event(**overrides: Any) -> CorrectEvent:
    """A valid ``CorrectEvent`` with some values replaced."""
    values: dict[str, Any] = {
        "event_id": EVENT_ID,
        "actor": ACTOR,
        "occurred_at": "2021-10-05T09:00",
        "action_id": "ACT-2021-004",
        "corrects": str(uuid.UUID(int=1)),
        "reason": "Minuted against the wrong owner.",
        "fields": {"owners": ["DCC"]},
    }
    return CorrectEvent(**{**values, **overrides})


def revisit_action(**overrides: Any) -> RevisitAction:
    """A valid ``RevisitAction`` with some values replaced."""
    values: dict[str, Any] = {
        "event_id": EVENT_ID,
        "actor": ACTOR,
        "occurred_at": "2021-10-04T13:30",
        "action_id": "ACT-2021-004",
        "meeting": "2021-10-04",
        "outcome": "The written update evidenced force activity across all 4Ps.",
    }
    return RevisitAction(**{**values, **overrides})


def reopen_action(**overrides: Any) -> ReopenAction:
    """A valid ``ReopenAction`` with some values replaced."""
    values: dict[str, Any] = {
        "event_id": EVENT_ID,
        "actor": ACTOR,
        "occurred_at": "2021-11-01T10:00",
        "action_id": "ACT-2021-004",
        "reason": "The timeline was for the wrong review.",
    }
    return ReopenAction(**{**values, **overrides})


def rejected(build: Any, field: str, shown: str, **overrides: Any) -> ValidationError:
    """Assert building with ``overrides`` raises ``ValidationError`` for ``field`` showing
    ``shown`` in its message; return the error."""
    with pytest.raises(ValidationError) as info:
        build(**overrides)
    error = info.value
    assert isinstance(error, ActionLedgerError)
    assert isinstance(error, ValueError)
    assert error.field == field
    assert shown in str(error)
    return error


# -- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "   ", "\t\n", "\u00a0\u2003"])
def test_empty_or_whitespace_text_is_rejected(value: str) -> None:
    """Text that is empty or only white space raises ``ValidationError`` for ``text``."""
    rejected(raise_action, "text", "text: must not be empty", text=value)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (update_action, "note"),
        (close_action, "note"),
        (revisit_action, "outcome"),
        (reopen_action, "reason"),
        (correct_event, "reason"),
        (record_meeting, "title"),
        (raise_action, "actor"),
    ],
)
def test_every_required_text_must_not_be_empty(build: Any, field: str) -> None:
    """Each required text field of each command rejects blank text, naming the field."""
    rejected(build, field, f"{field}: must not be empty", **{field: "  "})


def test_text_over_two_thousand_characters_is_rejected() -> None:
    """Text of 2,001 characters raises ``ValidationError`` saying how long it is."""
    error = rejected(raise_action, "text", "2001 characters is too long", text="x" * 2001)
    assert "at most 2000" in str(error)


def test_text_of_two_thousand_characters_is_kept() -> None:
    """Text of exactly 2,000 characters (after stripping) is accepted."""
    assert raise_action(text=" " + "x" * 2000 + " ").text == "x" * 2000


@given(strategies.texts(max_size=2000).map(lambda t: f"  {t}\n"))
def test_text_is_kept_stripped(text: str) -> None:
    """Any non-blank text up to 2,000 characters is kept, without surrounding white space."""
    assert raise_action(text=text).text == text.strip()


def test_actor_over_two_hundred_characters_is_rejected() -> None:
    """Short fields such as the actor are limited to 200 characters."""
    rejected(raise_action, "actor", "201 characters is too long", actor="a" * 201)


def test_text_that_is_not_a_string_is_rejected() -> None:
    """A number given as text raises ``ValidationError`` naming its type and value."""
    rejected(raise_action, "text", "expected text, got int 42", text=42)


# -- event ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["not-a-uuid", "", "1234", "ACT-2021-004"])
def test_a_non_uuid_event_id_is_rejected(value: str) -> None:
    """An event id that is not a UUID raises ``ValidationError`` showing the value."""
    rejected(raise_action, "event_id", f"event_id: {value!r} is not a UUID", event_id=value)


def test_a_non_uuid_correction_target_is_rejected() -> None:
    """The event a correction names must be a UUID too."""
    rejected(correct_event, "event_id", "'first-one'", corrects="first-one")


@given(st.uuids())
def test_event_ids_are_kept_in_canonical_form(value: uuid.UUID) -> None:
    """A UUID in upper case or as a ``UUID`` becomes its canonical lower-case text."""
    assert raise_action(event_id=str(value).upper()).event_id == str(value)
    assert raise_action(event_id=value).event_id == str(value)


# -- moments ---------------------------------------------------------------------------------

UTC = pendulum.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-10-04T13:30", pendulum.datetime(2021, 10, 4, 12, 30, tz=UTC)),  # BST
        ("2021-01-04T13:30", pendulum.datetime(2021, 1, 4, 13, 30, tz=UTC)),  # GMT
        ("2021-10-04T13:30:00+00:00", pendulum.datetime(2021, 10, 4, 13, 30, tz=UTC)),
        ("2021-10-04T13:30:00Z", pendulum.datetime(2021, 10, 4, 13, 30, tz=UTC)),
        ("2021-10-04T13:30:00-04:00", pendulum.datetime(2021, 10, 4, 17, 30, tz=UTC)),
        (dt.datetime(2021, 10, 4, 13, 30), pendulum.datetime(2021, 10, 4, 12, 30, tz=UTC)),
        (dt.datetime(2021, 1, 4, 13, 30), pendulum.datetime(2021, 1, 4, 13, 30, tz=UTC)),
        (
            dt.datetime(2021, 10, 4, 13, 30, tzinfo=dt.UTC),
            pendulum.datetime(2021, 10, 4, 13, 30, tz=UTC),
        ),
        (
            pendulum.datetime(2021, 10, 4, 13, 30, tz="Europe/Paris"),
            pendulum.datetime(2021, 10, 4, 11, 30, tz=UTC),
        ),
    ],
)
def test_naive_times_are_london_wall_time_and_all_times_become_utc(
    value: object, expected: pendulum.DateTime
) -> None:
    """A naive time is read as Europe/London wall time (BST or GMT); an aware one keeps its
    instant; both are kept in UTC."""
    occurred = raise_action(occurred_at=value).occurred_at
    assert occurred == expected
    assert occurred.utcoffset() == dt.timedelta(0)
    assert record_meeting(held_at=value).held_at == expected


@given(strategies.moments(), st.sampled_from(strategies.TIME_ZONES))
def test_an_aware_moment_keeps_its_instant(moment: pendulum.DateTime, zone: str) -> None:
    """An aware moment in any time zone is kept as the same instant, in UTC."""
    occurred = raise_action(occurred_at=moment.in_tz(zone)).occurred_at
    assert occurred == moment
    assert occurred.timezone_name == "UTC"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2021-10-04", "is a date without a time"),
        ("2021-02-30T10:00", "is not a real ISO 8601 date-time"),
        ("4 October 2021 13:30", "is not a real ISO 8601 date-time"),
        ("2021-10-04T25:00", "is not a real ISO 8601 date-time"),
        (dt.date(2021, 10, 4), "is not a date-time"),
        (1633350600, "is not a date-time"),
    ],
)
def test_a_moment_that_is_not_a_real_date_time_is_rejected(value: object, shown: str) -> None:
    """A bare date, an impossible date-time or a non-time raises ``ValidationError``."""
    error = rejected(raise_action, "occurred_at", shown, occurred_at=value)
    assert repr(value) in str(error)


def test_a_meeting_time_that_is_not_real_is_rejected() -> None:
    """``held_at`` is checked like ``occurred_at``, under its own name."""
    rejected(record_meeting, "held_at", "'2021-09-31T10:00'", held_at="2021-09-31T10:00")


# -- due -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2022-02-30", "2021-04-31", "2021-13-01", "by 30 February 2022"])
def test_a_due_date_that_does_not_exist_is_rejected(value: str) -> None:
    """A due date that is not in the calendar raises ``ValidationError`` on construction."""
    rejected(raise_action, "due", repr(value), due=value)


@pytest.mark.parametrize(
    ("build", "overrides"),
    [
        (update_action, {"due": "2022-02-30", "reason": "Moved."}),
        (revisit_action, {"next_revisit": "2022-02-30"}),
        (correct_event, {"fields": {"due": "2022-02-30"}}),
    ],
    ids=["update", "revisit", "correct"],
)
def test_every_due_value_rejects_a_date_that_does_not_exist(
    build: Any, overrides: dict[str, Any]
) -> None:
    """Updates, revisits and corrections check their due dates on construction too."""
    rejected(build, "due", "'2022-02-30'", **overrides)


def test_a_due_date_time_is_rejected() -> None:
    """A date-time given as due raises ``ValidationError``: due is a date or words."""
    rejected(raise_action, "due", "is a date-time", due=dt.datetime(2021, 10, 18, 9, 0))


def test_a_due_that_is_neither_date_nor_words_is_rejected() -> None:
    """A number given as due raises ``ValidationError`` showing it."""
    rejected(raise_action, "due", "18", due=18)


def test_due_words_over_two_hundred_characters_are_rejected() -> None:
    """Due words are limited to 200 characters."""
    rejected(raise_action, "due", "201 characters is too long", due="w" * 201)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("  Within two weeks ", "Within two weeks"),
        ("by 1 June 2018", "by 1 June 2018"),
        (dt.date(2018, 6, 1), pendulum.date(2018, 6, 1)),
        (Due(on=None, text="ASAP"), Due(on=None, text="ASAP")),
    ],
)
def test_due_input_is_kept_for_decide_to_resolve(value: object, expected: object) -> None:
    """A date, words or a resolved ``Due`` are kept (words stripped) for ``decide``."""
    assert raise_action(due=value).due == expected


# -- choices ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["done", "Completed", "closed", None])
def test_an_unknown_resolution_is_rejected(value: object) -> None:
    """A resolution other than completed, superseded or withdrawn raises, listing the choices."""
    error = rejected(close_action, "resolution", repr(value), resolution=value)
    assert "completed, superseded, withdrawn" in str(error)


@pytest.mark.parametrize("value", ["fax", "Written update", "letter"])
def test_an_unknown_update_source_is_rejected(value: str) -> None:
    """An update source not in the list raises ``ValidationError`` showing it."""
    error = rejected(update_action, "source", repr(value), source=value)
    assert "briefing note" in str(error)


@pytest.mark.parametrize("value", ["yes", 1, "true"])
def test_assured_must_be_true_false_or_unknown(value: object) -> None:
    """``assured`` accepts only ``True``, ``False`` or ``None``."""
    rejected(revisit_action, "assured", repr(value), assured=value)


def test_restricted_must_be_a_boolean() -> None:
    """``restricted`` accepts only ``True`` or ``False``."""
    rejected(raise_action, "restricted", "'no'", restricted="no")


# -- corrections -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["colour", "resolution", "superseded_by", "actor"])
def test_an_unknown_correction_field_is_rejected(name: str) -> None:
    """A correction of a field that cannot be corrected raises, naming it and the choices."""
    error = rejected(correct_event, name, repr(name), fields={name: "x"})
    assert ", ".join(CORRECTABLE) in str(error)


def test_a_correction_must_set_a_field() -> None:
    """A correction with no fields raises ``ValidationError``."""
    rejected(correct_event, "fields", "must set at least one field", fields={})


def test_a_corrected_value_cannot_be_empty() -> None:
    """A corrected value of ``None`` raises, naming the field."""
    rejected(correct_event, "note", "cannot be empty", fields={"note": None})


@pytest.mark.parametrize(
    ("fields", "field", "shown"),
    [
        ({"text": "  "}, "text", "must not be empty"),
        ({"owners": []}, "owners", "at least one owner"),
        ({"meeting": "2021-02-30"}, "meeting", "'2021-02-30'"),
        ({"occurred_at": "2021-10-04"}, "occurred_at", "date without a time"),
        ({"assured": "no"}, "assured", "'no'"),
    ],
)
def test_corrected_values_are_checked_like_the_originals(
    fields: dict[str, Any], field: str, shown: str
) -> None:
    """Each corrected value is checked as the command that first carried it would check it."""
    rejected(correct_event, field, shown, fields=fields)


def test_corrections_are_converted_and_sorted() -> None:
    """Corrected values are converted (owners parsed, times in UTC) and kept sorted by name."""
    command = correct_event(
        fields={"owners": ["CC: Pippa Mills"], "occurred_at": "2021-10-04T13:30"}
    )
    assert command.fields == (
        ("occurred_at", pendulum.datetime(2021, 10, 4, 12, 30, tz=UTC)),
        ("owners", (Owner(role="CC", person="Pippa Mills"),)),
    )


# -- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2022-02-30",
        "2021-02-29",
        "2021-13-01",
        "2021-00-10",
        "04-10-2021",
        "2021-10-4",
        "2021-10-04-MAM",
        "2021-10-04 mam",
        "October 2021",
    ],
)
def test_a_meeting_id_that_is_not_a_real_date_is_rejected(value: str) -> None:
    """A meeting id must start with a real ``YYYY-MM-DD`` date (suffix lower case)."""
    rejected(record_meeting, "meeting", repr(value), meeting_id=value)
    rejected(raise_action, "meeting", repr(value), meeting=value)


@pytest.mark.parametrize("value", ["2020-02-29", "2021-10-04", "2021-10-04-mam", "2018-04-23-2"])
def test_a_meeting_id_on_a_real_date_is_accepted(value: str) -> None:
    """A real date, optionally with a lower-case suffix, is a meeting id."""
    assert raise_action(meeting=value).meeting == value


@pytest.mark.parametrize("value", ["", "-ACT", "ACT 2021", "A" * 65, "ACT-2021-004!"])
def test_a_malformed_action_id_is_rejected(value: str) -> None:
    """Action ids are 1–64 letters, digits, ``.``, ``_``, ``/`` or ``-``, starting alphanumeric."""
    rejected(raise_action, "action_id", repr(value), action_id=value)


def test_follows_must_be_a_list_of_distinct_action_ids() -> None:
    """``follows`` is a list, each an action id, none twice."""
    rejected(raise_action, "follows", "'ACT-2021-001'", follows="ACT-2021-001")
    rejected(raise_action, "follows", "names an action twice", follows=["A-1", "A-1"])
    rejected(raise_action, "action_id", "'bad id'", follows=["bad id"])


# -- owners ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "field", "shown"),
    [
        ([], "owners", "at least one owner"),
        (["CC", "CC"], "owners", "names an owner twice"),
        ([42], "owners", "42"),
        (["  "], "owner role", "must not be empty"),
        (["X" * 41], "owner role", "41 characters is too long"),
    ],
)
def test_bad_owners_are_rejected(value: object, field: str, shown: str) -> None:
    """Owners must be one or more distinct role codes, each non-empty and short."""
    rejected(raise_action, field, shown, owners=value)


def test_owners_are_parsed_from_role_and_person() -> None:
    """``"CC: Pippa Mills"`` is the role CC and the person Pippa Mills; a bare code has none."""
    assert raise_action(owners=["CC: Pippa Mills", "PCC", Owner(role="DCC")]).owners == (
        Owner(role="CC", person="Pippa Mills"),
        Owner(role="PCC"),
        Owner(role="DCC"),
    )


@given(strategies.owner_lists())
def test_owners_round_trip_through_their_text(owners: tuple[Owner, ...]) -> None:
    """Each owner read back from its own text is the same owner."""
    assert raise_action(owners=[str(o) for o in owners]).owners == owners
