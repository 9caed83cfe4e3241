"""Tests for the register's queries (``action_ledger._views``): ``register`` filters, the
agenda of matters arising, RAG and overdue, owners and role holders, chains of linked actions,
the audit trail, the persisted read-model tables, as-of views on both time axes (the worked
bitemporal example), and rebuild == incremental catch-up. On the West Mercia example and on
small registers built by hand so that every answer is known exactly."""

from __future__ import annotations

import datetime as dt
import importlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pendulum
import pytest

from action_ledger import (
    Attendee,
    AuditEntry,
    Ledger,
    NotFoundError,
    Owner,
    RegisterView,
    RuleViolationError,
    ValidationError,
)
from action_ledger._codec import encode
from action_ledger.events import ActionReopened
from action_ledger.pytest_plugin import LedgerFactory

ACTOR = "Charity Pearce"
UTC = pendulum.UTC
TABLES = (
    "actions",
    "audit_trail",
    "meetings",
    "attendance",
    "owners",
    "links",
    "read_model_checkpoints",
)


class Clock:
    """A clock the test sets by hand (``recorded_at`` and default ``occurred_at`` come from it)."""

    def __init__(self, now: str) -> None:
        self.now = self._parse(now)

    @staticmethod
    def _parse(text: str) -> pendulum.DateTime:
        parsed = pendulum.parse(text)
        assert isinstance(parsed, pendulum.DateTime)
        return parsed.in_tz(UTC)

    def set(self, now: str) -> None:
        """Move the clock to ``now`` (an ISO 8601 instant with an offset)."""
        self.now = self._parse(now)

    def __call__(self) -> pendulum.DateTime:
        return self.now


OpenLedger = Callable[..., Ledger]


@pytest.fixture(params=["memory", "sqlite"])
def open_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenLedger]:
    """Opens a fresh register (in memory, or in a SQLite file) on a given clock."""
    opened: list[Ledger] = []

    def make(clock: Clock | None = None) -> Ledger:
        target = ":memory:" if request.param == "memory" else tmp_path / "r.db"
        ledger = Ledger.open(target, clock=clock or Clock("2022-01-10T12:00:00Z"))
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


def west_mercia() -> ModuleType:
    """The example module, ``src/action_ledger/_examples/west_mercia.py``."""
    return importlib.import_module("action_ledger._examples.west_mercia")


@pytest.fixture
def example(open_ledger: OpenLedger) -> Ledger:
    """The West Mercia example, recorded on a clock standing at 10 January 2022."""
    ledger = open_ledger(Clock("2022-01-10T12:00:00Z"))
    west_mercia().record(ledger)
    return ledger


def meeting(ledger: Ledger, meeting_id: str, held_at: str, **extra: Any) -> None:
    """Record a meeting with a plain title."""
    ledger.record_meeting(
        meeting_id, title=f"Meeting {meeting_id}", held_at=held_at, actor=ACTOR, **extra
    )


def act(ledger: Ledger, text: str, **values: Any) -> str:
    """Raise an action owned by the CC unless told otherwise."""
    return ledger.raise_action(**{"text": text, "owners": ["CC"], "actor": ACTOR, **values})


def close(ledger: Ledger, action_id: str, when: str, **values: Any) -> None:
    """Close an action as completed at ``when``."""
    ledger.close_action(
        action_id,
        **{"resolution": "completed", "note": "Done.", "occurred_at": when, "actor": ACTOR}
        | values,
    )


def ids(actions: Any) -> list[str]:
    """The ids of actions (or of due statuses / chain links)."""
    return [getattr(a, "action", a).id for a in actions]


def dump(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read-model table, in a stable order."""
    db = ledger.read_model.db
    found = {}
    for table in TABLES:
        columns = [c.name for c in db[table].columns]
        order = ", ".join(f"[{c}]" for c in columns)
        found[table] = db.execute(f"SELECT * FROM [{table}] ORDER BY {order}").fetchall()
    return found


# -- register(...) --------------------------------------------------------------------------------


@pytest.fixture
def small(open_ledger: OpenLedger) -> tuple[Ledger, dict[str, str]]:
    """Five actions raised out of time order, one closed, one restricted, one raised just after
    midnight London time (BST) on 1 April 2021, which is still 31 March at UTC."""
    ledger = open_ledger(Clock("2021-05-01T12:00:00Z"))
    meeting(ledger, "2021-01-11", "2021-01-11T10:00")
    meeting(ledger, "2021-02-08", "2021-02-08T10:00")
    made = {
        "homicide": act(
            ledger, "Homicide review timeline.", owners=["T/Ch Supt"], meeting="2021-02-08"
        ),
        "panel": act(
            ledger,
            "Brief the panel on VRR figures.",
            owners=["DCC: Julian Moss", "PCC"],
            source="email",
            occurred_at="2021-01-20T09:00",
        ),
        "publish": act(
            ledger,
            "Publish the SOC summary.",
            owners=["PCC"],
            meeting="2021-01-11",
            restricted=True,
        ),
        "vrr": act(
            ledger, "Review the vrr process.", owners=["CC: Pippa Mills"], meeting="2021-01-11"
        ),
        "midnight": act(ledger, "Report on Op Vesta.", occurred_at="2021-04-01T00:30+01:00"),
    }
    close(ledger, made["homicide"], "2021-03-01T10:00")
    return ledger, made


def test_small_register_ids_are_what_the_fixture_expects(
    small: tuple[Ledger, dict[str, str]],
) -> None:
    """The hand-built register's generated ids follow the order the actions were raised in."""
    _, made = small
    assert made == {
        "homicide": "ACT-2021-001",
        "panel": "ACT-2021-002",
        "publish": "ACT-2021-003",
        "vrr": "ACT-2021-004",
        "midnight": "ACT-2021-005",
    }


def test_register_is_sorted_by_raised_time_then_id(small: tuple[Ledger, dict[str, str]]) -> None:
    """The register lists actions by when they were raised (not recorded), ties by id."""
    ledger, _ = small
    assert ids(ledger.register()) == [
        "ACT-2021-003",  # 11 January, 10:00 (same time as 004: by id)
        "ACT-2021-004",
        "ACT-2021-002",  # 20 January
        "ACT-2021-001",  # 8 February
        "ACT-2021-005",  # 31 March 23:30 UTC
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({"status": "open"}, ["003", "004", "002", "005"], id="status-open"),
        pytest.param({"status": "closed"}, ["001"], id="status-closed"),
        pytest.param({"owner": "pcc"}, ["003", "002"], id="owner-role-lower-case"),
        pytest.param({"owner": "CC"}, ["004", "005"], id="owner-role-is-exact-not-dcc"),
        pytest.param({"owner": "  PIPPA mills "}, ["004"], id="owner-person-any-case"),
        pytest.param({"owner": "julian moss"}, ["002"], id="owner-second-person"),
        pytest.param({"owner": "T/CH SUPT"}, ["001"], id="owner-role-upper-case"),
        pytest.param({"owner": "Mills"}, [], id="owner-part-of-a-name-is-not-a-match"),
        pytest.param({"meeting": "2021-01-11"}, ["003", "004"], id="meeting"),
        pytest.param({"meeting": "2021-02-08"}, ["001"], id="other-meeting"),
        pytest.param({"meeting": "2021-03-01"}, [], id="meeting-with-no-actions"),
        pytest.param({"raised_from": "2021-01-20"}, ["002", "001", "005"], id="from-inclusive"),
        pytest.param({"raised_to": "2021-01-20"}, ["003", "004", "002"], id="to-inclusive"),
        pytest.param(
            {"raised_to": "2021-03-31"}, ["003", "004", "002", "001"], id="to-is-a-london-date"
        ),
        pytest.param({"raised_from": "2021-04-01"}, ["005"], id="from-is-a-london-date"),
        pytest.param(
            {"raised_from": dt.date(2021, 1, 12), "raised_to": pendulum.date(2021, 2, 8)},
            ["002", "001"],
            id="dates-as-date-objects",
        ),
        pytest.param({"restricted": True}, ["003"], id="restricted"),
        pytest.param({"restricted": False}, ["004", "002", "001", "005"], id="publishable"),
        pytest.param({"text": "VRR"}, ["004", "002"], id="text-any-case"),
        pytest.param({"text": "  soc summary "}, ["003"], id="text-stripped"),
        pytest.param({"text": "nothing like this"}, [], id="text-not-found"),
        pytest.param(
            {"status": "open", "owner": "PCC", "restricted": False},
            ["002"],
            id="filters-combine",
        ),
    ],
)
def test_register_filters_return_exactly_the_matching_actions(
    small: tuple[Ledger, dict[str, str]], filters: dict[str, Any], expected: list[str]
) -> None:
    """Each filter (and a combination) returns exactly the matching actions, in register order."""
    ledger, _ = small
    assert ids(ledger.register(**filters)) == [f"ACT-2021-{n}" for n in expected]


