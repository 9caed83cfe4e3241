"""A policy officer's day: dates as written in England, outcomes read in full, the trail by
`history ID`, `verify --head` mistakes named, and the tracker CSV's own columns."""

from __future__ import annotations

import calendar
import csv
import datetime as _dt
import io
from pathlib import Path

import pendulum
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from action_ledger import Ledger, ValidationError
from action_ledger._clock import LONDON, to_date
from action_ledger._examples import west_mercia
from action_ledger.cli import EXIT_CODES, main
from action_ledger.exports import CSV_COLUMNS, import_csv, publish_html, write_csv

ACTOR = "Test Officer"
LONG_OUTCOME = (
    "The CC set out the review of the LPPT teams in detail. " * 8
    + "The PCC was assured and asked for the findings at the next meeting."
)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "register.db")
    with Ledger.open(path) as ledger:
        west_mercia.record(ledger, actor=ACTOR)
    return path


def run(db: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", db, "--actor", ACTOR, *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


# -- dates as people write them ---------------------------------------------------------------

_days = st.dates(min_value=_dt.date(1900, 1, 1), max_value=_dt.date(2199, 12, 31))


@given(_days)
def test_every_english_form_of_a_date_reads_as_its_iso_form(day: _dt.date) -> None:
    """25/08/2022, 25 August 2022, 25 Aug 2022, Thursday 25 August 2022 and 2022-08-25 are
    the same day."""
    forms = [
        day.isoformat(),
        f"{day.day:02d}/{day.month:02d}/{day.year}",
        f"{day.day}/{day.month}/{day.year}",
        f"{day.day} {calendar.month_name[day.month]} {day.year}",
        f"{day.day} {calendar.month_abbr[day.month]} {day.year}",
        f"{calendar.day_name[day.weekday()]} {day.day} {calendar.month_name[day.month]} {day.year}",
        f"{day.day} {calendar.month_name[day.month].upper()} {day.year}",
    ]
    for form in forms:
        assert to_date(form, field="meeting_date") == day, form


@st.composite
def _impossible_days(draw: st.DrawFn) -> str:
    year = draw(st.integers(1900, 2199))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(calendar.monthrange(year, month)[1] + 1, 31 + 1))
    form = draw(st.sampled_from(["{d:02d}/{m:02d}/{y}", "{d} {name} {y}", "{y}-{m:02d}-{d:02d}"]))
    return form.format(d=day, m=month, y=year, name=calendar.month_name[month])


@given(_impossible_days())
def test_a_day_that_does_not_exist_is_refused_in_words(text: str) -> None:
    """A date that does not exist, in any form, is a ValidationError naming the value and
    the forms accepted, with the field in words."""
    with pytest.raises(ValidationError) as raised:
        to_date(text, field="meeting_date")
    message = str(raised.value)
    assert message.startswith(f"meeting date: {text!r} is not a real date")
    assert "25/08/2022" in message
    assert "meeting_date" not in message


@given(_days, st.integers(1, 6))
def test_a_wrong_day_of_the_week_is_refused_naming_the_right_one(day: _dt.date, off: int) -> None:
    """`Monday 4 October 2022` (a Tuesday) is refused, saying which day it really is."""
    wrong = calendar.day_name[(day.weekday() + off) % 7]
    text = f"{wrong} {day.day} {calendar.month_name[day.month]} {day.year}"
    with pytest.raises(ValidationError) as raised:
        to_date(text, field="meeting_date")
    assert f"names a {wrong}, but " in str(raised.value)
    assert f" is a {calendar.day_name[day.weekday()]}" in str(raised.value)


def test_agenda_takes_dates_as_written_in_england(db: str) -> None:
    """`agenda 4/10/2021` and `agenda "4 October 2021"` print the ISO date's agenda; a bad
    date is one line in words, exit 2."""
    code, iso, _ = run(db, "agenda", "2021-10-04")
    assert code == 0
    for written in ("04/10/2021", "4/10/2021", "4 October 2021", "Monday 4 Oct 2021"):
        assert run(db, "agenda", written) == (0, iso, "")
    code, _, err = run(db, "agenda", "31/09/2021")
    assert code == EXIT_CODES["invalid input"]
    assert err == (
        "error: meeting date: '31/09/2021' is not a real date; give one such as 2022-08-25, "
        "25/08/2022 or 25 August 2022\n"
    )


