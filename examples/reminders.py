"""Overdue-action reminders: one plain-text e-mail per owner, or the same as JSON.

A job an OPCC runs each morning (from cron or a scheduler) before the policy officer chases
owners for updates. For a date it takes the register's overdue actions
(:meth:`~action_ledger.RegisterView.overdue`), keeps those still open, and groups them by owner:

* an action owned by "PCC / CC" is listed once in the PCC's reminder and once in the CC's;
* an owner is a role code as minuted and the person, where known: the person minuted with
  the role ("CC: Pippa Mills"), or else whoever held the role on the date by the attendance
  of the recorded meetings (:meth:`~action_ledger.RegisterView.holder`);
* each entry gives the action id, its text, the due date (and the words as minuted), the days
  overdue, the meeting it came from (or its other source), and the latest update.

Restricted actions are **included** by default: reminders go to the force and the OPCC, not
the public, and a restricted action is still owed. ``--exclude-restricted`` leaves them out
(for a reminder copied to someone outside, say). Included ones are marked "RESTRICTED".

It uses only the public API of ``action_ledger``: copy it and change the wording.

Run it::

    python examples/reminders.py --db register.db --date 2021-10-20
    python examples/reminders.py --db register.db --json > reminders.json

Without ``--date`` the date is today in Europe/London. The exit status is 0 when the job ran
(with or without reminders), 1 when the register cannot be read, 2 for bad arguments.

Sending the e-mails is left to you: map each :class:`Owner` to an address and hand
:attr:`Email.subject` and :attr:`Email.body` to :mod:`smtplib` or your mail service.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from action_ledger import Action, ActionLedgerError, Ledger, RegisterView

LONDON = ZoneInfo("Europe/London")
WIDTH = 76  # e-mail body width, in characters


@dataclass(frozen=True)
class Owner:
    """Who a reminder goes to: a role code as minuted and, where known, the person."""

    role: str
    person: str | None = None

    def __str__(self) -> str:
        return self.role if self.person is None else f"{self.role} ({self.person})"


@dataclass(frozen=True)
class OverdueAction:
    """One overdue action, as a reminder lists it.

    Attributes:
        id: the action id (``"ACT-2021-003"``).
        text: what is to be done, as minuted.
        due_on: the due date; ``due_text`` the words as minuted, if any.
        days_overdue: days from the due date to the reminder's date (at least 1).
        meeting: the id of the meeting that raised it, and ``meeting_title`` and ``item``;
            ``None`` for an action raised from another ``source`` (a written request…).
        last_update: the latest progress note, and ``last_updated_on`` the London date it was
            given; ``None`` if none was ever given.
        restricted: exempt from publication.
    """

    id: str
    text: str
    due_on: dt.date
    due_text: str | None
    days_overdue: int
    meeting: str | None
    meeting_title: str | None
    item: str | None
    source: str | None
    last_update: str | None
    last_updated_on: dt.date | None
    restricted: bool


@dataclass(frozen=True)
class Reminder:
    """The overdue actions of one owner, most overdue first."""

    owner: Owner
    actions: tuple[OverdueAction, ...]


@dataclass(frozen=True)
class ReminderRun:
    """Everything one run of the job found: the date, and a reminder per owner (by role)."""

    on_date: dt.date
    include_restricted: bool
    reminders: tuple[Reminder, ...]


@dataclass(frozen=True)
class Email:
    """A reminder rendered as a plain-text e-mail (the address is yours to add)."""

    owner: Owner
    subject: str
    body: str


# -- collecting ------------------------------------------------------------------------------


def collect_reminders(
    register: RegisterView, on_date: dt.date, *, include_restricted: bool = True
) -> ReminderRun:
    """The reminders due on ``on_date``: each owner's open actions that are past their due date.

    ``register`` is a :class:`~action_ledger.Ledger`, or an as-of view of one
    (``ledger.as_of(...)``) to see what the job would have sent on a past day.

    Args:
        register: the register to read.
        on_date: the day of the reminders (a London calendar date).
        include_restricted: whether restricted actions are listed (they are by default).

    Returns:
        The run: reminders ordered by role then person, each listing its actions most
        overdue first (then by id); owners with nothing overdue get no reminder.
    """
    meeting_titles: dict[str, str] = {}
    holders: dict[str, str | None] = {}
    by_owner: dict[Owner, dict[str, OverdueAction]] = {}
    for status in register.overdue(on_date):
        action = status.action
        # overdue() counts an action that was open on the day; one closed since is done.
        if action.status != "open" or (action.restricted and not include_restricted):
            continue
        entry = _overdue_action(register, action, status.days_overdue, meeting_titles)
        for minuted in action.owners:
            person = minuted.person
            if person is None:
                if minuted.role not in holders:
                    holder = register.holder(minuted.role, on_date)
                    holders[minuted.role] = None if holder is None else holder.name
                person = holders[minuted.role]
            # A dict keyed by id: "CC" and "CC: <the holder>" on one action is one listing.
            by_owner.setdefault(Owner(minuted.role, person), {})[action.id] = entry
    reminders = tuple(
        Reminder(
            owner=owner,
            actions=tuple(
                sorted(entries.values(), key=lambda entry: (-entry.days_overdue, entry.id))
            ),
        )
        for owner, entries in sorted(by_owner.items(), key=lambda item: _owner_order(item[0]))
    )
    return ReminderRun(on_date=on_date, include_restricted=include_restricted, reminders=reminders)


def _overdue_action(
    register: RegisterView, action: Action, days_overdue: int, meeting_titles: dict[str, str]
) -> OverdueAction:
    assert action.due_on is not None  # overdue() lists only actions with a due date
    title = None
    if action.meeting is not None:
        if action.meeting not in meeting_titles:
            meeting_titles[action.meeting] = register.meeting(action.meeting).title
        title = meeting_titles[action.meeting]
    updated = action.last_updated_at
    return OverdueAction(
        id=action.id,
        text=action.text,
        due_on=_plain_date(action.due_on),
        due_text=action.due_text,
        days_overdue=days_overdue,
        meeting=action.meeting,
        meeting_title=title,
        item=action.item,
        source=action.source,
        last_update=action.last_update,
        last_updated_on=None if updated is None else _plain_date(updated.astimezone(LONDON).date()),
        restricted=action.restricted,
    )


def _owner_order(owner: Owner) -> tuple[str, str, str]:
    """By role, then person: a role without a known person first."""
    return (owner.role.casefold(), owner.role, owner.person or "")


def _plain_date(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, day.day)


# -- rendering -------------------------------------------------------------------------------


def render_email(reminder: Reminder, on_date: dt.date) -> Email:
    """One owner's reminder as a plain-text e-mail: a subject, and a body listing each action
    with its id on a line of its own (so a reply can quote it)."""
    count = len(reminder.actions)
    noun = "action" if count == 1 else "actions"
    subject = f"Action register: {count} overdue {noun} for {reminder.owner} on {_long(on_date)}"
    greeting = reminder.owner.person or reminder.owner.role
    lines = [
        f"Dear {greeting},",
        "",
        *textwrap.wrap(
            f"The action register shows {count} {noun} owned by the {reminder.owner.role} "
            f"past {'its' if count == 1 else 'their'} due date on {_long(on_date)}.",
            WIDTH,
        ),
    ]
    for action in reminder.actions:
        lines += [
            "",
            action.id + ("  RESTRICTED: not for publication" if action.restricted else ""),
        ]
        lines += _indented(action.text)
        due = (
            f"{_long(action.due_on)} ({action.due_text})"
            if action.due_text
            else _long(action.due_on)
        )
        days = "1 day" if action.days_overdue == 1 else f"{action.days_overdue} days"
        lines += _indented(f"Due: {due}; {days} overdue.")
        if action.meeting is not None:
            where = f"{action.meeting_title} ({action.meeting})"
            if action.item:
                where += f", item {action.item}"
            lines += _indented(f"From: {where}.")
        elif action.source:
            lines += _indented(f"From: {action.source}.")
        if action.last_update is None or action.last_updated_on is None:
            lines += _indented("Latest update: none recorded.")
        else:
            lines += _indented(
                f"Latest update ({_long(action.last_updated_on)}): {action.last_update}"
            )
    lines += [
        "",
        *textwrap.wrap(
            "Please send an update to the OPCC policy officer, or ask for the action to be "
            "closed at the next meeting.",
            WIDTH,
        ),
    ]
    return Email(owner=reminder.owner, subject=subject, body="\n".join(lines) + "\n")


def render_emails(run: ReminderRun) -> list[Email]:
    """One e-mail per reminder, in the run's order."""
    return [render_email(reminder, run.on_date) for reminder in run.reminders]