@pytest.mark.parametrize(
    ("filters", "field", "shown"),
    [
        pytest.param({"status": "pending"}, "status", "'pending'", id="unknown-status"),
        pytest.param({"status": "Open"}, "status", "'Open'", id="status-is-exact"),
        pytest.param(
            {"raised_from": "2021-02-30"}, "raised_from", "'2021-02-30'", id="no-such-day"
        ),
        pytest.param(
            {"raised_to": "31/02/2021"}, "raised_to", "'31/02/2021'", id="no-such-english-day"
        ),
        pytest.param({"meeting": "2021-13-01"}, "meeting", "'2021-13-01'", id="no-such-month"),
        pytest.param({"meeting": "October"}, "meeting", "'October'", id="not-a-meeting-id"),
        pytest.param({"owner": ""}, "owner", "owner", id="empty-owner"),
        pytest.param({"owner": "   "}, "owner", "owner", id="blank-owner"),
        pytest.param({"text": ""}, "text", "text", id="empty-text"),
    ],
)
def test_register_rejects_bad_filters_naming_the_value_and_changes_nothing(
    small: tuple[Ledger, dict[str, str]], filters: dict[str, Any], field: str, shown: str
) -> None:
    """A bad filter raises ValidationError naming the field and value; the log and tables stay."""
    ledger, _ = small
    before = (ledger.store.last_position(), dump(ledger))
    with pytest.raises(ValidationError) as raised:
        ledger.register(**filters)
    assert raised.value.field == field
    assert raised.value.value == next(iter(filters.values()))
    assert shown in str(raised.value)
    assert (ledger.store.last_position(), dump(ledger)) == before


# -- agenda ---------------------------------------------------------------------------------------


@pytest.fixture
def agenda_register(open_ledger: OpenLedger) -> tuple[Ledger, dict[str, str]]:
    """A register whose matters arising for 4 October 2021 are known exactly.

    Meetings on 7 June, 6 September, 4 October (the date itself) and 1 November 2021.
    """
    ledger = open_ledger(Clock("2021-12-01T12:00:00Z"))
    for day in ("2021-06-07", "2021-09-06", "2021-10-04", "2021-11-01"):
        meeting(ledger, day, f"{day}T10:00")
    june, sept = "2021-06-07", "2021-09-06"
    made = {
        "due_sep": act(ledger, "Due 30 September.", meeting=june, due="2021-09-30"),
        "due_day": act(ledger, "Due on the day.", meeting=sept, due="2021-10-04"),
        "due_jul": act(ledger, "Due 1 July.", meeting=sept, due="2021-07-01"),
        "no_due_june": act(ledger, "No due date, June.", meeting=june),
        "no_due_sept": act(ledger, "No due date, September.", meeting=sept),
        "closed_between": act(ledger, "Closed between the meetings.", meeting=sept),
        "closed_before": act(ledger, "Closed before the previous meeting.", meeting=june),
        "closed_at_prev": act(ledger, "Closed at the previous meeting.", meeting=june),
        "closed_on_day": act(ledger, "Closed at the meeting itself.", meeting=sept),
        "closed_eve": act(ledger, "Closed the evening before.", meeting=sept),
        "raised_on_day": act(ledger, "Raised at the meeting.", meeting="2021-10-04"),
        "raised_after": act(ledger, "Raised after.", occurred_at="2021-10-05T09:00"),
    }
    close(ledger, made["closed_between"], "2021-09-20T09:00")
    close(ledger, made["closed_before"], "2021-08-01T09:00")
    close(ledger, made["closed_at_prev"], "2021-09-06T10:00")
    close(ledger, made["closed_on_day"], "2021-10-04T10:00")
    # 23:30 BST on 3 October is still 3 October in London (22:30 UTC).
    close(ledger, made["closed_eve"], "2021-10-03T23:30")
    return ledger, made


def test_agenda_lists_matters_arising_due_first_then_oldest(
    agenda_register: tuple[Ledger, dict[str, str]],
) -> None:
    """Outstanding: open before the date, due by it first (earliest due first), then the rest
    oldest raised first; raised on or after the date left out; closed on the day still in."""
    ledger, made = agenda_register
    agenda = ledger.agenda("2021-10-04")
    assert agenda.date == pendulum.date(2021, 10, 4)
    expected = ["due_jul", "due_sep", "due_day", "no_due_june", "no_due_sept", "closed_on_day"]
    assert ids(agenda.outstanding) == [made[k] for k in expected]
    assert ids(agenda.due) == [made[k] for k in ("due_jul", "due_sep", "due_day")]
    assert ledger.get(made["closed_on_day"]).status == "closed"