def test_a_bare_occurred_at_date_means_the_meetings_time_or_midday_and_says_so(db: str) -> None:
    """`--occurred-at 25/08/2022` with `--meeting` is the meeting's time of day on that date,
    without it midday, London time; the terminal says which."""
    code, out, err = run(
        db, "update", "ACT-2021-002", "--note", "Findings seen.", "--meeting", "2021-10-04",
        "--occurred-at", "05/10/2021",
    )  # fmt: skip
    assert code == 0
    assert out == "ACT-2021-002: open, version 4\n"
    assert err == (
        "occurred at 2021-10-05 13:30 London time (the time of meeting 2021-10-04, as no time "
        "was given)\n"
    )
    code, out, err = run(
        db, "raise", "Report on the LPPT review.", "--owner", "CC", "--occurred-at",
        "12 November 2021",
    )  # fmt: skip
    assert code == 0
    assert err == "occurred at 2021-11-12 12:00 London time (midday, as no time was given)\n"
    with Ledger.open(db) as ledger:
        trail = ledger.history("ACT-2021-002")
        assert trail[-1].occurred_at == pendulum.datetime(2021, 10, 5, 13, 30, tz=LONDON)
        assert ledger.get(out.strip()).raised_at == pendulum.datetime(2021, 11, 12, 12, tz=LONDON)


def test_an_update_from_a_meeting_happened_at_the_meeting(db: str) -> None:
    """`update --meeting M` without `--occurred-at` records the meeting's time, not now."""
    assert run(db, "update", "ACT-2021-002", "--note", "Said.", "--meeting", "2021-10-04")[0] == 0
    with Ledger.open(db) as ledger:
        assert (
            ledger.history("ACT-2021-002")[-1].occurred_at == ledger.meeting("2021-10-04").held_at
        )


def test_a_bad_occurred_at_changes_nothing(db: str) -> None:
    """A bare date that does not exist is refused (exit 2) and nothing is stored."""
    with Ledger.open(db) as ledger:
        before = ledger.head()
    code, _, err = run(db, "update", "ACT-2021-002", "--note", "N.", "--occurred-at", "30/02/2022")
    assert code == EXIT_CODES["invalid input"]
    assert err.startswith("error: occurred at: '30/02/2022' is not a real ISO 8601 date-time")
    with Ledger.open(db) as ledger:
        assert ledger.head() == before


# -- outcomes in full -----------------------------------------------------------------------------


def _revisited_long(db: str) -> None:
    code, _, _ = run(
        db, "revisit", "ACT-2021-003", "--meeting", "2021-10-04", "--outcome", LONG_OUTCOME,
        "--assured",
    )  # fmt: skip
    assert code == 0


def test_show_history_and_agenda_print_the_whole_outcome(db: str) -> None:
    """A long outcome is printed whole by `show`, `history ID` and `agenda`; the agenda names
    the revisit's meeting once."""
    _revisited_long(db)
    words = " ".join(LONG_OUTCOME.split())
    for args in (("show", "ACT-2021-003"), ("history", "ACT-2021-003")):
        code, out, _ = run(db, *args)
        assert code == 0
        assert words in " ".join(out.split())
        assert "at the meeting of 2021-10-04; the PCC was assured" in out
    code, out, _ = run(db, "agenda", "2021-11-01")
    assert code == 0
    flat = " ".join(out.split())
    assert f"last revisited at the meeting of 2021-10-04; the PCC was assured: {words}" in flat
    assert "2021-10-04 at 2021-10-04" not in out


def test_history_of_an_action_is_its_trail_and_as_of_is_optional(db: str) -> None:
    """`history ID` prints what `show ID` prints; `history` alone lists the register; with
    `--as-of` either is as it stood then."""
    assert run(db, "history", "ACT-2021-001") == run(db, "show", "ACT-2021-001")
    assert run(db, "history") == run(db, "list")
    code, out, _ = run(db, "history", "--as-of", "01/01/2019", "--axis", "occurred")
    assert code == 0
    assert "ACT-2018-001" in out
    assert "ACT-2021-001" not in out


# -- verify --head ---------------------------------------------------------------------------------


def test_verify_head_names_a_short_a_mistyped_and_an_unknown_hash(db: str) -> None:
    """A short or non-hexadecimal head is invalid input (exit 2), not a rewrite; a head one
    character off is named as a likely typing mistake; an unknown one may be either; no
    message says None."""
    with Ledger.open(db) as ledger:
        head = ledger.head()[1]
    code, _, err = run(db, "verify", "--head", head[:12])
    assert code == EXIT_CODES["invalid input"]
    assert "12 characters long" in err
    assert "rewritten" not in err
    code, _, err = run(db, "verify", "--head", head[:63] + "g")
    assert code == EXIT_CODES["invalid input"]
    assert "not hexadecimal ('g')" in err
    typo = head[:10] + ("0" if head[10] != "0" else "1") + head[11:]
    code, _, err = run(db, "verify", "--head", typo)
    assert code == EXIT_CODES["verify failed"]
    assert "differs from it in 1 character(s): check the hash for a typing mistake" in err
    assert head in err
    code, _, err = run(db, "verify", "--head", "ab" * 32)
    assert code == EXIT_CODES["verify failed"]
    assert "rewritten" in err
    assert "copied wrongly" in err
    code, out, _ = run(db, "verify", "--head", f"  {head.upper()} ")
    assert code == 0, out
    for message in (err, out):
        assert "None" not in message


