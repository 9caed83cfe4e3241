"""Property tests of the reminder job (``examples/reminders.py``) against the ledger.

They use only what an OPCC's own test suite would: ``action_ledger``'s public API,
``action_ledger.testing`` (strategies of valid histories, the pure ``RegisterModel``, and the
``LedgerMachine``), Hypothesis, and the fixtures of the ``action_ledger`` pytest plugin.

The reminders are checked against an expectation built from the model of accepted commands
(not from the job's own code), and that expectation against ``ledger.overdue``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import reminders
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant

from action_ledger import Action, Ledger, RegisterView
from action_ledger.commands import Command
from action_ledger.testing import LedgerMachine, RegisterModel, run_ledger_machine, strategies

LONDON = ZoneInfo("Europe/London")

# The number of examples is the Hypothesis profile's. The ledger_factory fixture is
# function-scoped, but each example asks it for a fresh, empty ledger, so nothing is shared
# between examples; and a SQLite ledger may take longer than the default deadline.
FRESH_LEDGERS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def plain(day: dt.date) -> dt.date:
    """A ``datetime.date`` (the ledger's dates are pendulum ones)."""
    return dt.date(day.year, day.month, day.day)


# -- what the reminders should say, from the model --------------------------------------------


def owed(model: RegisterModel, day: dt.date, *, include_restricted: bool) -> dict[str, Action]:
    """The actions a reminder must list on ``day``: open now, raised by the day (London), and
    due before it; restricted ones only when included."""
    found = {}
    for state in model.actions.values():
        action = state.action
        if action is None or action.status != "open" or action.due_on is None:
            continue
        raised_on = action.raised_at.astimezone(LONDON).date()
        shown = include_restricted or not action.restricted
        if raised_on <= day and plain(action.due_on) < day and shown:
            found[action.id] = action
    return found


def addressees(register: RegisterView, action: Action, day: dt.date) -> set[tuple[str, str | None]]:
    """Who must get a reminder of ``action``: each owner's role, with the person minuted, or
    else the role's holder on the day."""
    named = set()
    for owner in action.owners:
        person = owner.person
        if person is None:
            holder = register.holder(owner.role, day)
            person = None if holder is None else holder.name
        named.add((owner.role, person))
    return named


def check_reminders(
    register: RegisterView,
    model: RegisterModel,
    run: reminders.ReminderRun,
    day: dt.date,
    *,
    include_restricted: bool,
) -> None:
    """The run lists each owed action exactly once under each of its owners, nothing else, and
    says of each what the register says."""
    expected = owed(model, day, include_restricted=include_restricted)
    # The expectation itself agrees with the ledger's own overdue query.
    by_ledger = {
        s.action.id
        for s in register.overdue(day)
        if s.action.status == "open" and (include_restricted or not s.action.restricted)
    }
    assert set(expected) == by_ledger

    listed = [(r.owner.role, r.owner.person, a.id) for r in run.reminders for a in r.actions]
    assert len(listed) == len(set(listed)), f"an action listed twice for one owner: {listed}"
    wanted = {
        (role, person, action.id)
        for action in expected.values()
        for role, person in addressees(register, action, day)
    }
    assert set(listed) == wanted

    owners = [r.owner for r in run.reminders]
    assert len(owners) == len(set(owners)), "two reminders for one owner"
    assert all(r.actions for r in run.reminders), "a reminder with nothing in it"
    assert (run.on_date, run.include_restricted) == (day, include_restricted)

    for reminder in run.reminders:
        for entry in reminder.actions:
            action = expected[entry.id]  # so open now: never a closed one
            assert entry.days_overdue == (day - plain(entry.due_on)).days >= 1
            assert (entry.text, entry.due_on, entry.due_text) == (
                action.text,
                action.due_on,
                action.due_text,
            )
            assert (entry.meeting, entry.item, entry.source) == (
                action.meeting,
                action.item,
                action.source,
            )
            assert entry.last_update == action.last_update
            assert entry.restricted == action.restricted
        overdue_days = [entry.days_overdue for entry in reminder.actions]
        assert overdue_days == sorted(overdue_days, reverse=True), "most overdue first"


# -- generated registers ----------------------------------------------------------------------


@st.composite
def registers_and_days(draw: st.DrawFn) -> tuple[list[Command], dt.date]:
    """A valid history and a day for the reminders: often the day before, of or after some
    action's due date (where the answer changes), else any day. (Not the model: a failing
    example is easier to read without it.)"""
    history = draw(strategies.histories())
    model = RegisterModel.replay(history)
    dues = {plain(s.action.due_on) for s in model.actions.values() if s.action and s.action.due_on}
    near = sorted(due + dt.timedelta(days=k) for due in dues for k in (-1, 0, 1))
    anyday = strategies.dates().map(plain)
    day = draw((st.sampled_from(near) | anyday) if near else anyday)
    return history, day


def execute(ledger: Ledger, history: list[Command]) -> Ledger:
    """Carry out the history's commands on ``ledger``, in order; return the ledger."""
    for command in history:
        ledger.execute(command)
    return ledger


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@FRESH_LEDGERS
@given(case=registers_and_days(), include_restricted=st.booleans())
def test_each_overdue_open_action_is_listed_once_under_each_of_its_owners(
    ledger_factory, backend, case, include_restricted
):
    """Every open action past due is listed once per owner, and nothing else is listed."""
    history, day = case
    model = RegisterModel.replay(history)
    with execute(ledger_factory(backend), history) as ledger:
        run = reminders.collect_reminders(ledger, day, include_restricted=include_restricted)
        check_reminders(ledger, model, run, day, include_restricted=include_restricted)


@FRESH_LEDGERS
@given(case=registers_and_days(), data=st.data())
def test_closed_actions_never_get_reminders(ledger_factory, case, data):
    """Once every action is closed (even if it was still open on the day asked about, so the
    register counts it as overdue then), no reminder lists any."""
    history, day = case
    with execute(ledger_factory("memory"), history) as ledger:
        for action in ledger.register(status="open"):
            ledger.close_action(
                action.id,
                resolution="completed",
                note="Done.",
                actor="Charity Pearce",
                occurred_at=action.raised_at.add(days=data.draw(st.integers(0, 3 * 365))),
            )
        assert reminders.collect_reminders(ledger, day).reminders == ()


@FRESH_LEDGERS
@given(case=registers_and_days())
def test_excluding_restricted_actions_leaves_out_those_and_only_those(ledger_factory, case):
    """``include_restricted=False`` lists what the default lists, less the restricted."""
    history, day = case
    with execute(ledger_factory("memory"), history) as ledger:
        every = reminders.collect_reminders(ledger, day)
        public = reminders.collect_reminders(ledger, day, include_restricted=False)

    def pairs(run: reminders.ReminderRun, *, restricted: bool | None = None) -> set[object]:
        return {
            (r.owner, a.id)
            for r in run.reminders
            for a in r.actions
            if restricted is None or a.restricted == restricted
        }

    assert pairs(public) == pairs(every, restricted=False)
    assert pairs(public, restricted=True) == set()


@FRESH_LEDGERS
@given(case=registers_and_days())
def test_each_owner_gets_one_email_naming_each_of_its_actions(ledger_factory, case):
    """One e-mail per reminder, to its owner, with every action id, due date and days overdue."""
    history, day = case
    with execute(ledger_factory("memory"), history) as ledger:
        run = reminders.collect_reminders(ledger, day)
    emails = reminders.render_emails(run)
    assert [email.owner for email in emails] == [r.owner for r in run.reminders]
    for email, reminder in zip(emails, run.reminders, strict=True):
        assert str(reminder.owner) in email.subject
        lines = email.body.split("\n")
        words = " ".join(email.body.split())  # as read, whatever the line breaks
        for action in reminder.actions:
            assert any(line.split("  ")[0] == action.id for line in lines), action.id
            assert f"; {action.days_overdue} day" in words
        assert reminders.render_email(reminder, day) == email  # the same, every time


@FRESH_LEDGERS
@given(case=registers_and_days())
def test_json_round_trips(ledger_factory, case):
    """What ``to_json`` writes, ``from_json`` reads back unchanged; and it is plain JSON."""
    history, day = case
    with execute(ledger_factory("memory"), history) as ledger:
        run = reminders.collect_reminders(ledger, day)
    text = reminders.to_json(run)
    assert reminders.from_json(text) == run
    document = json.loads(text)
    assert [[a["id"] for a in r["actions"]] for r in document["reminders"]] == [
        [a.id for a in r.actions] for r in run.reminders
    ]


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def register_file(tmp_path: Path) -> Path:
    """A small register file: an action for the PCC and CC (one of them overdue), a closed
    one, and a restricted one."""
    path = tmp_path / "register.db"
    with Ledger.open(path) as ledger:
        ledger.record_meeting(
            "2021-10-04",
            title="Monthly Assurance Meeting October 2021",
            held_at="2021-10-04T13:30",
            actor="Charity Pearce",
        )
        common = {"meeting": "2021-10-04", "actor": "Charity Pearce"}
        ledger.raise_action(
            text="Share the headlines of the Durham work.",
            owners=["PCC", "CC: Pippa Mills"],
            due="within 2 weeks",
            item="2.1",
            **common,
        )
        done = ledger.raise_action(
            text="Send the dates.", owners=["CC"], due="2021-10-08", **common
        )
        ledger.close_action(done, resolution="completed", note="Sent.", actor="Charity Pearce")
        ledger.raise_action(
            text="Brief on the operation.",
            owners=["DCC"],
            due="2021-10-11",
            restricted=True,
            **common,
        )
    return path


def test_the_command_line_prints_emails_or_json(register_file, capsys):
    """``reminders.py --db ... --date ...`` prints an e-mail per owner; ``--json`` the run."""
    argv = ["--db", str(register_file), "--date", "2021-10-20"]
    assert reminders.main(argv) == 0
    out = capsys.readouterr().out
    for heading in ("To: CC (Pippa Mills)\n", "To: DCC\n", "To: PCC\n", "ACT-2021-001\n"):
        assert heading in out
    assert "ACT-2021-003  RESTRICTED: not for publication\n" in out
    assert "ACT-2021-002" not in out  # closed
    assert "Due: 18 October 2021 (within 2 weeks); 2 days overdue." in out

    assert reminders.main([*argv, "--json", "--exclude-restricted"]) == 0
    run = reminders.from_json(capsys.readouterr().out)
    assert [(str(r.owner), [a.id for a in r.actions]) for r in run.reminders] == [
        ("CC (Pippa Mills)", ["ACT-2021-001"]),
        ("PCC", ["ACT-2021-001"]),
    ]


def test_the_command_line_refuses_a_missing_register_or_a_bad_date(tmp_path, capsys):
    """A register file that does not exist is an error (exit 1), not a new empty register;
    a malformed date is a usage error (exit 2)."""
    missing = tmp_path / "nothing.db"
    assert reminders.main(["--db", str(missing)]) == 1
    assert not missing.exists()
    assert "no register" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        reminders.main(["--db", str(missing), "--date", "20/10/2021"])
    assert exit_.value.code == 2


# -- the state machine ------------------------------------------------------------------------


def reminder_days(model: RegisterModel) -> list[dt.date]:
    """Days worth asking about: the first due date (nothing is late yet), the day after it
    (one action may be), and the day after the last (everything with a due date is)."""
    dues = sorted(
        plain(s.action.due_on) for s in model.actions.values() if s.action and s.action.due_on
    )
    if not dues:
        return [dt.date(2027, 1, 4)]
    day = dt.timedelta(days=1)
    return sorted({dues[0], dues[0] + day, dues[-1] + day})


class RemindersMachine(LedgerMachine):
    """The ledger's state machine, with the reminder job checked after every step."""

    @invariant()
    def reminders_match_the_register(self) -> None:
        for day in reminder_days(self.model):
            for include_restricted in (True, False):
                run = reminders.collect_reminders(
                    self.ledger, day, include_restricted=include_restricted
                )
                check_reminders(
                    self.ledger, self.model, run, day, include_restricted=include_restricted
                )


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])
def test_reminders_match_the_register_after_every_step(request, ledger_factory, backend):
    """Through random valid and refused commands, the reminders always match the register."""
    if backend == "postgres":
        request.getfixturevalue("postgres_dsn")  # skip here, not inside Hypothesis
    # Each example is a run of 30 steps (more than the default 20: more actions, some of them
    # overdue), checked after every step: so a quarter of the profile's examples, and a tenth
    # on PostgreSQL, where each query is a round trip to the server.
    share = 10 if backend == "postgres" else 4
    run_ledger_machine(
        functools.partial(ledger_factory, backend),
        machine=RemindersMachine,
        settings=settings(
            max_examples=max(5, settings.default.max_examples // share),
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