def test_agenda_notes_what_closed_since_the_previous_meeting(
    agenda_register: tuple[Ledger, dict[str, str]],
) -> None:
    """``closed_since`` lists actions closed after the last meeting before the date and before
    the date (in London); ``previous_meeting`` is that meeting, not the one on the date."""
    ledger, made = agenda_register
    agenda = ledger.agenda(dt.date(2021, 10, 4))
    assert agenda.previous_meeting is not None
    assert agenda.previous_meeting.id == "2021-09-06"
    assert ids(agenda.closed_since) == [made["closed_between"], made["closed_eve"]]


def test_agenda_before_any_meeting_has_no_previous_meeting(
    agenda_register: tuple[Ledger, dict[str, str]],
) -> None:
    """On the first meeting's date there is no previous meeting, so nothing is closed since."""
    ledger, _ = agenda_register
    agenda = ledger.agenda("2021-06-07")
    assert (agenda.previous_meeting, agenda.outstanding, agenda.closed_since) == (None, (), ())


def test_agenda_the_day_after_includes_actions_raised_on_the_day(
    agenda_register: tuple[Ledger, dict[str, str]],
) -> None:
    """A day later the 4 October meeting is the previous one and its actions are outstanding;
    the action closed at 10:00 that day, the meeting's own time, was closed at it, not since."""
    ledger, made = agenda_register
    agenda = ledger.agenda("2021-10-05")
    assert agenda.previous_meeting is not None
    assert agenda.previous_meeting.id == "2021-10-04"
    assert made["raised_on_day"] in ids(agenda.outstanding)
    assert made["raised_after"] not in ids(agenda.outstanding)
    assert made["closed_on_day"] not in ids(agenda.outstanding)
    assert ids(agenda.closed_since) == []


def test_agenda_lists_the_not_yet_due_oldest_raised_first(open_ledger: OpenLedger) -> None:
    """Outstanding actions not due by the date follow oldest raised first, whatever their
    (later) due dates, as ``Agenda.outstanding`` documents."""
    ledger = open_ledger()
    meeting(ledger, "2021-06-07", "2021-06-07T10:00")
    meeting(ledger, "2021-09-06", "2021-09-06T10:00")
    oldest = act(ledger, "Due at Christmas.", meeting="2021-06-07", due="2021-12-25")
    middle = act(ledger, "Due in November.", meeting="2021-06-07", due="2021-11-01")
    newest = act(ledger, "No due date.", meeting="2021-09-06")
    assert ids(ledger.agenda("2021-10-04").outstanding) == [oldest, middle, newest]


def test_agenda_on_the_example_brings_forward_the_march_actions(example: Ledger) -> None:
    """At the October 2021 meeting the two overdue actions come first; ACT-2021-001, closed
    at that meeting, was still outstanding before it; nothing raised that day is listed."""
    agenda = example.agenda("2021-10-04")
    assert agenda.previous_meeting is not None
    assert agenda.previous_meeting.id == "2018-10-26"
    assert ids(agenda.due) == ["ACT-2018-002", "ACT-2021-001"]
    assert ids(agenda.outstanding) == [
        "ACT-2018-002",
        "ACT-2021-001",
        *(f"ACT-2018-00{n}" for n in (1, 3, 4, 5, 6, 7, 8)),
        "ACT-2021-002",
    ]
    assert agenda.closed_since == ()


def test_agenda_rejects_a_malformed_date(example: Ledger) -> None:
    """A date that does not exist is a ValidationError naming it."""
    with pytest.raises(ValidationError, match="2021-02-30"):
        example.agenda("2021-02-30")


# -- rag and overdue ------------------------------------------------------------------------------


@pytest.fixture
def due_register(open_ledger: OpenLedger) -> tuple[Ledger, dict[str, str]]:
    """Actions raised on 1 December 2021 with due dates around 10 January 2022 (the clock's day)."""
    ledger = open_ledger(Clock("2022-01-10T12:00:00Z"))
    raised = "2021-12-01T10:00"
    made = {
        name: act(ledger, f"Due {due}.", due=due, occurred_at=raised)
        for name, due in [
            ("green_15", "2022-01-25"),
            ("amber_14", "2022-01-24"),
            ("amber_today", "2022-01-10"),
            ("red_1", "2022-01-09"),
            ("red_9", "2022-01-01"),
        ]
    }
    made["no_due"] = act(ledger, "No due date.", occurred_at=raised)
    made["closed_before"] = act(ledger, "Closed.", due="2022-01-02", occurred_at=raised)
    close(ledger, made["closed_before"], "2022-01-05T10:00")
    made["closed_after"] = act(ledger, "Closed later.", due="2022-01-03", occurred_at=raised)
    close(ledger, made["closed_after"], "2022-01-11T10:00")
    made["raised_after"] = act(
        ledger, "Raised later.", due="2022-01-04", occurred_at="2022-01-11T09:00"
    )
    return ledger, made


def test_rag_rates_each_open_action_against_its_due_date(
    due_register: tuple[Ledger, dict[str, str]],
) -> None:
    """Red past due (days overdue), amber within 14 days (14 is amber, today is amber with 0
    days left), green beyond or without a due date; red first, most overdue first."""
    ledger, made = due_register
    rated = [(s.action.id, s.rag, s.days_overdue, s.days_left) for s in ledger.rag("2022-01-10")]
    assert rated == [
        (made["red_9"], "red", 9, -9),
        (made["closed_after"], "red", 7, -7),  # closed on the 11th: open on the 10th
        (made["red_1"], "red", 1, -1),
        (made["amber_today"], "amber", 0, 0),
        (made["amber_14"], "amber", 0, 14),
        (made["green_15"], "green", 0, 15),
        (made["no_due"], "green", 0, None),
    ]


def test_rag_amber_window_is_configurable(due_register: tuple[Ledger, dict[str, str]]) -> None:
    """``amber_days`` moves the amber/green boundary: 0 keeps only today amber, 15 takes in
    the action due in 15 days."""
    ledger, made = due_register

    def colours(amber_days: int) -> dict[str, str]:
        return {s.action.id: s.rag for s in ledger.rag("2022-01-10", amber_days=amber_days)}

    assert colours(0)[made["amber_today"]] == "amber"
    assert colours(0)[made["amber_14"]] == "green"
    assert colours(15)[made["green_15"]] == "amber"
    assert colours(15)[made["red_1"]] == "red"


