"""The command-line program: a thin shell with readable output and stable exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from action_ledger import Ledger
from action_ledger.cli import EXIT_CODES, main


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "register.db")


def run(db: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", db, "--actor", "Test Officer", *args])
    return result.exit_code, result.stdout, result.stderr


def test_demo_builds_the_west_mercia_register_and_prints_a_trail(db: str) -> None:
    """`demo` records the three meetings and prints the register, a trail and a verified chain."""
    code, out, _ = run(db, "demo", "--fresh")
    assert code == 0
    assert "Monthly Assurance Meeting October 2021" in out
    assert "T/Ch Supt to find out timeline for homicide review analysis." in out
    assert "closed (superseded)" in out
    assert "Hash chain: ok" in out
    with Ledger.open(db) as ledger:
        assert len(ledger.meetings()) == 3
        assert ledger.verify().ok


def test_demo_refuses_a_register_that_is_not_empty(db: str) -> None:
    """`demo` without --fresh on a used register changes nothing and says what to do."""
    assert run(db, "demo")[0] == 0
    code, _, err = run(db, "demo")
    assert code == EXIT_CODES["invalid input"]
    assert "--fresh" in err


def test_a_full_lifecycle_from_the_terminal(db: str) -> None:
    """meeting add, raise, update, revisit, close, reopen, list and show work end to end."""
    assert run(db, "init")[0] == 0
    assert (
        run(
            db,
            "meeting",
            "add",
            "2021-10-04",
            "--title",
            "Monthly Assurance Meeting October 2021",
            "--held-at",
            "2021-10-04T13:30",
            "--attendee",
            "Pippa Mills, Chief Constable (CC)",
        )[0]
        == 0
    )
    code, out, _ = run(
        db,
        "raise",
        "Find out the timeline.",
        "--owner",
        "T/Ch Supt",
        "--meeting",
        "2021-10-04",
        "--item",
        "2.3",
        "--due",
        "within two weeks",
    )
    assert code == 0
    action_id = out.strip()
    assert action_id == "ACT-2021-001"
    assert run(db, "update", action_id, "--note", "Timeline requested")[0] == 0
    assert (
        run(db, "revisit", action_id, "--meeting", "2021-10-04", "--outcome", "Noted", "--assured")[
            0
        ]
        == 0
    )
    assert run(db, "close", action_id, "--resolution", "completed", "--note", "Done")[0] == 0
    assert run(db, "reopen", action_id, "--reason", "Timeline slipped")[0] == 0
    code, out, _ = run(db, "list", "--status", "open", "--json")
    listed = json.loads(out)
    assert [a["id"] for a in listed] == [action_id]
    assert listed[0]["due_on"] == "2021-10-18"
    code, out, _ = run(db, "show", action_id)
    assert code == 0
    for word in ("RAISED", "UPDATED", "REVISITED", "CLOSED", "REOPENED", "by Test Officer"):
        assert word in out


def test_user_mistakes_give_one_line_and_a_distinct_exit_code(db: str) -> None:
    """A rule rejection, a bad value and an unknown id each exit with their own code."""
    run(db, "init")
    run(db, "raise", "Something", "--owner", "CC", "--id", "A-1")
    run(db, "close", "A-1", "--resolution", "withdrawn", "--note", "No longer needed")
    code, _, err = run(db, "update", "A-1", "--note", "More")
    assert code == EXIT_CODES["rule rejected"]
    assert "reopen it first" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(db, "raise", "X", "--owner", "CC", "--due", "2022-02-30")
    assert code == EXIT_CODES["invalid input"]
    assert "2022-02-30" in err
    code, _, err = run(db, "show", "NOPE-1")
    assert code == EXIT_CODES["not found"]
    assert "NOPE-1" in err


def test_verify_exits_5_when_the_file_was_altered(db: str) -> None:
    """`verify` reports the first bad position and exits 5 after a row was edited."""
    import sqlite3

    run(db, "demo")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE events SET actor = 'Mallory' WHERE position = 5")
    conn.commit()
    conn.close()
    code, _, err = run(db, "verify")
    assert code == EXIT_CODES["verify failed"]
    assert "position 5" in err


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, prefix + name + " "))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(main))
def test_every_command_is_documented_with_an_example(name: str, command: click.Command) -> None:
    """Every verb has help text with an example, and a section in docs/cli.md."""
    if isinstance(command, click.Group):
        assert command.help
    else:
        assert command.help, name
        assert "Example:" in command.help, name
        docs = (Path(__file__).parent.parent / "docs" / "cli.md").read_text()
        assert f"action-ledger {name}" in docs, f"docs/cli.md does not document {name!r}"


def test_agenda_overdue_and_chain_answer_from_the_read_models(db: str) -> None:
    """`agenda`, `overdue` and `chain` print what the Ledger's queries return, and --json
    gives the same answers to scripts."""
    assert run(db, "demo")[0] == 0
    with Ledger.open(db) as ledger:
        agenda = ledger.agenda("2021-10-04")
        overdue = ledger.overdue("2021-10-04")
        chain = ledger.chain("ACT-2021-001")
    code, out, _ = run(db, "agenda", "2021-10-04")
    assert code == 0
    assert f"Outstanding ({len(agenda.outstanding)}; {len(agenda.due)} due" in out
    for action in agenda.outstanding:
        assert action.id in out
    code, out, _ = run(db, "agenda", "2021-10-04", "--json")
    data = json.loads(out)
    assert [a["id"] for a in data["outstanding"]] == [a.id for a in agenda.outstanding]
    assert data["previous_meeting"]["id"] == "2018-10-26"
    code, out, _ = run(db, "overdue", "2021-10-04", "--json")
    assert [s["action"]["id"] for s in json.loads(out)] == [s.action.id for s in overdue]
    assert all(s["rag"] == "red" for s in json.loads(out))
    code, out, _ = run(db, "overdue", "2021-10-04", "--all")
    assert code == 0
    assert "GREEN" in out
    assert "RED" in out
    code, out, _ = run(db, "chain", "ACT-2021-003")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines() if not line.startswith(" ")] == [
        link.action.id for link in chain
    ]
    assert "ACT-2021-001 superseded by ACT-2021-003" in out


def test_list_filters_and_as_of_views(db: str) -> None:
    """`list` filters like register(), and --as-of/--axis show the register as it stood."""
    assert run(db, "demo")[0] == 0
    code, out, _ = run(db, "list", "--meeting", "2018-10-26", "--json")
    assert code == 0
    with Ledger.open(db) as ledger:
        expected = [a.id for a in ledger.register(meeting="2018-10-26")]
        before = [a.id for a in ledger.as_of("2018-12-31", axis="occurred").register()]
    assert [a["id"] for a in json.loads(out)] == expected
    code, out, _ = run(db, "list", "--as-of", "2018-12-31", "--axis", "occurred", "--json")
    assert [a["id"] for a in json.loads(out)] == before
    assert before
    assert all(a.startswith("ACT-2018") for a in before)
    code, out, _ = run(db, "list", "--as-of", "2000-01-01", "--json")
    assert json.loads(out) == []


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("agenda", "2021-02-30"), "invalid input"),
        (("overdue", "2021-10-04", "--amber-days", "-1"), "invalid input"),
        (("chain", "ACT-1999-001"), "not found"),
        (("list", "--as-of", "yesterday"), "invalid input"),
    ],
)
def test_bad_query_input_is_one_line_with_its_exit_code(
    db: str, args: tuple[str, ...], code: str
) -> None:
    """A malformed date, a negative window or an unknown action: one line, its exit code."""
    assert run(db, "demo")[0] == 0
    exit_code, _, err = run(db, *args)
    assert exit_code == EXIT_CODES[code]
    assert err.startswith("error: ")
    assert len(err.strip().splitlines()) == 1


def test_rebuild_reports_and_leaves_the_same_tables(db: str) -> None:
    """`rebuild` drops and rebuilds the read models; the register reads the same after."""
    assert run(db, "demo")[0] == 0
    before = run(db, "list", "--json")[1]
    code, out, _ = run(db, "rebuild")
    assert code == 0
    assert "rebuilt: 22 events applied; read models at position 22" in out
    assert run(db, "list", "--json")[1] == before


def test_init_creates_an_empty_register_and_leaves_one_alone(db: str) -> None:
    """`init` creates an empty register; run again, or on a used one, it changes nothing."""
    code, out, _ = run(db, "init")
    assert code == 0
    assert "created an empty register" in out
    assert run(db, "init")[1].startswith(f"{db} is already a register (0 events)")
    assert run(db, "demo")[0] == 0
    code, out, _ = run(db, "init")
    assert code == 0
    assert "(22 events); nothing changed" in out
    with Ledger.open(db) as ledger:
        assert ledger.store.last_position() == 22


def test_correct_by_event_prefix_keeps_both_in_history(db: str) -> None:
    """`correct` names an event by its first 8 characters; the trail keeps both; a prefix
    that names no single event, or no corrected value, is refused and stores nothing."""
    assert run(db, "demo")[0] == 0
    with Ledger.open(db) as ledger:
        raised = ledger.history("ACT-2018-005")[0].event_id
    code, _, _ = run(
        db, "correct", "ACT-2018-005", raised[:8], "--owner", "DCC", "--reason", "Wrong owner"
    )
    assert code == 0
    with Ledger.open(db) as ledger:
        assert [str(o) for o in ledger.get("ACT-2018-005").owners] == ["DCC"]
        trail = ledger.history("ACT-2018-005")
        assert trail[-1].corrects == raised
        assert trail[0].corrected_by == (trail[-1].event_id,)
        count = ledger.store.last_position()
    for args in (
        ("correct", "ACT-2018-005", raised[:5], "--owner", "PCC", "--reason", "x"),
        ("correct", "ACT-2018-005", raised, "--reason", "nothing given"),
    ):
        code, _, err = run(db, *args)
        assert code == EXIT_CODES["invalid input"]
        assert err.startswith("error: ")
    code, _, err = run(db, "correct", "ACT-2018-005", raised, "--outcome", "x", "--reason", "y")
    assert code == EXIT_CODES["rule rejected"]
    with Ledger.open(db) as ledger:
        assert ledger.store.last_position() == count


def test_history_as_of_shows_the_register_or_one_action_then(db: str) -> None:
    """`history --as-of` prints the register, or one action and its trail, as it stood."""
    assert run(db, "demo")[0] == 0
    code, out, _ = run(db, "history", "--as-of", "2018-12-31", "--axis", "occurred", "--json")
    assert code == 0
    ids = [a["id"] for a in json.loads(out)]
    assert ids
    assert all(i.startswith("ACT-2018") for i in ids)
    code, out, _ = run(
        db, "history", "ACT-2021-001", "--as-of", "2021-06-30", "--axis", "occurred", "--json"
    )
    data = json.loads(out)
    assert data["action"]["status"] == "open"  # closed only at the October 2021 meeting
    assert [e["event_type"] for e in data["history"]] == ["raised"]
    code, _, err = run(db, "history", "ACT-2021-001", "--as-of", "2020-01-01", "--axis", "occurred")
    assert code == EXIT_CODES["not found"]
    assert "ACT-2021-001" in err


def test_export_publishes_html_and_markdown_with_a_verifiable_footer(
    db: str, tmp_path: Path
) -> None:
    """`export --format html|markdown` writes the published log of a meeting, whose footer
    head hash `verify --head` accepts; csv writes the tracker's columns."""
    assert run(db, "demo")[0] == 0
    with Ledger.open(db) as ledger:
        count, head = ledger.head()
    page = tmp_path / "log.html"
    code, _, err = run(db, "export", "--format", "html", "--meeting", "2021-10-04", "-o", str(page))
    assert code == 0
    assert f"to {page}" in err
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert head in html
    assert "ACT-2021-003" in html
    assert "ACT-2018-001" not in html  # another meeting's action
    assert run(db, "verify", "--head", head)[0] == 0
    code, out, _ = run(db, "export", "--format", "markdown", "--raised-from", "2021-01-01")
    assert code == 0
    assert head in out
    assert "ACT-2021-001" in out
    assert "ACT-2018-001" not in out
    code, out, _ = run(db, "export", "--format", "csv")
    header, *rows = out.splitlines()
    assert header.split(",")[:4] == ["ref", "meeting", "source", "item"]
    assert len(rows) >= count // 2