# -- the tracker CSV and the published page ----------------------------------------------


def _rows(text: str) -> dict[str, dict[str, str]]:
    return {r["ref"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}


def test_csv_has_dates_rag_and_outcome_in_their_own_columns(db: str) -> None:
    """The CSV gives the date raised, RAG, latest outcome and each date and meeting id in its
    own column, the same for a reader without the right to restricted matters."""
    _revisited_long(db)
    with Ledger.open(db) as ledger:
        ledger.update_action(
            "ACT-2021-003", note="SECRET briefing.", source="briefing note", restricted=True,
            actor=ACTOR,
        )  # fmt: skip
        for restricted in (None, False):
            out = io.StringIO(newline="")
            write_csv(ledger, out, restricted=restricted)
            row = _rows(out.getvalue())["ACT-2021-003"]
            assert row["meeting"] == "2021-10-04"
            assert row["date raised"] == "2021-10-04"
            assert row["latest outcome"] == LONG_OUTCOME
            assert row["date revisited"] == "2021-10-04"
            assert row["revisited at"] == "2021-10-04"
            assert row["rag"] in ("red", "amber", "green")
            assert ("SECRET" in out.getvalue()) is (restricted is None)


def test_a_csv_written_before_the_new_columns_still_imports(db: str) -> None:
    """A file in the old columns (source in `meeting`, words in `due`) imports: its unchanged
    rows store nothing, an edited update is recorded, a new row from elsewhere is raised."""
    old_columns = [
        "ref", "meeting", "item", "action", "owner", "due", "status", "latest update",
        "date closed", "restricted",
    ]  # fmt: skip
    with Ledger.open(db) as ledger:
        now = io.StringIO(newline="")
        write_csv(ledger, now)
        rows = list(_rows(now.getvalue()).values())
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow(old_columns)
        for row in rows:
            legacy = dict(row)
            legacy["meeting"] = row["meeting"] or row["source"]
            legacy["due"] = row["due"] or row["due words"]
            if row["ref"] == "ACT-2018-001":
                legacy["latest update"] = "Headlines shared by email."
            writer.writerow([legacy[c] for c in old_columns])
        writer.writerow(
            ["", "Letter from the Panel", "", "Reply to the Panel.", "PCC", "within two weeks"]
            + [""] * 4
        )
        before = ledger.head()[0]
        result = import_csv(
            ledger,
            io.StringIO(out.getvalue(), newline=""),
            actor=ACTOR,
            received_at="2022-01-10T09:00Z",
        )
        assert result.updated == ("ACT-2018-001",)
        assert len(result.raised) == 1
        assert ledger.head()[0] == before + 2
        raised = ledger.get(result.raised[0])
        assert (raised.source, raised.due_text) == ("Letter from the Panel", "within two weeks")
        # And the new file round-trips as it did.
        again = io.StringIO(newline="")
        write_csv(ledger, again)
        assert import_csv(ledger, io.StringIO(again.getvalue(), newline=""), actor=ACTOR).rows
        assert ledger.head()[0] == before + 2
    assert tuple(next(csv.reader(io.StringIO(again.getvalue())))) == CSV_COLUMNS


def test_the_published_page_names_the_chair_attendance_and_what_was_revisited(db: str) -> None:
    """Each meeting's section names its chair and who attended; an action raised elsewhere
    and revisited at the meeting is in that meeting's section with the outcome."""
    with Ledger.open(db) as ledger:
        page = publish_html(ledger, generated_at="2022-01-10T09:00Z")
        meeting = ledger.meeting("2021-10-04")
    assert meeting.chair is not None
    assert f"Chair: {meeting.chair}." in page
    assert meeting.attendance[0].name in page
    october = page[page.index('id="meeting-2021-10-04"') : page.index('id="other-sources"')]
    assert "Actions raised elsewhere and revisited at the" in october
    assert 'scope="row">ACT-2021-002</th>' in october
    assert "sight of the review findings this month" in october