def test_overdue_lists_only_red_most_overdue_first(
    due_register: tuple[Ledger, dict[str, str]],
) -> None:
    """``overdue`` is the red actions of ``rag``, most overdue first, with days overdue."""
    ledger, made = due_register
    overdue = ledger.overdue("2022-01-10")
    assert [(s.action.id, s.days_overdue) for s in overdue] == [
        (made["red_9"], 9),
        (made["closed_after"], 7),
        (made["red_1"], 1),
    ]
    assert {s.rag for s in overdue} == {"red"}
    assert ids(ledger.overdue("2022-01-12")) == [
        made["red_9"],
        made["raised_after"],
        made["red_1"],
        made["amber_today"],
    ]


def test_rag_and_overdue_default_to_the_clocks_london_date(open_ledger: OpenLedger) -> None:
    """Without a date they use today in London: at 23:30 UTC on 30 June it is already 1 July
    in London (BST), so an action due on 30 June is one day overdue, not due today."""
    clock = Clock("2021-06-30T23:30:00Z")
    ledger = open_ledger(clock)
    action_id = act(ledger, "Due 30 June.", due="2021-06-30", occurred_at="2021-06-01T10:00")
    (status,) = ledger.rag()
    assert (status.action.id, status.rag, status.days_overdue) == (action_id, "red", 1)
    assert [(s.action.id, s.days_overdue) for s in ledger.overdue()] == [(action_id, 1)]
    clock.set("2021-06-30T22:30:00Z")  # 23:30 BST on the 30th
    assert ledger.overdue() == ()
    assert ledger.rag()[0].rag == "amber"


@pytest.mark.parametrize("bad", [-1, True, "x", 1.5, None])
def test_rag_and_overdue_reject_a_bad_amber_window(
    due_register: tuple[Ledger, dict[str, str]], bad: Any
) -> None:
    """``amber_days`` must be a whole number of days ≥ 0 (a bool is not a number of days)."""
    ledger, _ = due_register
    for query in (ledger.rag, ledger.overdue):
        with pytest.raises(ValidationError) as raised:
            query("2022-01-10", amber_days=bad)
        assert (raised.value.field, raised.value.value) == ("amber_days", bad)


def test_rag_rejects_a_malformed_date(due_register: tuple[Ledger, dict[str, str]]) -> None:
    """A date that does not exist is a ValidationError naming it."""
    ledger, _ = due_register
    with pytest.raises(ValidationError, match="2022-02-30"):
        ledger.overdue("2022-02-30")


# -- owner and holder -----------------------------------------------------------------------------


def test_owner_lists_an_owners_open_actions(example: Ledger) -> None:
    """``owner`` gives a role's open actions (any case); ``status=None`` adds the closed ones."""
    cc_open = [
        "ACT-2018-001",
        "ACT-2018-003",
        "ACT-2018-004",
        "ACT-2018-005",
        "ACT-2018-008",
        "ACT-2021-003",
        "ACT-2021-006",
    ]
    assert ids(example.owner("CC")) == cc_open
    assert ids(example.owner("cc")) == cc_open
    assert ids(example.owner("CC", status=None)) == [*cc_open[:5], "ACT-2021-001", *cc_open[5:]]
    assert ids(example.owner("CC", status="closed")) == ["ACT-2021-001"]
    assert ids(example.owner("dcc")) == ["ACT-2018-006"]
    # Owners name roles here; Pippa Mills held the CC role when the 2021 ones were raised.
    assert ids(example.owner("Pippa Mills")) == cc_open[5:]
    with pytest.raises(ValidationError):
        example.owner(" ")


def test_owner_finds_a_person(open_ledger: OpenLedger) -> None:
    """An owner given with a person is found by the person's name in any case."""
    ledger = open_ledger()
    mine = act(ledger, "Brief the PCC.", owners=["CC: Pippa Mills"], occurred_at="2021-10-04T10:00")
    act(ledger, "Brief the panel.", owners=["CC"], occurred_at="2021-10-04T11:00")
    assert ids(ledger.owner("PIPPA MILLS")) == [mine]


@pytest.mark.parametrize(
    ("role", "on", "name", "held", "present"),
    [
        pytest.param("CC", "2018-06-01", "Anthony Bangham", "2018-04-23", True, id="cc-2018"),
        pytest.param("cc", "2018-04-23", "Anthony Bangham", "2018-04-23", True, id="on-the-day"),
        pytest.param("CC", "2021-10-03", "Anthony Bangham", "2018-10-26", True, id="last-known"),
        pytest.param("CC", "2021-12-01", "Pippa Mills", "2021-10-04", True, id="cc-2021"),
        pytest.param(" Cc ", "2021-10-04", "Pippa Mills", "2021-10-04", True, id="any-case"),
        pytest.param("DCC", "2021-12-01", "Julian Moss", "2021-10-04", True, id="dcc-2021"),
        pytest.param("DPCC", "2018-11-01", "Tracey Onslow", "2018-10-26", False, id="apologies"),
    ],
)
def test_holder_names_who_held_a_role_from_the_attendance(
    example: Ledger, role: str, on: str, name: str, held: str, present: bool
) -> None:
    """The holder of a role on a date is the person listed in it at the last meeting on or
    before that date (present, or sending apologies)."""
    holder = example.holder(role, on)
    assert holder is not None
    assert (holder.name, holder.meeting, holder.held_on.isoformat(), holder.present) == (
        name,
        held,
        held,
        present,
    )
    assert holder.role == role.strip()


def test_holder_is_none_before_any_meeting_lists_the_role(example: Ledger) -> None:
    """Before the first meeting that lists a role, nobody is known to hold it; a capacity is
    not a role code."""
    assert example.holder("CC", "2018-04-22") is None
    assert example.holder("PM", "2021-10-03") is None  # first listed on 4 October 2021
    assert example.holder("PM", "2021-10-04") is not None
    assert example.holder("Chief Constable", "2021-12-01") is None