def test_import_csv_from_the_terminal_is_all_or_nothing(db: str, tmp_path: Path) -> None:
    """`import --format csv` records an edited update; a file with a bad row stores nothing
    and exits 2 naming the row."""
    assert run(db, "demo")[0] == 0
    sheet = tmp_path / "tracker.csv"
    assert run(db, "export", "--format", "csv", "-o", str(sheet))[0] == 0
    lines = sheet.read_text(encoding="utf-8").splitlines()
    assert run(db, "import", "--format", "csv", str(sheet))[1].startswith(
        f"{len(lines) - 1} rows: raised 0 (-), updated 0 (-)"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(lines[0] + "\n,2099-01-01,1,Something,CC,,open,,\n", encoding="utf-8")
    with Ledger.open(db) as ledger:
        before = ledger.head()
    code, _, err = run(db, "import", "--format", "csv", str(bad))
    assert code == EXIT_CODES["invalid input"]
    assert "row 2" in err
    with Ledger.open(db) as ledger:
        assert ledger.head() == before


def test_export_and_import_events_restore_a_register_with_its_chain(
    db: str, tmp_path: Path
) -> None:
    """`export --format events` then `import --format events` into a new file restores every
    event with its position and hash: the same head verifies, and the register reads the
    same; importing into a register that is not empty changes nothing."""
    assert run(db, "demo")[0] == 0
    backup = tmp_path / "backup.jsonl"
    assert run(db, "export", "--format", "events", "-o", str(backup))[0] == 0
    restored = str(tmp_path / "restored.db")
    code, out, _ = run(restored, "import", "--format", "events", str(backup))
    assert code == 0
    with Ledger.open(db) as original:
        count, head = original.head()
    assert f"restored {count} events; hash chain ok; head {head}" in out
    assert run(restored, "verify", "--head", head)[0] == 0
    assert run(restored, "list", "--json")[1] == run(db, "list", "--json")[1]
    again = str(tmp_path / "again.jsonl")
    assert run(restored, "export", "--format", "events", "-o", again)[0] == 0
    assert Path(again).read_bytes() == backup.read_bytes()
    code, _, err = run(db, "import", "--format", "events", str(backup))
    assert code != 0
    assert "empty" in err
    with Ledger.open(db) as original:
        assert original.head() == (count, head)


def test_an_unwritable_output_is_one_line_not_a_traceback(db: str, tmp_path: Path) -> None:
    """`export -o` into a folder that does not exist says so in one line (exit 1)."""
    assert run(db, "init")[0] == 0
    code, _, err = run(db, "export", "--format", "csv", "-o", str(tmp_path / "no" / "a.csv"))
    assert code == 1
    assert "Could not open file" in err
    assert "Traceback" not in err


def test_without_a_readable_login_name_reads_work_and_writes_ask_for_an_actor(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the login name cannot be read (no USER, no password entry), the program still
    reads the register; a write without --actor stops with a clear error (exit 2) and
    stores nothing, never a traceback; with --actor it is recorded."""
    assert run(db, "demo")[0] == 0

    def no_login() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr("getpass.getuser", no_login)
    monkeypatch.delenv("ACTION_LEDGER_ACTOR", raising=False)
    listed = CliRunner().invoke(main, ["--db", db, "list", "--status", "open"])
    assert listed.exit_code == 0, listed.output
    assert "ACT-2021-" in listed.stdout
    with Ledger.open(db) as ledger:
        before = ledger.head()
        open_id = ledger.register(status="open")[0].id
    note = ["update", open_id, "--note", "Chased.", "--source", "email"]
    refused = CliRunner().invoke(main, ["--db", db, *note])
    assert refused.exit_code == EXIT_CODES["invalid input"]
    assert "cannot tell who is recording" in refused.stderr
    assert "--actor" in refused.stderr
    assert refused.exception is None or isinstance(refused.exception, SystemExit)
    with Ledger.open(db) as ledger:
        assert ledger.head() == before
    assert run(db, *note)[0] == 0
