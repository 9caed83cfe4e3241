"""Due words that name a meeting ("next meeting", "to the July holding to account"):
resolved to the first recorded meeting that fits, at once or when that meeting is recorded."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from action_ledger import Due, Ledger
from action_ledger._decider import fold
from action_ledger._due import MeetingWords, meeting_words
from action_ledger.cli import main
from action_ledger.commands import RaiseAction, RecordMeeting
from action_ledger.events import ActionUpdated
from action_ledger.exceptions import RuleViolationError
from action_ledger.testing.strategies import RegisterModel, meeting_due_words

ACTOR = "policy.officer"
BACKENDS = pytest.mark.parametrize("ledger_backend", ["memory", "sqlite", "postgres"])


def _meeting(ledger: Ledger, day: str, kind: str, title: str | None = None) -> None:
    ledger.record_meeting(
        day,
        title=title or f"Monthly Assurance Meeting {day}",
        held_at=f"{day}T10:00",
        kind=kind,
        actor=ACTOR,
    )


def _raise(ledger: Ledger, due: object, meeting: str = "2021-01-04") -> str:
    return ledger.raise_action(
        text="Report on the review.", owners=["CC"], meeting=meeting, item="1", due=due, actor=ACTOR
    )


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("next meeting", MeetingWords(month=None, year=None, kind=None)),
        ("At the next meeting.", MeetingWords(month=None, year=None, kind=None)),
        ("by the next meeting", MeetingWords(month=None, year=None, kind=None)),
        ("at the next assurance meeting", MeetingWords(month=None, year=None, kind="assurance")),
        ("at the January meeting", MeetingWords(month=1, year=None, kind=None)),
        (
            "to the July holding to account",
            MeetingWords(month=7, year=None, kind="holding to account"),
        ),
        (
            "report back at the July 2021 Holding-to-Account meeting",
            MeetingWords(month=7, year=2021, kind="holding to account"),
        ),
    ],
)
def test_words_naming_a_meeting_are_read(words: str, expected: MeetingWords) -> None:
    assert meeting_words(words) == expected


@pytest.mark.parametrize(
    "words", ["ASAP", "next week", "within two weeks", "by the end of July", "by July", "ongoing"]
)
def test_other_words_name_no_meeting(words: str) -> None:
    assert meeting_words(words) is None


@BACKENDS
def test_words_resolve_to_a_meeting_already_recorded(ledger: Ledger) -> None:
    _meeting(ledger, "2021-01-04", "Holding to account")
    _meeting(ledger, "2021-02-01", "Performance")
    _meeting(ledger, "2021-03-01", "Holding to account")
    _meeting(ledger, "2021-07-05", "Holding to account")
    cases = {
        "next meeting": "2021-02-01",
        "at the next holding to account meeting": "2021-03-01",
        "at the next assurance meeting": "2021-02-01",  # every title says "Assurance"
        "at the March meeting": "2021-03-01",
        "to the July holding to account": "2021-07-05",
    }
    for words, day in cases.items():
        action = ledger.get(_raise(ledger, words))
        assert (action.due_on, action.due_text) == (pendulum.date(*map(int, day.split("-"))), words)
        assert action.version == 1  # resolved at once: no update needed
    assert ledger.verify().ok


@BACKENDS
def test_recording_the_meeting_later_sets_the_due_date(ledger: Ledger) -> None:
    _meeting(ledger, "2021-01-04", "Holding to account")
    waiting = _raise(ledger, "to the July holding to account")
    closed = _raise(ledger, "next meeting")
    ledger.close_action(closed, resolution="withdrawn", note="Not needed.", actor=ACTOR)
    dated = _raise(ledger, Due(on=pendulum.date(2021, 3, 31), text="next meeting"))
    assert ledger.get(waiting).due_on is None
    _meeting(ledger, "2021-02-01", "Performance")  # not a holding to account
    assert ledger.get(waiting).due_on is None
    _meeting(ledger, "2021-07-05", "Holding to account", title="Holding to account July")
    action = ledger.get(waiting)
    assert action.due_on == pendulum.date(2021, 7, 5)
    assert action.due_text == "to the July holding to account"
    last = ledger.history(waiting)[-1]
    assert last.event_type == "updated"
    assert "being recorded" in last.summary
    assert "2021-07-05" in last.summary
    assert ledger.get(closed).due_on is None  # closed: left alone
    assert ledger.get(dated).due_on == pendulum.date(2021, 3, 31)  # a date given: kept
    assert waiting in {s.action.id for s in ledger.overdue("2021-07-06")}
    assert waiting not in {s.action.id for s in ledger.overdue("2021-07-05")}
    assert ledger.verify().ok
    assert ledger.rebuild() >= 0
    assert ledger.get(waiting) == action


@BACKENDS
def test_a_batch_raises_then_records_the_meeting(ledger: Ledger) -> None:
    _meeting(ledger, "2021-01-04", "Holding to account")
    raise_ = RaiseAction(
        event_id="11111111-1111-4111-8111-111111111111",
        actor=ACTOR,
        occurred_at=pendulum.datetime(2021, 1, 4, 10),
        action_id="ACT-2021-900",
        text="Report on the review.",
        owners=["CC"],
        meeting="2021-01-04",
        due="at the next meeting",
    )
    record = RecordMeeting(
        event_id="22222222-2222-4222-8222-222222222222",
        actor=ACTOR,
        occurred_at=pendulum.datetime(2021, 2, 1, 10),
        meeting_id="2021-02-01",
        title="Monthly Assurance Meeting February 2021",
        held_at=pendulum.datetime(2021, 2, 1, 10),
    )
    ledger.execute_many([raise_, record])
    assert ledger.get("ACT-2021-900").due_on == pendulum.date(2021, 2, 1)
    ledger.execute_many([raise_, record])  # a repeat records nothing
    assert ledger.get("ACT-2021-900").version == 2
    assert ledger.verify().ok


def test_a_meeting_recorded_twice_is_refused_and_changes_nothing(ledger: Ledger) -> None:
    _meeting(ledger, "2021-01-04", "Holding to account")
    waiting = _raise(ledger, "next meeting")
    before = list(ledger.store.read_all())
    with pytest.raises(RuleViolationError, match="already recorded"):
        _meeting(ledger, "2021-01-04", "Holding to account")
    assert list(ledger.store.read_all()) == before
    assert ledger.get(waiting).due_on is None


@settings(max_examples=40, deadline=None)
@given(
    words=meeting_due_words(),
    days=st.lists(st.integers(1, 500), min_size=1, max_size=4, unique=True),
    kinds=st.lists(st.sampled_from(("Holding to account", "Performance")), min_size=4),
)
def test_replay_is_the_fold_and_the_first_fitting_meeting_wins(
    words: str, days: list[int], kinds: list[str]
) -> None:
    """Whatever order meetings are recorded in, each action's state is the fold of its own
    stream, and a due date set by words is the earliest fitting meeting recorded by then."""
    start = pendulum.datetime(2021, 1, 4, 10)
    model = RegisterModel()
    model.apply(
        RecordMeeting(
            event_id="00000000-0000-4000-8000-000000000000",
            actor=ACTOR,
            occurred_at=start,
            meeting_id="2021-01-04",
            title="Assurance",
            held_at=start,
        )
    )
    model.apply(
        RaiseAction(
            event_id="00000000-0000-4000-8000-000000000001",
            actor=ACTOR,
            occurred_at=start,
            action_id="ACT-1",
            text="Do it.",
            owners=["CC"],
            meeting="2021-01-04",
            due=words,
        )
    )
    parsed = meeting_words(words)
    assert parsed is not None
    first_fit: pendulum.Date | None = None
    for n, (offset, kind) in enumerate(zip(days, kinds, strict=False), start=2):
        held = start.add(days=offset)
        title = f"Monthly {kind} meeting"
        new = model.apply(
            RecordMeeting(
                event_id=f"00000000-0000-4000-8000-{n:012d}",
                actor=ACTOR,
                occurred_at=held,
                meeting_id=held.to_date_string(),
                title=title,
                held_at=held,
                kind=kind,
            )
        )
        updates = [e for e in new if isinstance(e, ActionUpdated)]
        assert len(updates) <= 1
        action = model.actions["ACT-1"].action
        assert action is not None
        fits = parsed.fits(held.date(), kind=kind, title=title, reference=pendulum.date(2021, 1, 4))
        # an update exactly when this is the first recorded meeting that fits
        assert bool(updates) == (fits and first_fit is None)
        if fits and first_fit is None:
            first_fit = held.date()
        assert action.due_on == first_fit
        assert action.due_text == words
    assert fold(model.events_of("ACT-1")) == model.actions["ACT-1"]


def test_cli_due_next_meeting_end_to_end(tmp_path: Path) -> None:
    db = str(tmp_path / "register.db")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["--db", db, "--actor", ACTOR, *args])
        assert result.exit_code == 0, result.output
        return result.output

    run("init")
    run("meeting", "add", "2021-01-04", "--title", "Assurance", "--held-at", "2021-01-04T10:00")
    raise_ = ["raise", "Report on the review.", "--owner", "CC", "--meeting", "2021-01-04"]
    action_id = run(*raise_, "--due", "next meeting").strip().splitlines()[-1]
    both = run(*raise_, "--due", "next meeting", "--due-on", "2021-03-31").strip().splitlines()[-1]
    assert "2021-02-01" not in run("show", action_id)
    run("meeting", "add", "2021-02-01", "--title", "Assurance", "--held-at", "2021-02-01T10:00")
    shown = run("show", action_id)
    assert "2021-02-01" in shown
    assert "next meeting" in shown
    assert "2021-03-31" in run("show", both)  # a date given with the words is kept
    bad = runner.invoke(main, ["--db", db, "--actor", ACTOR, *raise_, "--due-on", "2021-02-30"])
    assert bad.exit_code != 0
    assert "Traceback" not in bad.output
    assert "2021-02-30" in bad.output