def test_holder_of_two_meetings_on_one_day_is_from_the_later_one(open_ledger: OpenLedger) -> None:
    """Of two meetings on one day, the one held later is the last meeting, whatever its id."""
    ledger = open_ledger()
    ledger.record_meeting(
        "2021-10-04-evening",
        title="Evening meeting",
        held_at="2021-10-04T18:00",
        attendance=[Attendee(name="Pippa Mills", capacity="Chief Constable", role="CC")],
        actor=ACTOR,
    )
    ledger.record_meeting(
        "2021-10-04-morning",
        title="Morning meeting",
        held_at="2021-10-04T09:00",
        attendance=[Attendee(name="Anthony Bangham", capacity="Chief Constable", role="CC")],
        actor=ACTOR,
    )
    assert [m.id for m in ledger.meetings()] == ["2021-10-04-morning", "2021-10-04-evening"]
    holder = ledger.holder("CC", "2021-10-05")
    assert holder is not None
    assert (holder.name, holder.meeting) == ("Pippa Mills", "2021-10-04-evening")


def test_holder_rejects_bad_input(example: Ledger) -> None:
    """An empty role or a malformed date is a ValidationError."""
    with pytest.raises(ValidationError):
        example.holder("", "2021-10-04")
    with pytest.raises(ValidationError, match="2021-02-30"):
        example.holder("CC", "2021-02-30")


# -- chain ----------------------------------------------------------------------------------------


def test_chain_on_the_example_shows_the_supersession_and_its_decisions(example: Ledger) -> None:
    """From either end, the chain of ACT-2021-001 and ACT-2021-003 lists both, oldest first;
    the second carries the two decisions linking them: its raise (follows) and the close of
    the first (superseded by), each with its event id, meeting and wording."""
    chain = example.chain("ACT-2021-001")
    assert chain == example.chain("ACT-2021-003")
    assert ids(chain) == ["ACT-2021-001", "ACT-2021-003"]
    assert [c.action for c in chain] == [example.get("ACT-2021-001"), example.get("ACT-2021-003")]
    first, second = chain
    assert first.links == ()
    closed = example.history("ACT-2021-001")[-1]
    raised = example.history("ACT-2021-003")[0]
    assert (closed.event_type, raised.event_type) == ("closed", "raised")
    links = {link.kind: link for link in second.links}
    assert len(second.links) == 2
    superseded, follows = links["superseded_by"], links["follows"]
    assert (superseded.action, superseded.other) == ("ACT-2021-001", "ACT-2021-003")
    assert (superseded.event_id, superseded.decision) == (closed.event_id, closed.summary)
    assert (follows.action, follows.other) == ("ACT-2021-003", "ACT-2021-001")
    assert (follows.event_id, follows.decision) == (raised.event_id, raised.summary)
    for link in (superseded, follows):
        assert link.meeting == "2021-10-04"
        assert link.occurred_at == pendulum.datetime(2021, 10, 4, 12, 30, tz=UTC)


def test_chain_of_an_unlinked_action_is_itself(example: Ledger) -> None:
    """An action linked to nothing is a chain of one, without links."""
    (only,) = example.chain("ACT-2018-001")
    assert (only.action.id, only.links) == ("ACT-2018-001", ())


def test_a_longer_chain_is_found_from_any_member(open_ledger: OpenLedger) -> None:
    """A ← B (follows A) ← C (follows B): each of the three gives the whole chain, oldest
    first, each link on the later action; an unrelated action stays out."""
    ledger = open_ledger()
    a = act(ledger, "First.", occurred_at="2021-01-04T10:00")
    b = act(ledger, "Second.", follows=[a], occurred_at="2021-02-01T10:00")
    act(ledger, "Unrelated.", occurred_at="2021-02-15T10:00")
    c = act(ledger, "Third.", follows=[b], occurred_at="2021-03-01T10:00")
    chains = [ledger.chain(x) for x in (a, b, c)]
    assert chains[0] == chains[1] == chains[2]
    assert ids(chains[0]) == [a, b, c]
    assert [[(k.kind, k.action, k.other) for k in x.links] for x in chains[0]] == [
        [],
        [("follows", b, a)],
        [("follows", c, b)],
    ]


def test_reopening_removes_the_superseded_by_link(open_ledger: OpenLedger) -> None:
    """Reopening a superseded action undoes its supersession: the chain no longer joins them
    (the history still shows the close)."""
    ledger = open_ledger()
    old = act(ledger, "Old.", occurred_at="2021-01-04T10:00")
    new = act(ledger, "New.", occurred_at="2021-02-01T10:00")
    close(ledger, old, "2021-02-01T11:00", resolution="superseded", superseded_by=new)
    assert ids(ledger.chain(old)) == [old, new]
    ledger.reopen_action(
        old, reason="Closed in error.", occurred_at="2021-02-02T10:00", actor=ACTOR
    )
    assert ids(ledger.chain(old)) == [old]
    assert ids(ledger.chain(new)) == [new]
    assert [e.event_type for e in ledger.history(old)] == ["raised", "closed", "reopened"]


def test_chain_of_an_unknown_action_is_not_found(example: Ledger) -> None:
    """An action that does not exist has no chain; a malformed id is a ValidationError."""
    with pytest.raises(NotFoundError, match="ACT-1999-001"):
        example.chain("ACT-1999-001")
    with pytest.raises(ValidationError):
        example.chain("not an id!")


# -- history --------------------------------------------------------------------------------------


def test_history_reads_as_an_audit_trail_with_corrections_beside_what_they_correct(
    open_ledger: OpenLedger,
) -> None:
    """The trail gives each event a sentence, its field changes old → new, who recorded it,
    when it happened and when it was recorded, its stored hash; a correction names the event
    it corrects and that event names the correction."""
    clock = Clock("2021-10-05T08:00:00Z")
    ledger = open_ledger(clock)
    meeting(ledger, "2021-10-04", "2021-10-04T13:30")
    action_id = act(
        ledger, "Find out the homicide review timeline.", owners=["T/Ch Supt"], meeting="2021-10-04"
    )
    clock.set("2021-10-21T08:00:00Z")
    ledger.update_action(
        action_id,
        note="The review is delayed.",
        source="briefing note",
        due="2021-12-01",
        reason="Agreed with the PCC.",
        occurred_at="2021-10-20T09:00",
        actor="Jackie Irvin",
    )
    raised_id = ledger.history(action_id)[0].event_id
    clock.set("2021-11-02T08:00:00Z")
    ledger.correct_event(
        action_id, raised_id, owners=["DCC"], reason="Minuted against the wrong owner.", actor=ACTOR
    )
    trail = ledger.history(action_id)
    stored = ledger.store.read_stream(f"action:{action_id}")
    raised, updated, corrected = trail
    assert [e.event_type for e in trail] == ["raised", "updated", "corrected"]
    assert [e.hash for e in trail] == [s.hash for s in stored]
    assert [e.event_id for e in trail] == [s.event_id for s in stored]
    assert [e.actor for e in trail] == [ACTOR, "Jackie Irvin", ACTOR]
    assert [e.occurred_at for e in trail] == [
        pendulum.datetime(2021, 10, 4, 12, 30, tz=UTC),
        pendulum.datetime(2021, 10, 20, 8, tz=UTC),
        pendulum.datetime(2021, 11, 2, 8, tz=UTC),
    ]
    assert [e.recorded_at for e in trail] == [
        pendulum.datetime(2021, 10, 5, 8, tz=UTC),
        pendulum.datetime(2021, 10, 21, 8, tz=UTC),
        pendulum.datetime(2021, 11, 2, 8, tz=UTC),
    ]
    assert (raised.meeting, raised.corrected_by, raised.corrects) == (
        "2021-10-04",
        (corrected.event_id,),
        None,
    )
    assert (corrected.corrects, corrected.corrected_by) == (raised.event_id, ())
    assert updated.corrected_by == ()
    assert dict(raised.changes)["owners"] == (None, "T/Ch Supt")
    assert dict(updated.changes) == {"due_on": (None, "2021-12-01")}
    assert dict(corrected.changes) == {"owners": ("T/Ch Supt", "DCC")}
    assert "Find out the homicide review timeline." in raised.summary
    assert "owned by T/Ch Supt" in raised.summary
    assert "briefing note" in updated.summary
    assert "Agreed with the PCC." in updated.summary
    assert raised_id[:8] in corrected.summary
    assert "Minuted against the wrong owner." in corrected.summary
    assert ledger.get(action_id).owners == (Owner(role="DCC"),)