def _indented(text: str) -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent="    ", subsequent_indent="    ", break_on_hyphens=False
    )


def _long(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


# -- JSON ------------------------------------------------------------------------------------


def to_json(run: ReminderRun) -> str:
    """The run as JSON (dates as ISO 8601), for a mail service or a dashboard."""
    document = {
        "date": run.on_date.isoformat(),
        "include_restricted": run.include_restricted,
        "reminders": [
            {
                "owner": {"role": r.owner.role, "person": r.owner.person},
                "actions": [
                    {
                        "id": a.id,
                        "text": a.text,
                        "due_on": a.due_on.isoformat(),
                        "due_text": a.due_text,
                        "days_overdue": a.days_overdue,
                        "meeting": a.meeting,
                        "meeting_title": a.meeting_title,
                        "item": a.item,
                        "source": a.source,
                        "last_update": a.last_update,
                        "last_updated_on": _iso(a.last_updated_on),
                        "restricted": a.restricted,
                    }
                    for a in r.actions
                ],
            }
            for r in run.reminders
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def from_json(text: str) -> ReminderRun:
    """Read back what :func:`to_json` wrote.

    Raises:
        ValueError: the text is not a reminder run (``json.JSONDecodeError`` is one).
    """
    try:
        document: dict[str, Any] = json.loads(text)
        return ReminderRun(
            on_date=dt.date.fromisoformat(document["date"]),
            include_restricted=bool(document["include_restricted"]),
            reminders=tuple(
                Reminder(
                    owner=Owner(r["owner"]["role"], r["owner"]["person"]),
                    actions=tuple(_read_action(a) for a in r["actions"]),
                )
                for r in document["reminders"]
            ),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a reminder run: {exc!r}") from exc


def _read_action(a: dict[str, Any]) -> OverdueAction:
    updated = a["last_updated_on"]
    return OverdueAction(
        id=a["id"],
        text=a["text"],
        due_on=dt.date.fromisoformat(a["due_on"]),
        due_text=a["due_text"],
        days_overdue=int(a["days_overdue"]),
        meeting=a["meeting"],
        meeting_title=a["meeting_title"],
        item=a["item"],
        source=a["source"],
        last_update=a["last_update"],
        last_updated_on=None if updated is None else dt.date.fromisoformat(updated),
        restricted=bool(a["restricted"]),
    )


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


# -- the command line ------------------------------------------------------------------------


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Print the reminders for a date: the e-mails (separated by a line of dashes) or JSON."""
    parser = argparse.ArgumentParser(
        prog="reminders.py", description="Overdue-action reminders, one per owner."
    )
    parser.add_argument(
        "--db", required=True, help="the register: a SQLite file or a postgresql:// URL"
    )
    parser.add_argument(
        "--date", type=_date, help="the day of the reminders, YYYY-MM-DD (default: today, London)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of e-mails")
    parser.add_argument(
        "--exclude-restricted",
        action="store_true",
        help="leave out restricted actions (by default they are included, marked RESTRICTED)",
    )
    args = parser.parse_args(argv)
    on_date: dt.date = args.date or dt.datetime.now(LONDON).date()
    if "://" not in args.db and not Path(args.db).exists():
        # Ledger.open would create an empty register; a reminder job should say it is missing.
        print(f"reminders: no register at {args.db}", file=sys.stderr)
        return 1
    try:
        with Ledger.open(args.db) as ledger:
            run = collect_reminders(ledger, on_date, include_restricted=not args.exclude_restricted)
    except ActionLedgerError as error:
        print(f"reminders: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(to_json(run))
        return 0
    for number, email in enumerate(render_emails(run)):
        if number:
            print("-" * WIDTH)
        print(f"To: {email.owner}\nSubject: {email.subject}\n\n{email.body}", end="")
    if not run.reminders:
        print(f"No overdue actions on {on_date.isoformat()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