def test_history_of_an_unknown_action_is_not_found(example: Ledger) -> None:
    """There is no trail for an action that does not exist."""
    with pytest.raises(NotFoundError, match="ACT-1999-001"):
        example.history("ACT-1999-001")


# -- the persisted tables -------------------------------------------------------------------------


def test_persisted_tables_are_readable_with_plain_sqlite_and_match_the_api(
    tmp_path: Path,
) -> None:
    """A file register's read models are ordinary SQLite tables that any tool can read, and
    they say what the API says."""
    path = tmp_path / "r.db"
    with Ledger.open(path, clock=Clock("2022-01-10T12:00:00Z")) as ledger:
        west_mercia().record(ledger)
        register = ledger.register()
        history = ledger.history("ACT-2021-001")
        last = ledger.store.last_position()
    with sqlite3.connect(path) as conn:
        names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert set(TABLES) <= names
        assert conn.execute("SELECT id, status FROM actions ORDER BY raised_at, id").fetchall() == [
            (a.id, a.status) for a in register
        ]
        assert conn.execute(
            "SELECT id FROM actions WHERE status = 'closed' AND superseded_by = 'ACT-2021-003'"
        ).fetchall() == [("ACT-2021-001",)]
        assert conn.execute(
            "SELECT event_id, event_type, summary, hash FROM audit_trail "
            "WHERE action_id = ? ORDER BY position",
            ("ACT-2021-001",),
        ).fetchall() == [(e.event_id, e.event_type, e.summary, e.hash) for e in history]
        assert conn.execute("SELECT id, held_on FROM meetings ORDER BY held_at").fetchall() == [
            ("2018-04-23", "2018-04-23"),
            ("2018-10-26", "2018-10-26"),
            ("2021-10-04", "2021-10-04"),
        ]
        assert conn.execute(
            "SELECT name, present FROM attendance WHERE meeting_id = '2018-10-26' "
            "ORDER BY present DESC, seq"
        ).fetchall() == [
            ("John Campion", 1),
            ("Anthony Bangham", 1),
            ("Amanda Blakeman", 1),
            ("Tracey Onslow", 0),
            ("Andy Champness", 0),
        ]
        assert conn.execute(
            "SELECT role FROM owners WHERE action_id = 'ACT-2018-005' ORDER BY seq"
        ).fetchall() == [("PCC",), ("CC",)]
        assert conn.execute(
            "SELECT action_id, kind, other, meeting FROM links ORDER BY action_id, kind"
        ).fetchall() == [
            ("ACT-2018-007", "follows", "ACT-2018-005", "2018-10-26"),
            ("ACT-2021-001", "superseded_by", "ACT-2021-003", "2021-10-04"),
            ("ACT-2021-003", "follows", "ACT-2021-001", "2021-10-04"),
        ]
        checkpoints = dict(conn.execute("SELECT projection, position FROM read_model_checkpoints"))
        assert checkpoints == dict.fromkeys(
            ("actions", "owners", "audit_trail", "meetings", "links"), last
        )
        assert conn.execute("SELECT count(*) FROM audit_trail").fetchone() == (
            last - 3,  # every event but the three meetings'
        )


# -- rebuild --------------------------------------------------------------------------------------


def test_rebuild_gives_the_same_tables_as_incremental_catch_up(example: Ledger) -> None:
    """Dropping the tables and replaying the whole log gives exactly the tables kept up to date
    append by append, row for row (also after a correction and a reopen)."""
    ledger = example
    raised = ledger.history("ACT-2021-005")[0].event_id
    ledger.correct_event("ACT-2021-005", raised, owners=["DCC"], reason="Wrong owner.", actor=ACTOR)
    ledger.reopen_action("ACT-2021-001", reason="Brought back.", actor=ACTOR)
    close(ledger, "ACT-2018-001", "2021-11-01T10:00")
    incremental = dump(ledger)
    assert ledger.rebuild() == ledger.store.last_position()
    assert dump(ledger) == incremental
    assert sum(map(len, incremental.values())) > 50  # the dump is not trivially empty


# -- as-of views ----------------------------------------------------------------------------------


@pytest.fixture
def minutes_2018_recorded_in_2026(
    open_ledger: OpenLedger,
) -> tuple[Ledger, Clock, str]:
    """The worked bitemporal example: the minutes of a 2018 meeting typed up in January 2026,
    then corrected in March 2026 (the action was the DCC's, not the CC's)."""
    clock = Clock("2026-01-15T10:00:00Z")
    ledger = open_ledger(clock)
    ledger.record_meeting(
        "2018-04-23",
        title="Monthly Assurance Meeting April 2018",
        held_at="2018-04-23T10:30",
        attendance=[Attendee(name="Anthony Bangham", capacity="Chief Constable", role="CC")],
        actor=ACTOR,
    )
    action_id = act(ledger, "Share the headlines from the Durham work.", meeting="2018-04-23")
    raised = ledger.history(action_id)[0].event_id
    clock.set("2026-03-02T09:00:00Z")
    ledger.correct_event(
        action_id, raised, owners=["DCC"], reason="The minutes name the DCC.", actor=ACTOR
    )
    return ledger, clock, action_id


def test_the_worked_bitemporal_example(
    minutes_2018_recorded_in_2026: tuple[Ledger, Clock, str],
) -> None:
    """- As recorded on 31 December 2025: nothing; the minutes were not yet typed up.
    - As recorded on 1 February 2026: the action with its owner as first entered (CC); the
      correction of March 2026 had not been recorded.
    - As occurred by 31 December 2018: the action, owned by the DCC: what happened in 2018 as
      we know it now, with the correction applied although it was recorded in 2026.
    - As occurred by 22 April 2018 (or 10:00 on the 23rd, before the meeting): nothing had
      happened yet, whatever has been recorded since."""
    ledger, _, action_id = minutes_2018_recorded_in_2026
    assert action_id == "ACT-2018-001"
    assert ledger.get(action_id).raised_at == pendulum.datetime(2018, 4, 23, 9, 30, tz=UTC)

    unrecorded = ledger.as_of("2025-12-31", axis="recorded")
    assert (unrecorded.register(), unrecorded.meetings()) == ((), ())
    with pytest.raises(NotFoundError):
        unrecorded.get(action_id)

    uncorrected = ledger.as_of("2026-02-01", axis="recorded")
    assert uncorrected.get(action_id).owners == (Owner(role="CC"),)
    assert ids(uncorrected.register(owner="CC")) == [action_id]
    assert uncorrected.register(owner="DCC") == ()
    assert [e.event_type for e in uncorrected.history(action_id)] == ["raised"]
    assert [m.id for m in uncorrected.meetings()] == ["2018-04-23"]

    known_now = ledger.as_of("2018-12-31", axis="occurred")
    assert known_now.get(action_id).owners == (Owner(role="DCC"),)
    assert ids(known_now.register(owner="dcc")) == [action_id]
    assert known_now.register(owner="CC") == ()
    assert [e.event_type for e in known_now.history(action_id)] == ["raised", "corrected"]
    assert [m.id for m in known_now.meetings()] == ["2018-04-23"]
    assert known_now.holder("CC", "2018-12-31") is not None

    for moment in ("2018-04-22", "2018-04-23T10:00"):
        before = ledger.as_of(moment, axis="occurred")
        assert (before.register(), before.meetings()) == ((), ())
        with pytest.raises(NotFoundError):
            before.get(action_id)
    at_the_meeting = ledger.as_of("2018-04-23T10:30", axis="occurred")
    assert ids(at_the_meeting.register()) == [action_id]

    assert ledger.get(action_id).owners == (Owner(role="DCC"),)  # the live register


def test_as_of_occurred_uses_the_corrected_time_of_an_event(open_ledger: OpenLedger) -> None:
    """When a correction moves the time an action was raised, the occurred axis places it at
    the corrected time; the recorded axis shows the time as it was first entered."""
    clock = Clock("2026-01-15T10:00:00Z")
    ledger = open_ledger(clock)
    action_id = act(
        ledger, "Review the VRR process.", source="email", occurred_at="2018-05-01T09:00"
    )
    raised = ledger.history(action_id)[0].event_id
    clock.set("2026-03-02T09:00:00Z")
    ledger.correct_event(
        action_id, raised, occurred_at="2018-06-15T09:00", reason="Wrong date.", actor=ACTOR
    )
    june_15 = pendulum.datetime(2018, 6, 15, 8, tz=UTC)

    early = ledger.as_of("2018-05-31", axis="occurred")
    assert early.register() == ()
    with pytest.raises(NotFoundError):
        early.get(action_id)
    later = ledger.as_of("2018-06-30", axis="occurred")
    assert later.get(action_id).raised_at == june_15
    assert [a.raised_at for a in later.register()] == [june_15]

    recorded = ledger.as_of("2026-02-01", axis="recorded")
    assert recorded.get(action_id).raised_at == pendulum.datetime(2018, 5, 1, 8, tz=UTC)
    assert ledger.get(action_id).raised_at == june_15


def test_a_correction_cannot_move_the_raise_after_a_later_event(open_ledger: OpenLedger) -> None:
    """Moving when an action was raised to after an update it already has is refused, as an
    update dated before the raise is; otherwise the occurred axis would show, on 31 May 2018,
    the history of an action that did not exist yet."""
    ledger = open_ledger(Clock("2026-01-15T10:00:00Z"))
    action_id = act(ledger, "Review the VRR process.", occurred_at="2018-05-01T09:00")
    ledger.update_action(
        action_id, note="Asked.", source="email", occurred_at="2018-05-10T09:00", actor=ACTOR
    )
    raised = ledger.history(action_id)[0].event_id
    with pytest.raises(RuleViolationError):
        ledger.correct_event(
            action_id, raised, occurred_at="2018-06-15T09:00", reason="Wrong date.", actor=ACTOR
        )


def test_as_of_overdue_defaults_to_the_views_own_date(example: Ledger) -> None:
    """Without a date, an as-of view's ``overdue`` is judged on the view's London date: on
    3 October 2021 the two actions due before it are overdue, by 711 and 32 days."""
    view = example.as_of("2021-10-03", axis="occurred")
    assert [(s.action.id, s.days_overdue) for s in view.overdue()] == [
        ("ACT-2018-002", 711),
        ("ACT-2021-001", 32),
    ]
    assert [(s.action.id, s.days_overdue) for s in example.overdue("2021-10-03")] == [
        ("ACT-2018-002", 711),
        ("ACT-2021-001", 32),
    ]
    assert [s.action.id for s in example.overdue()] == ["ACT-2018-002"]  # 10 January 2022


@pytest.mark.parametrize(
    ("moment", "axis"),
    [
        ("2021-03-01", "occurred"),
        ("2021-09-30", "occurred"),
        ("2021-10-04T13:30", "occurred"),
        ("2021-12-31", "occurred"),
        ("2022-01-10T12:00:00Z", "recorded"),
        ("2022-01-09", "recorded"),
    ],
)
def test_as_of_views_agree_through_streams_and_tables(
    example: Ledger, moment: str, axis: Any
) -> None:
    """An as-of view answers ``get`` from one stream and ``register`` from its tables: every
    action it lists is the action ``get`` gives, and ``get`` finds no other."""
    view = example.as_of(moment, axis=axis)
    listed = {a.id: a for a in view.register()}
    found = {}
    for action in example.register():
        try:
            found[action.id] = view.get(action.id)
        except NotFoundError:
            continue
    assert found == listed


def test_as_of_occurred_on_the_example_shows_the_register_before_october_2021(
    example: Ledger,
) -> None:
    """The day before the October 2021 meeting, ACT-2021-001 was open and ACT-2021-003 did not
    exist; the agenda then is the agenda of the live register for that date."""
    view = example.as_of("2021-10-03", axis="occurred")
    assert view.get("ACT-2021-001").status == "open"
    assert "ACT-2021-003" not in ids(view.register())
    assert len(view.register()) == 10
    assert ids(view.agenda("2021-10-04").outstanding) == ids(
        example.agenda("2021-10-04").outstanding
    )
    assert ids(view.chain("ACT-2021-001")) == ["ACT-2021-001"]


def test_as_of_the_recorded_axis_before_anything_was_recorded_is_empty(example: Ledger) -> None:
    """The example was recorded on 10 January 2022: as recorded the day before, it is empty,
    although everything in it had occurred by then."""
    assert example.as_of("2022-01-09", axis="recorded").register() == ()
    assert len(example.as_of("2022-01-09", axis="occurred").register()) == 14


def test_a_date_only_moment_means_the_end_of_that_london_day(open_ledger: OpenLedger) -> None:
    """``as_of("2021-07-01")`` is 23:59:59.999999 BST on 1 July: an event recorded at 00:30
    BST on 1 July (23:30 UTC on 30 June) is in it, and not in ``as_of("2021-06-30")``."""
    clock = Clock("2021-06-30T23:30:00Z")
    ledger = open_ledger(clock)
    action_id = act(ledger, "Recorded just after midnight.")
    end_of_july_1 = pendulum.datetime(2021, 7, 1, 22, 59, 59, 999999, tz=UTC)
    assert ledger.as_of("2021-07-01").moment == end_of_july_1
    assert ledger.as_of(dt.date(2021, 7, 1)).moment == end_of_july_1
    assert ledger.as_of(pendulum.date(2021, 12, 1)).moment == pendulum.datetime(
        2021, 12, 1, 23, 59, 59, 999999, tz=UTC
    )
    assert ids(ledger.as_of("2021-07-01").register()) == [action_id]
    assert ledger.as_of("2021-06-30").register() == ()
    assert ids(ledger.as_of("2021-07-01", axis="occurred").register()) == [action_id]
    assert ledger.as_of("2021-06-30", axis="occurred").register() == ()


@pytest.mark.parametrize(
    ("moment", "axis", "shown"),
    [
        ("2021-10-04", "valid", "'valid'"),
        ("2021-10-04", "Recorded", "'Recorded'"),
        ("2021-02-30", "recorded", "2021-02-30"),
        ("2021-02-30T10:00", "occurred", "2021-02-30T10:00"),
        ("yesterday", "recorded", "yesterday"),
        (20211004, "recorded", "20211004"),
    ],
)
def test_as_of_rejects_an_unknown_axis_or_a_malformed_moment(
    example: Ledger, moment: Any, axis: Any, shown: str
) -> None:
    """A bad axis or moment is a ValidationError naming it."""
    with pytest.raises(ValidationError) as raised:
        example.as_of(moment, axis=axis)
    assert shown in str(raised.value)


def test_as_of_views_are_read_only_register_views(example: Ledger) -> None:
    """An as-of view has the register's queries and no commands."""
    view = example.as_of("2021-12-31", axis="occurred")
    assert isinstance(view, RegisterView)
    for command in ("raise_action", "update_action", "close_action", "correct_event"):
        assert not hasattr(view, command)
    assert view.holder("CC", "2021-12-01") == example.holder("CC", "2021-12-01")
    assert view.meetings() == example.meetings()


def test_as_of_the_last_day_there_is_sees_everything() -> None:
    """``as_of("9999-12-31")`` (whose next day does not exist) is the whole register, not an
    overflow."""
    with Ledger.open(":memory:") as ledger:
        ledger.raise_action(
            text="Find out the timeline.", owners=["CC"], actor="JI", occurred_at="2021-10-04T10:00"
        )
        for moment in ("9999-12-31", dt.date.max):
            view = ledger.as_of(moment)
            assert view.moment.year == 9999
            assert view.register() == ledger.register()


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])
def test_history_from_its_table_is_the_history_of_the_events_and_never_stale(
    ledger_factory: LedgerFactory, backend: str
) -> None:
    """``history`` reads the ``audit_trail`` rows when they are caught up with the log: the
    same entries (changes in the same order, corrections linked both ways) as building them
    from the events. When the log has moved on without them (an append straight to the
    store), it builds them from the events instead, so it never shows a stale trail."""
    ledger = ledger_factory(backend, clock=Clock("2021-10-05T08:00:00Z"))
    meeting(ledger, "2021-10-04", "2021-10-04T13:30")
    action_id = act(ledger, "Find out the timeline.", owners=["T/Ch Supt"], meeting="2021-10-04")
    ledger.update_action(
        action_id,
        note="Delayed.",
        source="briefing note",
        due="2021-12-01",
        text="Find out the homicide review timeline.",
        owners=["T/Ch Supt", "DCC"],
        reason="Agreed with the PCC.",
        actor=ACTOR,
    )
    raised_id = ledger.history(action_id)[0].event_id
    ledger.correct_event(
        action_id, raised_id, text="Find out when.", owners=["DCC"], reason="Misheard.", actor=ACTOR
    )
    ledger.close_action(action_id, resolution="completed", note="Timeline given.", actor=ACTOR)

    def from_events() -> tuple[AuditEntry, ...]:
        return RegisterView.history(ledger, action_id)

    assert ledger.read_model.audit_rows(ledger.store, action_id) is not None  # the table answers
    trail = ledger.history(action_id)
    assert trail == from_events()
    assert [tuple(e.changes) for e in trail] == [tuple(e.changes) for e in from_events()]
    assert [tuple(e.changes) for e in trail][1:3] == [
        ("text", "owners", "due_on"),
        ("text", "owners"),
    ]
    assert trail[0].corrected_by == (trail[2].event_id,)

    reopened = ActionReopened(
        event_id="direct-1",
        actor=ACTOR,
        occurred_at=pendulum.datetime(2021, 10, 6, tz=UTC),
        action_id=action_id,
        reason="Not given after all.",
    )
    ledger.store.append(f"action:{action_id}", [encode(reopened)], len(trail))
    assert ledger.read_model.audit_rows(ledger.store, action_id) is None  # behind the log
    behind = ledger.history(action_id)
    assert [e.event_type for e in behind][-2:] == ["closed", "reopened"]
    assert behind == from_events()
    ledger.refresh()
    assert ledger.read_model.audit_rows(ledger.store, action_id) is not None
    assert ledger.history(action_id) == behind
